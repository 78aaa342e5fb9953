"""Deposit-match bonuses.

A player claims an offer, once per offer (a unique index holds it); the next approved
deposit of at least the offer's minimum grants ``min(deposit × match, max)`` from the bonus
pool to the player's bonus account. A welcome offer (``first_deposit_only``) is granted on
the player's first approved deposit only, or not at all. Cash stakes count towards the
wagering requirement (bonus × multiplier), weighted by game and price as the offer's terms
say (bonus.wagering); when it is met the bonus moves to cash (the bonus cost in NGR). A
withdrawal or the expiry forfeits it back to the pool. Stakes are taken from cash only:
bonus money is never staked directly. docs/bonus.md has the terms and why.

Lock order: a player's accounts first (the ledger locks them in a fixed order), then the
player's open bonus row, then the bonus account; every path that touches both (deposit
approval, stakes, withdrawals) takes them in this order, so the paths cannot deadlock.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from igaming.bonus.events import BonusConverted, BonusEvent, BonusForfeited, BonusGranted
from igaming.bonus.models import BonusOffer, PlayerBonus
from igaming.bonus.wagering import Wager, counted
from igaming.cashier.states import DEPOSIT_AFTER_APPROVAL
from igaming.errors import Conflict, NotFound
from igaming.fastsql import execute
from igaming.models import Deposit, Player
from igaming.uow import UnitOfWork
from igaming.wallet.accounts import house_account, player_account
from igaming.wallet.ledger import Ledger, Posting

OPEN = ("claimed", "active")
# A deposit in one of these was approved once: the player has made their first deposit.
# (Deposit.first_deposit is decided when the deposit is requested, before its outcome,
# so two deposits in flight can both carry it; it does not define a welcome offer.)
EVER_APPROVED = frozenset({"approved"}) | DEPOSIT_AFTER_APPROVAL

# Slots count in full; table and live games, whose return is 97-99.5 %, a tenth (at a
# full count a 99.5 % blackjack returned about +85 EUR per WELCOME100 cycle); sportsbook
# stakes in full from decimal odds of 1.50. docs/bonus.md has the arithmetic.
WAGERING_WEIGHTS_BPS = {"slots": 10_000, "table": 1_000, "live": 1_000, "sportsbook": 10_000}
MIN_ODDS_MILLI = 1_500

DEFAULT_OFFERS = (
    {
        "code": "WELCOME100",
        "match_bps": 10_000,
        "max_bonus_minor": 10_000,
        "min_deposit_minor": 1_000,
        "wagering_multiplier": 30,
        "valid_days": 30,
        "active": True,
        "first_deposit_only": True,
        "wagering_weights_bps": WAGERING_WEIGHTS_BPS,
        "min_odds_milli": MIN_ODDS_MILLI,
    },
    {
        "code": "RELOAD50",
        "match_bps": 5_000,
        "max_bonus_minor": 5_000,
        "min_deposit_minor": 2_000,
        "wagering_multiplier": 20,
        "valid_days": 14,
        "active": True,
        "first_deposit_only": False,
        "wagering_weights_bps": WAGERING_WEIGHTS_BPS,
        "min_odds_milli": MIN_ODDS_MILLI,
    },
)


def seed_offers(session: Session) -> None:
    """Create the default offers where missing (idempotent)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(BonusOffer).on_conflict_do_nothing(index_elements=["code"]),
        list(DEFAULT_OFFERS),
    )


# The statuses spelled out (an IN of a list is expanded per execution; fastsql runs
# plain statements).
_OPEN_BONUS = (
    select(PlayerBonus.id)
    .where(
        PlayerBonus.player_id == bindparam("player_id"),
        or_(*(PlayerBonus.status == status for status in OPEN)),
    )
    .with_for_update()
)


def open_bonus_for_update(session: Session, player_id: str) -> PlayerBonus | None:
    """The player's claimed or active bonus, locked (after their cash account: lock order)."""
    # Every stake asks; almost always there is none, so ask in Core (cheap) and load the
    # ORM object only when a bonus exists (its row is locked by then).
    found = execute(session.connection(), _OPEN_BONUS, {"player_id": player_id}).first()
    return None if found is None else session.get(PlayerBonus, found.id)


_ONCE = "offer {!r} was already claimed: one claim per offer per player"


def _claimed_before(session: Session, player_id: str, offer_code: str) -> bool:
    """A claim of this offer that used it up (any but a cancelled one)."""
    statuses = session.execute(
        select(PlayerBonus.status).where(
            PlayerBonus.player_id == player_id, PlayerBonus.offer_code == offer_code
        )
    ).scalars()
    return any(status != "cancelled" for status in statuses)


def has_deposited(session: Session, player_id: str, *, besides: str | None = None) -> bool:
    """Whether a deposit of the player other than ``besides`` was ever approved."""
    # Statuses compared here, not in SQL: the player's few rows by ix_deposits_player_created
    # (cashier.deposits has the same query for the same reason).
    rows = session.execute(
        select(Deposit.id, Deposit.status).where(Deposit.player_id == player_id)
    ).all()
    return any(status in EVER_APPROVED and id_ != besides for id_, status in rows)


def claim(uow: UnitOfWork, player_id: str, offer_code: str, now: datetime) -> PlayerBonus:
    player = uow.session.get(Player, player_id, with_for_update=True)
    if player is None:
        raise NotFound(f"player {player_id} not found")
    offer = uow.session.get(BonusOffer, offer_code)
    if offer is None or not offer.active:
        raise NotFound(f"no active bonus offer {offer_code!r}")
    if open_bonus_for_update(uow.session, player_id) is not None:
        raise Conflict("a bonus is already claimed or active")
    if _claimed_before(uow.session, player_id, offer_code):
        raise Conflict(_ONCE.format(offer_code))
    if offer.first_deposit_only and has_deposited(uow.session, player_id):
        raise Conflict(
            f"offer {offer_code!r} is for the first deposit, and this player has deposited"
        )
    bonus = PlayerBonus(
        id=str(uuid.uuid4()),
        player_id=player_id,
        offer_code=offer_code,
        status="claimed",
        currency=player.currency,
        amount_minor=0,
        wagering_required_minor=0,
        wagered_minor=0,
        converted_minor=0,
        claimed_at=now,
    )
    uow.session.add(bonus)
    try:
        # Now, not at the commit: a concurrent claim that passed the checks too is refused
        # by uq_player_bonuses_player_offer, and the caller hears a Conflict.
        uow.session.flush()
    except IntegrityError as exc:
        raise Conflict(_ONCE.format(offer_code)) from exc
    return bonus


def _event(
    cls: type[BonusEvent], b: PlayerBonus, brand: str, now: datetime, **kw: Any
) -> BonusEvent:
    return cls(
        occurred_at=now,
        bonus_id=b.id,
        player_id=b.player_id,
        offer_code=b.offer_code,
        brand=brand,
        currency=b.currency,
        amount=kw.pop("amount", b.amount_minor),
        **kw,
    )


def _move(
    ledger: Ledger,
    uow: UnitOfWork,
    b: PlayerBonus,
    tx_type: str,
    postings: list[Posting],
    now: datetime,
) -> None:
    started = ledger.begin(
        uow.session,
        now=now,
        tx_type=tx_type,
        idempotency_key=f"{tx_type}:{b.id}",
        currency=b.currency,
        amount=b.amount_minor,
        player_id=b.player_id,
        request={"bonus": b.id},
        reference=b.id,
        details={"offer": b.offer_code},
    )
    if not started.replayed:
        ledger.post(uow.session, started.transaction, postings, now=now, status="completed")


def on_deposit_approved(
    ledger: Ledger, uow: UnitOfWork, bonus: PlayerBonus | None, d: Deposit, now: datetime
) -> None:
    """Grant a claimed bonus for a qualifying deposit (bonus row already locked).

    A welcome offer's claim has one chance, the first deposit: if it does not qualify,
    the claim is cancelled (it would otherwise wait for ever and block other offers)."""
    if bonus is None or bonus.status != "claimed" or bonus.currency != d.currency:
        return
    offer = uow.session.get(BonusOffer, bonus.offer_code)
    assert offer is not None
    if offer.first_deposit_only:
        # Approvals of one player queue on their cash account's row lock (taken by the
        # deposit's posting, before this): an earlier approval is committed and seen.
        if has_deposited(uow.session, d.player_id, besides=d.id):
            _close(bonus, "cancelled", "not_first_deposit", now)
            return
        if d.amount < offer.min_deposit_minor:
            _close(bonus, "cancelled", "first_deposit_below_minimum", now)
            return
    if d.amount < offer.min_deposit_minor:
        return
    amount = min(d.amount * offer.match_bps // 10_000, offer.max_bonus_minor)
    bonus.amount_minor = amount
    bonus.wagering_required_minor = amount * offer.wagering_multiplier
    bonus.deposit_id, bonus.status = d.id, "active"
    bonus.granted_at, bonus.expires_at = now, now + timedelta(days=offer.valid_days)
    _move(
        ledger,
        uow,
        bonus,
        "bonus_grant",
        [
            Posting(house_account("bonus_pool", d.currency), -amount),
            Posting(player_account(d.player_id, "bonus", d.currency), amount),
        ],
        now,
    )
    uow.emit(_event(BonusGranted, bonus, d.brand, now, deposit_id=d.id))


def _counted(session: Session, bonus: PlayerBonus, wager: Wager, amount: int) -> int:
    offer = session.get(BonusOffer, bonus.offer_code)
    assert offer is not None
    return counted(amount, wager, offer.wagering_weights_bps, offer.min_odds_milli)


def on_stake(
    ledger: Ledger,
    uow: UnitOfWork,
    bonus: PlayerBonus | None,
    amount: int,
    now: datetime,
    *,
    wager: Wager,
) -> None:
    """Count a cash stake towards wagering, weighted by the offer's terms; convert the bonus
    when the requirement is met."""
    if bonus is None or bonus.status != "active":
        return
    bonus.wagered_minor += _counted(uow.session, bonus, wager, amount)
    if bonus.wagered_minor < bonus.wagering_required_minor:
        return
    _move(
        ledger,
        uow,
        bonus,
        "bonus_conversion",
        [
            Posting(player_account(bonus.player_id, "bonus", bonus.currency), -bonus.amount_minor),
            Posting(player_account(bonus.player_id, "cash", bonus.currency), bonus.amount_minor),
        ],
        now,
    )
    bonus.converted_minor = bonus.amount_minor
    _close(bonus, "converted", "wagering_met", now)
    player = uow.session.get(Player, bonus.player_id)
    uow.emit(_event(BonusConverted, bonus, player.brand if player else "", now))


def stake_refunded(
    uow: UnitOfWork, player_id: str, amount: int, staked_at: datetime, *, wager: Wager
) -> None:
    """A stake handed back (a casino rollback, a sportsbook void) no longer counts towards
    wagering, if it counted: only stakes placed after the grant did, and by the part the
    terms weigh it at. Call after the refund is posted (lock order). A bonus already
    converted stays converted."""
    bonus = open_bonus_for_update(uow.session, player_id)
    if bonus is None or bonus.status != "active" or bonus.granted_at is None:
        return
    if staked_at >= bonus.granted_at:
        taken = _counted(uow.session, bonus, wager, amount)
        bonus.wagered_minor = max(0, bonus.wagered_minor - taken)


def stake_retaken(
    ledger: Ledger,
    uow: UnitOfWork,
    player_id: str,
    amount: int,
    staked_at: datetime,
    now: datetime,
    *,
    wager: Wager,
) -> None:
    """A refund undone (a settlement rollback of a void): the stake is at risk again."""
    bonus = open_bonus_for_update(uow.session, player_id)
    if bonus is not None and bonus.granted_at is not None and staked_at >= bonus.granted_at:
        on_stake(ledger, uow, bonus, amount, now, wager=wager)


def forfeit(
    ledger: Ledger,
    uow: UnitOfWork,
    bonus: PlayerBonus | None,
    reason: str,
    brand: str,
    now: datetime,
) -> None:
    """Take an active bonus back to the pool; a claim not yet granted is just cancelled."""
    if bonus is None:
        return
    if bonus.status == "claimed":
        _close(bonus, "cancelled", reason, now)
        return
    if bonus.status != "active":
        return
    _move(
        ledger,
        uow,
        bonus,
        "bonus_forfeit",
        [
            Posting(player_account(bonus.player_id, "bonus", bonus.currency), -bonus.amount_minor),
            Posting(house_account("bonus_pool", bonus.currency), bonus.amount_minor),
        ],
        now,
    )
    _close(bonus, "expired" if reason == "expired" else "forfeited", reason, now)
    uow.emit(_event(BonusForfeited, bonus, brand, now, reason=reason))


def _close(bonus: PlayerBonus, status: str, reason: str, now: datetime) -> None:
    bonus.status, bonus.close_reason, bonus.closed_at = status, reason, now


def expire_due(p) -> int:
    """Forfeit every active bonus past its expiry; returns how many."""
    now = p.clock.now()
    with p.session_factory() as session:
        due = (
            session.execute(
                select(PlayerBonus.id).where(
                    PlayerBonus.status == "active", PlayerBonus.expires_at <= now
                )
            )
            .scalars()
            .all()
        )
    for bonus_id in due:
        with p.uow() as uow:
            bonus = uow.session.get(PlayerBonus, bonus_id, with_for_update=True)
            if bonus is not None and bonus.status == "active":
                player = uow.session.get(Player, bonus.player_id)
                forfeit(p.ledger, uow, bonus, "expired", player.brand if player else "", now)
            uow.commit()
    return len(due)
