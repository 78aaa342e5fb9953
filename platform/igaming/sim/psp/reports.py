"""Daily settlement reports, one CSV per PSP, in the format of docs/psp-settlement-report.md."""

from __future__ import annotations

import csv
import io
import os
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from ground.file_formats import OURS, get_format
from ground.money import CURRENCY_EXPONENTS, to_major
from igaming.sim.psp.config import PspSimConfig
from igaming.sim.psp.formats import file_name, render_mapped
from igaming.sim.psp.ledger import PspTransaction, iso_utc
from igaming.sim.psp.outcomes import stable_hex

COLUMNS = (
    "psp",
    "psp_reference",
    "merchant_reference",
    "type",
    "created_at",
    "settled_at",
    "gross_currency",
    "gross_amount",
    "net_currency",
    "net_amount",
    "fee_amount",
    "exchange_rate",
    "batch_number",
)
ROW_TYPES = ("Settled", "Refunded", "Chargeback", "ChargebackReversed", "Payout", "Fee")

# (kind, status) → (row type, sign of the money from the merchant's point of view)
ROW_FOR_STATUS: dict[tuple[str, str], tuple[str, int]] = {
    ("payment", "approved"): ("Settled", 1),
    ("payment", "refunded"): ("Refunded", -1),
    ("payment", "chargeback"): ("Chargeback", -1),
    ("payment", "chargeback_reversed"): ("ChargebackReversed", 1),
    ("payout", "paid"): ("Payout", -1),
}
BATCH_EPOCH = date(2024, 1, 1)
INVERSE_RATE_PLACES = Decimal("0.00000001")


class ReportError(ValueError):
    """A report that cannot be written as configured (e.g. no exchange rate)."""


def batch_number(day: date) -> int:
    """One batch per PSP per day, numbered consecutively (batch n+1 is the next day)."""
    return (day - BATCH_EPOCH).days + 1


def end_of_day(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


@dataclass
class SettlementRow:
    """One CSV line; amounts are signed integers in minor units of their currency."""

    psp: str
    psp_reference: str
    merchant_reference: str
    type: str
    created_at: datetime
    settled_at: datetime
    gross_currency: str
    gross_minor: int
    net_currency: str
    net_minor: int
    fee_minor: int
    exchange_rate: str
    batch_number: int

    def to_csv(self) -> list[str]:
        return [
            self.psp,
            self.psp_reference,
            self.merchant_reference,
            self.type,
            iso_utc(self.created_at),
            iso_utc(self.settled_at),
            self.gross_currency,
            to_major(self.gross_minor, self.gross_currency),
            self.net_currency,
            to_major(self.net_minor, self.net_currency),
            to_major(self.fee_minor, self.net_currency),
            self.exchange_rate,
            str(self.batch_number),
        ]


@dataclass(frozen=True)
class Discrepancy:
    """Ground truth of a deliberate error in a report (what a reconciler should find)."""

    kind: str  # amount_mismatch | missing_row | extra_row
    psp: str
    psp_reference: str
    merchant_reference: str
    type: str
    expected_gross_minor: int | None
    reported_gross_minor: int | None


@dataclass
class SettlementReport:
    psp: str
    day: date
    path: Path | None
    rows: list[SettlementRow] = field(default_factory=list)
    discrepancies: list[Discrepancy] = field(default_factory=list)


def _round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _rate_text(config: PspSimConfig, base: str, quote: str) -> str:
    if base == quote:
        return "1"
    direct = config.exchange_rates.get(f"{base}/{quote}")
    if direct is not None:
        return direct
    rate = config.rate(base, quote)
    if rate is None:
        raise ReportError(f"no exchange rate {base}/{quote} in the simulator config")
    return str(rate.quantize(INVERSE_RATE_PLACES, rounding=ROUND_HALF_UP))


def convert(amount_minor: int, base: str, quote: str, rate_text: str) -> int:
    """Minor units of ``base`` into minor units of ``quote`` (half-up, away from zero)."""
    if base == quote:
        return amount_minor
    major = Decimal(amount_minor).scaleb(-CURRENCY_EXPONENTS[base]) * Decimal(rate_text)
    return _round_half_up(major.scaleb(CURRENCY_EXPONENTS[quote]))


def _row(
    config: PspSimConfig,
    tx: PspTransaction,
    row_type: str,
    sign: int,
    day: date,
    gross_minor: int | None = None,
) -> SettlementRow:
    settings = config.psps[tx.psp]
    net_currency = settings.settlement_currency or tx.currency
    rate = _rate_text(config, tx.currency, net_currency)
    gross = sign * tx.amount if gross_minor is None else gross_minor
    net_gross = convert(gross, tx.currency, net_currency, rate)
    if row_type == "Settled":
        fee = _round_half_up(Decimal(abs(net_gross) * settings.fee_bps) / 10_000)
        fee += settings.fee_fixed_minor
    elif row_type == "Payout":
        fee = settings.payout_fee_minor
    elif row_type == "Chargeback":
        fee = settings.chargeback_fee_minor
    else:
        fee = 0
    return SettlementRow(
        psp=tx.psp,
        psp_reference=tx.psp_reference,
        merchant_reference=tx.merchant_reference,
        type=row_type,
        created_at=tx.created_at,
        settled_at=end_of_day(day),
        gross_currency=tx.currency,
        gross_minor=gross,
        net_currency=net_currency,
        net_minor=net_gross - fee,
        fee_minor=-fee,
        exchange_rate=rate,
        batch_number=batch_number(day),
    )


def build_settlement_report(
    transactions: Iterable[PspTransaction],
    config: PspSimConfig,
    psp: str,
    day: date,
    now: datetime,
) -> SettlementReport:
    """The rows of one PSP's report for one UTC day, with any configured discrepancies."""
    settings = config.psps[psp]
    start = datetime.combine(day, time(0), tzinfo=UTC)
    end = start + timedelta(days=1)
    report = SettlementReport(psp=psp, day=day, path=None)

    candidates: list[tuple[datetime, str, str, PspTransaction, str, int]] = []
    for tx in transactions:
        if tx.psp != psp:
            continue
        for event in tx.events:
            mapped = ROW_FOR_STATUS.get((tx.kind, event.status))
            if mapped is None or event.stale:
                continue
            if start <= event.occurred_at < end and event.occurred_at <= now:
                candidates.append(
                    (event.occurred_at, tx.psp_reference, mapped[0], tx, mapped[0], mapped[1])
                )
    candidates.sort(key=lambda c: (c[0], c[1], c[2]))

    rng = random.Random(f"{config.seed}:{psp}:{day.isoformat()}:settlement")
    for index, (_, _, _, tx, row_type, sign) in enumerate(candidates):
        row = _row(config, tx, row_type, sign, day)
        knobs = config.resolve(psp, tx.geo, tx.method)
        # Always draw the same numbers per row so one row's fate does not shift the rest.
        hit = rng.random() < knobs.settlement_discrepancy_rate
        kind = rng.choice(("amount_mismatch", "missing_row", "extra_row"))
        delta = rng.randint(1, 99) * rng.choice((-1, 1))
        phantom_amount = rng.randint(500, 50_000)
        if not hit:
            report.rows.append(row)
            continue
        if kind == "amount_mismatch":
            if abs(row.gross_minor) <= 99:
                delta = abs(delta) * (1 if row.gross_minor > 0 else -1)
            off = _row(config, tx, row_type, sign, day, gross_minor=row.gross_minor + delta)
            report.rows.append(off)
            report.discrepancies.append(
                Discrepancy(
                    kind,
                    psp,
                    tx.psp_reference,
                    tx.merchant_reference,
                    row_type,
                    row.gross_minor,
                    off.gross_minor,
                )
            )
        elif kind == "missing_row":
            report.discrepancies.append(
                Discrepancy(
                    kind,
                    psp,
                    tx.psp_reference,
                    tx.merchant_reference,
                    row_type,
                    row.gross_minor,
                    None,
                )
            )
        else:
            report.rows.append(row)
            token = stable_hex(config.seed, psp, day.isoformat(), "phantom", index)
            phantom_tx = PspTransaction(
                psp=psp,
                kind="payment",
                psp_reference=f"{psp}_pay_{token}",
                merchant_reference=f"unknown-{token[:12]}",
                amount=phantom_amount,
                currency=tx.currency,
                method=tx.method,
                geo=tx.geo,
                callback_url="",
                created_at=tx.created_at,
                fingerprint="",
            )
            phantom = _row(config, phantom_tx, "Settled", 1, day)
            report.rows.append(phantom)
            report.discrepancies.append(
                Discrepancy(
                    kind,
                    psp,
                    phantom.psp_reference,
                    phantom.merchant_reference,
                    "Settled",
                    None,
                    phantom.gross_minor,
                )
            )

    if settings.batch_fee_minor > 0:
        currency = settings.settlement_currency or settings.batch_fee_currency
        report.rows.append(
            SettlementRow(
                psp=psp,
                psp_reference=f"{psp}_batch_{batch_number(day)}",
                merchant_reference="",
                type="Fee",
                created_at=end_of_day(day),
                settled_at=end_of_day(day),
                gross_currency=currency,
                gross_minor=0,
                net_currency=currency,
                net_minor=-settings.batch_fee_minor,
                fee_minor=-settings.batch_fee_minor,
                exchange_rate="1",
                batch_number=batch_number(day),
            )
        )
    return report


def render_csv(rows: Iterable[SettlementRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(row.to_csv())
    return buffer.getvalue()


def report_filename(psp: str, day: date) -> str:
    return f"{psp}-settlement-{day.isoformat()}.csv"


def write_settlement_reports(
    transactions: Iterable[PspTransaction],
    config: PspSimConfig,
    day: date,
    out_dir: Path,
    *,
    now: datetime,
) -> list[SettlementReport]:
    """Write one CSV per configured PSP for ``day`` (UTC) into ``out_dir``; atomic per file."""
    txs = list(transactions)
    out_dir.mkdir(parents=True, exist_ok=True)
    reports: list[SettlementReport] = []
    for psp in sorted(config.psps):
        report = build_settlement_report(txs, config, psp, day, now)
        name = config.psps[psp].report_format
        if name == OURS:
            path = (out_dir / report_filename(psp, day)).resolve()
            content = render_csv(report.rows).encode("utf-8")
        else:  # the PSP's own format (docs/psp-settlement-formats.md)
            fmt = get_format(name)
            path = (out_dir / psp / file_name(fmt, day, batch_number(day))).resolve()
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                content = render_mapped(report.rows, fmt)
            except ValueError as exc:  # e.g. no record type of the format for a row's kind
                raise ReportError(f"{psp}: {exc}") from None
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(content)
        os.replace(tmp, path)  # a reconciler polling the folder never sees half a file
        report.path = path
        reports.append(report)
    return reports
