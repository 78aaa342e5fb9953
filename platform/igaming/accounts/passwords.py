"""Password hashing with scrypt (standard library), in a self-describing format.

``scrypt$n=32768,r=8,p=1$<salt>$<digest>`` (base64): the cost travels with the hash, so
it can be raised for new hashes while every stored one still verifies (and is rehashed at
the player's next log-in). The first format, ``scrypt$<salt>$<digest>``, had N=2**14, r=8,
p=1 implied.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache

_SALT_BYTES = 16
_DIGEST_BYTES = 64
# Bounds on what a stored hash may ask for: a corrupted or planted row must not make one
# log-in allocate gigabytes.
_MAX_N, _MAX_R, _MAX_P = 2**20, 32, 16


@dataclass(frozen=True)
class ScryptParams:
    n: int
    r: int = 8
    p: int = 1

    def describe(self) -> str:
        return f"n={self.n},r={self.r},p={self.p}"

    def valid(self) -> bool:
        return (
            2 <= self.n <= _MAX_N
            and not self.n & (self.n - 1)
            and 1 <= self.r <= _MAX_R
            and 1 <= self.p <= _MAX_P
        )


LEGACY = ScryptParams(2**14, 8, 1)  # the parameters of the first, undescribed format


def _scrypt(password: str, salt: bytes, params: ScryptParams) -> bytes:
    # OpenSSL refuses more than 32 MiB unless told; scrypt needs 128 * r * (n + p) bytes.
    maxmem = 128 * params.r * (params.n + params.p + 2) + 2**20
    return hashlib.scrypt(
        password.encode(),
        salt=salt,
        n=params.n,
        r=params.r,
        p=params.p,
        maxmem=maxmem,
        dklen=_DIGEST_BYTES,
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def hash_password(password: str, params: ScryptParams) -> str:
    salt = os.urandom(_SALT_BYTES)
    digest = _scrypt(password, salt, params)
    return f"scrypt${params.describe()}${_b64(salt)}${_b64(digest)}"


def _parse_params(text: str) -> ScryptParams | None:
    try:
        fields = dict(part.split("=", 1) for part in text.split(","))
        params = ScryptParams(int(fields.pop("n")), int(fields.pop("r")), int(fields.pop("p")))
    except (KeyError, ValueError):
        return None
    return params if not fields and params.valid() else None


def _parse(stored: str) -> tuple[ScryptParams, bytes, bytes] | None:
    parts = stored.split("$")
    if parts[0] != "scrypt" or len(parts) not in (3, 4):
        return None
    params = LEGACY if len(parts) == 3 else _parse_params(parts[1])
    if params is None:
        return None
    try:
        salt = base64.b64decode(parts[-2], validate=True)
        digest = base64.b64decode(parts[-1], validate=True)
    except (binascii.Error, ValueError):
        return None
    if not salt or len(digest) != _DIGEST_BYTES:
        return None  # not a digest of ours (an empty one must never verify anything)
    return params, salt, digest


def verify_password(password: str, stored: str) -> bool:
    parsed = _parse(stored)
    if parsed is None:
        return False
    params, salt, digest = parsed
    return hmac.compare_digest(_scrypt(password, salt, params), digest)


def needs_rehash(stored: str, params: ScryptParams) -> bool:
    """True when the stored hash is not of the given parameters (an old format or cost)."""
    parsed = _parse(stored)
    return parsed is None or parsed[0] != params


@lru_cache(maxsize=8)
def dummy_hash(params: ScryptParams) -> str:
    """A hash no password matches, of the given cost: verifying against it when an e-mail
    is unknown makes that answer take as long as a wrong password's."""
    return hash_password(os.urandom(16).hex(), params)
