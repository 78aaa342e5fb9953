"""Domain events. Business code emits them; instrumentation and the outbox consume them."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar


@dataclass(frozen=True, kw_only=True)
class Event:
    name: ClassVar[str] = "event"
    occurred_at: datetime
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.isoformat() if isinstance(value, datetime) else value
        return out


@dataclass(frozen=True, kw_only=True)
class PlayerRegistered(Event):
    name: ClassVar[str] = "player.registered"
    player_id: str
    country: str
    currency: str
    brand: str
    affiliate: str | None
    campaign: str | None


@dataclass(frozen=True, kw_only=True)
class RegistrationRefused(Event):
    name: ClassVar[str] = "player.registration_refused"
    country: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class DepositEvent(Event):
    deposit_id: str
    player_id: str
    psp: str
    method: str
    geo: str
    brand: str
    currency: str
    amount: int
    first_deposit: bool


@dataclass(frozen=True, kw_only=True)
class DepositRequested(DepositEvent):
    name: ClassVar[str] = "deposit.requested"


@dataclass(frozen=True, kw_only=True)
class DepositApproved(DepositEvent):
    name: ClassVar[str] = "deposit.approved"
    seconds_to_approval: float


@dataclass(frozen=True, kw_only=True)
class DepositDeclined(DepositEvent):
    name: ClassVar[str] = "deposit.declined"
    reason: str


@dataclass(frozen=True, kw_only=True)
class DepositFailed(DepositEvent):
    """The PSP could not be reached or answered with an error (timed_out, psp_unavailable...)."""

    name: ClassVar[str] = "deposit.failed"
    reason: str


@dataclass(frozen=True, kw_only=True)
class DepositChargedBack(DepositEvent):
    name: ClassVar[str] = "deposit.charged_back"
    negative_balance: bool


@dataclass(frozen=True, kw_only=True)
class WithdrawalEvent(Event):
    withdrawal_id: str
    player_id: str
    psp: str
    method: str
    geo: str
    brand: str
    currency: str
    amount: int


@dataclass(frozen=True, kw_only=True)
class WithdrawalRequested(WithdrawalEvent):
    name: ClassVar[str] = "withdrawal.requested"


@dataclass(frozen=True, kw_only=True)
class WithdrawalCompleted(WithdrawalEvent):
    name: ClassVar[str] = "withdrawal.completed"
    seconds_to_complete: float


@dataclass(frozen=True, kw_only=True)
class WithdrawalFailed(WithdrawalEvent):
    name: ClassVar[str] = "withdrawal.failed"
    reason: str


@dataclass(frozen=True, kw_only=True)
class CallbackReceived(Event):
    """outcome: applied, duplicate, bad_signature, orphan, out_of_order, amount_mismatch."""

    name: ClassVar[str] = "psp.callback_received"
    psp: str
    kind: str
    status: str
    outcome: str
    delay_seconds: float | None


@dataclass(frozen=True, kw_only=True)
class KycOutcome(Event):
    name: ClassVar[str] = "kyc.outcome"
    player_id: str
    country: str
    status: str
    vendor_error: str | None


@dataclass(frozen=True, kw_only=True)
class AdjustmentPosted(Event):
    name: ClassVar[str] = "wallet.adjustment_posted"
    transaction_id: str
    player_id: str
    operator: str
    role: str
    currency: str
    amount: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class WalletTransactionFailed(Event):
    name: ClassVar[str] = "wallet.transaction_failed"
    tx_type: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class IdempotentReplay(Event):
    name: ClassVar[str] = "wallet.idempotent_replay"
    tx_type: str


@dataclass(frozen=True, kw_only=True)
class PlatformDeployed(Event):
    """The platform reports a new version while running (a deploy marker, igaming.faults)."""

    name: ClassVar[str] = "platform.deployed"
    version: str
