"""KYC: a verification request goes to the vendor; an unavailable vendor is retried.

After a rejection a player may open a new check only once compliance allows it (an
audited back-office action, igaming.admin.allow_kyc_retry), and at most
``kyc_checks_per_day`` new checks in 24 hours: a player must not shop for an approval.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select

from igaming.bootstrap import Platform
from igaming.errors import Conflict, Forbidden, NotFound, RateLimited, ValidationFailed
from igaming.events import KycOutcome
from igaming.fastsql import execute
from igaming.kyc.vendor import KycVendorUnavailable
from igaming.models import KycCheck, Player
from igaming.uow import UnitOfWork

# Backoff between retries of a check the vendor could not answer; gives up to a manual
# review after the last one so that no player waits on a dead vendor forever.
RETRY_BACKOFF = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10))
MAX_ATTEMPTS = len(RETRY_BACKOFF) + 1
DECIDED = ("approved", "rejected")
CHECKS_WINDOW = timedelta(days=1)


def request_verification(p: Platform, player_id: str) -> KycCheck:
    """Start (or return the open) verification of a player and ask the vendor at once."""
    now = p.clock.now()
    with p.uow() as uow:
        player = uow.session.get(Player, player_id, with_for_update=True)
        if player is None:
            raise NotFound(f"player {player_id} not found")
        if player.kyc_status == "approved":
            raise Conflict("identity is already verified")
        check = (
            uow.session.execute(
                select(KycCheck)
                .where(KycCheck.player_id == player_id, KycCheck.status.not_in(DECIDED))
                .order_by(KycCheck.requested_at.desc())
            )
            .scalars()
            .first()
        )
        if check is None:
            _check_may_open(uow, player, now, p.settings.kyc_checks_per_day)
            player.kyc_retry_allowed = False  # a compliance allowance is good for one check
            check = KycCheck(
                id=str(uuid.uuid4()), player_id=player_id, status="pending", requested_at=now
            )
            uow.session.add(check)
            player.kyc_status = "pending"
        uow.commit()
    if check.status in ("pending", "provider_unavailable"):
        return _attempt(p, check.id)
    return check


def _check_may_open(uow: UnitOfWork, player: Player, now: datetime, per_day: int) -> None:
    """Refuse a new check after an unlifted rejection, or over the daily allowance (called
    under the player's row lock, so two requests cannot both pass)."""
    if player.kyc_status == "rejected" and not player.kyc_retry_allowed:
        raise Forbidden(
            "identity verification was rejected; a new check needs compliance's approval "
            "(contact support)",
            reason="kyc_rejected",
        )
    recent = uow.session.execute(
        select(func.count(), func.min(KycCheck.requested_at)).where(
            KycCheck.player_id == player.id, KycCheck.requested_at > now - CHECKS_WINDOW
        )
    ).one()
    if recent[0] >= per_day:
        # A slot frees when the oldest check in the window leaves it.
        wait = math.ceil((recent[1] + CHECKS_WINDOW - now).total_seconds())
        raise RateLimited(
            f"at most {per_day} identity checks a day; try again in {wait} s",
            retry_after=max(1, wait),
            reason="kyc_checks_per_day",
        )


def retry_due(p: Platform) -> int:
    """Retry every check whose vendor was unavailable and whose backoff has passed."""
    now = p.clock.now()
    with p.session_factory() as session:
        due = (
            session.execute(
                select(KycCheck.id).where(
                    KycCheck.status == "provider_unavailable", KycCheck.next_retry_at <= now
                )
            )
            .scalars()
            .all()
        )
    for check_id in due:
        _attempt(p, check_id)
    return len(due)


# What the vendor is asked about, read in one statement on a connection (no ORM session).
_SUBJECT = (
    select(Player.country, Player.date_of_birth)
    .join(KycCheck, KycCheck.player_id == Player.id)
    .where(KycCheck.id == bindparam("check"))
)


def _attempt(p: Platform, check_id: str) -> KycCheck:
    with p.engine.connect() as conn:
        subject = execute(conn, _SUBJECT, {"check": check_id}).one()
    country, dob = subject.country, subject.date_of_birth.isoformat()
    error: str | None = None
    try:
        decision = p.kyc.check(check_id, country, dob)
    except KycVendorUnavailable as exc:
        decision, error = None, str(exc)
    now = p.clock.now()
    with p.uow() as uow:
        check = uow.session.get(KycCheck, check_id, with_for_update=True)
        assert check is not None
        if check.status not in ("pending", "provider_unavailable"):
            return check  # decided meanwhile (a concurrent retry or an operator)
        check.attempts += 1
        if decision is not None:
            check.vendor_reference = decision.vendor_reference
            _decide(uow, check, decision.status, now, None)
        elif check.attempts >= MAX_ATTEMPTS:
            check.last_error = error
            _decide(uow, check, "manual_review", now, error)
        else:
            check.status, check.last_error = "provider_unavailable", error
            check.next_retry_at = now + RETRY_BACKOFF[check.attempts - 1]
            _set_player(uow, check, "provider_unavailable", now, error)
        uow.commit()
    return check


def _decide(
    uow: UnitOfWork, check: KycCheck, status: str, now: datetime, error: str | None
) -> None:
    check.status = status
    check.next_retry_at = None
    if status in DECIDED:
        check.decided_at = now
    _set_player(uow, check, status, now, error)


def _set_player(
    uow: UnitOfWork, check: KycCheck, status: str, now: datetime, error: str | None
) -> None:
    player = uow.session.get(Player, check.player_id)
    assert player is not None
    player.kyc_status = status
    uow.emit(
        KycOutcome(
            occurred_at=now,
            player_id=player.id,
            country=player.country,
            status=status,
            vendor_error=error,
        )
    )


def resolve_review(p: Platform, uow: UnitOfWork, check_id: str, status: str) -> KycCheck:
    """An operator's decision on a check in manual review (caller audits and commits)."""
    if status not in DECIDED:
        raise ValidationFailed("a review decides approved or rejected")
    check = uow.session.get(KycCheck, check_id, with_for_update=True)
    if check is None:
        raise NotFound(f"KYC check {check_id} not found")
    if check.status != "manual_review":
        raise Conflict(f"KYC check is {check.status}, not in manual review")
    _decide(uow, check, status, p.clock.now(), None)
    return check


def allow_retry(uow: UnitOfWork, player_id: str) -> Player:
    """Let a rejected player open one new check (caller: compliance, audited, commits)."""
    player = uow.session.get(Player, player_id, with_for_update=True)
    if player is None:
        raise NotFound(f"player {player_id} not found")
    if player.kyc_status != "rejected":
        raise Conflict(f"identity verification is {player.kyc_status}, not rejected")
    player.kyc_retry_allowed = True
    return player


def latest_check(p: Platform, player_id: str) -> KycCheck | None:
    with p.session_factory() as session:
        return (
            session.execute(
                select(KycCheck)
                .where(KycCheck.player_id == player_id)
                .order_by(KycCheck.requested_at.desc())
            )
            .scalars()
            .first()
        )
