"""Bonus offers and the bonuses players hold."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from igaming.models import Base, UTCDateTime


class BonusOffer(Base):
    __tablename__ = "bonus_offers"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    match_bps: Mapped[int] = mapped_column(Integer)  # 10000 = a 100 % match
    max_bonus_minor: Mapped[int] = mapped_column(BigInteger)  # in the player's currency
    min_deposit_minor: Mapped[int] = mapped_column(BigInteger)
    wagering_multiplier: Mapped[int] = mapped_column(Integer)  # × the bonus amount
    valid_days: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class PlayerBonus(Base):
    """A claim, then (after the qualifying deposit) a bonus with its wagering progress."""

    __tablename__ = "player_bonuses"
    __table_args__ = (Index("ix_player_bonuses_player_status", "player_id", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    player_id: Mapped[str] = mapped_column(ForeignKey("players.id"))
    offer_code: Mapped[str] = mapped_column(ForeignKey("bonus_offers.code"))
    # claimed → active → converted | forfeited | expired; a claim can be cancelled.
    status: Mapped[str] = mapped_column(String(12), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    deposit_id: Mapped[str | None] = mapped_column(String(36))
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    wagering_required_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    wagered_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    converted_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str | None] = mapped_column(String(40))
