"""The backup and the restore test on the reconciliation scheduler.

reconcilers.schedule.serve calls :func:`add_jobs` (``extra_jobs``), which adds two jobs to
its persistent job store by reference, ``pitwatch.backup.jobs:run_backup_job`` every
``backup_every_hours`` and ``…:run_verify_job`` every ``backup_verify_every_hours``. A job
never raises out of the scheduler: a failure is recorded with its reason (the metrics show
it) and logged in one line.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.triggers.interval import IntervalTrigger

from pitwatch.backup.common import BackupFailure, first_line
from pitwatch.settings import Settings, get_settings

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

log = logging.getLogger(__name__)

BACKUP_JOB = "backup-run"
VERIFY_JOB = "backup-verify"
# The first restore test after the first backup of a fresh schedule, not a whole day later.
VERIFY_AFTER_BACKUP = timedelta(minutes=30)

_settings: Settings | None = None


def add_jobs(scheduler: BaseScheduler, settings: Settings) -> None:
    """Add (or replace) the backup and restore-test jobs; they run with ``settings``.

    Each is next due an interval after its last success (right away when that is past, or
    when there is none: the restore test then half an hour later, after the first backup),
    so that restarting the scheduler neither skips nor repeats one."""
    global _settings
    _settings = settings
    now = datetime.now(UTC)
    backup_every = timedelta(hours=settings.backup_every_hours)
    verify_every = timedelta(hours=settings.backup_verify_every_hours)
    last_backup, last_verify = last_runs(settings)
    jobs = (
        (
            "run_backup_job",
            BACKUP_JOB,
            "backup of the platform's database",
            backup_every,
            max(now, last_backup + backup_every) if last_backup else now,
        ),
        (
            "run_verify_job",
            VERIFY_JOB,
            "restore test of the newest backup",
            verify_every,
            max(now, last_verify + verify_every) if last_verify else now + VERIFY_AFTER_BACKUP,
        ),
    )
    for function, job_id, name, every, first in jobs:
        scheduler.add_job(
            f"pitwatch.backup.jobs:{function}",
            IntervalTrigger(seconds=every.total_seconds(), start_date=first, timezone=UTC),
            id=job_id,
            name=name,
            replace_existing=True,
            next_run_time=first,  # the trigger alone would skip a start of "now" by a second
        )


def last_runs(settings: Settings) -> tuple[datetime | None, datetime | None]:
    """The last successful backup and restore test of the platform's database (None when
    there is none, or when the state database cannot tell: then both run soon)."""
    from pitwatch.backup.records import last_success_at
    from pitwatch.backup.run import state_engine
    from pitwatch.backup.target import Target

    source = Target.of(settings.database_url).source
    try:
        engine = state_engine(settings)
    except BackupFailure as failure:
        log.warning("backup schedule: %s", failure.message)
        return None, None
    try:
        return (
            last_success_at(engine, "backup", source),
            last_success_at(engine, "verify", source),
        )
    finally:
        engine.dispose()


def _run(what: str) -> None:
    from pitwatch.backup.run import run_backup
    from pitwatch.backup.verify import verify_latest

    settings = _settings or get_settings()
    action = run_backup if what == "backup" else verify_latest
    try:
        run = action(settings, datetime.now(UTC))
    except BackupFailure as failure:  # the state database itself: nothing could be recorded
        log.error("%s not recorded (%s): %s", what, failure.reason, failure.message)
        return
    except Exception as exc:  # a bug: logged, and the scheduler keeps going
        log.exception("%s failed: %s", what, first_line(exc))
        return
    if run.ok:
        log.info("%s ok: %s", what, run.path)
    else:
        log.error("%s failed (%s): %s", what, run.reason, run.message)


def run_backup_job() -> None:
    """Back up the platform's database (scheduled)."""
    _run("backup")


def run_verify_job() -> None:
    """Restore-test the newest backup (scheduled)."""
    _run("verify")
