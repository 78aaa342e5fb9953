"""The break ledger (recon_breaks) and the run records (recon_runs).

A break lives from the first run that reports it until a later run of the same scope
(day, pair, PSP) no longer does: then it is resolved, and it reopens if it comes back.
``break_key`` is deterministic, so re-running a day updates the same rows: no duplicates.

These tables are pitwatch's own state: they live in the state database
(``Settings.state_url``), never in an operator's platform database, and pitwatch creates
them there itself (``create_tables``), not through the platform's migrations.

Every function takes a connection and leaves the transaction to the caller. A run records
``start_run`` in a transaction of its own, so that a failed run still leaves its record;
its breaks and ``finish_run`` follow. SQLite and PostgreSQL; bulk statements (executemany,
chunked look-ups), never one per break. The reference platform's migration 0009 creates
the same tables when they are not there yet (one database for the platform and pitwatch).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Date,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from ground.sqltypes import NAMING, UTCDateTime
from reconcilers.frames import BREAKS, LEDGER_BREAKS, PAIRS, conform

RUN_KINDS = ("manual", "daily", "intraday")
OUTCOMES = ("success", "failed")  # and "running" until finish_run
# A run still "running" this long after it started is one whose process ended first.
ABANDONED_AFTER = timedelta(hours=6)
SOURCES = ("wallet", "psp_report", "affiliate_export", "game_report")
# Columns of recon_runs added after the table was first released: create_tables adds them
# to an older ledger (ALTER TABLE ... ADD COLUMN; nullable, so no row needs a value).
ADDED_COLUMNS = ("rows_game_report",)
STATUSES = ("open", "resolved")
# Keys per look-up statement: under SQLite's 32 766 bound parameters and PostgreSQL's 65 535.
KEYS_PER_STATEMENT = 5_000

metadata = MetaData(naming_convention=NAMING)
TS = UTCDateTime()

recon_breaks = Table(
    "recon_breaks",
    metadata,
    Column("break_key", Text, primary_key=True),
    Column("pair", String(32), nullable=False),
    Column("type", String(32), nullable=False),
    Column("psp", String(64), nullable=False),
    Column("affiliate", String(64)),
    Column("reference", Text),
    Column("psp_reference", Text),
    Column("currency", String(16)),
    Column("wallet_amount_minor", BigInteger),
    Column("other_amount_minor", BigInteger),
    Column("wallet_value", Text),
    Column("other_value", Text),
    Column("amount_at_risk_minor", BigInteger),
    Column("occurred_at", TS),
    Column("details", Text),
    Column("scope_day", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("first_seen_at", TS, nullable=False),
    Column("last_seen_at", TS, nullable=False),
    Column("resolved_at", TS),
    Column("first_run_id", Integer),
    Column("last_run_id", Integer),
    Index("ix_recon_breaks_status", "status", "pair", "type", "psp", "first_seen_at"),
    Index("ix_recon_breaks_scope", "scope_day", "pair", "psp", "status"),
)

recon_runs = Table(
    "recon_runs",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("period_start", TS, nullable=False),
    Column("period_end", TS, nullable=False),
    Column("pairs", Text, nullable=False),  # comma-separated, in frames.PAIRS order
    Column("started_at", TS, nullable=False),
    Column("finished_at", TS),
    Column("duration_seconds", Float),
    Column("outcome", String(16), nullable=False),
    Column("error", Text),
    # NULL: the run did not read that source (its pair was not run, or it failed first).
    Column("rows_wallet", BigInteger),
    Column("rows_psp_report", BigInteger),
    Column("rows_affiliate_export", BigInteger),
    Column("rows_game_report", BigInteger),  # transaction reports and GGR statements
    Column("matched", BigInteger),
    Column("in_flight", BigInteger),
    Column("new_breaks", Integer, nullable=False),
    Column("resolved_breaks", Integer, nullable=False),
    Column("open_breaks", Integer),
    Column("breaks_by_type", Text),  # JSON {type: breaks this run reported and left open}
    Index("ix_recon_runs_outcome", "outcome", "run_id"),
)


def create_tables(engine: Engine) -> None:
    """Create the break ledger and the run records in pitwatch's state database where they
    are missing (``checkfirst``); what is there is left as it is."""
    metadata.create_all(engine, checkfirst=True)
    with engine.begin() as conn:
        have = {c["name"] for c in inspect(conn).get_columns(recon_runs.name)}
        for name in ADDED_COLUMNS:
            if name not in have:
                conn.execute(text(f"ALTER TABLE {recon_runs.name} ADD COLUMN {name} BIGINT"))


BREAK_VALUES = [c for c in BREAKS if c != "break_key"]
TIMESTAMPS = ("occurred_at", "first_seen_at", "last_seen_at", "resolved_at")


@dataclass(frozen=True)
class LedgerChange:
    """What one apply_breaks did to the ledger."""

    new: int
    seen_again: int  # already open, reported again
    resolved: int  # open in the scope, not reported: resolved now
    reopened: int  # resolved earlier, reported again: open again


# -- runs --------------------------------------------------------------------------------------


def join_pairs(pairs: Collection[str]) -> str:
    unknown = sorted(set(pairs) - set(PAIRS))
    if unknown or not pairs:
        raise ValueError(f"pairs must be a non-empty subset of {PAIRS}, got {sorted(pairs)}")
    return ",".join(p for p in PAIRS if p in pairs)


def split_pairs(text: str) -> tuple[str, ...]:
    return tuple(p for p in text.split(",") if p)


def start_run(
    conn: Connection,
    *,
    kind: str,
    period_start: datetime,
    period_end: datetime,
    pairs: Collection[str],
    now: datetime,
) -> int:
    """Record a run as running; its run_id. Runs still running that started more than
    ``ABANDONED_AFTER`` ago are recorded as failed first (``abandon_stale_runs``)."""
    if kind not in RUN_KINDS:
        raise ValueError(f"run kind must be one of {RUN_KINDS}, got {kind!r}")
    if not period_start < period_end:
        raise ValueError(f"empty period {period_start} .. {period_end}")
    abandon_stale_runs(conn, now=now)
    result = conn.execute(
        insert(recon_runs).values(
            kind=kind,
            period_start=period_start,
            period_end=period_end,
            pairs=join_pairs(pairs),
            started_at=now,
            outcome="running",
            new_breaks=0,
            resolved_breaks=0,
        )
    )
    key = result.inserted_primary_key
    assert key is not None  # a one-row INSERT's
    return int(key[0])


def abandon_stale_runs(
    conn: Connection, *, now: datetime, older_than: timedelta = ABANDONED_AFTER
) -> list[int]:
    """Record as failed the runs still "running" that started more than ``older_than``
    before ``now``: the process running them ended (killed, a deploy, out of memory)
    before it could record their end. A run of a day takes minutes; without this its
    record would say running for ever. Their run_ids."""
    r = recon_runs.c
    stale = r.outcome == "running", r.started_at < now - older_than
    ids = [
        int(i) for i in conn.execute(select(r.run_id).where(*stale).order_by(r.run_id)).scalars()
    ]
    if ids:
        conn.execute(
            update(recon_runs)
            .where(r.run_id.in_(ids))
            .values(
                outcome="failed",
                finished_at=now,
                error=f"abandoned: still running {_hours(older_than)} after it started; "
                "the process running it ended before recording its end",
            )
        )
    return ids


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:g} h"


def finish_run(
    conn: Connection,
    run_id: int,
    *,
    outcome: str,
    now: datetime,
    rows: Mapping[str, int],
    matched: int | Mapping[str, int],
    in_flight: int | Mapping[str, int],
    error: str | None = None,
) -> None:
    """Record the run's end, with the ledger's open breaks after it and the ones it left
    open by type (new and resolved were counted by apply_breaks).

    ``rows`` per source (wallet, psp_report, affiliate_export; a source not given was not
    read); ``matched`` and ``in_flight`` a total or per pair (summed)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    unknown = sorted(set(rows) - set(SOURCES))
    if unknown:
        raise ValueError(f"unknown sources {unknown}; sources are {SOURCES}")
    run = conn.execute(
        select(recon_runs.c.started_at, recon_runs.c.outcome).where(recon_runs.c.run_id == run_id)
    ).one_or_none()
    if run is None:
        raise LookupError(f"no reconciliation run {run_id}")
    if run.outcome != "running":
        raise ValueError(f"run {run_id} already finished ({run.outcome})")
    b = recon_breaks.c
    open_total = conn.execute(select(func.count()).where(b.status == "open")).scalar_one()
    by_type = {
        kind: int(n)
        for kind, n in conn.execute(
            select(b.type, func.count())
            .where(b.last_run_id == run_id, b.status == "open")
            .group_by(b.type)
        )
    }
    conn.execute(
        update(recon_runs)
        .where(recon_runs.c.run_id == run_id)
        .values(
            finished_at=now,
            duration_seconds=max(0.0, (now - run.started_at).total_seconds()),
            outcome=outcome,
            error=error,
            **{f"rows_{source}": int(n) for source, n in rows.items()},
            matched=_total(matched),
            in_flight=_total(in_flight),
            open_breaks=int(open_total),
            breaks_by_type=json.dumps(by_type, sort_keys=True),
        )
    )


def _total(value: int | Mapping[str, int]) -> int:
    return int(sum(value.values())) if isinstance(value, Mapping) else int(value)


def last_runs(conn: Connection, *, limit: int = 20) -> list[dict[str, Any]]:
    """The most recent runs, newest first; pairs as a tuple, breaks_by_type as a dict."""
    rows = conn.execute(select(recon_runs).order_by(recon_runs.c.run_id.desc()).limit(limit))
    out = []
    for row in rows.mappings():
        run = dict(row)
        run["pairs"] = split_pairs(run["pairs"])
        run["breaks_by_type"] = json.loads(run["breaks_by_type"] or "{}")
        out.append(run)
    return out


# -- breaks ------------------------------------------------------------------------------------


def apply_breaks(
    conn: Connection,
    breaks: pd.DataFrame,
    *,
    run_id: int,
    scope_day: date,
    pairs: Collection[str],
    psps: Collection[str] | None,
    now: datetime,
    every_day: bool = False,
    resolve: bool = True,
) -> LedgerChange:
    """Upsert the run's breaks by break_key, then resolve every open break of the scope
    (scope_day, pairs, and psps when given) that this run did not report.

    ``every_day``: the scope is the pairs on every day (a check of the whole ledger, not
    of one day); ``resolve=False``: resolve nothing (the run's list was incomplete)."""
    frame = conform(breaks, BREAKS, "breaks")
    frame["psp"] = frame["psp"].fillna("none")
    duplicated = frame["break_key"][frame["break_key"].duplicated()]
    if len(duplicated):
        raise ValueError(f"breaks: break_key reported twice: {sorted(set(duplicated))[:5]}")
    outside = sorted(set(frame["pair"].dropna()) - set(pairs))
    if outside or frame["pair"].isna().any():
        raise ValueError(f"breaks: pair {outside or [None]} is outside the run's pairs")
    records = _records(frame)
    before = _statuses(conn, [r["break_key"] for r in records])
    life = {"scope_day": scope_day, "status": "open", "last_seen_at": now, "resolved_at": None}
    for record in records:
        # first_seen_at and first_run_id are only written by an insert (see _upsert).
        record.update(life, last_run_id=run_id, first_seen_at=now, first_run_id=run_id)
    if records:
        # executemany of one cached statement: the driver batches it (sqlite3 in C,
        # psycopg in a pipeline); a statement with many VALUES rows costs more to compile.
        conn.execute(_upsert(conn), records)
    resolved = (
        _resolve_unreported(
            conn,
            run_id=run_id,
            scope_day=None if every_day else scope_day,
            pairs=pairs,
            psps=psps,
            now=now,
        )
        if resolve
        else 0
    )
    statuses = Counter(before.values())
    change = LedgerChange(
        new=len(records) - len(before),
        seen_again=statuses["open"],
        resolved=resolved,
        reopened=statuses["resolved"],
    )
    # Counted on the run as they happen: a run may apply its breaks pair by pair.
    runs = recon_runs.c
    conn.execute(
        update(recon_runs)
        .where(runs.run_id == run_id)
        .values(
            new_breaks=runs.new_breaks + change.new,
            resolved_breaks=runs.resolved_breaks + change.resolved,
        )
    )
    return change


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Plain Python values (int, str, datetime, None) column by column: fast, and no
    pandas scalar reaches the driver."""
    columns: dict[str, list[Any]] = {}
    for name in frame.columns:
        values = frame[name].tolist()
        if name in TIMESTAMPS:
            columns[name] = [None if pd.isna(v) else v.to_pydatetime() for v in values]
        else:
            columns[name] = [None if v is pd.NA else v for v in values]
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _statuses(conn: Connection, keys: Sequence[str]) -> dict[str, str]:
    """Status of the keys already in the ledger."""
    statement = select(recon_breaks.c.break_key, recon_breaks.c.status).where(
        recon_breaks.c.break_key.in_(bindparam("keys", expanding=True))
    )
    if conn.dialect.name == "postgresql":
        # psycopg prepares a statement run 5 times; PostgreSQL may then keep a generic plan
        # made while the table was empty, comparing every row with every key of the list
        # (seconds per chunk at 100k breaks). Custom plans, for this transaction only.
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
    found: dict[str, str] = {}
    for chunk in _chunks(list(keys), KEYS_PER_STATEMENT):
        found.update((key, status) for key, status in conn.execute(statement, {"keys": chunk}))
    return found


def _upsert(conn: Connection) -> Any:
    """INSERT .. ON CONFLICT (break_key) DO UPDATE: first_seen_at and first_run_id stay."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        statement: postgresql.Insert | sqlite.Insert = postgresql.insert(recon_breaks)
    elif dialect == "sqlite":
        statement = sqlite.insert(recon_breaks)
    else:
        raise NotImplementedError(f"the break ledger supports SQLite and PostgreSQL, not {dialect}")
    keep = {"break_key", "first_seen_at", "first_run_id"}
    changes = {c.name: statement.excluded[c.name] for c in recon_breaks.c if c.name not in keep}
    return statement.on_conflict_do_update(index_elements=["break_key"], set_=changes)


def _resolve_unreported(
    conn: Connection,
    *,
    run_id: int,
    scope_day: date | None,
    pairs: Collection[str],
    psps: Collection[str] | None,
    now: datetime,
) -> int:
    b = recon_breaks.c
    scope = [b.status == "open", b.pair.in_(sorted(pairs))]
    if scope_day is not None:
        scope.append(b.scope_day == scope_day)
    if psps is not None:
        scope.append(b.psp.in_(sorted(psps)))
    # Upserted rows carry this run's id: whatever open row of the scope does not, this run
    # did not report.
    scope.append(or_(b.last_run_id.is_(None), b.last_run_id != run_id))
    result = conn.execute(
        update(recon_breaks).where(and_(*scope)).values(status="resolved", resolved_at=now)
    )
    return int(result.rowcount)


def ledger_breaks(conn: Connection, *, status: str | None = "open", now: datetime) -> pd.DataFrame:
    """The ledger's breaks (of one status, or all) as LEDGER_BREAKS, oldest first."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES} or None, got {status!r}")
    columns = [recon_breaks.c[name] for name in LEDGER_BREAKS if name != "age_seconds"]
    statement = select(*columns).order_by(recon_breaks.c.first_seen_at, recon_breaks.c.break_key)
    if status is not None:
        statement = statement.where(recon_breaks.c.status == status)
    rows = conn.execute(statement).all()
    # object columns: integers go to Int64 exactly, never through float64.
    frame = pd.DataFrame(
        {c.name: pd.Series([row[i] for row in rows], dtype=object) for i, c in enumerate(columns)}
    )
    for name in ("first_seen_at", "last_seen_at", "resolved_at", "occurred_at"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    resolved = frame["resolved_at"]
    # ``now`` in the column's own resolution (a datetime64[s] column refuses a µs fill value).
    end = resolved.fillna(pd.Timestamp(now).tz_convert("UTC").as_unit(resolved.dt.unit))
    age = (end - frame["first_seen_at"]).dt.total_seconds().clip(lower=0)
    frame["age_seconds"] = age.astype("int64")
    return conform(frame, LEDGER_BREAKS, "ledger_breaks")
