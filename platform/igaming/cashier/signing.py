"""PSP callback signatures: HMAC-SHA256 over ``timestamp.body`` with a per-PSP secret.

Header ``X-PSP-Signature: t=<unix seconds>,v1=<hex digest>`` (the scheme Stripe and Adyen
use, so that a replayed body with a new timestamp does not verify).
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-PSP-Signature"
MAX_AGE_SECONDS = 300


class SignatureError(Exception):
    """A callback whose signature or timestamp does not verify."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(secret: str, header: str | None, body: bytes, now_unix: float) -> int:
    """Verify a signature header; returns its timestamp or raises SignatureError."""
    if not header:
        raise SignatureError("missing signature header")
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError) as exc:
        raise SignatureError("malformed signature header") from exc
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, given):
        raise SignatureError("signature does not match")
    if now_unix - timestamp > MAX_AGE_SECONDS:
        raise SignatureError(f"timestamp older than {MAX_AGE_SECONDS} s")
    if timestamp - now_unix > MAX_AGE_SECONDS:
        raise SignatureError("timestamp in the future")
    return timestamp
