"""Counterparts' files in their own formats, read through a declarative mapping
(ground.file_formats; docs/psp-settlement-formats.md) into exactly the frames the strict
readers produce (PSP_ROWS / AFFILIATE_ROWS and REJECTS), so that matching is untouched.

Python splits the records (any encoding, a byte-order mark, sections, header and footer
rows) and applies the mapping row by row: a row the mapping cannot read (an unknown record
type, an amount with more decimals than its currency has, a time its zone never had) is a
reject naming the provider's column. Every other row becomes a row of pitwatch's own format
and goes through that format's DuckDB checks (``CsvSpec``), so a mapped file is held to
the same rules as ours. Nothing is dropped: rows + rejects = the data records.

File-level problems (missing, not in its encoding, no header, a required column missing)
raise SourceError: one line, and the run fails as with our own format.
"""

from __future__ import annotations

import codecs
import csv
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from ground.file_formats import (
    BATCH_KINDS,
    PSP_KINDS,
    FileFormat,
    Money,
    ValueProblem,
    format_amount,
    iso_utc,
    parse_amount,
    parse_datetime,
    shown,
)
from ground.money import CURRENCY_EXPONENTS
from reconcilers.errors import SourceError
from reconcilers.sources.strict_csv import CsvSpec, check_frame, connect, finish

log = logging.getLogger(__name__)
_RATE = re.compile(r"[0-9]+(\.[0-9]+)?")


@dataclass
class Records:
    """A file split into records: the header's fields, the data records (line, raw text,
    fields) and the records rejected for their structure."""

    header: list[str]
    data: list[tuple[int, str, list[str]]] = field(default_factory=list)
    structural: list[dict[str, object]] = field(default_factory=list)


def day_files(folder: Path, fmt: FileFormat, day: date) -> list[Path]:
    """The files of ``day`` under a counterpart's folder, by the format's name pattern."""
    pattern = fmt.file.pattern.format(date=day.isoformat(), yyyymmdd=day.strftime("%Y%m%d"))
    return sorted(p for p in Path(folder).glob(pattern) if p.is_file())


def expected_name(fmt: FileFormat, day: date) -> str:
    return fmt.file.pattern.format(date=day.isoformat(), yyyymmdd=day.strftime("%Y%m%d"))


# -- records ------------------------------------------------------------------------------------


def split_records(path: Path, fmt: FileFormat) -> Records:
    """The file's records by the format's dialect; SourceError when it cannot be read."""
    d = fmt.dialect
    try:
        raw = path.open("rb")
    except FileNotFoundError:
        raise SourceError(path, "missing") from None
    except IsADirectoryError:
        raise SourceError(path, "is a directory, not a file") from None
    except OSError as exc:
        raise SourceError(path, f"cannot be read ({exc.strerror or exc})") from None
    with raw:
        data = raw.read()
    try:
        text = codecs.decode(data, d.encoding)
    except UnicodeDecodeError as exc:
        raise SourceError(
            path, f"not {d.encoding} (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None
    text = text.removeprefix("\ufeff")  # utf-16 and utf-8 files may carry one
    lines = text.splitlines(keepends=True)
    records = list(_records(lines, d.delimiter, d.quote))
    if d.skip_footer:
        records = records[: max(len(records) - d.skip_footer, 0)]
    if d.sections is None:
        return _plain(path, fmt, records)
    return _sectioned(path, fmt, records)


def _records(
    lines: list[str], delimiter: str, quote: str
) -> Iterator[tuple[int, str, list[str] | None, str | None]]:
    """(first line, raw text, fields or None, csv error) of every record."""
    consumed: list[str] = []

    def physical() -> Iterator[str]:
        for text in lines:
            consumed.append(text)
            yield text

    reader = csv.reader(physical(), delimiter=delimiter, quotechar=quote, strict=True)
    while True:
        start = reader.line_num + 1
        try:
            fields: list[str] | None = next(reader)
            error = None
        except StopIteration:
            return
        except csv.Error as exc:
            fields, error = None, str(exc)
        raw = "".join(consumed).removesuffix("\n").removesuffix("\r")
        consumed.clear()
        yield start, raw, fields, error


def _structural(line: int, raw: str, reason: str) -> dict[str, object]:
    return {"source_line": line, "reason": reason, "raw": raw}


def _plain(path: Path, fmt: FileFormat, records: list) -> Records:
    skip = fmt.dialect.skip_rows
    body = [r for r in records if r[0] > skip]
    if not body or body[0][2] is None:
        raise SourceError(path, f"has no header row (format {fmt.name})")
    found = Records(header=body[0][2])
    width = len(found.header)
    for line, raw, fields, error in body[1:]:
        if error is not None:
            found.structural.append(_structural(line, raw, f"not valid CSV: {error}"))
        elif not fields:
            found.structural.append(_structural(line, raw, "empty line"))
        elif len(fields) != width:
            reason = f"has {len(fields)} fields (expected {width})"
            found.structural.append(_structural(line, raw, reason))
        else:
            found.data.append((line, raw, fields))
    return found


def _sectioned(path: Path, fmt: FileFormat, records: list) -> Records:
    sections = fmt.dialect.sections
    assert sections is not None
    header: list[str] | None = None
    found = Records(header=[])
    known = [sections.header, *sections.data, *sections.ignore]
    for line, raw, fields, error in records:
        if error is not None:
            found.structural.append(_structural(line, raw, f"not valid CSV: {error}"))
            continue
        if not fields:
            found.structural.append(_structural(line, raw, "empty line"))
            continue
        kind = fields[0].strip()
        if kind == sections.header:
            if header is None:
                header = fields[1:]
                found.header = header
            elif fields[1:] != header:
                raise SourceError(path, f"line {line}: a {kind} row unlike the first one")
        elif kind in sections.data:
            if header is None:
                raise SourceError(path, f"line {line}: a {kind} row before the {sections.header}")
            if len(fields) - 1 != len(header):
                reason = f"has {len(fields) - 1} fields after {kind} (expected {len(header)})"
                found.structural.append(_structural(line, raw, reason))
            else:
                found.data.append((line, raw, fields[1:]))
        elif kind not in sections.ignore:
            reason = f"row type {shown(kind)} is not one of {', '.join(known)}"
            found.structural.append(_structural(line, raw, reason))
    if header is None:
        raise SourceError(path, f"has no {sections.header} row (the column header, {fmt.name})")
    return found


def resolve_columns(path: Path, fmt: FileFormat, header: list[str]) -> dict[str, int]:
    """Logical column → its position in this file's header. A missing required column is a
    SourceError; a column the mapping does not name is a warning (logged and kept out)."""
    seen: dict[str, int] = {}
    for at, name in enumerate(header):
        key = name.strip().casefold()
        if key in seen:
            raise SourceError(path, f"has the column {name.strip()!r} twice")
        seen[key] = at
    index: dict[str, int] = {}
    claimed: set[int] = set()
    for logical in fmt.columns:
        for alias in fmt.aliases(logical):
            position = seen.get(alias.strip().casefold())
            if position is not None:
                index[logical] = position
                claimed.add(position)
                break
    required = [c for c in fmt.used_columns() if c not in fmt.optional]
    missing = [c for c in required if c not in index]
    if missing:
        names = " / ".join(repr(a) for a in fmt.aliases(missing[0]))
        more = f"; {len(missing) - 1} more missing" if len(missing) > 1 else ""
        raise SourceError(path, f"has no column {names} (format {fmt.name}{more})")
    unknown = [
        header[at].strip()
        for at in range(len(header))
        if at not in claimed and header[at].strip() not in fmt.extra_columns
    ]
    if unknown:
        log.warning(
            "%s: columns not in format %s, not read: %s", path.name, fmt.name, ", ".join(unknown)
        )
    return index


# -- PSP rows -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    fields: list[str]
    index: dict[str, int]
    fmt: FileFormat

    def get(self, logical: str | None) -> str:
        if logical is None or logical not in self.index:
            return ""
        return self.fields[self.index[logical]].strip()

    def first(self, logicals: list[str]) -> str:
        for name in logicals:
            if value := self.get(name):
                return value
        return ""

    def header(self, logical: str) -> str:
        return self.fmt.aliases(logical)[0]


def _money(row: _Row, rule: Money | None, currency: str, units: str) -> int | None:
    """The signed amount (merchant's point of view) in minor units, None when empty."""
    if rule is None:
        return None

    def amount(logical: str) -> int | None:
        text = row.get(logical)
        return None if text == "" else parse_amount(text, currency, units, row.header(logical))

    if rule.signed is not None:
        return amount(rule.signed)
    if rule.debit is not None and rule.credit is not None:
        debit, credit = amount(rule.debit), amount(rule.credit)
        if debit is None and credit is None:
            return None
        return (credit or 0) - (debit or 0)
    if rule.value is not None and rule.indicator is not None:
        value = amount(rule.value)
        if value is None:
            return None
        sign = row.get(rule.indicator)
        if sign in rule.debit_values:
            return -value
        if sign in rule.credit_values:
            return value
        expected = ", ".join([*rule.debit_values, *rule.credit_values])
        raise ValueProblem(f"{row.header(rule.indicator)} is {shown(sign)} (expected {expected})")
    costs = [amount(c) for c in rule.costs or []]
    if all(c is None for c in costs):
        return None
    return -sum(c or 0 for c in costs)


def _convert(gross_minor: int, gross_currency: str, net_currency: str, rate: str) -> int:
    """gross × rate in minor units of the net currency, rounded half up (away from zero)."""
    shift = CURRENCY_EXPONENTS[net_currency] - CURRENCY_EXPONENTS[gross_currency]
    value = Decimal(gross_minor).scaleb(shift) * Decimal(rate)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _currency(row: _Row, logical: str | None, fallback: str = "") -> str:
    value = row.get(logical) or fallback
    if value not in CURRENCY_EXPONENTS:
        column = row.header(logical) if logical else "currency"
        raise ValueProblem(f"{column} is {shown(value)} (not an ISO 4217 currency known here)")
    return value


def psp_row(row: _Row, *, psp: str, day: date, batch_from_name: str | None) -> list[str]:
    """One provider row as a row of pitwatch's format (docs/psp-settlement-report.md)."""
    fmt = row.fmt
    rules = fmt.psp
    assert rules is not None
    types = rules.record_types
    provider_type = row.get(types.column)
    kind = types.kinds.get(provider_type)
    if kind is None:
        known = ", ".join(list(types.kinds)[:8]) + (", ..." if len(types.kinds) > 8 else "")
        raise ValueProblem(
            f"{row.header(types.column)} is {shown(provider_type)} "
            f"(not a record type of format {fmt.name}: {known})"
        )
    batch_kind = kind in BATCH_KINDS
    batch = batch_from_name if batch_from_name is not None else row.get(rules.batch_number)
    psp_reference = row.first(rules.references.psp_reference)
    if not psp_reference:
        if not batch_kind:
            names = " / ".join(row.header(c) for c in rules.references.psp_reference)
            raise ValueProblem(f"{names} is empty")
        psp_reference = f"{psp}_batch_{batch}"
    merchant_reference = row.first(rules.references.merchant_reference)
    if not merchant_reference and not batch_kind:
        names = " / ".join(row.header(c) for c in rules.references.merchant_reference)
        raise ValueProblem(f"{names} is empty (only fee and adjustment rows may have none)")

    dt = rules.datetimes
    abbreviation = row.get(dt.zone_column) if dt.zone_column else None

    def when(logical: str) -> datetime:
        return parse_datetime(
            row.get(logical),
            dt.formats,
            row.header(logical),
            zone=dt.zone,
            abbreviation=abbreviation,
            abbreviations=dt.abbreviations,
        )

    created = when(dt.created_at)
    settled = (
        when(dt.settled_at)
        if dt.settled_at and row.get(dt.settled_at)
        else datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
    )

    a = rules.amounts
    net_currency = _currency(row, a.net.currency if a.net and a.net.currency else a.gross.currency)
    if batch_kind and not row.get(a.gross.currency):
        gross_currency = net_currency
    else:
        gross_currency = _currency(row, a.gross.currency)
    rate = row.get(a.exchange_rate) or "1"
    if not _RATE.fullmatch(rate) or Decimal(rate) == 0:
        raise ValueProblem(f"{row.header(a.exchange_rate or '')} is {shown(rate)} (not a rate)")
    if gross_currency == net_currency and Decimal(rate) != 1:
        rate = "1"  # a rate between the same currency says nothing
    gross = _money(row, a.gross, gross_currency, a.units)
    if gross is None:
        if not batch_kind:
            names = " / ".join(row.header(c) for c in a.gross.columns()[1:])
            raise ValueProblem(f"{names}: no amount")
        gross = 0
    fee_currency = net_currency
    if a.fee is not None and a.fee.currency is not None:
        fee_currency = _currency(row, a.fee.currency, net_currency)
        if fee_currency != net_currency:
            raise ValueProblem(
                f"{row.header(a.fee.currency)} is {fee_currency} (the fee must be in the net "
                f"currency, {net_currency})"
            )
    fee = _money(row, a.fee, fee_currency, a.units)
    net = _money(row, a.net, net_currency, a.units)
    converted = _convert(gross, gross_currency, net_currency, rate)
    if net is None:
        net = converted + (fee or 0)
    if fee is None:
        fee = net - converted
    if batch_kind:  # money in net only (docs/psp-settlement-formats.md)
        gross, gross_currency, rate = 0, net_currency, "1"
        fee = net if kind == "fee" else 0
    return [
        psp,
        psp_reference,
        merchant_reference,
        PSP_KINDS[kind],
        iso_utc(created),
        iso_utc(settled),
        gross_currency,
        format_amount(gross, gross_currency, "major"),
        net_currency,
        format_amount(net, net_currency, "major"),
        format_amount(fee, net_currency, "major"),
        rate,
        batch,
    ]


def read_mapped(
    path: Path,
    fmt: FileFormat,
    spec: CsvSpec,
    to_row: Callable[[_Row], list[str]],
    *,
    params: dict[str, object],
    con: duckdb.DuckDBPyConnection | None = None,
) -> tuple[pa.Table, pd.DataFrame]:
    """(rows, rejects) of one file in a mapped format, through ``spec``'s checks."""
    if con is None:
        with connect() as own:
            return read_mapped(path, fmt, spec, to_row, params=params, con=own)
    records = split_records(path, fmt)
    index = resolve_columns(path, fmt, records.header)
    good: list[list[str]] = []
    lines: list[int] = []
    raws: list[str] = []
    structural = list(records.structural)
    for line, raw, fields in records.data:
        try:
            good.append(to_row(_Row(fields, index, fmt)))
        except (ValueProblem, InvalidOperation) as exc:
            structural.append(_structural(line, raw, str(exc)))
            continue
        lines.append(line)
        raws.append(raw)
    frame = pd.DataFrame(good, columns=list(spec.columns), dtype=object)
    frame.insert(0, "_line", pd.Series(lines, dtype="int64"))
    frame.insert(1, "_raw", pd.Series(raws, dtype=object))
    checked, found = check_frame(con, spec, frame, params)
    return finish(checked, found, structural, spec, path.name)


def read_psp_file(
    path: Path,
    fmt: FileFormat,
    *,
    psp: str,
    day: date,
    con: duckdb.DuckDBPyConnection | None = None,
) -> tuple[pa.Table, pd.DataFrame]:
    """One PSP settlement file of ``day`` in a mapped format: (PSP rows as Arrow, REJECTS)."""
    from reconcilers.sources.psp_reports import SPEC

    batch = None
    if fmt.file.batch_from_name is not None:
        match = re.search(fmt.file.batch_from_name, path.name)
        if match is None:
            raise SourceError(path, f"name has no batch number ({fmt.file.batch_from_name})")
        batch = match.group(1)

    def to_row(row: _Row) -> list[str]:
        return psp_row(row, psp=psp, day=day, batch_from_name=batch)

    return read_mapped(path, fmt, SPEC, to_row, params={"psp": psp}, con=con)


# -- affiliate conversions ------------------------------------------------------------------------


def affiliate_row(row: _Row) -> list[str]:
    """One network export row as a row of pitwatch's affiliate export format
    (docs/affiliate-conversions-export.md)."""
    rules = row.fmt.affiliate
    assert rules is not None
    goal = row.get(rules.event)
    event = rules.events.get(goal)
    if event is None:
        raise ValueProblem(
            f"{row.header(rules.event)} is {shown(goal)} "
            f"(not a goal of format {row.fmt.name}: {', '.join(rules.events)})"
        )
    code = row.get(rules.status)
    status = rules.statuses.get(code)
    if status is None:
        raise ValueProblem(
            f"{row.header(rules.status)} is {shown(code)} (not final: the format maps "
            f"{', '.join(f'{c} to {s}' for c, s in rules.statuses.items())})"
        )
    occurred = parse_datetime(
        row.get(rules.occurred_at), rules.formats, row.header(rules.occurred_at), zone=rules.zone
    )
    currency = _currency(row, rules.currency)
    amount = parse_amount(row.get(rules.amount) or "0", currency, "major", row.header(rules.amount))
    commission_currency = _currency(row, rules.commission_currency, currency)
    commission_text = row.get(rules.commission) or "0"
    commission = parse_amount(
        commission_text, commission_currency, "major", row.header(rules.commission or "")
    )
    return [
        row.get(rules.affiliate),
        row.get(rules.campaign),
        "",  # click_id: not in AFFILIATE_ROWS (a click id is never a label or a key here)
        row.get(rules.player_ref),
        event,
        row.get(rules.conversion_id),
        format_amount(amount, currency, "major"),
        currency,
        status,
        iso_utc(occurred),
        iso_utc(occurred),  # received_at: the network's export has only the conversion time
        format_amount(commission, commission_currency, "major"),
        commission_currency,
    ]


def read_affiliate_file(
    path: Path, fmt: FileFormat, con: duckdb.DuckDBPyConnection | None = None
) -> tuple[pa.Table, pd.DataFrame]:
    from reconcilers.sources.affiliate_export import SPEC

    return read_mapped(path, fmt, SPEC, affiliate_row, params={}, con=con)
