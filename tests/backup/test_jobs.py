"""The backup and the restore test on the reconciliation scheduler: added beside the
reconciliations by serve(extra_jobs=...), due an interval after their last success; a job
that fails never raises out of the scheduler, its failure recorded with its reason and
counted in the metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from prometheus_client import CollectorRegistry

from ground.clock import FakeClock
from pitwatch.backup import jobs, records
from pitwatch.backup.jobs import BACKUP_JOB, VERIFY_JOB, add_jobs
from pitwatch.backup.metrics import BackupCollector
from pitwatch.backup.records import Run
from pitwatch.backup.run import state_engine
from pitwatch.backup.target import Target
from pitwatch.settings import Settings
from reconcilers import schedule
from reconcilers.schedule import DAILY_JOB, scheduler_for


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        environment="test",
        database_url=f"sqlite:///{tmp_path / 'platform.db'}",
        state_database_url=f"sqlite:///{tmp_path / 'state.db'}",
        backup_dir=tmp_path / "backups",
        backup_every_hours=6,
        backup_verify_every_hours=24,
    )


def paused(settings: Settings) -> BackgroundScheduler:
    scheduler = scheduler_for(settings, BackgroundScheduler)
    scheduler.start(paused=True)  # nothing runs: the test reads the jobs
    return scheduler


def test_both_jobs_are_added_by_reference_at_their_intervals(settings):
    scheduler = paused(settings)
    try:
        before = datetime.now(UTC)
        add_jobs(scheduler, settings)
        found = {job.id: job for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown()
    backup, verify = found[BACKUP_JOB], found[VERIFY_JOB]
    assert backup.func_ref == "pitwatch.backup.jobs:run_backup_job"
    assert verify.func_ref == "pitwatch.backup.jobs:run_verify_job"
    assert backup.trigger.interval == timedelta(hours=6)
    assert verify.trigger.interval == timedelta(hours=24)
    # Never backed up: a backup now, the restore test half an hour later.
    assert before <= backup.next_run_time <= before + timedelta(minutes=1)
    assert verify.next_run_time - backup.next_run_time >= timedelta(minutes=29)


def test_a_restarted_schedule_is_due_an_interval_after_the_last_success(settings):
    last = datetime.now(UTC) - timedelta(hours=1)
    engine = state_engine(settings)
    source = Target.of(settings.database_url).source
    run = Run("backup", source, last, outcome="success", finished_at=last)
    records.start(engine, run)
    records.finish(engine, run)
    engine.dispose()
    scheduler = paused(settings)
    try:
        add_jobs(scheduler, settings)
        backup = scheduler.get_job(BACKUP_JOB)
    finally:
        scheduler.shutdown()
    assert abs(backup.next_run_time - (last + timedelta(hours=6))) < timedelta(seconds=1)


def test_serve_adds_the_extra_jobs_beside_the_reconciliations(settings, monkeypatch):
    seen: dict[str, str] = {}

    def start(scheduler, *args, **kwargs):  # instead of blocking: read the jobs
        seen.update({job.id: job.func_ref for job in scheduler.get_jobs()})

    monkeypatch.setattr(BlockingScheduler, "start", start)
    schedule.serve(settings, lambda url: None, extra_jobs=add_jobs)
    assert {DAILY_JOB, BACKUP_JOB, VERIFY_JOB} <= set(seen)


def test_failing_jobs_do_not_raise_and_their_reasons_show_in_the_metrics(settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    broken = settings.model_copy(update={"backup_dir": blocker / "backups"})
    jobs._settings = broken
    try:
        jobs.run_backup_job()  # the folder cannot be written
        jobs.run_verify_job()  # nothing to restore
        jobs._settings = broken.model_copy(
            update={"state_database_url": "postgresql://postgres@127.0.0.1:1/state"}
        )
        jobs.run_backup_job()  # not even recordable: logged, not raised
    finally:
        jobs._settings = None
    engine = state_engine(settings)
    registry = CollectorRegistry()
    registry.register(BackupCollector(engine, FakeClock(), rpo_seconds=1, rto_seconds=1))
    failures = "pitwatch_backup_failures_total"
    try:
        assert (
            registry.get_sample_value(
                failures, {"operation": "backup", "reason": "folder_unwritable"}
            )
            == 1
        )
        assert (
            registry.get_sample_value(failures, {"operation": "verify", "reason": "no_backup"}) == 1
        )
        assert (
            registry.get_sample_value(
                "pitwatch_backup_runs_total", {"operation": "backup", "outcome": "failed"}
            )
            == 1
        )
    finally:
        engine.dispose()
