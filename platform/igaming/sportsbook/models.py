"""Tables of the sportsbook (prefix ``sb_``). Odds are integers: decimal odds × 1000."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ground.sqltypes import UTCDateTime
from igaming.models import Base

MARKET_STATUSES = ("active", "suspended", "settled", "cancelled")
SELECTION_RESULTS = ("won", "lost", "void")


class Fixture(Base):
    """A sporting event, keyed by the feed's id."""

    __tablename__ = "sb_fixtures"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sport: Mapped[str] = mapped_column(String(32), index=True)
    competition: Mapped[str] = mapped_column(String(100))
    home: Mapped[str] = mapped_column(String(100))
    away: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Market(Base):
    """A market of a fixture. ``feed_sequence`` is the sequence of the last odds change or
    bet stop applied, so that a stale one never overwrites a newer state;
    ``settle_sequence`` is that of the last result, cancel or rollback, so that a result
    withdrawn by a rollback that overtook it stays withdrawn; ``generation`` counts
    settlements (a rollback starts the next one)."""

    __tablename__ = "sb_markets"
    __table_args__ = (Index("ix_sb_markets_status_odds_updated", "status", "odds_updated_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    fixture_id: Mapped[str] = mapped_column(ForeignKey("sb_fixtures.id"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12))
    feed_sequence: Mapped[int] = mapped_column(BigInteger, default=0)
    settle_sequence: Mapped[int] = mapped_column(BigInteger, default=0)
    odds_updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    generation: Mapped[int] = mapped_column(Integer, default=1)
    result_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Selection(Base):
    __tablename__ = "sb_selections"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    market_id: Mapped[str] = mapped_column(ForeignKey("sb_markets.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    odds_milli: Mapped[int] = mapped_column(Integer)
    result: Mapped[str | None] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Bet(Base):
    """A single bet. Rejected bets are kept with their reason; they never move money."""

    __tablename__ = "sb_bets"
    __table_args__ = (
        UniqueConstraint("player_id", "idempotency_key"),
        Index("ix_sb_bets_market_status", "market_id", "status"),
        Index("ix_sb_bets_status_placed", "status", "placed_at"),
        Index("ix_sb_bets_placed_id", "placed_at", "id"),  # views mode
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    player_id: Mapped[str] = mapped_column(ForeignKey("players.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(100))
    request_hash: Mapped[str] = mapped_column(String(64))
    selection_id: Mapped[str] = mapped_column(ForeignKey("sb_selections.id"))
    market_id: Mapped[str] = mapped_column(ForeignKey("sb_markets.id"))
    sport: Mapped[str] = mapped_column(String(32))
    stake: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    requested_odds_milli: Mapped[int] = mapped_column(Integer)
    odds_milli: Mapped[int] = mapped_column(Integer)
    potential_payout: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(String(40))
    stake_transaction_id: Mapped[str | None] = mapped_column(String(36))
    payout: Mapped[int | None] = mapped_column(BigInteger)
    generation: Mapped[int | None] = mapped_column(Integer)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    result_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settlement_lag_seconds: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Settlement(Base):
    """One settlement action on a bet: won, lost, void, rollback or cashout."""

    __tablename__ = "sb_settlements"
    __table_args__ = (Index("ix_sb_settlements_bet_generation", "bet_id", "generation"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bet_id: Mapped[str] = mapped_column(ForeignKey("sb_bets.id"))
    market_id: Mapped[str] = mapped_column(String(64), index=True)
    generation: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(12))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    transaction_id: Mapped[str | None] = mapped_column(String(36))
    result_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    settlement_lag_seconds: Mapped[float | None] = mapped_column(Float)


class FeedMessage(Base):
    """Every feed message received. ``dedup_key`` holds the message id of messages that
    were processed (its unique index makes a redelivery a duplicate, even concurrently);
    refused or orphan messages leave it empty so that a redelivery is tried again."""

    __tablename__ = "sb_feed_messages"
    __table_args__ = (Index("ix_sb_feed_messages_outcome_received", "outcome", "received_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedup_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(16))
    sport: Mapped[str] = mapped_column(String(32))
    fixture_id: Mapped[str | None] = mapped_column(String(64))
    market_id: Mapped[str | None] = mapped_column(String(64))
    sequence: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[str | None] = mapped_column(Text)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    body: Mapped[str] = mapped_column(Text)
