"""Conversions of attributed players and FTD qualification (docs/affiliates.md).

Called by the outbox consumer inside its unit of work, so a conversion, its postback job
and the consumer's cursor commit together. Every function is idempotent: each conversion
has a dedupe key and only a state change creates a postback job.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from igaming.affiliates import postbacks
from igaming.affiliates.deals import find_deal
from igaming.affiliates.events import ConversionCreated, FtdQualified, FtdRejected, FtdReversed
from igaming.affiliates.models import Attribution, Click, Conversion
from igaming.bootstrap import Platform
from igaming.fastsql import query
from igaming.models import Player
from igaming.partners.pseudonyms import AFFILIATE_REF_HEX_CHARS, player_ref
from igaming.uow import UnitOfWork

STATES = ("pending", "approved", "rejected", "reversed")
# Player statuses that mean "flagged for fraud" for FTD qualification.
FRAUD_STATUSES = frozenset({"fraud", "blocked"})


@dataclass(frozen=True)
class FtdTerms:
    min_amount: int = 0
    allowed_geos: frozenset[str] = frozenset()  # empty: every GEO
    require_kyc: bool = False


# An FTD's qualification (kept as Conversion.state, a string column, with "reversed" later).
FtdState = Literal["approved", "pending", "rejected"]


@dataclass(frozen=True)
class Decision:
    state: FtdState
    reason: str | None = None


def decide_ftd(terms: FtdTerms, *, amount: int, geo: str, kyc_status: str, fraud: bool) -> Decision:
    """Whether a first deposit qualifies under a deal; pending while KYC may still pass."""
    if fraud:
        return Decision("rejected", "fraud")
    if amount < terms.min_amount:
        return Decision("rejected", "below_minimum")
    if terms.allowed_geos and geo.upper() not in terms.allowed_geos:
        return Decision("rejected", "geo_not_allowed")
    if terms.require_kyc:
        if kyc_status == "rejected":
            return Decision("rejected", "kyc_rejected")
        if kyc_status != "approved":
            return Decision("pending", "awaiting_kyc")
    return Decision("approved")


def new_conversion(
    session: Session,
    uow: UnitOfWork,
    a: Attribution,
    *,
    key: str,
    type_: str,
    state: str,
    occurred_at: datetime,
    now: datetime,
    **fields: object,
) -> Conversion | None:
    if session.execute(select(Conversion.id).where(Conversion.dedupe_key == key)).first():
        return None  # already recorded: re-processing changes nothing
    conv = Conversion(
        id=str(uuid.uuid4()),
        dedupe_key=key,
        type=type_,
        state=state,
        affiliate=a.affiliate,
        campaign=a.campaign,
        click_id=a.click_id,
        player_id=a.player_id,
        player_ref=a.player_ref,
        attribution_flagged=a.flagged,
        occurred_at=occurred_at,
        created_at=now,
        updated_at=now,
        qualified_at=now if state == "approved" else None,
        **fields,
    )
    session.add(conv)
    session.flush()
    uow.emit(
        ConversionCreated(
            occurred_at=now,
            conversion_type=type_,
            affiliate=a.affiliate,
            campaign=a.campaign,
            state=state,
            conversion_id=conv.id,
            attribution_flagged=a.flagged,
        )
    )
    if state == "approved":
        postbacks.enqueue(session, conv, type_, now)
    return conv


# Most players are organic: every registration, deposit and KYC event asks whether the
# player is attributed. These probes (fastsql.query: a flush, as the ORM's autoflush, then
# the statement) answer that; the ORM loads objects only for an attributed player.
_REGISTERED = (
    select(Player.click_id, Player.affiliate, Attribution.player_id.label("attributed"))
    .outerjoin(Attribution, Attribution.player_id == Player.id)
    .where(Player.id == bindparam("player"))
)
_ATTRIBUTED = select(Attribution.player_id).where(Attribution.player_id == bindparam("player"))
_PENDING_FTD = select(Conversion.id).where(
    Conversion.player_id == bindparam("player"),
    Conversion.type == "ftd",
    Conversion.state == "pending",
)


def _probe(uow: UnitOfWork, stmt: Any, player_id: str) -> Any:
    return query(uow.session, stmt, {"player": player_id}).first()


def on_registered(
    p: Platform, uow: UnitOfWork, player_id: str, at: datetime, now: datetime
) -> None:
    """Attribute a new player to its click (or, flagged, to its registration fields)."""
    seen = _probe(uow, _REGISTERED, player_id)
    if seen is None or seen.attributed is not None:
        return
    if not seen.click_id and not seen.affiliate:
        return  # organic player
    s = uow.session
    player = s.get(Player, player_id)
    assert player is not None  # the probe found it unattributed, in this transaction
    click = s.get(Click, player.click_id, with_for_update=True) if player.click_id else None
    if click is not None:
        affiliate, campaign, source, reason = click.affiliate, click.campaign, "click", None
        if click.player_id is None:
            click.player_id, click.registered_at = player_id, at
    elif player.affiliate:
        affiliate, campaign, source = player.affiliate, player.campaign, "registration"
        reason = "unknown_click" if player.click_id else "no_click"
    else:
        return  # organic player
    a = Attribution(
        player_id=player_id,
        affiliate=affiliate,
        campaign=campaign,
        click_id=player.click_id,
        player_ref=player_ref(p.settings.player_ref_key, player_id, AFFILIATE_REF_HEX_CHARS),
        source=source,
        flagged=reason is not None,
        flag_reason=reason,
        created_at=now,
    )
    s.add(a)
    s.flush()
    new_conversion(
        s,
        uow,
        a,
        key=f"registration:{player_id}",
        type_="registration",
        state="approved",
        occurred_at=at,
        now=now,
        geo=player.country,
        currency=player.currency,
        amount=0,
    )


def on_deposit_approved(uow: UnitOfWork, payload: dict, at: datetime, now: datetime) -> None:
    """A deposit conversion for every approved deposit, and the FTD for the first one."""
    if _probe(uow, _ATTRIBUTED, payload["player_id"]) is None:
        return
    s = uow.session
    a = s.get(Attribution, payload["player_id"])
    assert a is not None
    fields = {
        "deposit_id": payload["deposit_id"],
        "geo": payload["geo"],
        "amount": payload["amount"],
        "currency": payload["currency"],
    }
    new_conversion(
        s,
        uow,
        a,
        key=f"deposit:{payload['deposit_id']}",
        type_="deposit",
        state="approved",
        occurred_at=at,
        now=now,
        **fields,
    )
    if payload.get("first_deposit"):
        # Keyed by player: one FTD per player even if two deposits claim to be first.
        ftd = new_conversion(
            s,
            uow,
            a,
            key=f"ftd:{a.player_id}",
            type_="ftd",
            state="pending",
            occurred_at=at,
            now=now,
            **fields,
        )
        if ftd is not None:
            qualify(uow, ftd, now)


def on_kyc_outcome(uow: UnitOfWork, player_id: str, now: datetime) -> None:
    """A KYC decision may qualify (or reject) an FTD that waited for it."""
    if _probe(uow, _PENDING_FTD, player_id) is None:
        return
    pending = uow.session.execute(
        select(Conversion).where(
            Conversion.player_id == player_id,
            Conversion.type == "ftd",
            Conversion.state == "pending",
        )
    ).scalars()
    for ftd in list(pending):
        qualify(uow, ftd, now)


def qualify(uow: UnitOfWork, ftd: Conversion, now: datetime) -> None:
    """Decide a pending FTD under its deal; approval sends the FTD postback."""
    s = uow.session
    if ftd.state != "pending":
        return
    player = s.get(Player, ftd.player_id)
    assert player is not None
    deal = find_deal(s, ftd.affiliate, ftd.campaign)
    terms = (
        FtdTerms(deal.min_ftd_amount, frozenset(deal.allowed_geos), deal.require_kyc)
        if deal is not None
        else FtdTerms()
    )
    decision = decide_ftd(
        terms,
        amount=ftd.amount,
        geo=ftd.geo or player.country,
        kyc_status=player.kyc_status,
        fraud=player.status in FRAUD_STATUSES,
    )
    ftd.reason, ftd.updated_at = decision.reason, now
    if decision.state == "pending":
        return
    ftd.state = decision.state
    ids: dict[str, Any] = {
        "affiliate": ftd.affiliate,
        "campaign": ftd.campaign,
        "conversion_id": ftd.id,
    }
    if decision.state == "approved":
        ftd.qualified_at = now
        seconds = (now - ftd.occurred_at).total_seconds()
        uow.emit(FtdQualified(occurred_at=now, seconds_to_qualify=seconds, **ids))
        postbacks.enqueue(s, ftd, "ftd", now)
    else:
        uow.emit(FtdRejected(occurred_at=now, reason=decision.reason or "rejected", **ids))


def on_charged_back(uow: UnitOfWork, deposit_id: str, now: datetime) -> None:
    """Reverse the conversions of a charged-back deposit (a reversal postback for those
    the affiliate was told about); a pending FTD is rejected instead."""
    s = uow.session
    convs = s.execute(select(Conversion).where(Conversion.deposit_id == deposit_id)).scalars()
    for conv in list(convs):
        ids: dict[str, Any] = {
            "affiliate": conv.affiliate,
            "campaign": conv.campaign,
            "conversion_id": conv.id,
        }
        if conv.state == "pending" and conv.type == "ftd":
            conv.state, conv.reason, conv.updated_at = "rejected", "charged_back", now
            uow.emit(FtdRejected(occurred_at=now, reason="charged_back", **ids))
        elif conv.state == "approved":
            conv.state, conv.reason, conv.updated_at = "reversed", "charged_back", now
            if postbacks.job_exists(s, conv, conv.type):
                postbacks.enqueue(s, conv, f"{conv.type}_reversal", now)
            if conv.type == "ftd":
                uow.emit(FtdReversed(occurred_at=now, reason="charged_back", **ids))
