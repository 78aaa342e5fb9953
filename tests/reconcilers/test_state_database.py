"""pitwatch's own state apart from the platform's database (issue 19 §3): a reconciliation
reads the platform through the contract views and writes nothing there; its runs, breaks
and scheduler jobs live in the state database, whose tables pitwatch creates itself; the
platform's migrations are the platform's (and still work after pitwatch was there first)."""

from __future__ import annotations

import sqlite3
from datetime import date

from sqlalchemy import create_engine, inspect

from igaming.db import make_engine
from igaming.migrate import upgrade_engine
from pitwatch.settings import Settings
from reconcilers import ledger
from tests.reconcilers.state_db_helpers import (
    empty_reports,
    reconcile_cli,
    sqlite_dump,
    sqlite_rows,
    traffic_day,
)


def test_a_run_reads_the_platform_and_writes_only_to_its_own_database(
    sqlite_url, tmp_path, monkeypatch, capsys
):
    source = sqlite_url.split("///", 1)[1]
    day, reports = traffic_day(make_engine(sqlite_url), tmp_path)
    before = sqlite_dump(source)
    state = tmp_path / "state" / "pitwatch-state.db"

    code, out, err = reconcile_cli(
        monkeypatch, capsys, sqlite_url, f"sqlite:///{state}",
        "--date", day.isoformat(), "--psp-reports", str(reports), "--out", str(tmp_path / "out"),
    )  # fmt: skip

    assert code == 0, err
    assert f"reconciled {day}" in out
    assert sqlite_dump(source) == before  # not a row, not a table
    [(outcome, open_breaks)] = sqlite_rows(state, "SELECT outcome, open_breaks FROM recon_runs")
    assert outcome == "success" and open_breaks > 0
    breaks = sqlite_rows(state, "SELECT psp, COUNT(*) FROM recon_breaks GROUP BY psp")
    assert dict(breaks).get("ewallo", 0) > 0, breaks
    assert sqlite_rows(source, "SELECT COUNT(*) FROM recon_runs") == [(0,)]


def test_a_platform_without_a_view_is_one_line_exit_2_and_a_failed_run(
    tmp_path, monkeypatch, capsys
):
    source = tmp_path / "operator.db"
    conn = sqlite3.connect(source)
    conn.execute("CREATE TABLE payments (id INTEGER PRIMARY KEY)")
    conn.execute("CREATE VIEW pw_deposits AS SELECT id AS deposit_id FROM payments")
    conn.close()
    before = sqlite_dump(source)
    state = tmp_path / "state.db"
    day = "2026-11-02"
    reports = empty_reports(tmp_path / "reports", date(2026, 11, 2), ("paybridge",))

    code, _out, err = reconcile_cli(
        monkeypatch, capsys, f"sqlite:///{source}", f"sqlite:///{state}",
        "--date", day, "--psp-reports", str(reports), "--out", str(tmp_path / "out"),
        recon_psps='["paybridge"]',
    )  # fmt: skip

    last = err.strip().splitlines()[-1]
    assert code == 2
    assert last.startswith("pitwatch: pw_withdrawals, pw_wallet_transactions"), last
    assert "the platform database has no such views" in last
    assert "pw_deposits" not in last and "Traceback" not in err
    assert sqlite_dump(source) == before
    [(outcome, error)] = sqlite_rows(state, "SELECT outcome, error FROM recon_runs")
    assert outcome == "failed" and "pw_balances" in error


def test_a_missing_platform_database_is_not_created_and_an_unwritable_state_is_named(
    tmp_path, monkeypatch, capsys
):

    reports = empty_reports(tmp_path / "reports", date(2026, 11, 2), ("paybridge",))
    argv = ("--date", "2026-11-02", "--psp-reports", str(reports), "--out", str(tmp_path / "o"))
    missing = tmp_path / "nowhere.db"

    code, _out, err = reconcile_cli(
        monkeypatch, capsys, f"sqlite:///{missing}", f"sqlite:///{tmp_path / 's.db'}", *argv,
        recon_psps='["paybridge"]',
    )  # fmt: skip
    assert code == 2
    assert err.strip().splitlines()[-1].startswith("pitwatch: the platform database: cannot be")
    assert not missing.exists()

    state_dir = tmp_path / "a-folder.db"
    state_dir.mkdir()  # a folder where the state file should be: SQLite cannot open it
    code, _out, err = reconcile_cli(
        monkeypatch, capsys, f"sqlite:///{missing}", f"sqlite:///{state_dir}", *argv,
        recon_psps='["paybridge"]',
    )  # fmt: skip
    assert code == 2
    assert err.strip().splitlines() == [
        f"pitwatch: the state database sqlite:///{state_dir}: unable to open database file"
    ]


def test_one_database_as_before_and_the_platform_migrates_after_pitwatch(tmp_path):
    url = f"sqlite:///{tmp_path / 'one.db'}"
    engine = make_engine(url)
    ledger.create_tables(engine)  # the reconciler started first, on the platform's database
    upgrade_engine(engine)  # the platform's migrations still run through
    names = set(inspect(engine).get_table_names())
    assert {"recon_breaks", "recon_runs", "players", "alembic_version"} <= names
    assert "pw_deposits" in inspect(engine).get_view_names()
    ledger.create_tables(engine)  # and again: nothing to do
    engine.dispose()
    assert Settings(database_url=url).state_url == url


def test_the_scheduler_keeps_its_jobs_in_the_state_database(tmp_path):
    from apscheduler.schedulers.background import BackgroundScheduler

    from reconcilers.schedule import JOB_TABLE, configure, scheduler_for

    source, state = tmp_path / "platform.db", tmp_path / "state.db"
    settings = Settings(database_url=f"sqlite:///{source}", state_database_url=f"sqlite:///{state}")
    scheduler = scheduler_for(settings, BackgroundScheduler)
    scheduler.start(paused=True)
    try:
        configure(scheduler, settings)
    finally:
        scheduler.shutdown()
    assert not source.exists()
    engine = create_engine(f"sqlite:///{state}")
    assert JOB_TABLE in inspect(engine).get_table_names()
    engine.dispose()


def test_the_platform_still_migrates_a_sqlite_file_where_pitwatch_was_first(tmp_path):
    from igaming.migrate import is_empty
    from pitwatch.cli.platform import pitwatch_tables

    engine = make_engine(f"sqlite:///{tmp_path / 'one.db'}")
    ledger.create_tables(engine)
    assert not is_empty(engine)
    assert is_empty(engine, pitwatch_tables())  # `platform serve` upgrades it
    upgrade_engine(engine)
    assert not is_empty(engine, pitwatch_tables())
    engine.dispose()


def test_a_url_that_is_not_one_is_named_in_one_line(tmp_path, monkeypatch, capsys):
    reports = empty_reports(tmp_path / "reports", date(2026, 11, 2), ("paybridge",))
    code, _out, err = reconcile_cli(
        monkeypatch, capsys, "not-a-url", f"sqlite:///{tmp_path / 's.db'}",
        "--date", "2026-11-02", "--psp-reports", str(reports), recon_psps='["paybridge"]',
    )  # fmt: skip
    assert code == 2
    assert err.strip().splitlines() == [
        "pitwatch: the platform database 'not-a-url': "
        "Could not parse SQLAlchemy URL from given URL string"
    ]
