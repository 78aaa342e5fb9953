"""The wallet's side of the reconciliation, read through the contract views (pw_*) only,
so that an operator who writes the same views over their own platform gets it too.

Periods are ``[start, end)`` in timezone-aware UTC. Every loader takes an Engine (it opens
and closes a connection) or a Connection (it runs inside the caller's transaction).

Which wallet time a movement has:
- settled: the deposit's ``completed_at`` (its approval);
- chargeback, chargeback_reversed, refunded: the ledger entry on the PSP clearing account
  of the chargeback / reversal transaction that references the deposit. The ledger is
  append-only and written in the same database transaction as the status change, so it
  keeps every movement, the second chargeback of a deposit included, and when it happened.
  pw_callbacks would not do: an event that overtook its predecessor is applied later than
  it was received, and a deposit's status only keeps the last movement. A reversal is a
  refund when it moves money back to the PSP (clearing entry > 0) and a chargeback
  reversal when it takes money from it (< 0).
- payout: the withdrawal's ``completed_at`` (the PSP confirmed it paid).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import psycopg
from sqlalchemy import Connection, Engine, TextClause, TextualSelect, bindparam, text
from sqlalchemy.exc import DBAPIError

from ground.errors import first_line
from ground.sqltypes import UTCDateTime
from reconcilers.errors import SourceError
from reconcilers.frames import (
    ARROW_OUTPUT,
    BALANCES,
    CLEARING,
    DUCKDB_TYPES,
    GAME_WALLET,
    ORPHAN_CALLBACKS,
    PLATFORM_CONVERSIONS,
    WALLET_MOVEMENTS,
    conform,
    empty,
    from_arrow,
    release_memory,
)

Bind = Engine | Connection

# The contract views a run reads (docs/contract-views.md); the affiliate pair adds two.
WALLET_VIEWS = (
    "pw_deposits",
    "pw_withdrawals",
    "pw_wallet_transactions",
    "pw_ledger_entries",
    "pw_balances",
    "pw_callbacks",
)
CONVERSION_VIEWS = ("pw_conversions", "pw_postbacks")
GAME_VIEWS = ("pw_casino_wallet_transactions",)  # the wallet ⟷ game provider pair


def connect(engine: Engine) -> Connection:
    """A connection to the platform's database; SourceError when it cannot be reached."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return engine.connect()
    except SQLAlchemyError as exc:
        problem = f"cannot be reached ({first_line(exc)})"
        raise SourceError("the platform database", problem) from exc


def require_views(conn: Connection, conversions: bool, games: bool = False) -> None:
    """SourceError naming the views of WALLET_VIEWS (and CONVERSION_VIEWS when
    ``conversions``, GAME_VIEWS when ``games``) that the platform's database does not have."""
    from sqlalchemy.exc import SQLAlchemyError

    from ground.relations import missing_views

    needed = (
        WALLET_VIEWS + (CONVERSION_VIEWS if conversions else ()) + (GAME_VIEWS if games else ())
    )
    try:
        missing = missing_views(conn, needed)
    except SQLAlchemyError as exc:
        raise SourceError("the platform database", f"cannot be read ({first_line(exc)})") from exc
    if missing:
        noun = "view" if len(missing) == 1 else "views"
        raise SourceError(
            ", ".join(missing),
            f"the platform database has no such {noun} "
            "(see docs/contract-views.md; `pitwatch contract check`)",
        )


def _timed(sql: str, *columns: str) -> TextClause | TextualSelect:
    """A query with period parameters and timestamp columns that read as aware UTC on
    SQLite (naive text) and PostgreSQL alike."""
    query = text(sql).bindparams(
        bindparam("start", type_=UTCDateTime), bindparam("end", type_=UTCDateTime)
    )
    return query.columns(**{c: UTCDateTime for c in columns}) if columns else query


MOVEMENTS = _timed(
    """SELECT d.psp, 'settled' AS kind, d.deposit_id AS merchant_reference, d.psp_reference,
              d.currency, d.amount_minor, d.status, d.completed_at AS occurred_at
       FROM pw_deposits d
       WHERE d.completed_at >= :start AND d.completed_at < :end
       UNION ALL
       SELECT d.psp,
              CASE WHEN t.type = 'chargeback' THEN 'chargeback'
                   WHEN e.amount_minor > 0 THEN 'refunded'
                   ELSE 'chargeback_reversed' END,
              d.deposit_id, d.psp_reference, e.currency,
              CASE WHEN e.amount_minor < 0 THEN -e.amount_minor ELSE e.amount_minor END,
              d.status, e.created_at
       FROM pw_wallet_transactions t
       JOIN pw_deposits d ON d.deposit_id = t.reference
       JOIN pw_ledger_entries e
         ON e.transaction_id = t.transaction_id AND e.account_kind = 'psp_clearing'
       WHERE t.type IN ('chargeback', 'reversal')
         AND e.created_at >= :start AND e.created_at < :end
       UNION ALL
       SELECT w.psp, 'payout', w.withdrawal_id, w.psp_reference, w.currency, w.amount_minor,
              w.status, w.completed_at
       FROM pw_withdrawals w
       WHERE w.completed_at >= :start AND w.completed_at < :end
       ORDER BY occurred_at, merchant_reference, kind""",
    "occurred_at",
)

# One row per orphan event: a PSP that redelivers an event we answered is recorded again.
ORPHANS = _timed(
    """SELECT c.psp, c.merchant_reference, c.psp_reference, c.status, c.currency,
              c.amount_minor, COALESCE(c.occurred_at, c.received_at) AS occurred_at
       FROM pw_callbacks c
       WHERE c.outcome = 'orphan'
         AND c.callback_id IN (
             SELECT MIN(o.callback_id) FROM pw_callbacks o WHERE o.outcome = 'orphan'
             GROUP BY o.psp, COALESCE(o.event_id, CAST(o.callback_id AS VARCHAR(20))))
         AND COALESCE(c.occurred_at, c.received_at) >= :start
         AND COALESCE(c.occurred_at, c.received_at) < :end
       ORDER BY occurred_at, c.callback_id""",
    "occurred_at",
)

# The job of the conversion's own event (not its _reversal): the one the network books.
CONVERSIONS = _timed(
    """SELECT c.affiliate, c.campaign, c.player_ref, c.conversion_type AS event,
              c.conversion_id, c.amount_minor, c.currency, c.state,
              p.status AS postback_status, c.occurred_at
       FROM pw_conversions c
       LEFT JOIN pw_postbacks p
         ON p.affiliate = c.affiliate AND p.event = c.conversion_type
        AND p.conversion_id = c.conversion_id
       WHERE c.occurred_at >= :start AND c.occurred_at < :end
       ORDER BY c.occurred_at, c.conversion_id""",
    "occurred_at",
)

# What the seamless wallet booked of the game providers, in the period (by its time).
GAME_TRANSACTIONS_SQL = """
    SELECT g.provider, g.provider_transaction_id, g.round_id, g.player_ref, g.kind,
           g.amount_minor, g.currency, g.created_at, g.game_id, g.round_status
    FROM pw_casino_wallet_transactions g
    WHERE g.created_at >= :start AND g.created_at < :end"""
GAME_TRANSACTIONS = _timed(
    GAME_TRANSACTIONS_SQL + " ORDER BY g.created_at, g.provider, g.provider_transaction_id",
    "created_at",
)

# CASTs: PostgreSQL sums bigints into numerics, which would come back as Decimals.
ACCOUNT_BALANCES = text(
    """SELECT b.account_id, b.account_owner, b.account_kind,
              CASE WHEN b.account_kind = 'psp_clearing' THEN NULLIF(b.psp, '') END AS psp,
              b.currency, CAST(b.balance_minor AS BIGINT) AS stored_minor,
              COALESCE(s.total, 0) AS entries_minor
       FROM pw_balances b
       LEFT JOIN (SELECT account_id, CAST(SUM(amount_minor) AS BIGINT) AS total
                  FROM pw_ledger_entries GROUP BY account_id) s
         ON s.account_id = b.account_id
       ORDER BY b.account_id"""
)

CLEARING_MOVEMENTS = _timed(
    """SELECT e.psp, e.currency, CAST(SUM(e.amount_minor) AS BIGINT) AS movement_minor
       FROM pw_ledger_entries e
       WHERE e.account_kind = 'psp_clearing'
         AND e.created_at >= :start AND e.created_at < :end
       GROUP BY e.psp, e.currency
       ORDER BY e.psp, e.currency"""
)


def load_wallet_movements(
    engine_or_connection: Bind, start: datetime, end: datetime
) -> pd.DataFrame:
    """WALLET_MOVEMENTS: every movement the PSPs should report whose wallet time is in the
    period: approvals, chargebacks, their reversals, refunds and completed payouts."""
    return _load(
        engine_or_connection,
        "pw_deposits, pw_wallet_transactions, pw_ledger_entries, pw_withdrawals",
        MOVEMENTS,
        _period(start, end),
        WALLET_MOVEMENTS,
        "WALLET_MOVEMENTS",
    )


def load_orphan_callbacks(
    engine_or_connection: Bind, start: datetime, end: datetime
) -> pd.DataFrame:
    """ORPHAN_CALLBACKS: callbacks for references the wallet does not know (of that PSP),
    one per event, by the PSP's event time (received time when it sent none)."""
    return _load(
        engine_or_connection,
        "pw_callbacks",
        ORPHANS,
        _period(start, end),
        ORPHAN_CALLBACKS,
        "ORPHAN_CALLBACKS",
    )


def load_platform_conversions(
    engine_or_connection: Bind, start: datetime, end: datetime
) -> pd.DataFrame:
    """PLATFORM_CONVERSIONS: the conversions that occurred in the period, each with the
    status of its postback job (<NA> when none was queued)."""
    return _load(
        engine_or_connection,
        "pw_conversions, pw_postbacks",
        CONVERSIONS,
        _period(start, end),
        PLATFORM_CONVERSIONS,
        "PLATFORM_CONVERSIONS",
    )


def load_game_transactions(
    engine_or_connection: Bind, start: datetime, end: datetime
) -> pd.DataFrame:
    """GAME_WALLET: the provider transactions the seamless wallet booked in the period."""
    return _load(
        engine_or_connection,
        "pw_casino_wallet_transactions",
        GAME_TRANSACTIONS,
        _period(start, end),
        GAME_WALLET,
        "GAME_WALLET",
    )


def load_balances(engine_or_connection: Bind) -> pd.DataFrame:
    """BALANCES: every account's stored balance beside the sum of its ledger entries."""
    return _load(
        engine_or_connection,
        "pw_balances, pw_ledger_entries",
        ACCOUNT_BALANCES,
        {},
        BALANCES,
        "BALANCES",
    )


def load_clearing(engine_or_connection: Bind, start: datetime, end: datetime) -> pd.DataFrame:
    """CLEARING: the sum of the PSP clearing accounts' entries in the period, per PSP and
    currency (only those that moved)."""
    return _load(
        engine_or_connection,
        "pw_ledger_entries",
        CLEARING_MOVEMENTS,
        _period(start, end),
        CLEARING,
        "CLEARING",
    )


def _period(start: datetime, end: datetime) -> dict[str, datetime]:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("the period needs timezone-aware datetimes")
    if end <= start:
        raise ValueError(f"empty period [{start.isoformat()}, {end.isoformat()})")
    return {"start": start, "end": end}


@contextmanager
def _connected(engine_or_connection: Bind) -> Iterator[Connection]:
    if isinstance(engine_or_connection, Engine):
        with engine_or_connection.connect() as conn:
            yield conn
    else:
        yield engine_or_connection


_CHUNK = 250_000


def _load(
    engine_or_connection: Bind,
    views: str,
    query: TextClause | TextualSelect,
    params: Mapping[str, object],
    schema: Mapping[str, str],
    name: str,
) -> pd.DataFrame:
    with _reading(views), _connected(engine_or_connection) as conn:
        if conn.dialect.name == "postgresql":
            frame = _copy_load(conn, query, params, schema, name)
            release_memory()  # the COPY's Arrow result is gone
            return frame
        return _fetch_load(conn, query, params, schema, name)


@contextmanager
def _reading(views: str) -> Iterator[None]:
    """A database error while reading ``views`` as a SourceError (one line)."""
    try:
        yield
    except (DBAPIError, psycopg.Error) as exc:  # through SQLAlchemy, or the COPY's own
        orig = exc.orig if isinstance(exc, DBAPIError) else exc
        cause = str(orig).strip() if orig is not None else ""
        detail = cause.splitlines()[0] if cause else type(exc).__name__
        raise SourceError(views, f"cannot be read ({detail})") from exc


def load_game_transactions_into(
    con: duckdb.DuckDBPyConnection,
    engine_or_connection: Bind,
    start: datetime,
    end: datetime,
    *,
    table: str,
    spool: Path,
) -> int:
    """The GAME_WALLET rows of the period as the table ``table`` on ``con``, a DuckDB
    database that spills to disk, so that no more of them than a chunk is ever in Python's
    memory: on PostgreSQL through ``COPY ... TO STDOUT`` into a CSV file in the folder
    ``spool`` that DuckDB reads; elsewhere fetched in chunks. Returns the number of rows."""
    columns = ", ".join(f"{c} {DUCKDB_TYPES.get(t, 'VARCHAR')}" for c, t in GAME_WALLET.items())
    con.execute(f"CREATE TABLE {table} ({columns})")
    query = _timed(GAME_TRANSACTIONS_SQL, "created_at")  # no ORDER BY: a table has none
    params = _period(start, end)
    with _reading("pw_casino_wallet_transactions"), _connected(engine_or_connection) as conn:
        if conn.dialect.name == "postgresql":
            path = spool / "pw_casino_wallet_transactions.csv"
            try:
                _copy_to(conn, query, params, path)
                con.execute(
                    f"INSERT INTO {table} SELECT * FROM {_copied_csv(GAME_WALLET)}",
                    {"path": str(path)},
                )
            finally:
                path.unlink(missing_ok=True)
        else:
            result = conn.execution_options(stream_results=True, yield_per=_CHUNK).execute(
                query, dict(params)
            )
            names = list(result.keys())
            for chunk in result.partitions(_CHUNK):
                rows = [tuple(row) for row in chunk]
                frame = conform(pd.DataFrame.from_records(rows, columns=names), GAME_WALLET, table)
                con.register("_chunk", frame)
                try:
                    con.execute(f"INSERT INTO {table} SELECT * FROM _chunk")
                finally:
                    con.unregister("_chunk")
    ((n,),) = con.sql(f"SELECT count(*) FROM {table}").fetchall()
    return int(n)


def _fetch_load(
    conn: Connection,
    query: TextClause | TextualSelect,
    params: Mapping[str, object],
    schema: Mapping[str, str],
    name: str,
) -> pd.DataFrame:
    # Streamed in chunks, each turned into a frame from plain tuples: pandas probes a
    # SQLAlchemy Row for a dtype (an exception per row), and holding every Row of 10M
    # movements at once costs gigabytes.
    parts: list[pd.DataFrame] = []
    result = conn.execution_options(stream_results=True, yield_per=_CHUNK).execute(
        query, dict(params)
    )
    columns = list(result.keys())
    for chunk in result.partitions(_CHUNK):
        rows = [tuple(row) for row in chunk]
        parts.append(conform(pd.DataFrame.from_records(rows, columns=columns), schema, name))
    if not parts:
        return empty(schema)
    if len(parts) == 1:
        return parts[0]
    # Each chunk's categories are its own: concatenated, they are text again.
    return conform(pd.concat(parts, ignore_index=True), schema, name)


# PostgreSQL settings the CSV below is written in, whatever the session's own.
_COPY_SETTINGS = {"TimeZone": "UTC", "DateStyle": "ISO, YMD"}


def _copy_load(
    conn: Connection,
    query: TextClause | TextualSelect,
    params: Mapping[str, object],
    schema: Mapping[str, str],
    name: str,
) -> pd.DataFrame:
    """The query's rows through ``COPY (query) TO STDOUT`` as CSV into a temporary file,
    parsed by DuckDB into Arrow-backed columns: no Python object per row or value (the row
    by row fetch of 10M movements took 100 s and 10 GB; this about a quarter of the time)."""
    with tempfile.TemporaryDirectory(prefix="pitwatch-copy-") as tmp:
        path = Path(tmp) / "rows.csv"
        _copy_to(conn, query, params, path)
        return _read_copied(path, schema, name)


def _copy_to(
    conn: Connection,
    query: TextClause | TextualSelect,
    params: Mapping[str, object],
    path: Path,
) -> None:
    """``COPY (query) TO STDOUT`` as CSV with a header into the file ``path``.

    It runs on the caller's connection, so in its transaction and snapshot; the session's
    TimeZone and DateStyle are set for the COPY (the CSV's timestamps are ISO in UTC) and
    put back after it."""
    compiled = query.compile(dialect=conn.dialect)
    values = {}
    for key, value in params.items():
        process = compiled.binds[key].type.bind_processor(conn.dialect)
        values[key] = process(value) if process else value
    # A statement through SQLAlchemy first, so that the COPY runs in its transaction.
    saved = conn.execute(
        text("SELECT " + ", ".join(f"current_setting('{k}')" for k in _COPY_SETTINGS))
    ).one()
    _set_local(conn, dict(_COPY_SETTINGS))
    try:
        raw = conn.connection.driver_connection
        assert isinstance(raw, psycopg.Connection)
        with (
            path.open("wb") as fh,
            raw.cursor() as cur,
            cur.copy(f"COPY ({compiled}) TO STDOUT (FORMAT csv, HEADER true)", values) as copy,
        ):
            for data in copy:
                fh.write(data)
    finally:
        _set_local(conn, dict(zip(_COPY_SETTINGS, saved, strict=True)))


def _set_local(conn: Connection, settings: Mapping[str, str]) -> None:
    for setting, value in settings.items():
        conn.execute(
            text("SELECT set_config(:name, :value, true)"), {"name": setting, "value": value}
        )


def _read_copied(path: Path, schema: Mapping[str, str], name: str) -> pd.DataFrame:
    """PostgreSQL's CSV as the schema's frame, in the file's row order."""
    with path.open("rb") as fh:
        header = fh.readline().decode("utf-8").rstrip("\r\n").split(",")
    if header == [""]:  # PostgreSQL writes the header even for no row: not expected
        return empty(schema)
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        for setting in ARROW_OUTPUT:
            con.execute(setting)
        copied = {column: schema.get(column, "string") for column in header}
        table = con.sql(
            f"SELECT * FROM {_copied_csv(copied)}", params={"path": str(path)}
        ).to_arrow_table()
    return from_arrow(table, schema, name)


def _copied_csv(columns: Mapping[str, str]) -> str:
    """DuckDB's reading (parameter ``$path``) of the CSV ``COPY ... TO STDOUT`` wrote
    (NULL unquoted and empty, an empty string quoted) with ``columns`` of frame types."""
    types = ", ".join(
        f"'{column}': '{DUCKDB_TYPES.get(dtype, 'VARCHAR')}'" for column, dtype in columns.items()
    )
    return f"""read_csv($path, header = true, auto_detect = false, columns = {{{types}}},
                        delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false,
                        strict_mode = true)"""
