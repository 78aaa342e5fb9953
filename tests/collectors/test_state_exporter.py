"""The state exporter: registering runs no query, a database outage turns collectors down
without crashing the exporter and it recovers by itself, HTTP serves the text format,
promtool finds nothing to say."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import threading
import urllib.request
from functools import partial

import pytest
from prometheus_client import generate_latest
from sqlalchemy import create_engine, event

from collectors import exporter
from collectors.state import COLLECTORS
from ground.clock import FakeClock
from ground.dburl import normalise_url
from pitwatch.state import STATE_COLLECTORS

NAMES = [c.name for c in COLLECTORS]
# The exporter as `pitwatch collect serve` runs it: with the reconcilers' collector.
create_exporter = partial(exporter.create_exporter, collectors=STATE_COLLECTORS)
make_server = partial(exporter.make_server, collectors=STATE_COLLECTORS)


def up(registry, name: str):
    return registry.get_sample_value("pitwatch_collector_up", {"collector": name})


def test_registering_the_collectors_runs_no_query(engine):
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    registry, _app = create_exporter(engine, FakeClock())
    assert statements == []
    generate_latest(registry)  # a scrape does query: the listener is live
    assert statements


def test_every_collector_is_up_on_a_healthy_database(engine):
    registry, _app = create_exporter(engine, FakeClock())
    for name in NAMES:
        assert up(registry, name) == 1
        assert (
            registry.get_sample_value("pitwatch_collector_errors_total", {"collector": name}) == 0
        )
        assert (
            registry.get_sample_value("pitwatch_collector_duration_seconds", {"collector": name})
            >= 0
        )


class Switch:
    """Connections through a creator that fails while the database is 'down'."""

    def __init__(self, engine) -> None:
        self.down = False
        self.url = engine.url

    def connect(self):
        if self.url.get_backend_name() == "sqlite":
            if self.down:
                return sqlite3.connect("file:/nonexistent/pitwatch.db?mode=ro", uri=True)
            return sqlite3.connect(self.url.database, check_same_thread=False)
        import psycopg

        if self.down:
            return psycopg.connect("host=127.0.0.1 port=1 user=postgres connect_timeout=1")
        schema = os.environ.get("PGOPTIONS", "")
        return psycopg.connect(
            normalise_url(os.environ["PITWATCH_TEST_DATABASE_URL"]).replace("+psycopg", ""),
            options=schema or None,
        )


def test_database_outage_turns_collectors_down_and_they_recover_by_themselves(engine, request):
    switch = Switch(engine)
    if engine.dialect.name == "postgresql":
        schema = request.getfixturevalue("pg_schema")
        os.environ["PGOPTIONS"] = f"-csearch_path={schema}"
        request.addfinalizer(lambda: os.environ.pop("PGOPTIONS", None))
    url = "sqlite://" if engine.dialect.name == "sqlite" else "postgresql+psycopg://"
    broken = create_engine(url, creator=switch.connect, pool_pre_ping=True)
    registry, _app = create_exporter(broken, FakeClock())
    assert [up(registry, n) for n in NAMES] == [1] * len(NAMES)

    switch.down = True
    broken.dispose()  # the server went away: pooled connections with it
    text_ = generate_latest(registry).decode()  # no exception: the exporter keeps serving
    assert 'pitwatch_collector_up{collector="payments"} 0.0' in text_
    assert [up(registry, n) for n in NAMES] == [0] * len(NAMES)
    errors = registry.get_sample_value("pitwatch_collector_errors_total", {"collector": "kyc"})
    assert errors >= 1

    switch.down = False
    assert [up(registry, n) for n in NAMES] == [1] * len(NAMES)
    assert registry.get_sample_value("igaming_kyc_manual_review_backlog") == 0
    broken.dispose()


def test_a_dropped_sqlite_file_is_down_until_it_is_back(sqlite_url, tmp_path):
    path = sqlite_url.split("///", 1)[1]
    registry, _app = create_exporter(sqlite_url, FakeClock())
    assert up(registry, "payments") == 1
    shutil.move(path, tmp_path / "away.db")
    engines = {c.engine for c in registry._collector_to_names if hasattr(c, "engine")}
    for eng in engines:  # an open SQLite handle would keep reading the moved file
        eng.dispose()
    assert up(registry, "payments") == 0
    shutil.move(tmp_path / "away.db", path)
    assert up(registry, "payments") == 1


def test_one_failing_collector_does_not_take_the_others_down(engine):
    registry, _app = create_exporter(engine, FakeClock())
    [kyc] = [c for c in registry._collector_to_names if getattr(c, "name", "") == "kyc"]
    kyc.query = lambda conn, now: (_ for _ in ()).throw(RuntimeError("boom"))
    assert up(registry, "kyc") == 0
    assert up(registry, "payments") == 1
    assert registry.get_sample_value("igaming_kyc_manual_review_backlog") is None
    assert registry.get_sample_value("igaming_deposits_pending_stale", {"psp": "other"}) == 0


def test_a_query_over_its_time_budget_is_cut_and_reported(engine):
    from dataclasses import replace

    from sqlalchemy import text

    from collectors.state import StateConfig

    registry, _app = create_exporter(engine, FakeClock(), StateConfig(time_budget_seconds=0.05))
    [kyc] = [c for c in registry._collector_to_names if getattr(c, "name", "") == "kyc"]
    slow = (
        "SELECT pg_sleep(1)"
        if engine.dialect.name == "postgresql"
        else "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT MAX(i) FROM r"
    )
    kyc.query = lambda conn, now: [conn.execute(text(slow)).scalar()]
    assert up(registry, "kyc") == 0
    assert (
        registry.get_sample_value("pitwatch_collector_duration_seconds", {"collector": "kyc"}) < 0.5
    )
    assert replace(StateConfig(), time_budget_seconds=2).time_budget_seconds == 2


def test_http_endpoint_serves_the_text_exposition_even_with_the_database_down():
    server = make_server("127.0.0.1", 0, "postgresql://postgres@127.0.0.1:1/nothing")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = resp.read().decode()
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/plain")
    finally:
        server.shutdown()
        server.server_close()
    assert 'pitwatch_collector_up{collector="ledger"} 0.0' in body
    assert "# TYPE pitwatch_collector_errors_total counter" in body


def test_promtool_check_metrics_is_clean(engine):
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("PITWATCH_REQUIRE_PROMTOOL") == "1":
            pytest.fail("promtool is required (PITWATCH_REQUIRE_PROMTOOL=1) but not installed")
        pytest.skip("promtool not installed")
    registry, _app = create_exporter(engine, FakeClock())
    out = subprocess.run(
        [promtool, "check", "metrics"],
        input=generate_latest(registry),
        capture_output=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert (out.stdout + out.stderr).strip() == b""
