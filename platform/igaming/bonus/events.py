"""Domain events of bonuses. Amounts are bonus cost (NGR) when converted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from igaming.events import Event


@dataclass(frozen=True, kw_only=True)
class BonusEvent(Event):
    bonus_id: str
    player_id: str
    offer_code: str
    brand: str
    currency: str
    amount: int


@dataclass(frozen=True, kw_only=True)
class BonusGranted(BonusEvent):
    name: ClassVar[str] = "bonus.granted"
    deposit_id: str


@dataclass(frozen=True, kw_only=True)
class BonusConverted(BonusEvent):
    """The wagering was met: ``amount`` moved from bonus to cash (the bonus cost)."""

    name: ClassVar[str] = "bonus.converted"


@dataclass(frozen=True, kw_only=True)
class BonusForfeited(BonusEvent):
    name: ClassVar[str] = "bonus.forfeited"
    reason: str  # withdrawal | expired | chargeback | refunded
