"""Tables of the casino context: games, launch sessions, rounds and provider transactions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ground.sqltypes import UTCDateTime
from igaming.models import Base

GAME_TYPES = ("slots", "table", "live")


class CasinoGame(Base):
    __tablename__ = "casino_games"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(10))
    rtp_bps: Mapped[int] = mapped_column(Integer)  # return to player, 9600 = 96.00 %
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CasinoSession(Base):
    """One launch attempt; when the provider accepted it, the session its wallet calls use."""

    __tablename__ = "casino_sessions"
    __table_args__ = (Index("ix_casino_sessions_provider_created", "provider", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    player_id: Mapped[str] = mapped_column(ForeignKey("players.id"), index=True)
    game_id: Mapped[str] = mapped_column(ForeignKey("casino_games.id"))
    provider: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(10))  # pending | active | failed
    reason: Mapped[str | None] = mapped_column(String(40))
    provider_session_id: Mapped[str | None] = mapped_column(String(100))
    launch_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CasinoRound(Base):
    __tablename__ = "casino_rounds"
    __table_args__ = (
        UniqueConstraint("provider", "provider_round_id"),
        Index("ix_casino_rounds_status_started", "status", "started_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    provider: Mapped[str] = mapped_column(String(40))
    provider_round_id: Mapped[str] = mapped_column(String(100))
    game_id: Mapped[str] = mapped_column(String(64))
    game_type: Mapped[str] = mapped_column(String(10))
    player_id: Mapped[str] = mapped_column(ForeignKey("players.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    stake_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # bets not rolled back
    win_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    open_bets: Mapped[int] = mapped_column(Integer, default=0)
    wins: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(10))  # open | completed | cancelled
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the first bet
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result_delay_seconds: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CasinoTransaction(Base):
    """Every signed seamless-wallet request that named a transaction, with what was done.

    ``answer_key`` (provider:transaction id) is set only on the row holding the first,
    final answer for that id; retries are kept as ``replayed`` rows without it.
    """

    __tablename__ = "casino_transactions"
    __table_args__ = (
        Index("ix_casino_transactions_provider_tx", "provider", "provider_tx_id"),
        Index("ix_casino_transactions_reference", "provider", "reference_tx_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    answer_key: Mapped[str | None] = mapped_column(String(150), unique=True)
    provider: Mapped[str] = mapped_column(String(40))
    provider_tx_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))  # bet | win | rollback
    outcome: Mapped[str] = mapped_column(String(24))
    fingerprint: Mapped[str] = mapped_column(String(64))
    player_id: Mapped[str | None] = mapped_column(String(36))
    # The pseudonymous player reference the provider knows (casino.launch), never our id.
    player_ref: Mapped[str | None] = mapped_column(String(64))
    round_id: Mapped[str | None] = mapped_column(String(36), index=True)
    provider_round_id: Mapped[str | None] = mapped_column(String(100))
    reference_tx_id: Mapped[str | None] = mapped_column(String(100))
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    platform_tx_id: Mapped[str | None] = mapped_column(String(36))
    http_status: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
