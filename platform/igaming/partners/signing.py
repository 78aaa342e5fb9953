"""Partner signatures: HMAC-SHA256 over ``timestamp.body`` with a per-partner secret.

PSP callbacks, the odds feed and affiliate postbacks sign this way (the seamless wallet
binds the request line too: ``igaming.partners.request_signing``). PSP callbacks carry
header ``X-PSP-Signature: t=<unix seconds>,v1=<hex digest>`` (the scheme Stripe and Adyen
use, so that a replayed body with a new timestamp does not verify).
"""

from __future__ import annotations

import hashlib
import hmac
import re

SIGNATURE_HEADER = "X-PSP-Signature"
MAX_AGE_SECONDS = 300
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_DIGEST = re.compile(r"[0-9a-f]{64}")


class SignatureError(Exception):
    """A callback whose signature or timestamp does not verify."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(secret: str, header: str | None, body: bytes, now_unix: float) -> int:
    """Verify a signature header; returns its timestamp or raises SignatureError.

    The header is partner input of any characters: ``t`` must be ASCII digits and ``v1``
    64 lowercase hex digits before anything is computed (int() reads other scripts' digits,
    and hmac.compare_digest raises TypeError on a str that is not ASCII)."""
    if not header:
        raise SignatureError("missing signature header")
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    t, given = parts.get("t", ""), parts.get("v1", "")
    if _TIMESTAMP.fullmatch(t) is None or _DIGEST.fullmatch(given) is None:
        raise SignatureError("malformed signature header")
    timestamp = int(t)
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise SignatureError("signature does not match")
    if now_unix - timestamp > MAX_AGE_SECONDS:
        raise SignatureError(f"timestamp older than {MAX_AGE_SECONDS} s")
    if timestamp - now_unix > MAX_AGE_SECONDS:
        raise SignatureError("timestamp in the future")
    return timestamp
