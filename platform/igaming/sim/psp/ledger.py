"""The simulator's own record of payments, payouts and their lifecycle events (in memory)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Kind = Literal["payment", "payout"]
FINAL_STATUSES = frozenset({"approved", "declined", "failed", "paid"})


def iso_utc(when: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a Z: '2026-11-02T12:00:02.517Z'."""
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class PspEvent:
    """One status change the PSP reports (or, for stale ones, re-reports) to the merchant."""

    event_id: str
    status: str
    reason: str | None
    occurred_at: datetime
    stale: bool = False  # a re-sent earlier status, delivered out of order on purpose
    deliveries: int = 0  # copies scheduled (0 = lost)
    late: bool = False
    bad_signature: bool = False


@dataclass
class PspTransaction:
    """A payment or payout as the PSP sees it, with its whole (pre-decided) lifecycle."""

    psp: str
    kind: Kind
    psp_reference: str
    merchant_reference: str
    amount: int
    currency: str
    method: str
    geo: str
    callback_url: str
    created_at: datetime
    fingerprint: str
    events: list[PspEvent] = field(default_factory=list)

    def status_at(self, now: datetime) -> tuple[str, str | None]:
        """Status and reason as of ``now``: the latest non-stale event that has happened."""
        status, reason = "pending", None
        for event in sorted(self.events, key=lambda e: e.occurred_at):
            if not event.stale and event.occurred_at <= now:
                status, reason = event.status, event.reason
        return status, reason

    def callback_payload(self, event: PspEvent) -> dict[str, Any]:
        return {
            "event_id": event.event_id,
            "psp": self.psp,
            "psp_reference": self.psp_reference,
            "merchant_reference": self.merchant_reference,
            "kind": self.kind,
            "status": event.status,
            "amount": self.amount,
            "currency": self.currency,
            "reason": event.reason,
            "occurred_at": iso_utc(event.occurred_at),
        }

    def to_json(self, now: datetime) -> dict[str, Any]:
        status, reason = self.status_at(now)
        return {
            "psp": self.psp,
            "kind": self.kind,
            "psp_reference": self.psp_reference,
            "merchant_reference": self.merchant_reference,
            "amount": self.amount,
            "currency": self.currency,
            "method": self.method,
            "geo": self.geo,
            "callback_url": self.callback_url,
            "created_at": iso_utc(self.created_at),
            "status": status,
            "reason": reason,
            "events": [
                {
                    "event_id": e.event_id,
                    "status": e.status,
                    "reason": e.reason,
                    "occurred_at": iso_utc(e.occurred_at),
                    "stale": e.stale,
                    "deliveries": e.deliveries,
                    "late": e.late,
                    "bad_signature": e.bad_signature,
                }
                for e in self.events
            ],
        }


class SimLedger:
    """Thread-safe, insertion-ordered store of transactions keyed by (psp, kind, merchant ref)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[tuple[str, str, str], PspTransaction] = {}
        self._by_psp_ref: dict[str, PspTransaction] = {}

    def get_or_create(
        self, psp: str, kind: Kind, merchant_reference: str, create: Callable[[], PspTransaction]
    ) -> tuple[PspTransaction, bool]:
        """The existing transaction for this key, or a new one from ``create``; True if new."""
        key = (psp, kind, merchant_reference)
        with self._lock:
            existing = self._by_key.get(key)
            if existing is not None:
                return existing, False
            tx = create()
            self._by_key[key] = tx
            self._by_psp_ref[tx.psp_reference] = tx
            return tx, True

    def by_psp_reference(self, psp_reference: str) -> PspTransaction | None:
        with self._lock:
            return self._by_psp_ref.get(psp_reference)

    def transactions(self, psp: str | None = None) -> list[PspTransaction]:
        with self._lock:
            return [tx for tx in self._by_key.values() if psp is None or tx.psp == psp]

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_key)
