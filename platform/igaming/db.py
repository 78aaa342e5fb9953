"""Engines and sessions. Nothing is created at import time."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import sessionmaker

from ground.dburl import is_sqlite, normalise_url
from igaming.fastsql import execute_driver_sql


def make_engine(
    url: str, *, pool_size: int = 20, schema: str | None = None, durable: bool = True
) -> Engine:
    """An engine for ``url``; ``schema`` sets PostgreSQL's search_path (test isolation).

    ``durable=False`` is for a batch whose database can be written again from its inputs
    (an accelerated simulation, reproducible from its seed): SQLite then does not sync to
    disk (``PRAGMA synchronous=OFF``). A crash of the process loses nothing committed (the
    WAL is written before each commit returns); a crash of the machine may. PostgreSQL is
    left as it is (``synchronous_commit=off`` measured no faster there)."""
    url = normalise_url(url)
    if is_sqlite(url):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _sqlite_serialised_writes(engine, synchronous="NORMAL" if durable else "OFF")
        return engine
    connect_args = {"options": f"-csearch_path={schema}"} if schema else {}
    return create_engine(
        url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True, connect_args=connect_args
    )


def _sqlite_serialised_writes(engine: Engine, synchronous: str) -> None:
    # pysqlite opens transactions lazily and as DEFERRED, so two writers can both read and
    # then fail to upgrade their lock. BEGIN IMMEDIATE takes the write lock up front:
    # SQLite writers queue (busy_timeout) instead of failing or losing updates.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # On the driver's cursor, listeners included: exec_driver_sql's execution context
        # was a thirtieth of a simulated day (every unit of work begins here).
        execute_driver_sql(conn, "BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False)
