"""Clicks on affiliate links: recorded once per click_id, handed on to registration.

A click stays a row each: it is the attribution record (a registration finds its affiliate
by it, the funnel counts it), and every field is bounded. The endpoints are public, so
each client address may record at most ``click_burst`` clicks at once and
``click_rate_per_second`` on average (ClickLimiter): more is 429, not a row.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import OrderedDict

from sqlalchemy.exc import IntegrityError

from igaming.affiliates.events import ClickRecorded
from igaming.affiliates.models import Click
from igaming.bootstrap import Platform
from igaming.errors import Conflict, DomainError, ValidationFailed

TOKEN = re.compile(r"^[A-Za-z0-9._:~-]{1,100}$")
# Addresses the limiter remembers; the least recently seen is forgotten past this, so a
# flood from many addresses cannot grow memory (per-address limits do not stop that flood:
# the edge's job).
MAX_ADDRESSES = 10_000


class ClickRateLimited(DomainError):
    status, type, title = 429, "rate-limited", "Too many requests"


class ClickLimiter:
    """A token bucket per client address: ``burst`` clicks at once, refilled at
    ``rate_per_second``. Times are the platform clock's unix seconds."""

    def __init__(
        self, rate_per_second: float, burst: int, max_addresses: int = MAX_ADDRESSES
    ) -> None:
        self.rate, self.burst, self.max_addresses = rate_per_second, burst, max_addresses
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()  # sync routes run in a thread pool

    def __len__(self) -> int:
        return len(self._buckets)

    def allow(self, address: str, now: float) -> bool:
        with self._lock:
            tokens, at = self._buckets.pop(address, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + max(0.0, now - at) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[address] = (tokens - 1.0 if allowed else tokens, now)
            while len(self._buckets) > self.max_addresses:
                self._buckets.popitem(last=False)
            return allowed


def _check(name: str, value: str | None, limit: int) -> str | None:
    if value is None or value == "":
        return None
    if len(value) > limit:
        raise ValidationFailed(f"{name} has at most {limit} characters")
    return value


def record_click(
    p: Platform,
    *,
    affiliate: str,
    campaign: str | None = None,
    btag: str | None = None,
    sub_id: str | None = None,
    geo: str | None = None,
    click_id: str | None = None,
) -> Click:
    """Record a click (a click_id is generated if absent); the same click_id again returns
    the first click, for another affiliate it is a conflict."""
    if not affiliate or len(affiliate) > 64:
        raise ValidationFailed("affiliate has 1 to 64 characters")
    if click_id is not None and not TOKEN.match(click_id):
        raise ValidationFailed("click_id is 1 to 100 characters of [A-Za-z0-9._:~-]")
    if geo is not None and not re.fullmatch(r"[A-Za-z]{2}", geo):
        raise ValidationFailed("geo is an ISO 3166 alpha-2 code")
    now = p.clock.now()
    click_id = click_id or uuid.uuid4().hex
    with p.uow() as uow:
        existing = uow.session.get(Click, click_id)
        if existing is not None:
            if existing.affiliate != affiliate:
                raise Conflict(f"click_id {click_id!r} belongs to another affiliate")
            uow.session.expunge(existing)  # keep it loaded past the unit of work's rollback
            return existing
        click = Click(
            click_id=click_id,
            affiliate=affiliate,
            campaign=_check("campaign", campaign, 64),
            btag=_check("btag", btag, 200),
            sub_id=_check("sub_id", sub_id, 100),
            geo=geo.upper() if geo else None,
            at=now,
        )
        uow.session.add(click)
        uow.emit(
            ClickRecorded(
                occurred_at=now,
                affiliate=affiliate,
                campaign=click.campaign,
                geo=click.geo,
                click_id=click_id,
            )
        )
        try:
            uow.commit()
        except IntegrityError:
            # The same click_id recorded concurrently: the first one stands.
            uow.rollback()
            return record_click(
                p,
                affiliate=affiliate,
                campaign=campaign,
                btag=btag,
                sub_id=sub_id,
                geo=geo,
                click_id=click_id,
            )
    return click
