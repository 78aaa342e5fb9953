"""Domain events of the affiliates context (docs/affiliates.md). Label-like fields:
affiliate, campaign, conversion_type, event, reason, geo; ids are named *_id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from igaming.events import Event


@dataclass(frozen=True, kw_only=True)
class ClickRecorded(Event):
    name: ClassVar[str] = "affiliate.click_recorded"
    affiliate: str
    campaign: str | None
    geo: str | None
    click_id: str


@dataclass(frozen=True, kw_only=True)
class ConversionCreated(Event):
    name: ClassVar[str] = "affiliate.conversion_created"
    conversion_type: str
    affiliate: str
    campaign: str | None
    state: str
    conversion_id: str
    attribution_flagged: bool


@dataclass(frozen=True, kw_only=True)
class FtdQualified(Event):
    name: ClassVar[str] = "affiliate.ftd_qualified"
    affiliate: str
    campaign: str | None
    conversion_id: str
    seconds_to_qualify: float


@dataclass(frozen=True, kw_only=True)
class FtdRejected(Event):
    """reason: below_minimum, geo_not_allowed, kyc_rejected, fraud, charged_back."""

    name: ClassVar[str] = "affiliate.ftd_rejected"
    affiliate: str
    campaign: str | None
    reason: str
    conversion_id: str


@dataclass(frozen=True, kw_only=True)
class FtdReversed(Event):
    name: ClassVar[str] = "affiliate.ftd_reversed"
    affiliate: str
    campaign: str | None
    reason: str
    conversion_id: str


@dataclass(frozen=True, kw_only=True)
class PostbackDelivered(Event):
    name: ClassVar[str] = "affiliate.postback_delivered"
    affiliate: str
    campaign: str | None
    event: str
    attempts: int
    delay_seconds: float
    postback_id: int


@dataclass(frozen=True, kw_only=True)
class PostbackFailed(Event):
    """reason: http_<status> or a transport error class (timeout, connect_error...)."""

    name: ClassVar[str] = "affiliate.postback_failed"
    affiliate: str
    campaign: str | None
    event: str
    attempt: int
    reason: str
    postback_id: int


@dataclass(frozen=True, kw_only=True)
class PostbackDeadLettered(Event):
    name: ClassVar[str] = "affiliate.postback_dead_lettered"
    affiliate: str
    campaign: str | None
    event: str
    attempts: int
    reason: str
    postback_id: int


@dataclass(frozen=True, kw_only=True)
class PostbackDispatcherPassed(Event):
    """One pass of the postback dispatcher, whether or not anything was due (its heartbeat:
    on the bus only, never in the outbox). ``claimed``: postbacks it sent in the pass."""

    name: ClassVar[str] = "affiliate.postback_dispatcher_passed"
    claimed: int
