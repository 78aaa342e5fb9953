"""``pitwatch contract check``: a database's pw_* views against the declared contract
(ground/contract.py), read-only and bounded.

Per view the products need: present or missing; each declared column present, of the
declared kind (PostgreSQL; SQLite's types are loose, so there only the values are
sampled); timestamps WITH time zone; money an integer type, and on PostgreSQL a sample of
a non-integer money column's values checked for fractions; status values within the
documented set (the distinct values of a sample); the time of a ``LIMIT 1`` read and, on
PostgreSQL, the planner's row estimate. Never a full scan: every value query reads at most
``sample_rows`` rows of a view, and on PostgreSQL each statement has a timeout.

The caller gives a connection it opened read-only (``read_only_engine``); each view is
checked in a savepoint, so that one broken view does not hide the others.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from ground.contract import (
    GAME_RECON_VIEWS,
    VIEWS,
    VIEWS_MODE_VIEWS,
    Column,
    View,
    needed_columns,
)
from ground.dburl import is_sqlite, normalise_url
from ground.errors import first_line

INTEGER_TYPES = {"int2", "int4", "int8"}


@dataclass
class ViewResult:
    view: View
    state: str  # present, missing, not needed, unreadable
    problems: list[str] = field(default_factory=list)
    seconds: float | None = None
    rows_estimate: int | None = None
    note: str = ""  # why a view is not needed, when it is not the products

    @property
    def ok(self) -> bool:
        return self.state in ("present", "not needed") and not self.problems


@dataclass
class ContractReport:
    dialect: str
    results: list[ViewResult]
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def lines(self) -> list[str]:
        """One line per view, then one per problem of that view (indented)."""
        out = [*self.notes]
        for r in self.results:
            v = r.view
            if r.state == "present":
                timing = f"{r.seconds * 1000:.0f} ms" if r.seconds is not None else "-"
                rows = f", ~{r.rows_estimate:,} rows (estimate)" if r.rows_estimate else ""
                status = "ok" if not r.problems else f"{len(r.problems)} problem(s)"
                out.append(f"{v.name}: present, {status} ({v.product}; LIMIT 1 in {timing}{rows})")
            elif r.state == "not needed":
                why = r.note or f"{v.product} not among the products"
                out.append(f"{v.name}: not needed ({why})")
            else:
                out.append(f"{v.name}: {r.state} ({v.product}; read by {', '.join(v.read_by)})")
            out += [f"  {v.name}: {p}" for p in r.problems]
        return out

    def summary(self) -> str:
        counts = {s: sum(r.state == s for r in self.results) for s in _STATES}
        problems = sum(len(r.problems) for r in self.results)
        parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        verdict = "contract OK" if self.ok else "contract NOT met"
        return f"{verdict}: {len(self.results)} views ({parts}), {problems} problem(s)"


_STATES = ("present", "missing", "unreadable", "not needed")


def read_only_engine(url: str, statement_timeout_ms: int = 10_000) -> Engine:
    """An engine that cannot write: PostgreSQL sessions default to read-only transactions
    with a statement timeout; a SQLite file is opened read-only (and must exist)."""
    if is_sqlite(url):
        path = make_url(url).database
        if not path or path == ":memory:":
            raise ValueError(f"{url}: contract check needs a SQLite database file")

        def connect() -> sqlite3.Connection:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            con.execute("SELECT 1 FROM sqlite_master LIMIT 1")  # fails now if not a database
            return con

        return create_engine("sqlite://", creator=connect)
    u = make_url(normalise_url(url))
    given = u.query.get("options", "")  # e.g. -csearch_path=...: kept
    options = " ".join(
        [
            *([given] if isinstance(given, str) else list(given)),
            "-c default_transaction_read_only=on",
            f"-c statement_timeout={int(statement_timeout_ms)}",
        ]
    ).strip()
    return create_engine(
        u.difference_update_query(["options"]),
        connect_args={"options": options, "connect_timeout": 10},
    )


def check_contract(
    conn: Connection,
    products: Iterable[str] | None = None,
    sample_rows: int = 10_000,
    distinct_values: int = 1_000,
    views_mode: bool = True,
    games: bool = True,
) -> ContractReport:
    """Every declared view against the database ``conn`` reads; ``products`` (None: all)
    says which views are needed (core always); without ``views_mode`` the views and columns
    only views mode reads are not needed (the platform exports its own business metrics);
    without ``games`` the view only the wallet ⟷ game provider reconciliation reads is not
    (GAME_RECON_VIEWS)."""
    wanted = None if products is None else {"core", *products}
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
    else:
        conn.exec_driver_sql("PRAGMA query_only = ON")
    report = ContractReport(dialect, [])
    if dialect != "postgresql":
        report.notes.append(
            f"note: {dialect} types are loose: declared column types are not checked "
            "(money and status values are still sampled)"
        )
    for v in VIEWS:
        if wanted is not None and v.product not in wanted:
            report.results.append(ViewResult(v, "not needed"))
            continue
        if not views_mode and v.name in VIEWS_MODE_VIEWS:
            report.results.append(ViewResult(v, "not needed", note="views mode only"))
            continue
        if not games and v.name in GAME_RECON_VIEWS:
            note = "game provider reconciliation only"
            report.results.append(ViewResult(v, "not needed", note=note))
            continue
        result = ViewResult(v, "present")
        savepoint = conn.begin_nested()
        try:
            _check_view(conn, v, result, sample_rows, distinct_values, views_mode)
        except DBAPIError as exc:
            result.state = "unreadable"
            result.problems.append(f"cannot be read: {first_line(exc)}")
            savepoint.rollback()
        else:
            savepoint.commit()
        report.results.append(result)
    return report


def _check_view(
    conn: Connection,
    v: View,
    result: ViewResult,
    sample_rows: int,
    distinct_values: int,
    views_mode: bool = True,
) -> None:
    types = _columns(conn, v.name)
    if types is None:
        result.state = "missing"
        result.problems.append(f"missing (needed by {', '.join(v.read_by)})")
        return
    needed = needed_columns(v, views_mode)
    present = [c for c in needed if c.name in types]
    for c in needed:
        if c.name not in types:
            result.problems.append(f"column {c.name} missing (expected {_expected(c)})")
        elif conn.dialect.name == "postgresql":
            problem = _type_problem(c, *types[c.name])
            if problem:
                result.problems.append(f"column {c.name}: {problem}")
    columns = ", ".join(_q(c.name) for c in present) or "1"
    started = time.perf_counter()
    conn.execute(text(f"SELECT {columns} FROM {v.name} LIMIT 1")).all()
    result.seconds = time.perf_counter() - started
    if conn.dialect.name == "postgresql":
        plan = conn.execute(text(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {v.name}")).scalar_one()
        plan = json.loads(plan) if isinstance(plan, str) else plan
        result.rows_estimate = int(plan[0]["Plan"]["Plan Rows"])
    for c in present:
        if c.kind == "money":
            problem = _fractional_money(conn, v.name, c, types[c.name], sample_rows)
            if problem:
                result.problems.append(f"column {c.name}: {problem}")
        if c.values:
            problem = _unknown_values(conn, v.name, c, sample_rows, distinct_values)
            if problem:
                result.problems.append(f"column {c.name}: {problem}")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(conn: Connection, name: str) -> dict[str, tuple[str, str, str]] | None:
    """Column name -> (type as written, type name, type category); None when no such
    relation. On SQLite the declared type (often empty for a view) and no category."""
    if conn.dialect.name == "postgresql":
        oid = conn.execute(text("SELECT to_regclass(:n)::oid"), {"n": name}).scalar()
        if oid is None:
            return None
        rows = conn.execute(
            text(
                """SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typname,
                          t.typcategory
                   FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                   WHERE a.attrelid = :oid AND a.attnum > 0 AND NOT a.attisdropped"""
            ),
            {"oid": oid},
        )
        return {r[0]: (r[1], r[2], r[3]) for r in rows}
    found = conn.execute(
        text("SELECT 1 FROM sqlite_master WHERE name = :n AND type IN ('view', 'table')"),
        {"n": name},
    ).first()
    if found is None:
        return None
    info = conn.exec_driver_sql(f"PRAGMA table_info({_q(name)})").all()
    return {r[1]: (r[2] or "", (r[2] or "").lower(), "") for r in info}


def _expected(c: Column) -> str:
    return {
        "id": "text or integer",
        "integer": "integer or bigint",
        "money": "bigint, an integer in minor units",
        "text": "text",
        "boolean": "boolean",
        "timestamptz": "timestamp with time zone",
        "number": "a number (integer, numeric or double precision)",
    }[c.kind]


def _type_problem(c: Column, written: str, name: str, category: str) -> str | None:
    """What is wrong with a PostgreSQL column type for the column's kind (None: nothing)."""
    kind = c.kind
    if kind == "timestamptz":
        if name == "timestamptz":
            return None
        if name == "timestamp":
            return (
                "timestamp without time zone (expected timestamp with time zone: a naive "
                "time is read in the session's time zone)"
            )
    elif kind in ("integer", "money"):
        if name in INTEGER_TYPES:
            return None
        if kind == "money" and category == "N":
            return f"{written}: money must be an integer in minor units (expected bigint)"
    elif kind == "id":
        if name in INTEGER_TYPES or category == "S" or name == "uuid":
            return None
    elif kind == "text":
        if category in ("S", "E"):
            return None
    elif (kind == "boolean" and name == "bool") or (kind == "number" and category == "N"):
        return None
    return f"{written} (expected {_expected(c)})"


def _fractional_money(
    conn: Connection, view: str, c: Column, types: tuple[str, str, str], sample_rows: int
) -> str | None:
    """Sampled money values that are not integers."""
    col = _q(c.name)
    if conn.dialect.name == "postgresql":
        if types[1] in INTEGER_TYPES or types[2] != "N":
            return None  # an integer type, or a wrong type already reported
        where = f"{col} <> trunc({col})"
    else:
        where = f"typeof({col}) <> 'integer'"
    n = conn.execute(
        text(
            f"""SELECT COUNT(*) FROM (SELECT {col} FROM {view} WHERE {col} IS NOT NULL
                LIMIT {int(sample_rows)}) s WHERE {where}"""
        )
    ).scalar_one()
    if not n:
        return None
    what = "have a fractional part" if conn.dialect.name == "postgresql" else "are not integers"
    return f"{n} of {sample_rows:,} sampled values {what} (money is integer minor units)"


def _unknown_values(
    conn: Connection, view: str, c: Column, sample_rows: int, distinct_values: int
) -> str | None:
    col = _q(c.name)
    seen = conn.execute(
        text(
            f"""SELECT DISTINCT {col} FROM (SELECT {col} FROM {view}
                LIMIT {int(sample_rows)}) s LIMIT {int(distinct_values)}"""
        )
    ).scalars()
    unknown = sorted({str(x) for x in seen if x is not None} - set(c.values))
    if not unknown:
        return None
    shown = ", ".join(repr(x) for x in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
    return (
        f"{len(unknown)} value(s) outside the documented set: {shown} "
        f"(expected {', '.join(c.values)})"
    )
