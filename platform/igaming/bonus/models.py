"""Bonus offers and the bonuses players hold."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ground.sqltypes import UTCDateTime
from igaming.models import Base


class BonusOffer(Base):
    __tablename__ = "bonus_offers"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    match_bps: Mapped[int] = mapped_column(Integer)  # 10000 = a 100 % match
    max_bonus_minor: Mapped[int] = mapped_column(BigInteger)  # in the player's currency
    min_deposit_minor: Mapped[int] = mapped_column(BigInteger)
    wagering_multiplier: Mapped[int] = mapped_column(Integer)  # × the bonus amount
    valid_days: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A welcome offer: granted only on the player's first approved deposit (bonus.service).
    first_deposit_only: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    # Share of a stake that counts towards wagering, by casino game type or "sportsbook",
    # in basis points; a type not named counts nothing (bonus.wagering).
    wagering_weights_bps: Mapped[dict[str, int]] = mapped_column(
        JSON, default=dict, server_default=text("'{}'")
    )
    # Sportsbook stakes count from these decimal odds × 1000 up.
    min_odds_milli: Mapped[int] = mapped_column(Integer, default=1_500, server_default=text("1500"))


class PlayerBonus(Base):
    """A claim, then (after the qualifying deposit) a bonus with its wagering progress."""

    __tablename__ = "player_bonuses"
    __table_args__ = (
        Index("ix_player_bonuses_player_status", "player_id", "status"),
        # One claim per offer per player, held by the database so that two concurrent
        # claims cannot both commit. A claim cancelled before any grant moved no money
        # and does not use the offer up.
        Index(
            "uq_player_bonuses_player_offer",
            "player_id",
            "offer_code",
            unique=True,
            sqlite_where=text("status <> 'cancelled'"),
            postgresql_where=text("status <> 'cancelled'"),
        ),
    )

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
