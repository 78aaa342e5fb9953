"""Tables of the affiliates context: affiliates, deals, clicks, attributions, conversions,
postback jobs and their attempts, and the outbox consumer's cursor."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ground.sqltypes import UTCDateTime
from igaming.models import Base


class Affiliate(Base):
    """A partner: where its postbacks go and the secret that signs them."""

    __tablename__ = "affiliates"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    postback_url_template: Mapped[str | None] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Deal(Base):
    """Commercial terms of an affiliate, optionally for one campaign (NULL: all)."""

    __tablename__ = "affiliate_deals"
    __table_args__ = (Index("ix_affiliate_deals_affiliate_campaign", "affiliate", "campaign"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    affiliate: Mapped[str] = mapped_column(ForeignKey("affiliates.id"))
    campaign: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(12))  # cpa | revshare | hybrid
    currency: Mapped[str] = mapped_column(String(3))
    cpa_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    revshare_bps: Mapped[int] = mapped_column(Integer, default=0)
    min_ftd_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    allowed_geos: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: any
    require_kyc: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Click(Base):
    __tablename__ = "affiliate_clicks"
    __table_args__ = (Index("ix_affiliate_clicks_affiliate_at", "affiliate", "at"),)

    click_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    btag: Mapped[str | None] = mapped_column(String(200))
    affiliate: Mapped[str] = mapped_column(String(64))
    campaign: Mapped[str | None] = mapped_column(String(64))
    sub_id: Mapped[str | None] = mapped_column(String(100))
    geo: Mapped[str | None] = mapped_column(String(2))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    player_id: Mapped[str | None] = mapped_column(String(36), index=True)
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Attribution(Base):
    """Which affiliate brought a player; ``flagged`` when no known click backs it."""

    __tablename__ = "affiliate_attributions"

    player_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    affiliate: Mapped[str] = mapped_column(String(64), index=True)
    campaign: Mapped[str | None] = mapped_column(String(64))
    click_id: Mapped[str | None] = mapped_column(String(100))
    player_ref: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))  # click | registration
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_reason: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Conversion(Base):
    """A registration, FTD, deposit or daily revenue of an attributed player."""

    __tablename__ = "affiliate_conversions"
    __table_args__ = (
        Index("ix_affiliate_conversions_player_type", "player_id", "type"),
        Index("ix_affiliate_conversions_affiliate_created", "affiliate", "created_at"),
        Index("ix_affiliate_conversions_created_id", "created_at", "id"),  # views mode
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(16))  # registration | ftd | deposit | revenue
    state: Mapped[str] = mapped_column(String(12))  # pending | approved | rejected | reversed
    reason: Mapped[str | None] = mapped_column(String(40))
    affiliate: Mapped[str] = mapped_column(String(64))
    campaign: Mapped[str | None] = mapped_column(String(64))
    click_id: Mapped[str | None] = mapped_column(String(100))
    player_id: Mapped[str] = mapped_column(String(36))
    player_ref: Mapped[str] = mapped_column(String(64))
    deposit_id: Mapped[str | None] = mapped_column(String(36), index=True)
    geo: Mapped[str | None] = mapped_column(String(2))
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str | None] = mapped_column(String(3))
    ggr: Mapped[int | None] = mapped_column(BigInteger)
    ngr: Mapped[int | None] = mapped_column(BigInteger)
    period: Mapped[date | None] = mapped_column(Date)
    attribution_flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    qualified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PostbackJob(Base):
    """One server-to-server notification; ``dedupe_key`` = affiliate:event:conversion."""

    __tablename__ = "postback_jobs"
    __table_args__ = (Index("ix_postback_jobs_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    affiliate: Mapped[str] = mapped_column(String(64))
    campaign: Mapped[str | None] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(24))
    conversion_id: Mapped[str] = mapped_column(String(36), index=True)
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12))  # pending | delivered | dead_letter
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(36))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PostbackAttempt(Base):
    """Every HTTP attempt of a postback, kept for dispute resolution."""

    __tablename__ = "postback_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("postback_jobs.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    url: Mapped[str] = mapped_column(Text)
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(12))  # delivered | failed | dead_letter
    error: Mapped[str | None] = mapped_column(Text)


class OutboxCursor(Base):
    """A durable position of one outbox consumer; ``held_since``: when it began waiting
    on a gap in the outbox ids."""

    __tablename__ = "outbox_cursors"

    consumer: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    held_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


def as_dict(row: Base) -> dict[str, Any]:
    """A row's columns as a plain dict (API answers)."""
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}
