"""Counterparts' files in their own formats, read through a declarative mapping
(ground.file_formats; docs/psp-settlement-formats.md) into exactly the frames the strict
readers produce (PSP_ROWS / AFFILIATE_ROWS and REJECTS), so that matching is untouched.

The file is decoded (any encoding, a byte-order mark) and split into records: by Arrow's
CSV reader when it is plain and has one record per line, else by the csv module (sections,
blank lines, line breaks in quotes, a wrong number of fields: those records are rejects).
The mapping is applied column-wise (``mapped_psp``; the affiliate mapping row by row): a
row the mapping cannot read (an unknown record type, an amount with more decimals than
its currency has, a time its zone never had) is a reject naming the provider's column.
Every other row becomes a row of pitwatch's own format and goes through that format's
DuckDB checks (``CsvSpec``), so a mapped file is held to the same rules as ours. Nothing
is dropped: rows + rejects = the data records.

File-level problems (missing, not in its encoding, no header, a required column missing)
raise SourceError: one line, and the run fails as with our own format.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import InvalidOperation
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ground.file_formats import (
    FileFormat,
    ValueProblem,
    format_amount,
    iso_utc,
    parse_amount,
    parse_datetime,
    shown,
)
from ground.money import CURRENCY_EXPONENTS
from reconcilers.errors import SourceError
from reconcilers.sources.mapped_psp import Columns, psp_frame
from reconcilers.sources.strict_csv import CsvSpec, check_frame, connect, finish, open_source

log = logging.getLogger(__name__)
_RATE = re.compile(r"[0-9]+(\.[0-9]+)?")


@dataclass
class Records:
    """A file split into records: the header's fields, the data records (line, raw text,
    fields) and the records rejected for their structure."""

    header: list[str]
    data: list[tuple[int, str, list[str]]] = field(default_factory=list)
    structural: list[dict[str, object]] = field(default_factory=list)
    # The fast path (a plain file of one record per line): the data as Arrow strings, a
    # column per header field, and each row's line and text, instead of ``data``.
    table: pa.Table | None = None
    table_lines: list[int] = field(default_factory=list)
    table_raws: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.data) if self.table is None else self.table.num_rows

    def line(self, i: int) -> int:
        return self.data[i][0] if self.table is None else self.table_lines[i]

    def raw(self, i: int) -> str:
        return self.data[i][1] if self.table is None else self.table_raws[i]

    def column(self, at: int) -> list[str] | pa.ChunkedArray:
        if self.table is None:
            return [r[2][at] for r in self.data]
        return self.table.column(at)


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
    with open_source(path) as raw:
        data = raw.read()
    try:
        text = codecs.decode(data, d.encoding)
    except UnicodeDecodeError as exc:
        raise SourceError(
            path, f"not {d.encoding} (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None
    text = text.removeprefix("\ufeff")  # utf-16 and utf-8 files may carry one
    lines = list(io.StringIO(text, newline=""))  # as csv splits them (not on \x0c, \u2028)
    if d.sections is None:
        fast = _fast_plain(fmt, text, lines)
        if fast is not None:
            return fast
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
    reader = csv.reader(lines, delimiter=delimiter, quotechar=quote, strict=True)
    done = 0  # lines consumed by the records before
    while True:
        try:
            fields: list[str] | None = next(reader)
            error = None
        except StopIteration:
            return
        except csv.Error as exc:  # the reader starts afresh on the next line
            fields, error = None, str(exc)
        end = reader.line_num
        raw = lines[done] if end - done == 1 else "".join(lines[done:end])
        yield done + 1, raw.removesuffix("\n").removesuffix("\r"), fields, error
        done = end


def _structural(line: int, raw: str, reason: str) -> dict[str, object]:
    return {"source_line": line, "reason": reason, "raw": raw}


def _fast_plain(fmt: FileFormat, text: str, lines: list[str]) -> Records | None:
    """A plain file of one record per line, read by Arrow's CSV reader; None for any other
    file (blank lines, line breaks in quotes, a wrong number of fields, bad quoting), which
    the csv module then splits record by record, rejecting what must be."""
    d = fmt.dialect
    if len(lines) <= d.skip_rows:
        return None
    try:
        header = next(csv.reader([lines[d.skip_rows]], delimiter=d.delimiter, quotechar=d.quote))
    except (csv.Error, StopIteration):
        return None
    body = lines[d.skip_rows + 1 :]
    expected = len(body) - d.skip_footer
    if not header or expected < 0:
        return None
    if len(header) == 1 and any(line in ("\n", "\r\n", "\r") for line in body):
        return None  # a blank line is one empty field: Arrow would not refuse it
    names = [f"c{i}" for i in range(len(header))]
    try:
        table = pacsv.read_csv(
            io.BytesIO("".join(body).encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                delimiter=d.delimiter,
                quote_char=d.quote,
                double_quote=True,
                newlines_in_values=False,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, ValueError):
        return None
    if table.num_rows != len(body):
        return None
    first = d.skip_rows + 2  # the line of the first data record
    return Records(
        header=header,
        table=table.slice(0, expected),
        table_lines=list(range(first, first + expected)),
        table_raws=[line.removesuffix("\n").removesuffix("\r") for line in body[:expected]],
    )


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


def _currency(row: _Row, logical: str | None, fallback: str = "") -> str:
    value = row.get(logical) or fallback
    if value not in CURRENCY_EXPONENTS:
        column = row.header(logical) if logical else "currency"
        raise ValueProblem(f"{column} is {shown(value)} (not an ISO 4217 currency known here)")
    return value


Values = dict[str, list[str] | pa.ChunkedArray]
Mapper = Callable[[FileFormat, Values, int], tuple[pd.DataFrame, pd.Series]]


def read_mapped(
    path: Path,
    fmt: FileFormat,
    spec: CsvSpec,
    mapper: Mapper,
    *,
    params: dict[str, object],
    con: duckdb.DuckDBPyConnection | None = None,
) -> tuple[pa.Table, pd.DataFrame]:
    """(rows, rejects) of one file in a mapped format: ``mapper`` turns the file's logical
    columns into ``spec``'s columns with each row's first problem (None: none), and the
    rows without one go through ``spec``'s checks."""
    if con is None:
        with connect() as own:
            return read_mapped(path, fmt, spec, mapper, params=params, con=own)
    records = split_records(path, fmt)
    index = resolve_columns(path, fmt, records.header)
    n = records.rows
    values = {logical: records.column(at) for logical, at in index.items()}
    frame, reasons = mapper(fmt, values, n)
    del values
    bad = reasons.notna().to_numpy()
    structural = list(records.structural)
    structural += [
        _structural(records.line(i), records.raw(i), reasons.iloc[i])
        for i in np.flatnonzero(bad).tolist()
    ]
    good = frame.loc[~bad, list(spec.columns)].reset_index(drop=True)
    kept = np.flatnonzero(~bad).tolist()
    good.insert(0, "_line", pd.Series([records.line(i) for i in kept], dtype="int64"))
    good.insert(1, "_raw", pd.Series([records.raw(i) for i in kept], dtype=object))
    checked, found = check_frame(con, spec, good, params)
    return finish(checked, found, structural, spec, path.name)


def read_psp_file(
    path: Path,
    fmt: FileFormat,
    spec: CsvSpec,
    *,
    psp: str,
    day: date,
    con: duckdb.DuckDBPyConnection | None = None,
) -> tuple[pa.Table, pd.DataFrame]:
    """One PSP settlement file of ``day`` in a mapped format: (PSP rows as Arrow, REJECTS),
    each mapped row checked by ``spec`` (psp_reports.SPEC: the checks of our own format)."""
    batch = None
    if fmt.file.batch_from_name is not None:
        match = re.search(fmt.file.batch_from_name, path.name)
        if match is None:
            raise SourceError(path, f"name has no batch number ({fmt.file.batch_from_name})")
        batch = match.group(1)

    def mapper(fmt: FileFormat, values: Values, n: int) -> tuple[pd.DataFrame, pd.Series]:
        return psp_frame(Columns(fmt, values, n), psp=psp, day=day, batch_from_name=batch)

    # No file batch for a mapped format: its batch is what the PSP makes it (Adyen's file
    # number, PayPal's date, Trustly's settlement id), so rows are not held to the first's.
    return read_mapped(path, fmt, spec, mapper, params={"psp": psp, "batch": None}, con=con)


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


def _row_by_row(to_row: Callable[[_Row], list[str]], columns: tuple[str, ...]) -> Mapper:
    """A mapper applying ``to_row`` to each row (a ValueProblem is the row's reason)."""

    def mapper(fmt: FileFormat, values: Values, n: int) -> tuple[pd.DataFrame, pd.Series]:
        names = list(values)
        lists = [
            v.to_pylist() if isinstance(v, pa.ChunkedArray) else v
            for v in (values[name] for name in names)
        ]
        index = {name: at for at, name in enumerate(names)}
        out: list[list[str]] = []
        reasons: list[str | None] = []
        for fields in zip(*lists, strict=True) if names else []:
            try:
                out.append(to_row(_Row(list(fields), index, fmt)))
                reasons.append(None)
            except (ValueProblem, InvalidOperation) as exc:
                out.append([""] * len(columns))
                reasons.append(str(exc))
        frame = pd.DataFrame(out, columns=list(columns), dtype=object)
        return frame, pd.Series(reasons, dtype=object)

    return mapper


def read_affiliate_file(
    path: Path, fmt: FileFormat, spec: CsvSpec, con: duckdb.DuckDBPyConnection | None = None
) -> tuple[pa.Table, pd.DataFrame]:
    """One network export in a mapped format, each mapped row checked by ``spec``
    (affiliate_export.SPEC: the checks of our own export format)."""
    mapper = _row_by_row(affiliate_row, spec.columns)
    return read_mapped(path, fmt, spec, mapper, params={}, con=con)
