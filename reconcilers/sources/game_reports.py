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

import pandas as pd
import pyarrow as pa

from reconcilers.errors import SourceError
from reconcilers.frames import GAME_ROWS, GGR_ROWS, REJECTS, conform, empty, from_arrow
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
    rows: pd.DataFrame  # GAME_ROWS: the day's transaction reports and their neighbours'
    ggr: pd.DataFrame  # GGR_ROWS: the day's statements
    rejects: pd.DataFrame  # REJECTS
    files: list[Path]


def read_game_reports(
    folder: Path, day: date, providers: Iterable[str], *, neighbours: bool = True
) -> GameReports:
    """Both files of ``day`` of every provider in ``providers`` (each must exist), and with
    ``neighbours`` the transaction reports of the day before and after where they exist (a
    transaction sent just before midnight may be booked just after it)."""
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
    rows: list[pa.Table] = []
    lines: list[pa.Table] = []
    rejects: list[pd.DataFrame] = []
    read: list[Path] = []
    with connect() as con:
        for provider in wanted:
            for when in days:
                path = folder / transactions_name(provider, when)
                if when != day and not path.is_file():
                    continue  # a neighbour is optional (but read strictly when there)
                _whole(path, TRANSACTION_COLUMNS)
                found, refused = read_strict_csv_arrow(
                    path, TRANSACTIONS, params={"provider": provider}, con=con
                )
                rows.append(found)
                rejects.append(refused)
                read.append(path)
            path = folder / ggr_name(provider, day)
            _whole(path, GGR_COLUMNS)
            params = {"provider": provider, "day": day.isoformat()}
            found, refused = read_strict_csv_arrow(path, GGR, params=params, con=con)
            lines.append(found)
            rejects.append(refused)
            read.append(path)
    refused = [r for r in rejects if len(r)]
    return GameReports(
        rows=_frame(rows, GAME_ROWS, "GAME_ROWS"),
        ggr=_frame(lines, GGR_ROWS, "GGR_ROWS"),
        rejects=conform(pd.concat(refused), REJECTS, "REJECTS") if refused else empty(REJECTS),
        files=read,
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
