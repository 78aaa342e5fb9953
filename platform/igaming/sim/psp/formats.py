"""Settlement reports in a PSP's own format: today's rows written through the format's
mapping (ground.file_formats), the inverse of what the reconcilers read with it. A PSP
configured with ``report_format`` gets its file under ``<out_dir>/<psp>/`` named by the
format's pattern (``*`` is the batch number)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date

from ground.file_formats import (
    BATCH_KINDS,
    PSP_KINDS,
    FileFormat,
    Money,
    format_amount,
    format_datetime,
)

KIND_OF_TYPE = {row_type: kind for kind, row_type in PSP_KINDS.items()}


def file_name(fmt: FileFormat, day: date, batch: int) -> str:
    pattern = fmt.file.pattern.replace("*", str(batch))
    return pattern.format(date=day.isoformat(), yyyymmdd=day.strftime("%Y%m%d"))


def _put_money(out: dict[str, str], rule: Money | None, minor: int, currency: str, units: str):
    if rule is None:
        return
    text = format_amount(abs(minor), currency, units)
    if rule.currency is not None:
        out[rule.currency] = currency
    if rule.signed is not None:
        out[rule.signed] = format_amount(minor, currency, units)
    elif rule.debit is not None and rule.credit is not None:
        out[rule.debit if minor < 0 else rule.credit] = text
    elif rule.value is not None and rule.indicator is not None:
        out[rule.value] = text
        out[rule.indicator] = rule.debit_values[0] if minor < 0 else rule.credit_values[0]
    elif rule.costs:
        out[rule.costs[0]] = format_amount(-minor, currency, units)


def mapped_records(rows: Iterable, fmt: FileFormat) -> list[dict[str, str]]:
    """Each settlement row (igaming.sim.psp.reports.SettlementRow) as logical column →
    text; a fee the format has no column for becomes a fee row of its own (Trustly)."""
    rules = fmt.psp
    assert rules is not None
    a, dt = rules.amounts, rules.datetimes
    first_type: dict[str, str] = {}
    for provider, kind in rules.record_types.kinds.items():
        first_type.setdefault(kind, provider)
    records: list[dict[str, str]] = []
    for row in rows:
        kind = KIND_OF_TYPE[row.type]
        if kind not in first_type:
            raise ValueError(f"format {fmt.name} has no record type for {row.type} rows")
        parts = [(kind, row.gross_minor, row.fee_minor, row.net_minor)]
        if a.fee is None and a.net is None and row.fee_minor and kind not in BATCH_KINDS:
            parts = [(kind, row.gross_minor, 0, row.gross_minor), ("fee", 0, 0, row.fee_minor)]
        for part_kind, gross, fee, net in parts:
            out: dict[str, str] = {rules.record_types.column: first_type[part_kind]}
            batch_row = part_kind in BATCH_KINDS
            out[rules.references.psp_reference[0]] = (
                "" if row.psp_reference.startswith(f"{row.psp}_batch_") else row.psp_reference
            )
            out[rules.references.merchant_reference[0]] = row.merchant_reference or ""
            text, abbreviation = format_datetime(
                row.created_at, dt.formats[0], zone=dt.zone, abbreviations=dt.abbreviations
            )
            out[dt.created_at] = text
            if dt.zone_column and abbreviation:
                out[dt.zone_column] = abbreviation
            if dt.settled_at:
                out[dt.settled_at] = format_datetime(
                    row.settled_at, dt.formats[0], zone=dt.zone, abbreviations=dt.abbreviations
                )[0]
            if a.net is not None:
                if not batch_row:
                    _put_money(out, a.gross, gross, row.gross_currency, a.units)
                    _put_money(out, a.fee, fee, row.net_currency, a.units)
                elif a.net.currency is not None:
                    out[a.gross.currency or a.net.currency] = row.net_currency
                _put_money(out, a.net, net, row.net_currency, a.units)
                if a.exchange_rate:
                    out[a.exchange_rate] = row.exchange_rate
            elif batch_row:
                _put_money(out, a.gross, net, row.net_currency, a.units)
                _put_money(out, a.fee, 0, row.net_currency, a.units)
            else:
                _put_money(out, a.gross, gross, row.gross_currency, a.units)
                _put_money(out, a.fee, fee, row.gross_currency, a.units)
            if rules.batch_number:
                out[rules.batch_number] = str(row.batch_number)
            records.append(out)
    return records


def render_mapped(rows: Iterable, fmt: FileFormat) -> bytes:
    """The whole file, encoded as the format says."""
    d = fmt.dialect
    logical = list(fmt.columns)
    header = [fmt.aliases(c)[0] for c in logical] + list(fmt.extra_columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=d.delimiter, quotechar=d.quote, lineterminator="\n")
    records = mapped_records(rows, fmt)
    data = [[r.get(c, "") for c in logical] + [""] * len(fmt.extra_columns) for r in records]
    for _ in range(d.skip_rows):
        writer.writerow(["written by the pitwatch PSP simulator"])
    if d.sections is None:
        writer.writerow(header)
        writer.writerows(data)
    else:
        s = d.sections
        for kind in s.before:
            writer.writerow([kind])
        writer.writerow([s.header, *header])
        writer.writerows([s.data[0], *fields] for fields in data)
        for kind in s.ignore:
            if kind not in s.before:
                writer.writerow([kind, str(len(data))])
    for _ in range(d.skip_footer):
        writer.writerow(["end"])
    return buffer.getvalue().encode(d.encoding)
