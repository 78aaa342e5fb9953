"""Game provider reports: each provider's daily transaction report and GGR statement in a
folder (docs/game-provider-reports.md), read strictly into GAME_ROWS, GGR_ROWS and
REJECTS: a file that cannot be read as a whole (missing, cut short, wrong header, not
UTF-8) is a SourceError; a bad row is a reject (quarantined, counted, reported)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from reconcilers.errors import SourceError
from reconcilers.frames import (
    DUCKDB_TYPES,
    GAME_ROWS,
    GGR_ROWS,
    REJECTS,
    conform,
    empty,
    from_arrow,
)
from reconcilers.sources.psp_reports import CUT_SHORT
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
    sql_text,
    timestamp,
    timestamp_checks,
)
from reconcilers.sources.strict_csv import (
    MAX_HEADER_BYTES,
    CsvSpec,
    check_header,
    check_records,
    file_source,
    gather_rejects,
    query,
    raw_lines,
    read_strict_csv_arrow,
    scan_file,
)

TRANSACTION_COLUMNS = (
    "provider",
    "transaction_id",
    "round_id",
    "player_ref",
    "game_id",
    "type",
    "amount",
    "currency",
    "created_at",
)
GGR_COLUMNS = ("provider", "day", "game_id", "currency", "bets", "wins", "ggr")
TYPES = ("bet", "win", "rollback")
TRANSACTIONS_SOURCE = "game_report"
GGR_SOURCE = "ggr_statement"

_THE_PROVIDER = (
    "provider <> $provider",
    f"'provider is ' || {shown('provider')} || ' (expected ''' || $provider || "
    "''', this file''s provider)'",
)

TRANSACTIONS = CsvSpec(
    source=TRANSACTIONS_SOURCE,
    columns=TRANSACTION_COLUMNS,
    derived=(("_created", timestamp("created_at")), ("_exp", exponent("currency"))),
    checks=(
        required("provider"),
        _THE_PROVIDER,
        required("transaction_id"),
        required("round_id"),
        required("game_id"),
        one_of("type", TYPES),
        known_currency("currency", "_exp"),
        (f"starts_with({col('amount')}, '-')", is_value("amount", "expected no sign")),
        *amount_checks("amount", "currency", "_exp"),
        *timestamp_checks("created_at", "_created"),
    ),
    outputs=(
        ("provider", "provider"),
        ("provider_transaction_id", "transaction_id"),
        ("round_id", "round_id"),
        ("player_ref", "nullif(player_ref, '')"),
        ("kind", col("type")),
        ("amount_minor", minor("amount")),
        ("currency", "currency"),
        ("created_at", "_created"),
        ("game_id", "game_id"),
    ),
)

GGR = CsvSpec(
    source=GGR_SOURCE,
    columns=GGR_COLUMNS,
    derived=(("_exp", exponent("currency")),),
    checks=(
        required("provider"),
        _THE_PROVIDER,
        (
            f"{col('day')} <> $day",
            f"'day is ' || {shown('day')} || ' (expected ' || $day || ', this file''s day)'",
        ),
        required("game_id"),
        known_currency("currency", "_exp"),
        *amount_checks("bets", "currency", "_exp"),
        *amount_checks("wins", "currency", "_exp"),
        *amount_checks("ggr", "currency", "_exp"),
        (
            f"{minor('ggr')} <> {minor('bets')} - {minor('wins')}",
            "'ggr is ' || ggr || ' (expected bets - wins, ' || bets || ' - ' || wins || ')'",
        ),
    ),
    outputs=(
        ("provider", "provider"),
        ("day", col("day")),
        ("game_id", "game_id"),
        ("currency", "currency"),
        ("bets_minor", minor("bets")),
        ("wins_minor", minor("wins")),
        ("ggr_minor", minor("ggr")),
    ),
)


def transactions_name(provider: str, day: date) -> str:
    return f"{provider}-transactions-{day.isoformat()}.csv"


def ggr_name(provider: str, day: date) -> str:
    return f"{provider}-ggr-{day.isoformat()}.csv"


@dataclass(frozen=True)
class GameReports:
    rows: int  # the good transaction rows (gp): the day's reports and their neighbours'
    ggr: int  # the day's statement lines (gs)
    rejects: pd.DataFrame  # REJECTS
    files: list[Path]


def load_game_reports(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    day: date,
    providers: Iterable[str],
    *,
    neighbours: bool = True,
) -> GameReports:
    """Both files of ``day`` of every provider in ``providers`` (each must exist), and with
    ``neighbours`` the transaction reports of the day before and after where they exist (a
    transaction sent just before midnight may be booked just after it), as relations on
    ``con``: ``gp`` (GAME_ROWS) and ``gs`` (GGR_ROWS).

    Each transaction report is checked by the strict reader's query into a table of ``con``
    (a workspace's tables spill to disk: the rows never sit in Python's memory), in the
    file's order, so that a row's line is its position (one record per line, as counted);
    a file of another structure (a line break inside quotes, a wrong number of fields) is
    split by Python's csv module instead, in memory. The statements are small: read in
    memory."""
    folder = Path(folder)
    wanted = list(dict.fromkeys(providers))
    if wanted and not folder.is_dir():
        raise SourceError(folder, "no such folder (expected the game provider reports)")
    missing = [
        path
        for provider in wanted
        for path in (folder / transactions_name(provider, day), folder / ggr_name(provider, day))
        if not path.is_file()
    ]
    if missing:
        more = f"; {len(missing) - 1} more missing" if len(missing) > 1 else ""
        raise SourceError(
            missing[0], f"missing (expected two files per game provider per day{more})"
        )
    days = [day - timedelta(days=1), day, day + timedelta(days=1)] if neighbours else [day]
    tables: list[tuple[str, str]] = []  # (table, file name)
    lines: list[pa.Table] = []
    rejects: list[pd.DataFrame] = []
    read: list[Path] = []
    # A table keeps the order it was filled in (rowid = the record's position in the file).
    con.execute("SET preserve_insertion_order = true")
    for provider in wanted:
        for when in days:
            path = folder / transactions_name(provider, when)
            if when != day and not path.is_file():
                continue  # a neighbour is optional (but read strictly when there)
            _whole(path, TRANSACTION_COLUMNS)
            table = f"_game_report_{len(tables)}"
            rejects.append(_check_into(con, table, path, {"provider": provider}))
            tables.append((table, path.name))
            read.append(path)
        path = folder / ggr_name(provider, day)
        _whole(path, GGR_COLUMNS)
        params = {"provider": provider, "day": day.isoformat()}
        found, refused = read_strict_csv_arrow(path, GGR, params=params, con=con)
        lines.append(found)
        rejects.append(refused)
        read.append(path)
    _report_view(con, tables)
    statements = _frame(lines, GGR_ROWS, "GGR_ROWS")
    con.register("gs", statements)
    refused = [r for r in rejects if len(r)]
    ((n,),) = con.sql("SELECT count(*) FROM gp").fetchall()
    return GameReports(
        rows=int(n),
        ggr=len(statements),
        rejects=conform(pd.concat(refused), REJECTS, "REJECTS") if refused else empty(REJECTS),
        files=read,
    )


def _check_into(
    con: duckdb.DuckDBPyConnection, table: str, path: Path, params: Mapping[str, object]
) -> pd.DataFrame:
    """The transaction report ``path`` checked into ``table`` (the outputs, ``_line`` where
    it is not the position, ``_reason``, ``_raw``): its REJECTS."""
    scan = scan_file(path, TRANSACTION_COLUMNS)
    fast = not any(c in str(path) for c in "*?[]{}")  # DuckDB would read a glob
    if fast:
        try:
            con.execute(
                f"CREATE TEMP TABLE {table} AS {query(TRANSACTIONS, file_source(TRANSACTIONS))}",
                {**params, "path": str(path)},
            )
            ((n,),) = con.sql(f"SELECT count(*) FROM {table}").fetchall()
            fast = n == scan.data_lines
        except duckdb.Error:
            fast = False
    structural: list[dict[str, object]] = []
    if not fast:
        con.execute(f"DROP TABLE IF EXISTS {table}")
        checked, structural = check_records(con, path, TRANSACTIONS, params)
        con.register("_checked", checked)
        try:
            con.execute(f"CREATE TEMP TABLE {table} AS SELECT * FROM _checked")
        finally:
            con.unregister("_checked")
    found = con.sql(
        f"""SELECT {_LINE} AS source_line, _reason AS reason, _raw AS raw FROM {table}
            WHERE _reason IS NOT NULL ORDER BY source_line"""
    ).df()
    if fast and scan.has_quotes and len(found):
        found["raw"] = raw_lines(path, found["raw"], found["source_line"])
    return gather_rejects(found, structural, TRANSACTIONS, path.name)


# A record's line: its position after the header, unless split by Python (then its own).
_LINE = "coalesce(_line, rowid + 2)"


def _report_view(con: duckdb.DuckDBPyConnection, tables: list[tuple[str, str]]) -> None:
    """``gp``: the good rows of every checked report, with their file and line."""
    if not tables:
        columns = ", ".join(
            f"NULL::{DUCKDB_TYPES.get(dtype, 'VARCHAR')} AS {name}"
            for name, dtype in GAME_ROWS.items()
        )
        con.execute(f"CREATE TEMP VIEW gp AS SELECT {columns} WHERE false")
        return
    outputs = ", ".join(col(name) for name, _ in TRANSACTIONS.outputs)
    con.execute(
        "CREATE TEMP VIEW gp AS "
        + " UNION ALL ".join(
            f"SELECT {outputs}, {sql_text(name)} AS source_file, {_LINE} AS source_line "
            f"FROM {table} WHERE _reason IS NULL"
            for table, name in tables
        )
    )


def _whole(path: Path, columns: tuple[str, ...]) -> None:
    """A file whose last line has no line break was cut short: refused as a whole (a value
    cut inside the last field may still parse). The header is checked first."""
    try:
        with path.open("rb") as fh:
            check_header(path, fh.readline(MAX_HEADER_BYTES + 1), columns)
            fh.seek(0, os.SEEK_END)
            if fh.tell():
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    raise SourceError(path, CUT_SHORT)
    except OSError:
        return  # the strict reading names the problem


def _frame(tables: list[pa.Table], schema: Mapping[str, str], name: str) -> pd.DataFrame:
    if not tables:
        return empty(schema)
    # permissive: a file with no good row has typeless (null) columns
    table = pa.concat_tables(tables, promote_options="permissive")
    return from_arrow(table, schema, name)
