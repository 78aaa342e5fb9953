"""Tables of the reference platform (SQLAlchemy 2 declarative).

Collectors and reconcilers never read these: they read the ``pw_*`` contract views
(docs/contract-views.md), which a migration creates over these tables.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ground.sqltypes import NAMING, UTCDateTime


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    if TYPE_CHECKING:
        # Every model here is mapped to a Table (DeclarativeBase types it as any FromClause).
        __table__: ClassVar[Table]


class Player(Base):
    __tablename__ = "players"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    currency: Mapped[str] = mapped_column(String(3))
    date_of_birth: Mapped[date] = mapped_column(Date)
    brand: Mapped[str] = mapped_column(String(40), default="pitwatch")
    status: Mapped[str] = mapped_column(String(20), default="active")
    kyc_status: Mapped[str] = mapped_column(String(24), default="none")
    # Compliance let a rejected player open one new check (igaming.admin.allow_kyc_retry).
    kyc_retry_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    self_excluded_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    daily_deposit_limit: Mapped[int | None] = mapped_column(BigInteger)
    pending_deposit_limit: Mapped[int | None] = mapped_column(BigInteger)
    pending_deposit_limit_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    click_id: Mapped[str | None] = mapped_column(String(100))
    btag: Mapped[str | None] = mapped_column(String(200))
    affiliate: Mapped[str | None] = mapped_column(String(64), index=True)
    campaign: Mapped[str | None] = mapped_column(String(64))
    sub_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AuthToken(Base):
    __tablename__ = "auth_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    player_id: Mapped[str] = mapped_column(ForeignKey("players.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Operator(Base):
    """A back-office user of the admin API, authenticated by an API key."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    operator: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class KycCheck(Base):
    __tablename__ = "kyc_checks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    player_id: Mapped[str] = mapped_column(ForeignKey("players.id"), index=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    vendor_reference: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Account(Base):
    """A ledger account. ``owner`` is a player id or ``house``; house accounts name a PSP
    where they are per PSP (clearing), else ``psp`` is empty."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("owner", "kind", "currency", "psp"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(24))
    currency: Mapped[str] = mapped_column(String(3))
    psp: Mapped[str] = mapped_column(String(40), default="")
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WalletTransaction(Base):
    __tablename__ = "wallet_transactions"
    __table_args__ = (Index("ix_wallet_transactions_player_created", "player_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12))
    player_id: Mapped[str | None] = mapped_column(String(36))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str | None] = mapped_column(String(36), index=True)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class LedgerEntry(Base):
    """An append-only posting. Never updated or deleted; a correction is a reversal."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("wallet_transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Deposit(Base):
    """A deposit through a PSP; its id is the wallet transaction id and the PSP's
    merchant reference."""

    __tablename__ = "deposits"
    __table_args__ = (
        UniqueConstraint("psp", "psp_reference"),
        Index("ix_deposits_status_created", "status", "created_at"),
        Index("ix_deposits_player_created", "player_id", "created_at"),
        Index("ix_deposits_updated_id", "updated_at", "id"),  # views mode
        Index("ix_deposits_created_id", "created_at", "id"),  # views mode
        Index("ix_deposits_completed_id", "completed_at", "id"),  # views mode
    )

    id: Mapped[str] = mapped_column(ForeignKey("wallet_transactions.id"), primary_key=True)
    player_id: Mapped[str] = mapped_column(ForeignKey("players.id"))
    psp: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(24))
    geo: Mapped[str] = mapped_column(String(2))
    brand: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(100))
    psp_reference: Mapped[str | None] = mapped_column(String(100))
    first_deposit: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Withdrawal(Base):
    __tablename__ = "withdrawals"
    __table_args__ = (
        UniqueConstraint("psp", "psp_reference"),
        Index("ix_withdrawals_status_created", "status", "created_at"),
        Index("ix_withdrawals_updated_id", "updated_at", "id"),  # views mode
        Index("ix_withdrawals_created_id", "created_at", "id"),  # views mode
    )

    id: Mapped[str] = mapped_column(ForeignKey("wallet_transactions.id"), primary_key=True)
    player_id: Mapped[str] = mapped_column(ForeignKey("players.id"), index=True)
    psp: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(24))
    geo: Mapped[str] = mapped_column(String(2))
    brand: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(100))
    psp_reference: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PspCallback(Base):
    """Every callback received, kept with what was done with it (orphans included)."""

    __tablename__ = "psp_callbacks"
    __table_args__ = (
        Index("ix_psp_callbacks_event", "psp", "event_id"),
        Index("ix_psp_callbacks_outcome_received", "outcome", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    psp: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str | None] = mapped_column(String(12))
    status: Mapped[str | None] = mapped_column(String(24))
    psp_reference: Mapped[str | None] = mapped_column(String(100))
    merchant_reference: Mapped[str | None] = mapped_column(String(100), index=True)
    amount: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    outcome: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    body: Mapped[str] = mapped_column(Text)


class OutboxEvent(Base):
    """Domain events, written in the same transaction as the change they describe."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    event_type: Mapped[str] = mapped_column(String(60), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
