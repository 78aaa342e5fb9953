"""The reconciliation schedule: a daily run at a local time and an hourly intraday run,
kept in a persistent job store, one at a time; and the CLI's handling of bad input."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from pitwatch.cli import main
from pitwatch.settings import Settings, get_settings
from reconcilers.schedule import (
    DAILY_JOB,
    INTRADAY_JOB,
    LEDGER_JOB,
    MISFIRE_GRACE,
    configure,
    options_for,
    scheduler_for,
)


@pytest.fixture
def settings(tmp_path):
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'jobs.db'}",
        recon_daily_at="06:30",
        recon_timezone="Europe/Berlin",
        recon_intraday_minutes=60,
        recon_affiliate_export=str(tmp_path / "conversions-{date}.csv"),
    )


def started(settings: Settings) -> BackgroundScheduler:
    scheduler = scheduler_for(settings, BackgroundScheduler)
    scheduler.start(paused=True)  # nothing runs: the test only reads the jobs
    return scheduler


def test_the_daily_run_is_at_the_configured_local_time_and_the_intraday_one_hourly(settings):
    scheduler = started(settings)
    try:
        configure(scheduler, settings)
        jobs = {job.id: job for job in scheduler.get_jobs()}
        daily = jobs[DAILY_JOB].next_run_time.astimezone(ZoneInfo("Europe/Berlin"))
        assert (daily.hour, daily.minute) == (6, 30)
        assert jobs[INTRADAY_JOB].trigger.interval.total_seconds() == 3600
    finally:
        scheduler.shutdown()


def test_jobs_survive_a_restart_and_configuring_again_does_not_duplicate_them(settings):
    first = started(settings)
    configure(first, settings)
    before = {job.id: job.next_run_time for job in first.get_jobs()}
    first.shutdown()

    second = started(settings)
    try:
        assert {job.id: job.next_run_time for job in second.get_jobs()} == before
        configure(second, settings)
        jobs = sorted(job.id for job in second.get_jobs())
        assert jobs == sorted([DAILY_JOB, INTRADAY_JOB, LEDGER_JOB])
    finally:
        second.shutdown()


def test_one_run_at_a_time_and_a_missed_run_is_run_once(settings):
    scheduler = started(settings)
    try:
        configure(scheduler, settings)
        for job in scheduler.get_jobs():
            assert job.max_instances == 1
            assert job.coalesce is True
            assert job.misfire_grace_time == MISFIRE_GRACE.total_seconds()
        assert scheduler._executors["default"]._pool._max_workers == 1
    finally:
        scheduler.shutdown()


def test_the_affiliate_export_of_the_day_is_used_only_when_it_is_there(settings, tmp_path):
    day = date(2026, 11, 2)
    assert options_for(settings, day, "daily").affiliate_export is None
    export = tmp_path / "conversions-2026-11-02.csv"
    export.write_text("header\n")
    assert options_for(settings, day, "daily").affiliate_export == export


def test_the_game_provider_pair_runs_when_its_folder_is_set(settings, tmp_path):
    from datetime import timedelta

    from ground.vocabulary import DEFAULT_GAME_PROVIDERS

    day = date(2026, 11, 2)
    assert options_for(settings, day, "daily").game_reports_dir is None
    on = settings.model_copy(
        update={"recon_game_reports_dir": tmp_path, "recon_game_round_window_hours": 3.0}
    )
    options = options_for(on, day, "daily")
    assert options.game_reports_dir == tmp_path
    assert tuple(options.game_providers) == DEFAULT_GAME_PROVIDERS
    assert options.round_window == timedelta(hours=3)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--date", "2026-02-30"], "not a date"),
        (["--date", "2026-11-02", "--psp-reports", "{tmp}/nowhere"], "nowhere"),
        (["--date", "2026-11-02", "--affiliate-export", "{tmp}/none.csv"], "none.csv"),
    ],
)
def test_bad_input_to_reconcile_run_is_one_line_and_exit_2(
    argv, message, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("PITWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    monkeypatch.setenv("PITWATCH_RECON_OUT_DIR", str(tmp_path / "out"))
    get_settings.cache_clear()
    try:
        code = main(["reconcile", "run", *[a.format(tmp=tmp_path) for a in argv]])
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err.strip().splitlines()  # progress lines, then the error
    assert code == 2
    assert err[-1].startswith("pitwatch") and message in err[-1], err


def test_the_jobs_run_with_the_context_the_server_gave(settings, monkeypatch):
    from reconcilers import schedule

    monkeypatch.setattr(schedule, "_context", None)
    with pytest.raises(RuntimeError, match="serve"):
        schedule.run_daily()

    asked: list[str] = []

    class Stop(Exception):
        pass

    def make_engine(url: str):
        asked.append(url)
        raise Stop

    monkeypatch.setattr(schedule, "_context", schedule.Context(settings, make_engine))
    with pytest.raises(Stop):
        schedule.run_intraday()
    assert asked == [settings.database_url]


def test_the_full_ledger_check_runs_nightly_at_the_daily_time(settings):
    from reconcilers.ledger_job import JOB_ID

    scheduler = started(settings)
    try:
        configure(scheduler, settings)
        jobs = {job.id: job for job in scheduler.get_jobs()}
        ledger = jobs[LEDGER_JOB]
        assert LEDGER_JOB == JOB_ID
        assert ledger.func_ref == "reconcilers.ledger_job:run_ledger_check"
        assert ledger.next_run_time == jobs[DAILY_JOB].next_run_time
    finally:
        scheduler.shutdown()
