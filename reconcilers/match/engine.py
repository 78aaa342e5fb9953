"""The matching engine: the differences (breaks) between the wallet and its counterparties.

Each matcher (``psp``, ``affiliate``, ``internal``, ``rejects``) takes frames of
``reconcilers.frames`` and returns a ``MatchResult``. The heavy lifting is one DuckDB full
outer hash join per pair (``pair_rows``): the keys that match one-to-one with equal values
are counted; only their row positions leave DuckDB (as numpy arrays). The rest — on a
healthy day a small residue — is paired row by row within each key (``pair_residue``),
classified and turned into BREAKS rows by SQL in one more query (``fetch_breaks``). No
Python loop runs per row.

Every break_key is ``pair|type|psp|business keys`` built from the data only, so a re-run
of the day finds the same breaks.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from ground.money import CURRENCY_EXPONENTS
from reconcilers.frames import ARROW_OUTPUT, BREAKS, DUCKDB_TYPES, STATS_KEYS, UTC_TS, conform

# Columns every side of ``pair_rows`` provides besides its keys and compared values: the
# frame position and whether the row belongs to the reconciled day.
POSITION = "_r"
IN_DAY = "_day"


@dataclass(frozen=True)
class MatchResult:
    """What one matcher found: its breaks (BREAKS) and its stats (STATS_KEYS)."""

    breaks: pd.DataFrame
    stats: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.stats) - set(STATS_KEYS)
        if unknown:
            raise ValueError(f"unknown stats {sorted(unknown)}; expected {STATS_KEYS}")
        object.__setattr__(self, "stats", {k: int(self.stats.get(k, 0)) for k in STATS_KEYS})
        object.__setattr__(self, "breaks", conform(self.breaks, BREAKS, "breaks"))


# -- inputs -----------------------------------------------------------------------------------


def require(frame: pd.DataFrame, schema: Mapping[str, str], name: str) -> pd.DataFrame:
    """The frame with the schema's columns at the schema's types. Unlike ``conform`` it
    casts only the columns that differ, so a conforming frame of 10M rows costs nothing."""
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing columns {missing}")
    casts: dict[str, Any] = {}
    for column, dtype in schema.items():
        current = frame[column].dtype
        if dtype == UTC_TS:
            # Any resolution will do for DuckDB; only the time zone matters.
            if not (isinstance(current, pd.DatetimeTZDtype) and str(current.tz) == "UTC"):
                casts[column] = pd.to_datetime(frame[column], utc=True)
        elif str(current) != dtype:
            casts[column] = frame[column].astype(dtype)
    return frame.assign(**casts) if casts else frame


def with_positions(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with its row positions in ``_r`` (a shallow copy: copy-on-write); 32-bit
    when they fit, which halves what every join hands back."""
    dtype = np.int32 if len(frame) < 2**31 else np.int64
    return frame.assign(**{POSITION: np.arange(len(frame), dtype=dtype)})


def same_values(
    attributes: Sequence[tuple[pd.Series, pd.Series]],
) -> tuple[np.ndarray, np.ndarray]:
    """One integer a row on each side, equal exactly when every attribute is: each
    attribute is (left column, right column); a missing value equals a missing value, as
    in ``IS NOT DISTINCT FROM``. Columns of a few values (categories) are coded in numpy
    through their categories, so that a join compares one integer instead of several
    strings a row."""
    columns = [(_as_category(left), _as_category(right)) for left, right in attributes]
    vocabularies = [left.cat.categories.union(right.cat.categories) for left, right in columns]
    # the values, then the missing value: one digit of that base per attribute
    widths = [len(vocabulary) + 1 for vocabulary in vocabularies]
    span = int(np.prod(widths, dtype=object))
    if span >= 2**62:
        raise ValueError("too many attribute values to code in one integer")
    # int32: half the memory for the usual few
    dtype: type[np.signedinteger[Any]] = np.int32 if span < 2**31 else np.int64
    left_code = np.zeros(len(columns[0][0]), dtype=dtype)
    right_code = np.zeros(len(columns[0][1]), dtype=dtype)
    for (left, right), vocabulary, width in zip(columns, vocabularies, widths, strict=True):
        for column, code in ((left, left_code), (right, right_code)):
            # code -1 (missing) takes the lookup's last entry
            lookup = np.append(vocabulary.get_indexer(column.cat.categories), width - 1)
            code *= width
            code += lookup.astype(dtype)[column.cat.codes.to_numpy()]
    return left_code, right_code


def recode(column: pd.Series, label: Callable[[str], str], missing: str | None = None) -> pd.Series:
    """A category of ``label(value)`` for each value (``missing`` for a missing one), worked
    out on the column's few categories, not on its rows."""
    column = _as_category(column)
    labels = [label(value) for value in column.cat.categories]
    categories = sorted(set(labels) | ({missing} if missing is not None else set()))
    at = {value: i for i, value in enumerate(categories)}
    lookup = np.array(
        [at[v] for v in labels] + [-1 if missing is None else at[missing]],
        dtype=np.int8 if len(categories) < 127 else np.int32,  # a category's own code width
    )
    codes = lookup[column.cat.codes.to_numpy()]  # code -1 (missing) takes the last entry
    return pd.Series(pd.Categorical.from_codes(codes, categories=categories), index=column.index)


def _as_category(column: pd.Series) -> pd.Series:
    return column if isinstance(column.dtype, pd.CategoricalDtype) else column.astype("category")


_database: tuple[int, duckdb.DuckDBPyConnection] | None = None
_database_lock = threading.Lock()


def connect() -> duckdb.DuckDBPyConnection:
    """A connection of its own (frames registered on it are seen by it alone) to the
    process's in-memory DuckDB, with the ``pw_`` macros and the session time zone UTC.
    Opening a database costs ~10 ms a call; a cursor on a shared one, nothing."""
    global _database
    with _database_lock:
        if _database is None or _database[0] != os.getpid():  # not across a fork
            database = duckdb.connect()
            install_macros(database)
            _database = (os.getpid(), database)
        con = _database[1].cursor()
    con.execute("SET TimeZone = 'UTC'")
    return con


@contextmanager
def workspace(
    memory_limit: str, directory: Path | None = None
) -> Iterator[tuple[duckdb.DuckDBPyConnection, Path]]:
    """(a connection, its folder): a DuckDB database file of its own in a temporary folder
    (in ``directory``, or the system's), removed afterwards, with ``memory_limit`` and that
    folder as its temp_directory, so that its tables, joins and aggregates spill to disk
    rather than grow past the limit. The ``pw_`` macros are installed, the session time zone
    is UTC and string results are large Arrow strings (ARROW_OUTPUT)."""
    with tempfile.TemporaryDirectory(prefix="pitwatch-work-", dir=directory) as tmp:
        folder = Path(tmp)
        con = duckdb.connect(str(folder / "work.duckdb"))
        try:
            con.execute("SET memory_limit = $limit", {"limit": memory_limit})
            con.execute("SET temp_directory = $dir", {"dir": str(folder / "spill")})
            con.execute("SET TimeZone = 'UTC'")
            for setting in ARROW_OUTPUT:
                con.execute(setting)
            install_macros(con)
            yield con, folder
        finally:
            con.close()


def day_bounds(day: date) -> dict[str, datetime]:
    """The reconciled day as [d0, d1) in UTC: the ``$d0`` / ``$d1`` parameters of the SQL."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return {"d0": start, "d1": start + timedelta(days=1)}


# -- the join ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pairing:
    """The outcome of ``pair_rows``."""

    matched: int  # keys of the day matched one-to-one with equal compared values
    left: np.ndarray  # positions of the left rows that need a closer look
    right: np.ndarray
    right_alone: np.ndarray  # positions of the right rows no left row joined


def pair_rows(
    con: duckdb.DuckDBPyConnection,
    left: str,
    right: str,
    *,
    keys: Sequence[str],
    compared: Sequence[str],
    n_left: int,
    n_right: int,
    params: Mapping[str, object],
) -> Pairing:
    """Full outer hash join of two keyed row sets (SQL selecting ``_r``, the keys, the
    compared columns and ``_day``): the clean one-to-one keys counted, the positions of
    every other row.

    A key is clean when each side has exactly one row and the compared values are equal
    (NULL equals NULL). Multiplicity
    comes from the join output itself: each row position is counted with ``np.bincount``
    (linear, no hashing), so duplicates cost no second aggregation in DuckDB.
    """
    on = " AND ".join(f"l.{k} = r.{k}" for k in keys)
    differs = " OR ".join(f"l.{c} IS DISTINCT FROM r.{c}" for c in compared)
    sql = f"""
        SELECT coalesce(l.{POSITION}, -1) AS lr, coalesce(r.{POSITION}, -1) AS rr,
               (CASE WHEN {differs} THEN 1 ELSE 0 END
                + CASE WHEN coalesce(l.{IN_DAY}, false) OR coalesce(r.{IN_DAY}, false)
                       THEN 2 ELSE 0 END)::UTINYINT AS f
        FROM ({left}) AS l FULL OUTER JOIN ({right}) AS r ON {on}"""
    # Through Arrow: integer columns without NULLs come over as they are (fetchnumpy
    # materialises the result and then converts it: 2.0 s instead of 1.8 s at 10M rows).
    out = con.sql(sql, params=dict(params)).to_arrow_table()
    lr, rr, flags = (out[c].to_numpy() for c in ("lr", "rr", "f"))
    has_l, has_r = lr >= 0, rr >= 0
    times_l = np.bincount(lr[has_l], minlength=n_left)
    times_r = np.bincount(rr[has_r], minlength=n_right)
    one = has_l & has_r
    one[one] = (times_l[lr[one]] == 1) & (times_r[rr[one]] == 1)
    clean = one & ((flags & 1) == 0)
    matched = int(np.count_nonzero(clean & ((flags & 2) != 0)))
    rest = ~clean
    return Pairing(
        matched,
        np.unique(lr[rest & has_l]),
        np.unique(rr[rest & has_r]),
        rr[has_r & ~has_l],
    )


def pair_residue(
    left: str,
    right: str,
    *,
    keys: Sequence[str],
    left_order: str,
    right_order: str,
) -> str:
    """SQL of the rows of the keys that belong to the day, paired within each key in order
    (the i-th left row with the i-th right row): one row per pair or unpaired row.

    Columns: the keys, ``_i`` (the pair's rank in its key), ``nl`` / ``nr`` (the key's
    rows on each side) and every column of each side prefixed ``l_`` / ``r_`` (NULL on the
    side that has no row at that rank). Pairing in order rather than calling every second
    row a duplicate keeps a deposit's second chargeback (after a reversal) a match.
    """
    part = ", ".join(keys)
    on_keys = " AND ".join(f"{{a}}.{k} = {{b}}.{k}" for k in keys)
    coalesced = ", ".join(f"coalesce({{a}}.{k}, {{b}}.{k}) AS {k}" for k in keys)
    # Most keys have at most one row a side: their pair comes straight from the per-key
    # counts. Only the keys with several rows on a side are ranked (a window is costly),
    # and the wide rows are fetched by position at the end.
    return rf"""
        WITH lw AS MATERIALIZED ({left}), rw AS MATERIALIZED ({right}),
        kl AS (SELECT {part}, count(*) AS n, min({POSITION}) AS p, bool_or({IN_DAY}) AS d
               FROM lw GROUP BY ALL),
        kr AS (SELECT {part}, count(*) AS n, min({POSITION}) AS p, bool_or({IN_DAY}) AS d
               FROM rw GROUP BY ALL),
        k AS MATERIALIZED (
            SELECT {coalesced.format(a="kl", b="kr")},
                   coalesce(kl.n, 0) AS nl, coalesce(kr.n, 0) AS nr, kl.p AS lp, kr.p AS rp
            FROM kl FULL OUTER JOIN kr ON {on_keys.format(a="kl", b="kr")}
            WHERE coalesce(kl.d, false) OR coalesce(kr.d, false)),
        multi AS MATERIALIZED (SELECT * FROM k WHERE nl > 1 OR nr > 1),
        l AS (SELECT {part}, {POSITION},
                     row_number() OVER (PARTITION BY {part} ORDER BY {left_order}) AS _i
              FROM lw WHERE EXISTS (
                  SELECT 1 FROM multi AS m WHERE {on_keys.format(a="m", b="lw")})),
        r AS (SELECT {part}, {POSITION},
                     row_number() OVER (PARTITION BY {part} ORDER BY {right_order}) AS _i
              FROM rw WHERE EXISTS (
                  SELECT 1 FROM multi AS m WHERE {on_keys.format(a="m", b="rw")})),
        ranked AS (
            SELECT {coalesced.format(a="l", b="r")}, coalesce(l._i, r._i) AS _i,
                   l.{POSITION} AS lp, r.{POSITION} AS rp
            FROM l FULL OUTER JOIN r ON {on_keys.format(a="l", b="r")} AND l._i = r._i),
        pairs AS (
            SELECT {part}, 1 AS _i, nl, nr, lp, rp FROM k WHERE nl <= 1 AND nr <= 1
            UNION ALL
            SELECT {", ".join(f"x.{k}" for k in keys)}, x._i, m.nl, m.nr, x.lp, x.rp
            FROM ranked AS x JOIN multi AS m ON {on_keys.format(a="x", b="m")})
        SELECT {", ".join(f"pairs.{k}" for k in keys)}, pairs._i, pairs.nl, pairs.nr,
               COLUMNS(a.*) AS 'l_\0', COLUMNS(b.*) AS 'r_\0'
        FROM pairs
        LEFT JOIN lw AS a ON a.{POSITION} = pairs.lp
        LEFT JOIN rw AS b ON b.{POSITION} = pairs.rp"""


# -- SQL helpers --------------------------------------------------------------------------------


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """``pw_major(amount_minor, currency)``: '12.34 EUR' ('' without an amount, minor units
    for a currency without a known exponent), as the break details show money. Created
    once per database (``connect``): every connection to it sees them."""
    codes = ", ".join(f"'{c}'" for c in CURRENCY_EXPONENTS)
    digits = ", ".join(str(e) for e in CURRENCY_EXPONENTS.values())
    units = ", ".join(f"{10**e}::BIGINT" for e in CURRENCY_EXPONENTS.values())
    # Lists, not a CASE per currency: the macro is expanded at every use, and a query's
    # planning time grows with its expressions. Integer units: ``10 ** n`` is a DOUBLE.
    at = f"list_position([{codes}], c)"
    con.execute(f"CREATE OR REPLACE MACRO pw_digits(c) AS [{digits}][{at}]")
    con.execute(f"CREATE OR REPLACE MACRO pw_unit(c) AS [{units}][{at}]")
    con.execute(
        """CREATE OR REPLACE MACRO pw_major(a, c) AS CASE
             WHEN a IS NULL THEN ''
             WHEN pw_digits(c) IS NULL THEN a::VARCHAR || ' minor' || coalesce(' ' || c, '')
             WHEN pw_digits(c) = 0 THEN a::VARCHAR || ' ' || c
             ELSE (CASE WHEN a < 0 THEN '-' ELSE '' END)
                  || (abs(a) // pw_unit(c))::VARCHAR || '.'
                  || lpad((abs(a) % pw_unit(c))::VARCHAR, pw_digits(c), '0') || ' ' || c
           END"""
    )


def key_sql(*parts: str) -> str:
    """SQL of ``a|b|c`` over expressions; NULL parts are empty, so positions stay fixed."""
    return " || '|' || ".join(f"coalesce(CAST({p} AS VARCHAR), '')" for p in parts)


STATS_KEY = "~stats"  # the row that carries the counts (a real break_key starts with its pair)


def fetch_breaks(
    con: duckdb.DuckDBPyConnection,
    ctes: Sequence[tuple[str, str]],
    selects: Sequence[str],
    params: Mapping[str, object],
    *,
    stats: tuple[str, str, str] | None = None,
) -> tuple[pd.DataFrame, tuple[int, int]]:
    """Run one query: the CTEs (name, SQL; materialized in memory, each computed once),
    then the union of ``selects`` (each produces the BREAKS columns). ``stats`` = (source,
    count expression a, count expression b) adds their values, carried by one extra row
    so that the residue is computed once: temp tables would cost more than the work."""
    selects = list(selects)
    if stats is not None:
        source, a, b = stats
        selects.append(
            f"SELECT '{STATS_KEY}' AS break_key, {', '.join(['NULL'] * 7)}, "
            f"{a} AS wallet_amount_minor, {b} AS other_amount_minor, "
            f"{', '.join(['NULL'] * (len(BREAKS) - 10))} FROM {source}"
        )
    with_ = ", ".join(f"{name} AS MATERIALIZED ({sql})" for name, sql in ctes)
    sql = (f"WITH {with_} " if ctes else "") + " UNION ALL ".join(f"({s})" for s in selects)
    frame = con.execute(sql, dict(params)).df()
    counts = (0, 0)
    if stats is not None:
        row = frame[frame["break_key"] == STATS_KEY]
        counts = (int(row["wallet_amount_minor"].iloc[0]), int(row["other_amount_minor"].iloc[0]))
        frame = frame[frame["break_key"] != STATS_KEY]
    return conform(frame, BREAKS, "breaks"), counts


def break_select(
    pair: str, kind: str, source: str, where: str, key: Sequence[str], **columns: str
) -> str:
    """A SELECT of BREAKS columns from ``source``: ``columns`` are SQL expressions (NULL
    when not given; psp "none" when NULL), the break_key is pair|type|key parts."""
    exprs = {
        "break_key": key_sql(f"'{pair}'", f"'{kind}'", *key),
        "pair": f"'{pair}'",
        "type": f"'{kind}'",
        **columns,
    }
    exprs["psp"] = f"coalesce(CAST({columns.get('psp', 'NULL')} AS VARCHAR), 'none')"
    select = ", ".join(
        f"CAST({exprs.get(c, 'NULL')} AS {DUCKDB_TYPES[t]}) AS {c}" for c, t in BREAKS.items()
    )
    return f"SELECT {select} FROM {source} WHERE {where}"
