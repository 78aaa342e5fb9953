"""Domain events of the casino context (docs/casino-seamless-wallet.md).

Fields that become metric labels are bounded: provider, game_type, action, code, reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from igaming.events import Event


@dataclass(frozen=True, kw_only=True)
class GameLaunched(Event):
    name: ClassVar[str] = "casino.game_launched"
    provider: str
    game_type: str
    game_id: str
    player_id: str
    session_id: str


@dataclass(frozen=True, kw_only=True)
class GameLaunchFailed(Event):
    """reason: unavailable, timeout, refused, invalid_answer."""

    name: ClassVar[str] = "casino.game_launch_failed"
    provider: str
    game_type: str
    game_id: str
    player_id: str
    session_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class CasinoMoneyEvent(Event):
    provider: str
    game_type: str
    round_id: str
    player_id: str
    currency: str
    amount: int
    transaction_id: str | None


@dataclass(frozen=True, kw_only=True)
class CasinoBetApplied(CasinoMoneyEvent):
    name: ClassVar[str] = "casino.bet_applied"


@dataclass(frozen=True, kw_only=True)
class CasinoWinApplied(CasinoMoneyEvent):
    name: ClassVar[str] = "casino.win_applied"
    round_closed: bool


@dataclass(frozen=True, kw_only=True)
class CasinoRollbackApplied(CasinoMoneyEvent):
    name: ClassVar[str] = "casino.rollback_applied"


@dataclass(frozen=True, kw_only=True)
class RoundEnded(Event):
    provider: str
    game_type: str
    round_id: str
    currency: str
    stake: int
    win: int
    result_delay_seconds: float


@dataclass(frozen=True, kw_only=True)
class RoundCompleted(RoundEnded):
    name: ClassVar[str] = "casino.round_completed"


@dataclass(frozen=True, kw_only=True)
class RoundCancelled(RoundEnded):
    """Every bet of the round was rolled back."""

    name: ClassVar[str] = "casino.round_cancelled"


@dataclass(frozen=True, kw_only=True)
class SeamlessRequestRefused(Event):
    """A wallet request answered with an error code (action: balance, bet, win, rollback,
    unknown; provider ``unknown`` when the path named no configured provider)."""

    name: ClassVar[str] = "casino.seamless_refused"
    provider: str
    action: str
    code: str


@dataclass(frozen=True, kw_only=True)
class SeamlessRequestReplayed(Event):
    """A retry of an already answered transaction id: the first answer was returned."""

    name: ClassVar[str] = "casino.seamless_replayed"
    provider: str
    action: str
