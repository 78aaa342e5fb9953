"""PSP settlement reports: one CSV per PSP per UTC day in a folder
(docs/psp-settlement-report.md), read strictly into PSP_ROWS and REJECTS."""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ground.file_formats import OURS, FileFormat, FormatError, get_format
from ground.money import CURRENCY_EXPONENTS
from reconcilers.errors import SourceError
from reconcilers.frames import PSP_ROWS, REJECTS, conform, empty, from_arrow, release_memory
from reconcilers.sources import mapped
from reconcilers.sources.sql import (
    amount_checks,
    col,
    exponent,
    is_value,
    known_currency,
    minor,
    one_of,
    required,
    shown,
    timestamp,
    timestamp_checks,
)
from reconcilers.sources.strict_csv import (
    MAX_HEADER_BYTES,
    CsvSpec,
    check_header,
    connect,
    read_strict_csv_arrow,
)

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
ROW_TYPES = (
    "Settled",
    "Refunded",
    "Chargeback",
    "ChargebackReversed",
    "Payout",
    "Fee",
    "Adjustment",  # batch-level money that is no transaction (mapped formats)
)
CURRENCIES = tuple(CURRENCY_EXPONENTS)
BATCH = re.compile(r"[0-9]{1,18}")
CUT_SHORT = "is cut short: its last line has no line break (a whole report ends with one)"

SPEC = CsvSpec(
    source="psp_report",
    columns=COLUMNS,
    derived=(
        ("_created", timestamp("created_at")),
        ("_settled", timestamp("settled_at")),
        ("_gross_exp", exponent("gross_currency")),
        ("_net_exp", exponent("net_currency")),
    ),
    checks=(
        required("psp"),
        # $psp: the PSP whose file this is (its name).
        (
            "psp <> $psp",
            f"'psp is ' || {shown('psp')} || ' (expected ''' || $psp || ''', this file''s PSP)'",
        ),
        required("psp_reference"),
        (
            f"{col('merchant_reference')} = '' AND {col('type')} NOT IN ('Fee', 'Adjustment')",
            "'merchant_reference is empty (only Fee and Adjustment rows have none)'",
        ),
        one_of("type", ROW_TYPES),
        *timestamp_checks("created_at", "_created"),
        *timestamp_checks("settled_at", "_settled"),
        known_currency("gross_currency", "_gross_exp"),
        *amount_checks("gross_amount", "gross_currency", "_gross_exp"),
        known_currency("net_currency", "_net_exp"),
        *amount_checks("net_amount", "net_currency", "_net_exp"),
        *amount_checks("fee_amount", "net_currency", "_net_exp"),
        (
            r"NOT regexp_full_match(exchange_rate, '[0-9]+(\.[0-9]+)?') "
            r"OR NOT regexp_matches(exchange_rate, '[1-9]')",
            is_value("exchange_rate", "expected a positive decimal"),
        ),
        (
            "NOT regexp_full_match(batch_number, '[0-9]{1,18}')",
            is_value("batch_number", "expected a whole number"),
        ),
        # $batch: the file's batch, its first row's (file_batch); NULL when no row has one.
        (
            "try_cast(batch_number AS BIGINT) <> $batch",
            "'batch_number is ' || batch_number || ' (expected ' || CAST($batch AS VARCHAR) || "
            "', the file''s batch: its first row''s)'",
        ),
    ),
    outputs=(
        ("psp", "psp"),  # checked to be the file's PSP
        ("psp_reference", "psp_reference"),
        ("merchant_reference", "nullif(merchant_reference, '')"),
        ("type", "type"),
        ("created_at", "_created"),
        ("settled_at", "_settled"),
        ("gross_currency", "gross_currency"),
        ("gross_minor", minor("gross_amount")),
        ("net_currency", "net_currency"),
        ("net_minor", minor("net_amount")),
        ("fee_minor", minor("fee_amount")),
        ("batch_number", "try_cast(batch_number AS BIGINT)"),
    ),
)


def report_name(psp: str, day: date) -> str:
    return f"{psp}-settlement-{day.isoformat()}.csv"


def read_psp_reports(
    folder: Path,
    day: date,
    psps: Iterable[str],
    *,
    neighbours: bool = True,
    formats: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[Path]]:
    """(PSP_ROWS, REJECTS, files read) of ``day``'s report of every PSP in ``psps``, each of
    which must exist, and with ``neighbours`` of the day before and after where they exist
    (a movement at 23:59:59 in the wallet may settle in the next day's file). ``formats``
    names the file format a PSP delivers in (docs/psp-settlement-formats.md): a mapped
    format's files are under ``folder/<psp>/``; pitwatch's own format is the default."""
    folder = Path(folder)
    wanted = list(dict.fromkeys(psps))
    if wanted and not folder.is_dir():
        raise SourceError(folder, "no such folder (expected the PSP settlement reports)")
    mapping = _formats(formats or {}, wanted)
    missing = [
        _expected(folder, psp, day, mapping[psp])
        for psp in wanted
        if not _day_files(folder, psp, day, mapping[psp])
    ]
    if missing:
        more = f"; {len(missing) - 1} more missing" if len(missing) > 1 else ""
        raise SourceError(missing[0], f"missing (expected one file per PSP per day{more})")
    days = [day - timedelta(days=1), day, day + timedelta(days=1)] if neighbours else [day]
    rows: list[pa.Table] = []
    rejects: list[pd.DataFrame] = []
    read: list[Path] = []
    with connect() as con:
        for psp in wanted:
            fmt = mapping[psp]
            for when in days:
                # a neighbour is optional (but read strictly when there)
                for path in _day_files(folder, psp, when, fmt):
                    if fmt is None:
                        params = {"psp": psp, "batch": file_batch(path)}
                        found, refused = read_strict_csv_arrow(path, SPEC, params=params, con=con)
                    else:
                        found, refused = mapped.read_psp_file(
                            path, fmt, SPEC, psp=psp, day=when, con=con
                        )
                    rows.append(found)
                    rejects.append(refused)
                    read.append(path)
    frame = _rows_frame(rows)
    del rows  # the files' Arrow results: what they held goes back to the system
    release_memory()
    refused = [r for r in rejects if len(r)]
    return (
        frame,
        conform(pd.concat(refused), REJECTS, "REJECTS") if refused else empty(REJECTS),
        read,
    )


def _formats(names: Mapping[str, str], psps: list[str]) -> dict[str, FileFormat | None]:
    """Each PSP's mapped format (None: pitwatch's own); a bad one is a SourceError."""
    found: dict[str, FileFormat | None] = {}
    for psp in psps:
        name = names.get(psp, OURS)
        try:
            found[psp] = None if name == OURS else get_format(name)
        except FormatError as exc:
            raise SourceError(Path(name), f"PSP {psp}: {exc}") from None
        fmt = found[psp]
        if fmt is not None and fmt.kind != "psp":
            raise SourceError(Path(name), f"PSP {psp}: format {fmt.name} is not a PSP format")
    return found


def _day_files(folder: Path, psp: str, day: date, fmt: FileFormat | None) -> list[Path]:
    if fmt is None:
        path = folder / report_name(psp, day)
        return [path] if path.is_file() else []
    return mapped.day_files(folder / psp, fmt, day)


def _expected(folder: Path, psp: str, day: date, fmt: FileFormat | None) -> Path:
    if fmt is None:
        return folder / report_name(psp, day)
    return folder / psp / mapped.expected_name(fmt, day)


def file_batch(path: Path) -> int | None:
    """The file's batch: the batch_number of its first row that has a well-formed one (None
    when no row has); every row must carry it. A file whose last line has no line break was
    cut short (the format's files end with one): a SourceError, not rows read as whole."""
    try:
        with path.open("rb") as fh:
            check_header(path, fh.readline(MAX_HEADER_BYTES + 1), COLUMNS)  # named first
            fh.seek(0, os.SEEK_END)
            if fh.tell():
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    raise SourceError(path, CUT_SHORT)
    except OSError:
        return None  # the strict reading names the problem
    with path.open(encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.reader(fh, strict=True)
        next(reader, None)  # the header
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return None
            except csv.Error:
                continue  # a rejected record; the reader goes on at the next line
            if len(fields) == len(COLUMNS) and BATCH.fullmatch(fields[-1]):
                return int(fields[-1])


def _rows_frame(tables: list[pa.Table]) -> pd.DataFrame:
    """PSP_ROWS of the files' tables, converted to pandas once (Arrow concatenates without
    copying; pandas would copy every column of every file)."""
    if not tables:
        return empty(PSP_ROWS)
    # permissive: a file with no good row has typeless (null) columns
    table = pa.concat_tables(tables, promote_options="permissive")
    return from_arrow(table, PSP_ROWS, "PSP_ROWS")
