"""Postback URLs: templates with macros, the keyed player reference, signing and enqueueing.

Signature: header ``X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`` over
``<t>.`` + the URL's raw query string (the bytes after ``?``, exactly as sent), with the
affiliate's secret. Postbacks are GET requests, so the query is the whole message.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from datetime import datetime
from urllib.parse import quote, urlsplit

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ground.money import to_major
from igaming.affiliates.models import Affiliate, Conversion, PostbackJob
from igaming.errors import ValidationFailed
from igaming.partners.signing import sign, verify

SIGNATURE_HEADER = "X-Signature"
MACROS = frozenset(
    {
        "click_id",
        "event",
        "amount",
        "currency",
        "conversion_id",
        "player_ref",
        "occurred_at",
        "affiliate",
        "campaign",
    }
)
MACRO = re.compile(r"\{(\w+)\}")
MAX_ATTEMPTS = 8


ALLOWED_SCHEMES = ("http", "https")


def check_template(template: str, *, allow_private: bool) -> str:
    """Refuse templates that use unknown macros or whose destination check_destination
    refuses (checked again at each delivery: DNS can change)."""
    unknown = set(MACRO.findall(template)) - MACROS
    if unknown:
        raise ValidationFailed(f"unknown postback macros: {', '.join(sorted(unknown))}")
    check_destination(template, allow_private=allow_private)
    return template


def check_destination(url: str, *, allow_private: bool) -> None:
    """Refuse (ValidationFailed) a postback URL that is not http(s), has macros in its
    host, or, unless ``allow_private`` (development/test: the network simulator is on
    127.0.0.1), whose host does not resolve or resolves to any address that is not
    globally routable: private, loopback, link-local (cloud metadata), shared, reserved,
    multicast, unspecified. Every address counts: one private answer among public ones is
    enough to reach the inside."""
    parts = urlsplit(url)
    if parts.scheme not in ALLOWED_SCHEMES:
        raise ValidationFailed("a postback URL must be an http(s) URL")
    if "{" in parts.netloc or "}" in parts.netloc:
        raise ValidationFailed("a postback URL's host and port may not contain macros")
    host = parts.hostname
    if not host:
        raise ValidationFailed("a postback URL needs a host")
    if allow_private:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValidationFailed("a postback URL's port is not a number") from None
    for address in _addresses(host, port):
        if not _routable(address):
            raise ValidationFailed(
                "a postback URL's host may not resolve to a private, loopback, link-local "
                "or otherwise special address"
            )


def _addresses(host: str, port: int) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]  # a literal: nothing to resolve
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise ValidationFailed("a postback URL's host does not resolve") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise ValidationFailed("a postback URL's host does not resolve")
    return addresses


def _routable(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # without an IPv6 zone
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address inside IPv6 (mapped, 6to4, Teredo) is judged as that address.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and not _routable(str(embedded)):
            return False
    return ip.is_global and not ip.is_multicast


def render(template: str, values: dict[str, str]) -> str:
    """Substitute the macros, each value percent-encoded (so the query is canonical)."""
    return MACRO.sub(lambda m: quote(values.get(m.group(1), ""), safe=""), template)


def macro_values(conv: Conversion, event: str) -> dict[str, str]:
    currency = conv.currency or ""
    amount = to_major(conv.amount, currency) if currency else str(conv.amount)
    return {
        "click_id": conv.click_id or "",
        "event": event,
        "amount": amount,
        "currency": currency,
        "conversion_id": conv.id,
        "player_ref": conv.player_ref,
        "occurred_at": conv.occurred_at.isoformat(),
        "affiliate": conv.affiliate,
        "campaign": conv.campaign or "",
    }


def signed_part(url: str) -> bytes:
    return urlsplit(url).query.encode()


def sign_url(secret: str, timestamp: int, url: str) -> str:
    return sign(secret, timestamp, signed_part(url))


def verify_query(secret: str, header: str | None, query: bytes, now_unix: float) -> int:
    """Verify a postback's signature (raises igaming.partners.signing.SignatureError)."""
    return verify(secret, header, query, now_unix)


def enqueue(session: Session, conv: Conversion, event: str, now: datetime) -> bool:
    """Create the postback job of (affiliate, event, conversion) once; False if the
    affiliate takes no postbacks or the job already exists."""
    affiliate = session.get(Affiliate, conv.affiliate)
    if affiliate is None or not affiliate.active or not affiliate.postback_url_template:
        return False
    key = f"{conv.affiliate}:{event}:{conv.id}"
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    inserted = session.execute(
        dialect.insert(PostbackJob)
        .values(
            dedupe_key=key,
            affiliate=conv.affiliate,
            campaign=conv.campaign,
            event=event,
            conversion_id=conv.id,
            url=render(affiliate.postback_url_template, macro_values(conv, event)),
            status="pending",
            attempts=0,
            max_attempts=MAX_ATTEMPTS,
            next_attempt_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(PostbackJob.id)
    ).scalar_one_or_none()
    return inserted is not None


def job_exists(session: Session, conv: Conversion, event: str) -> bool:
    key = f"{conv.affiliate}:{event}:{conv.id}"
    return (
        session.execute(select(PostbackJob.id).where(PostbackJob.dedupe_key == key)).first()
        is not None
    )
