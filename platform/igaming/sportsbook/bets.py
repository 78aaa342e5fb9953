"""Bet placement (singles): checks, a recorded rejection or an accepted bet with its stake."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from ground.money import check_amount, check_currency
from igaming.bootstrap import Platform
from igaming.errors import IdempotencyConflict, InsufficientFunds, NotFound, ValidationFailed
from igaming.events import IdempotentReplay, WalletTransactionFailed
from igaming.fastsql import execute
from igaming.models import Player
from igaming.sportsbook.events import BetEvent, BetPlaced, BetRejected
from igaming.sportsbook.limits import SportsbookLimits
from igaming.sportsbook.models import Bet, Fixture, Market, Selection
from igaming.sportsbook.odds import OddsError, parse_odds, payout, within_tolerance
from igaming.sportsbook.postings import take_stake
from igaming.uow import UnitOfWork
from igaming.wallet.ledger import request_hash

OPEN_STATUSES = ("placed", "accepted")


class MarketView(NamedTuple):
    """What placing a bet reads of its market (read under the market's row lock)."""

    id: str
    type: str
    status: str


# Placement's reads, built once and run by fastsql (each ORM get or select cost several
# times its statement): the bet a key already placed; the selection with its market,
# locked, and its fixture's sport in one statement; the market's open liability.
_BET_BY_KEY = select(Bet.id).where(
    Bet.player_id == bindparam("player"), Bet.idempotency_key == bindparam("key")
)
_SELECTION = (
    select(
        Selection.id,
        Selection.odds_milli,
        Market.id.label("market_id"),
        Market.type.label("market_type"),
        Market.status.label("market_status"),
        Fixture.sport,
    )
    .join(Market, Market.id == Selection.market_id)
    .join(Fixture, Fixture.id == Market.fixture_id)
    .where(Selection.id == bindparam("selection"))
    .with_for_update(of=Market)
)
_LIABILITY = select(func.coalesce(func.sum(Bet.potential_payout), 0)).where(
    Bet.market_id == bindparam("market"),
    Bet.currency == bindparam("currency"),
    or_(*(Bet.status == status for status in OPEN_STATUSES)),
)


def bet_event(cls: type[BetEvent], bet: Bet, market_type: str, now: datetime, **extra: Any):
    return cls(
        occurred_at=now,
        bet_id=bet.id,
        player_id=bet.player_id,
        market_id=bet.market_id,
        sport=bet.sport,
        market_type=market_type,
        currency=bet.currency,
        stake=bet.stake,
        odds_milli=bet.odds_milli,
        **extra,
    )


def place_bet(
    p: Platform,
    player_id: str,
    *,
    selection_id: str,
    stake: int,
    currency: str,
    odds: str,
    idempotency_key: str,
    limits: SportsbookLimits | None = None,
) -> Bet:
    """Place a single at ``odds`` (decimal string) or better. Returns the bet, accepted or
    rejected with its reason; the same key replays the first answer."""
    limits = limits or SportsbookLimits.from_settings(p.settings)
    check_amount(stake)
    check_currency(currency)
    try:
        requested = parse_odds(odds)
    except OddsError as exc:
        raise ValidationFailed(str(exc)) from exc
    if not idempotency_key or len(idempotency_key) > 100:
        raise ValidationFailed("an Idempotency-Key of 1 to 100 characters is required")
    digest = request_hash(
        {"selection": selection_id, "stake": stake, "currency": currency, "odds": requested}
    )
    now = p.clock.now()
    try:
        with p.uow() as uow:
            replay = _lock_player_and_find(uow, player_id, idempotency_key, digest, now)
            if replay is not None:
                return replay
            bet, market = _new_bet(uow.session, player_id, selection_id, stake, currency, now)
            bet.idempotency_key, bet.request_hash = idempotency_key, digest
            bet.requested_odds_milli = requested
            player = uow.session.get(Player, player_id)
            assert player is not None
            if currency != player.currency:
                raise ValidationFailed(f"this account bets in {player.currency}, not {currency}")
            reason = _refusal(uow.session, player, market, bet, requested, limits, now)
            if reason is not None:
                return _reject(uow, bet, market, reason, now)
            uow.session.add(bet)
            uow.session.flush()
            tx = take_stake(
                p,
                uow,
                bet_id=bet.id,
                player_id=player_id,
                amount=stake,
                currency=currency,
                now=now,
                odds_milli=bet.odds_milli,
            )
            bet.stake_transaction_id, bet.status = tx.id, "accepted"
            uow.emit(
                bet_event(BetPlaced, bet, market.type, now, potential_payout=bet.potential_payout)
            )
            uow.commit()
            return bet
    except InsufficientFunds:
        p.bus.publish(
            [WalletTransactionFailed(occurred_at=now, tx_type="bet", reason="insufficient_funds")]
        )
    # The failed debit rolled the whole attempt back; record the rejection on its own.
    with p.uow() as uow:
        replay = _lock_player_and_find(uow, player_id, idempotency_key, digest, now)
        if replay is not None:
            return replay
        bet, market = _new_bet(uow.session, player_id, selection_id, stake, currency, now)
        bet.idempotency_key, bet.request_hash = idempotency_key, digest
        bet.requested_odds_milli = requested
        return _reject(uow, bet, market, "insufficient_funds", now)


def _lock_player_and_find(
    uow: UnitOfWork, player_id: str, key: str, digest: str, now: datetime
) -> Bet | None:
    # The player's row lock serialises a player's bets: replays and balance checks queue.
    if uow.session.get(Player, player_id, with_for_update=True) is None:
        raise NotFound(f"player {player_id} not found")
    conn = uow.session.connection()
    found = execute(conn, _BET_BY_KEY, {"player": player_id, "key": key}).one_or_none()
    if found is None:
        return None
    existing = uow.session.get(Bet, found.id)
    assert existing is not None
    if existing.request_hash != digest:
        raise IdempotencyConflict(
            f"idempotency key {key!r} was used for a different bet", bet_id=existing.id
        )
    uow.emit(IdempotentReplay(occurred_at=now, tx_type="bet"))
    uow.commit()
    return existing


def _new_bet(
    session: Session, player_id: str, selection_id: str, stake: int, currency: str, now: datetime
) -> tuple[Bet, MarketView]:
    selection = execute(session.connection(), _SELECTION, {"selection": selection_id}).first()
    if selection is None:
        raise NotFound(f"selection {selection_id} not found")
    market = MarketView(selection.market_id, selection.market_type, selection.market_status)
    bet = Bet(
        id=str(uuid.uuid4()),
        player_id=player_id,
        selection_id=selection.id,
        market_id=market.id,
        sport=selection.sport,
        stake=stake,
        currency=currency,
        odds_milli=selection.odds_milli,
        potential_payout=payout(stake, selection.odds_milli),
        status="placed",
        placed_at=now,
        updated_at=now,
    )
    return bet, market


def _refusal(
    session: Session,
    player: Player,
    market: MarketView,
    bet: Bet,
    requested: int,
    limits: SportsbookLimits,
    now: datetime,
) -> str | None:
    """The first reason to refuse the bet, or None. Called under the market's row lock."""
    if player.self_excluded_until is not None and player.self_excluded_until > now:
        return "self_excluded"
    if player.status != "active":
        return "player_restricted"
    if market.status == "suspended":
        return "market_suspended"
    if market.status != "active":
        return "market_closed"
    if bet.stake < limits.min_stake:
        return "stake_too_low"
    if bet.stake > limits.max_stake:
        return "stake_too_high"
    if not within_tolerance(requested, bet.odds_milli, limits.odds_tolerance_bps):
        return "odds_changed"
    # No autoflush needed: this bet is not in the session yet (added after the checks).
    params = {"market": market.id, "currency": bet.currency}
    liability = execute(session.connection(), _LIABILITY, params).scalar_one()
    if liability + bet.potential_payout > limits.max_market_liability:
        return "max_payout_exceeded"
    return None


def _reject(uow: UnitOfWork, bet: Bet, market: MarketView, reason: str, now: datetime) -> Bet:
    bet.status, bet.reason = "rejected", reason
    uow.session.add(bet)
    uow.emit(bet_event(BetRejected, bet, market.type, now, reason=reason))
    uow.commit()
    return bet


def get_bet(session: Session, player_id: str | None, bet_id: str) -> Bet:
    bet = session.get(Bet, bet_id)
    if bet is None or (player_id is not None and bet.player_id != player_id):
        raise NotFound(f"bet {bet_id} not found")
    return bet


def list_bets(session: Session, player_id: str, limit: int = 50) -> list[Bet]:
    return list(
        session.execute(
            select(Bet)
            .where(Bet.player_id == player_id)
            .order_by(Bet.placed_at.desc(), Bet.id)
            .limit(limit)
        ).scalars()
    )
