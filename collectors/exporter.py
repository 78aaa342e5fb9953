"""The state exporter: the state collectors on a fresh registry, served over HTTP.

``pitwatch collect serve`` calls :func:`serve` through ``pitwatch.state.serve_state``,
which adds the reconcilers' collector: the exporter serves whatever collectors it is
given and knows no package that feeds it. Custom collectors do not work in
client_python's multiprocess mode, so this is its own process (docs/design.md).

Two databases, both read only: the platform's (the contract views) and pitwatch's own state
(the break ledger and run records); each collector gets the engine of its ``database``.
When they are one database (the reference platform), one engine serves both.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler
from sqlalchemy import Engine, create_engine, event

from collectors.state import COLLECTORS, Health, HealthCollector, StateCollector, StateConfig
from collectors.state.base import DATABASES, SOURCE, STATE
from ground.clock import Clock, SystemClock
from ground.dburl import is_sqlite, normalise_url
from ground.ports import COLLECT_PORT

log = logging.getLogger(__name__)

DEFAULT_PORT = COLLECT_PORT
CONNECT_TIMEOUT_SECONDS = 3


def make_read_engine(database_url: str, application_name: str = "pitwatch-collect") -> Engine:
    """A read-only engine (the collectors', a reconciliation's source): a dead database
    fails fast, never hangs a scrape, and a database that comes back is used again
    (pre-ping). SQLite opens the file read-only (a missing file is an error, not a new
    database); PostgreSQL sessions are READ ONLY (a write is refused whatever the login's
    rights)."""
    url = normalise_url(database_url)
    if is_sqlite(url):
        path = url.split("///", 1)[1]
        # Read-only URI: a missing file is an error, not a new empty database.
        engine = create_engine(
            f"sqlite:///file:{path}?mode=ro&uri=true",
            connect_args={"check_same_thread": False, "timeout": CONNECT_TIMEOUT_SECONDS},
            pool_pre_ping=True,
        )

        @event.listens_for(engine, "connect")
        def _autocommit_off(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves

        @event.listens_for(engine, "begin")
        def _snapshot(conn):
            conn.exec_driver_sql("BEGIN")  # deferred: a read snapshot, no write lock

        return engine
    engine = create_engine(
        url,
        pool_size=2,
        max_overflow=4,
        pool_pre_ping=True,
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "application_name": application_name,
        },
    )

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_conn, _record):
        with dbapi_conn.cursor() as cur:
            cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        dbapi_conn.commit()

    return engine


def create_exporter(
    database_url: str | Engine,
    clock: Clock | None = None,
    config: StateConfig | None = None,
    collectors: Sequence[type[StateCollector]] = COLLECTORS,
    state: str | Engine | None = None,
) -> tuple[CollectorRegistry, Any]:
    """A fresh registry with ``collectors`` (registering runs no query) and the WSGI app
    that serves it. ``database_url``: the platform's database; ``state``: pitwatch's own
    (None, or the same URL: the platform's)."""
    engine = make_read_engine(database_url) if isinstance(database_url, str) else database_url
    if state is None or state == database_url:
        state_engine = engine
    else:
        state_engine = make_read_engine(state) if isinstance(state, str) else state
    engines = {SOURCE: engine, STATE: state_engine}
    clock = clock or SystemClock()
    config = config or StateConfig.from_operator()  # the operator file's thresholds
    health = Health(c.name for c in collectors)
    registry = CollectorRegistry()
    for cls in collectors:
        if cls.database not in DATABASES:
            raise ValueError(f"collector {cls.name}: database must be one of {DATABASES}")
        registry.register(cls(engines[cls.database], clock, config, health))
    registry.register(HealthCollector(health))  # last: reports this scrape's health
    return registry, make_wsgi_app(registry)


def make_server(
    host: str,
    port: int,
    database_url: str,
    collectors: Sequence[type[StateCollector]] = COLLECTORS,
    state_url: str | None = None,
) -> WSGIServer:
    """The HTTP server (not started); port 0 picks a free one (tests)."""
    from wsgiref.simple_server import make_server as wsgi_server

    _registry, app = create_exporter(database_url, collectors=collectors, state=state_url)
    return wsgi_server(host, port, app, ThreadingWSGIServer, handler_class=_SilentHandler)


def serve(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    database_url: str = "",
    collectors: Sequence[type[StateCollector]] = COLLECTORS,
    state_url: str | None = None,
) -> None:
    """Serve /metrics until interrupted (``pitwatch collect serve``)."""
    if not database_url:
        raise ValueError("a database URL is needed")
    server = make_server(host, port, database_url, collectors, state_url)
    log.info("state exporter on http://%s:%d/metrics", host, server.server_port)
    try:
        server.serve_forever()
    finally:
        server.server_close()
