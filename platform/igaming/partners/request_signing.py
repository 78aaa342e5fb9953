"""Seamless-wallet signatures: the PSP callbacks' HMAC scheme, bound to the request line.

The PSP scheme (``igaming.partners.signing``) signs ``t.body``; here the action comes from
the URL, so a body signed for a bet would also verify as a win. The message signed is
``t.POST /casino/seamless/{provider}/{action}.body``: the request line as the platform's
route spells it (not the URL the provider called, so a proxy's prefix or host does not
matter), which binds the provider and the action to the body.
"""

from __future__ import annotations

from igaming.partners import signing

SIGNATURE_HEADER = "X-Signature"
METHOD = "POST"


def wallet_path(provider: str, action: str) -> str:
    return f"/casino/seamless/{provider}/{action}"


def _message(provider: str, action: str, body: bytes) -> bytes:
    return f"{METHOD} {wallet_path(provider, action)}.".encode() + body


def sign_request(secret: str, timestamp: int, provider: str, action: str, body: bytes) -> str:
    """The ``X-Signature`` header of a wallet request (what a game provider sends)."""
    return signing.sign(secret, timestamp, _message(provider, action, body))


def verify_request(
    secret: str, header: str | None, provider: str, action: str, body: bytes, now_unix: float
) -> int:
    """Verify a wallet request's header; returns its timestamp or raises SignatureError."""
    return signing.verify(secret, header, _message(provider, action, body), now_unix)
