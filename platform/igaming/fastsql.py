"""Run a Core statement built once on the connection's DBAPI cursor.

``Connection.execute`` does per call what a statement built once at import does not need
again: its cache key, an execution context, parameter processing through the compiled
object, a result with its metadata: 12.8 µs a one-row INSERT or primary-key SELECT on
SQLite against 1.1 µs on the cursor (measured), and a seamless-wallet request runs a dozen
statements, a simulated day millions. ``execute`` compiles a
statement once per dialect (and, for an INSERT, per set of columns given), keeps its SQL
text, parameter order and the types' bind and result processors, and runs it on the
driver's cursor, so the rows written and read are the ones ``Connection.execute`` would
write and read.

What stays the same:
- the ``before_cursor_execute`` / ``after_cursor_execute`` listeners run with an
  execution context they can keep state on (the platform's statement-duration metrics,
  the database slow-down fault);
- a driver error goes through the connection's own error handling: raised as
  SQLAlchemy's wrapper (``IntegrityError``, ...), ``handle_error`` listeners called (the
  metrics time failed statements too), a lost connection invalidated;
- the statement runs in the connection's transaction (begun if it was not, as
  ``Connection.execute`` does).

Only plain statements qualify: no expanding IN, no literal-execute parameters, every
column with a Python-side default given. And only statements built once: plans are kept
for the life of the process, so more than ``MAX_PLANS`` of them is refused as a bug.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import exc
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


class _Context:
    """The execution context the listeners get: they may keep attributes on it (the
    metrics' start time); the connection's error handling reads ``executemany`` and calls
    ``handle_dbapi_exception``."""

    __slots__ = ("__dict__", "executemany")

    def __init__(self, executemany: bool) -> None:
        self.executemany = executemany

    def handle_dbapi_exception(self, e: BaseException) -> None:
        """Nothing to clean up: the cursor is closed by ``execute``."""


class _Plan:
    __slots__ = ("columns", "constants", "positional", "results", "row", "slots", "sql", "stmt")

    def __init__(self, stmt: ClauseElement, conn: Connection, keys: Sequence[str] | None):
        dialect = conn.dialect
        # A statement compiles to an SQLCompiler; ``compile`` is typed as the base Compiled.
        compiled = cast(
            SQLCompiler, stmt.compile(dialect=dialect, column_keys=list(keys) if keys else None)
        )
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("fastsql runs plain statements only (no expanding parameters)")
        if compiled.insert_prefetch or compiled.update_prefetch:
            # Python-side column defaults are computed by an execution context.
            raise ValueError("fastsql needs every column with a Python default given")
        self.stmt = stmt  # the plan is keyed by the statement's id: keep it alive
        self.sql: str = compiled.string
        # A bind processor per name (a sequence of them only for tuple types, never bound here).
        processors: Mapping[str, Any] = compiled._bind_processors
        # Values the statement carries itself (``Account.kind == "cash"``), processed once.
        self.constants: dict[str, Any] = {}
        for b in compiled.binds.values():
            if not b.required:
                name = compiled.bind_names[b]
                process = processors.get(name)
                value = b.effective_value
                self.constants[name] = value if process is None else process(value)
        # qmark/format drivers take a tuple in compile order, a slot a position (a name
        # bound twice, twice; a constant is a slot without a name); pyformat ones a dict:
        # the constants and a slot for each other name.
        self.positional: bool = compiled.positional
        names = (
            list(compiled.positiontup or ())  # a list whenever the statement is positional
            if self.positional
            else [n for n in dict.fromkeys(compiled.bind_names.values()) if n not in self.constants]
        )
        self.slots: tuple[tuple[str | None, Any, Any], ...] = tuple(
            (None, None, self.constants[n]) if n in self.constants else (n, processors.get(n), None)
            for n in names
        )
        self.columns = compiled._result_columns
        self.row: Any = None
        if self.columns:
            self.row = namedtuple("Row", [c[0] for c in self.columns], rename=True)  # type: ignore[misc]
        # Result processors can depend on the driver's type of each column (psycopg's
        # numeric OIDs): found from the cursor's description at the first result.
        self.results: tuple[tuple[int, Any], ...] | None = None

    def processors(self, dialect: Any, description: Sequence[Any]) -> tuple[tuple[int, Any], ...]:
        if self.results is None:
            self.results = tuple(
                (i, p)
                for i, (c, d) in enumerate(zip(self.columns, description, strict=True))
                if (p := c[3]._cached_result_processor(dialect, d[1])) is not None
            )
        return self.results


class Result:
    """The rows a statement returned (a RETURNING or a SELECT), already fetched."""

    __slots__ = ("_rows",)

    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    def all(self) -> list[Any]:
        return self._rows

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def one_or_none(self) -> Any:
        if len(self._rows) > 1:
            raise exc.MultipleResultsFound("more than one row where one was expected")
        return self._rows[0] if self._rows else None

    def one(self) -> Any:
        row = self.one_or_none()
        if row is None:
            raise exc.NoResultFound("no row where one was expected")
        return row

    def scalar_one(self) -> Any:
        return self.one()[0]


# Keyed by the statement, the dialect and its driver (the SQL and its parameter style are
# the driver's: psycopg's pyformat, sqlite3's qmark), and an INSERT's columns.
_PLANS: dict[tuple[int, str, str, tuple[str, ...] | None], _Plan] = {}
MAX_PLANS = 1000  # the platform uses a few dozen


def execute(
    conn: Connection,
    stmt: ClauseElement,
    params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
) -> Any:
    """``conn.execute(stmt, params)`` for a statement built once (module level): a
    ``Result`` (all, first, one, one_or_none, scalar_one; rows are named tuples, with
    attribute access and ``_asdict``)."""
    rows_in: Sequence[Mapping[str, Any]]
    if isinstance(params, Sequence):
        many, rows_in = True, params
    else:
        many, rows_in = False, [params or {}]
    if many and not rows_in:
        return Result([])
    keys = tuple(rows_in[0]) if stmt.is_insert else None  # type: ignore[attr-defined]
    dialect = conn.dialect
    plan_key = (id(stmt), dialect.name, dialect.driver, keys)
    plan = _PLANS.get(plan_key)
    if plan is None:
        if len(_PLANS) >= MAX_PLANS:
            raise RuntimeError(
                f"fastsql holds {len(_PLANS)} plans: it is for statements built once "
                "(module level), not per call"
            )
        plan = _PLANS[plan_key] = _Plan(stmt, conn, keys)
    prepared = [_bind(plan, row) for row in rows_in]
    if not conn.in_transaction():
        conn.begin()  # as Connection.execute begins one on first use ("autobegin")
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        _run(conn, cursor, plan.sql, prepared if many else prepared[0], many)
        if plan.row is None or cursor.description is None:
            return Result([])
        make, processors = plan.row._make, plan.processors(dialect, cursor.description)
        if not processors:
            return Result([make(raw) for raw in cursor.fetchall()])
        rows = []
        for raw in cursor.fetchall():
            values = list(raw)
            for i, process in processors:
                values[i] = process(values[i])
            rows.append(make(values))
        return Result(rows)
    finally:
        cursor.close()


def query(session: Session, stmt: ClauseElement, params: Mapping[str, Any]) -> Result:
    """``execute`` on the session's connection after a flush, as an ORM query would
    autoflush: what the session holds unwritten counts. For a read where there may be."""
    session.flush()
    return execute(session.connection(), stmt, params)


def execute_driver_sql(conn: Connection, sql: str) -> None:
    """A statement without parameters or rows (SQLite's ``BEGIN IMMEDIATE``), as
    ``conn.exec_driver_sql(sql)`` runs it, on the driver's cursor. It does not begin a
    transaction: it may be the statement that begins one."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        _run(conn, cursor, sql, (), False)
    finally:
        cursor.close()


def _run(conn: Connection, cursor: Any, sql: str, payload: Any, many: bool) -> None:
    """The statement on the cursor between the cursor-execute listeners; a driver error
    raised as SQLAlchemy's wrapper (IntegrityError, OperationalError, ...)."""
    events = conn._has_events or conn.engine._has_events
    context = _Context(many)
    if events:
        conn.dispatch.before_cursor_execute(conn, cursor, sql, payload, context, many)
    try:
        if many:
            cursor.executemany(sql, payload)
        else:
            cursor.execute(sql, payload)
    except BaseException as e:
        # What Connection.execute does with a failure (wrap, handle_error, invalidate; an
        # interrupt mid-statement invalidates the connection).
        conn._handle_dbapi_exception(e, sql, payload, cursor, context)  # type: ignore[arg-type]
    if events:
        conn.dispatch.after_cursor_execute(conn, cursor, sql, payload, context, many)


def _bind(plan: _Plan, row: Mapping[str, Any]) -> Any:
    try:
        if plan.positional:
            out: list[Any] = []
            for name, process, constant in plan.slots:
                if name is None:
                    out.append(constant)
                else:
                    value = row[name]
                    out.append(value if process is None else process(value))
            return tuple(out)
        values = dict(plan.constants)
        for name, process, _ in plan.slots:
            value = row[name]  # type: ignore[index]
            values[name] = value if process is None else process(value)  # type: ignore[index]
        return values
    except KeyError as missing:
        raise exc.InvalidRequestError(
            f"a value is required for bind parameter {missing.args[0]!r}"
        ) from None
