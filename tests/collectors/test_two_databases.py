"""The state exporter with two databases (issue 19 §3): the collectors of the contract
views read the platform's, the reconciliation collector pitwatch's own; a new state
database without tables reports "no runs yet", not a failure; a platform without an
optional product's views (no outbox, no sportsbook) switches that collector off."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime

from prometheus_client import generate_latest
from sqlalchemy import text

from collectors import exporter
from collectors.state import StateConfig
from ground.clock import FakeClock
from igaming.db import make_engine
from pitwatch.state import STATE_COLLECTORS, prepare_state
from reconcilers import ledger

NAMES = [c.name for c in STATE_COLLECTORS]


def up(registry, name: str):
    return registry.get_sample_value("pitwatch_collector_up", {"collector": name})


def runs(registry, outcome: str = "success") -> float | None:
    return registry.get_sample_value(
        "pitwatch_reconciliation_runs_total", {"pair": "wallet_psp", "outcome": outcome}
    )


def backlog(registry) -> float | None:
    return registry.get_sample_value("igaming_outbox_backlog_events", {"consumer": "affiliates"})


def record_run(url: str) -> None:
    engine = make_engine(url)
    ledger.create_tables(engine)
    now = datetime(2026, 11, 3, 6, tzinfo=UTC)
    with engine.begin() as conn:
        run_id = ledger.start_run(
            conn,
            kind="daily",
            period_start=datetime(2026, 11, 2, tzinfo=UTC),
            period_end=now.replace(hour=0),
            pairs=["wallet_psp"],
            now=now,
        )
        ledger.finish_run(
            conn, run_id, outcome="success", now=now, rows={"wallet": 3}, matched=3, in_flight=0
        )
    engine.dispose()


def test_the_reconciliation_collector_reads_the_state_database(sqlite_url, tmp_path):
    state = f"sqlite:///{tmp_path / 'state.db'}"
    record_run(state)
    registry, _app = exporter.create_exporter(
        sqlite_url, FakeClock(), collectors=STATE_COLLECTORS, state=state
    )
    assert [up(registry, n) for n in NAMES] == [1] * len(NAMES)
    assert runs(registry) == 1  # the platform's own recon_runs (migration 0009) is empty


def test_a_new_state_database_without_tables_reports_no_runs_yet(sqlite_url, tmp_path):
    bare = tmp_path / "bare.db"
    sqlite3.connect(bare).close()  # a database, no table: nothing ran yet
    registry, _app = exporter.create_exporter(
        sqlite_url, FakeClock(), collectors=STATE_COLLECTORS, state=f"sqlite:///{bare}"
    )
    without = generate_latest(registry).decode()
    assert up(registry, "reconciliation") == 1
    assert runs(registry) == 0 and runs(registry, "failed") == 0
    assert (
        registry.get_sample_value(
            "pitwatch_reconciliation_last_success_timestamp_seconds", {"pair": "wallet_psp"}
        )
        is None
    )  # absent: ReconciliationRunStale's absent() sees it

    # The same series as a ledger with its tables and no run.
    created = tmp_path / "created.db"
    assert prepare_state(f"sqlite:///{created}")
    other, _app = exporter.create_exporter(
        sqlite_url, FakeClock(), collectors=STATE_COLLECTORS, state=f"sqlite:///{created}"
    )
    reconciliation = sorted(
        line for line in without.splitlines() if line.startswith("pitwatch_reconciliation_")
    )
    assert reconciliation == sorted(
        line
        for line in generate_latest(other).decode().splitlines()
        if line.startswith("pitwatch_reconciliation_")
    )
    assert len(reconciliation) > 10


def test_the_state_database_is_prepared_at_start_and_an_unwritable_one_is_logged(tmp_path, caplog):
    state = tmp_path / "var" / "state.db"
    assert prepare_state(f"sqlite:///{state}")
    assert {"recon_breaks", "recon_runs"} <= {
        r[0] for r in sqlite3.connect(state).execute("SELECT name FROM sqlite_master")
    }
    folder = tmp_path / "folder.db"
    folder.mkdir()
    with caplog.at_level(logging.WARNING):
        assert not prepare_state(f"sqlite:///{folder}")
    [record] = [r for r in caplog.records if "state database" in r.getMessage()]
    assert "unable to open database file" in record.getMessage()


def drop_outbox(url: str) -> str:
    """Drop pw_outbox_cursors; the statement that made it."""
    conn = sqlite3.connect(url.split("///", 1)[1])
    [(sql,)] = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'pw_outbox_cursors'")
    conn.execute("DROP VIEW pw_outbox_cursors")
    conn.commit()
    conn.close()
    return sql


def test_a_platform_without_an_outbox_switches_the_outbox_collector_off(sqlite_url, caplog):
    drop_outbox(sqlite_url)
    config = StateConfig(views_recheck_seconds=3600)
    registry, _app = exporter.create_exporter(
        sqlite_url, FakeClock(), config, collectors=STATE_COLLECTORS
    )
    with caplog.at_level(logging.WARNING):
        body = generate_latest(registry).decode()
        generate_latest(registry)  # a second scrape: no second line
    assert 'collector="outbox"' not in body
    assert backlog(registry) is None
    assert [up(registry, n) for n in NAMES if n != "outbox"] == [1] * (len(NAMES) - 1)
    lines = [r.getMessage() for r in caplog.records if "outbox" in r.getMessage()]
    assert lines == [
        "state collector outbox is off: the platform database has no pw_outbox_cursors "
        "(an optional product; see docs/contract-views.md)"
    ]


def test_a_collector_switched_off_comes_on_when_its_views_appear(sqlite_url):
    view = drop_outbox(sqlite_url)
    registry, _app = exporter.create_exporter(
        sqlite_url, FakeClock(), StateConfig(views_recheck_seconds=0), collectors=STATE_COLLECTORS
    )
    assert up(registry, "outbox") is None
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:  # the platform got an outbox
        conn.execute(text(view))
    engine.dispose()
    assert up(registry, "outbox") == 1
    assert backlog(registry) == 0


def test_a_platform_without_any_view_still_fails_its_core_collectors(tmp_path):
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).execute("CREATE TABLE t (x INTEGER)").connection.close()
    registry, _app = exporter.create_exporter(
        f"sqlite:///{empty}", FakeClock(), collectors=STATE_COLLECTORS
    )
    generate_latest(registry)
    # A wrong search_path or database is not "no sportsbook": CollectorFailing fires.
    assert up(registry, "payments") == 0 and up(registry, "ledger") == 0
    assert up(registry, "sportsbook") is None and up(registry, "outbox") is None
