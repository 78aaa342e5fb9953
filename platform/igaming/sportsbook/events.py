"""Domain events of the sportsbook. ``sport``, ``market_type``, ``reason``, ``outcome`` and
``message_type`` are bounded (metric labels); ids are named ``*_id`` and never labels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from igaming.events import Event


@dataclass(frozen=True, kw_only=True)
class BetEvent(Event):
    bet_id: str
    player_id: str
    market_id: str
    sport: str
    market_type: str
    currency: str
    stake: int
    odds_milli: int


@dataclass(frozen=True, kw_only=True)
class BetPlaced(BetEvent):
    """The stake was taken and the bet accepted."""

    name: ClassVar[str] = "bet.placed"
    potential_payout: int


@dataclass(frozen=True, kw_only=True)
class BetRejected(BetEvent):
    """reason: odds_changed, market_suspended, market_closed, stake_too_low, stake_too_high,
    max_payout_exceeded, player_restricted, insufficient_funds, self_excluded."""

    name: ClassVar[str] = "bet.rejected"
    reason: str


@dataclass(frozen=True, kw_only=True)
class BetSettled(BetEvent):
    """outcome: won or lost. lag_seconds = wallet credit time − official result time."""

    name: ClassVar[str] = "bet.settled"
    outcome: str
    payout: int
    generation: int
    lag_seconds: float


@dataclass(frozen=True, kw_only=True)
class BetVoided(BetEvent):
    """The stake was refunded (selection void or market cancelled)."""

    name: ClassVar[str] = "bet.voided"
    reason: str
    generation: int
    lag_seconds: float | None


@dataclass(frozen=True, kw_only=True)
class SettlementRolledBack(BetEvent):
    """The feed withdrew a result; the bet is open again and ``reversed_amount`` was taken
    back (0 for a lost bet)."""

    name: ClassVar[str] = "bet.settlement_rolled_back"
    reversed_amount: int
    generation: int


@dataclass(frozen=True, kw_only=True)
class BetCashedOut(BetEvent):
    name: ClassVar[str] = "bet.cashed_out"
    amount: int
    current_odds_milli: int


@dataclass(frozen=True, kw_only=True)
class MarketSuspended(Event):
    name: ClassVar[str] = "market.suspended"
    market_id: str
    fixture_id: str
    sport: str
    market_type: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class FeedMessageReceived(Event):
    """outcome: applied, duplicate, stale, orphan, invalid, bad_signature."""

    name: ClassVar[str] = "odds_feed.message_received"
    message_type: str
    outcome: str
    sport: str
    delay_seconds: float | None
