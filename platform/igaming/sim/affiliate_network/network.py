"""The network's own books: postbacks received, deduplicated, their commission, the export.

CSV export format: docs/affiliate-conversions-export.md.
"""

from __future__ import annotations

import csv
import io
import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from ground.money import MoneyError, to_major, to_minor
from igaming.sim.affiliate_network.config import AffiliateNetworkConfig

COLUMNS = (
    "affiliate",
    "campaign",
    "click_id",
    "player_ref",
    "event",
    "conversion_id",
    "amount",
    "currency",
    "status",
    "occurred_at",
    "received_at",
    "commission_amount",
    "commission_currency",
)
REVERSAL_SUFFIX = "_reversal"


class BadPostback(ValueError):
    """A postback without the fields the network needs."""


@dataclass
class Record:
    affiliate: str
    campaign: str
    click_id: str
    player_ref: str
    event: str
    conversion_id: str
    amount: str
    currency: str
    status: str  # approved | reversed
    occurred_at: datetime
    received_at: datetime
    commission_minor: int

    def row(self) -> dict[str, str]:
        commission = to_major(self.commission_minor, self.currency) if self.currency else "0"
        return {
            "affiliate": self.affiliate,
            "campaign": self.campaign,
            "click_id": self.click_id,
            "player_ref": self.player_ref,
            "event": self.event,
            "conversion_id": self.conversion_id,
            "amount": self.amount,
            "currency": self.currency,
            "status": self.status,
            "occurred_at": iso(self.occurred_at),
            "received_at": iso(self.received_at),
            "commission_amount": commission,
            "commission_currency": self.currency,
        }


@dataclass(frozen=True)
class Receipt:
    """One accepted (answered 2xx) postback request, duplicates and lost ones included."""

    affiliate: str
    event: str
    conversion_id: str
    received_at: datetime
    outcome: str  # recorded | duplicate | lost


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(value: str | None, default: datetime) -> datetime:
    if not value:
        return default
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadPostback(f"occurred_at is not ISO 8601: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class Network:
    """State of the simulated network; thread-safe, randomness from one seeded RNG."""

    config: AffiliateNetworkConfig
    rng: random.Random = field(init=False)
    records: dict[tuple[str, str, str], Record] = field(default_factory=dict)
    receipts: list[Receipt] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: {"refused": 0, "errors": 0, "down": 0, "invalid": 0}
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.config.seed)

    def roll(self, rate: float) -> bool:
        with self._lock:
            return rate > 0 and self.rng.random() < rate

    def count(self, what: str) -> None:
        with self._lock:
            self.counts[what] = self.counts.get(what, 0) + 1

    def _commission(self, affiliate: str, event: str, amount: str, currency: str) -> int:
        terms = self.config.affiliate(affiliate)
        if not currency:
            return 0
        if event == "ftd":
            return to_minor(terms.cpa, currency)
        if event == "revenue":
            minor = to_minor(amount, currency)
            return int(Decimal(minor) * terms.revshare_bps / 10_000)
        return 0

    def receive(self, affiliate: str, params: dict[str, str], now: datetime, *, lose: bool) -> str:
        """Book one verified postback; returns recorded, duplicate or lost."""
        event, conversion_id = params.get("event", ""), params.get("conversion_id", "")
        if not event or not conversion_id:
            raise BadPostback("event and conversion_id are required")
        amount, currency = params.get("amount", "0"), params.get("currency", "")
        try:
            commission = self._commission(affiliate, event, amount, currency)
        except MoneyError as exc:
            raise BadPostback(str(exc)) from exc
        occurred = parse_time(params.get("occurred_at"), now)
        base = event.removesuffix(REVERSAL_SUFFIX)
        key = (affiliate, base, conversion_id)
        with self._lock:
            if lose:
                outcome = "lost"
            elif event.endswith(REVERSAL_SUFFIX):
                record = self.records.get(key)
                if record is not None and record.status == "reversed":
                    outcome = "duplicate"
                else:
                    if record is None:  # its original never arrived (or was lost)
                        record = self._record(affiliate, params, base, occurred, now, 0)
                        self.records[key] = record
                    record.status, record.commission_minor = "reversed", 0
                    outcome = "recorded"
            elif key in self.records:
                outcome = "duplicate"
            else:
                self.records[key] = self._record(affiliate, params, base, occurred, now, commission)
                outcome = "recorded"
            self.receipts.append(Receipt(affiliate, event, conversion_id, now, outcome))
        return outcome

    @staticmethod
    def _record(
        affiliate: str,
        params: dict[str, str],
        event: str,
        occurred: datetime,
        now: datetime,
        commission: int,
    ) -> Record:
        return Record(
            affiliate=affiliate,
            campaign=params.get("campaign", ""),
            click_id=params.get("click_id", ""),
            player_ref=params.get("player_ref", ""),
            event=event,
            conversion_id=params["conversion_id"],
            amount=params.get("amount", "0"),
            currency=params.get("currency", ""),
            status="approved",
            occurred_at=occurred,
            received_at=now,
            commission_minor=commission,
        )

    def conversions(self, day: date | None = None) -> list[Record]:
        """Booked conversions (of the UTC day they occurred on), oldest first."""
        with self._lock:
            rows = list(self.records.values())
        if day is not None:
            rows = [r for r in rows if r.occurred_at.astimezone(UTC).date() == day]
        return sorted(rows, key=lambda r: (r.occurred_at, r.conversion_id, r.event))


def export_csv(records: list[Record]) -> str:
    """The network's conversions as CSV (docs/affiliate-conversions-export.md)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow(record.row())
    return out.getvalue()
