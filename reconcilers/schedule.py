"""``pitwatch reconcile schedule``: a daily full run of yesterday at a set local time and an
hourly intraday run of today (the in-flight window), from APScheduler.

Jobs live in a persistent SQLAlchemy job store (table ``recon_scheduler_jobs`` in
pitwatch's own database, ``Settings.state_url``), so a restart keeps their next run times;
one executor thread means one run at a time; a run missed while the scheduler was down is
run once when it comes back (coalesce) if it is at most ``MISFIRE_GRACE`` late, else
skipped.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from pitwatch.settings import Settings

log = logging.getLogger(__name__)

JOB_TABLE = "recon_scheduler_jobs"
MISFIRE_GRACE = timedelta(hours=6)
DAILY_JOB = "reconcile-daily"
INTRADAY_JOB = "reconcile-intraday"
START_JOB = "reconcile-at-start"
LEDGER_JOB = "ledger-check-daily"  # reconcilers.ledger_job, at the daily run's time, after it
_one_at_a_time = threading.Lock()


@dataclass(frozen=True)
class Context:
    """What the scheduled jobs run with, given by whoever serves the schedule (the CLI): the
    job store keeps the jobs by name (``reconcilers.schedule:run_daily``), not their
    arguments, so the process that runs them says once where the settings and the databases
    come from: ``make_engine`` for the platform's (read only), ``make_state_engine`` for
    pitwatch's own (None: ``make_engine``)."""

    settings: Settings
    make_engine: Callable[[str], Engine]
    make_state_engine: Callable[[str], Engine] | None = None


_context: Context | None = None


def options_for(settings: Settings, day: date, kind: str):
    """Run options from the settings for ``day``."""
    from reconcilers.run import RunOptions, SlackTarget

    export = None
    if settings.recon_affiliate_export:
        path = Path(settings.recon_affiliate_export.format(date=day.isoformat()))
        export = path if path.exists() else None
    slack = (
        SlackTarget(
            settings.recon_slack_token, settings.recon_slack_channel, settings.recon_slack_base_url
        )
        if settings.recon_slack_token
        else None
    )
    return RunOptions(
        psp_reports_dir=Path(settings.recon_psp_reports_dir),
        out_dir=Path(settings.recon_out_dir),
        psps=tuple(settings.recon_psps),
        psp_formats=dict(settings.recon_psp_formats),
        affiliate_format=settings.recon_affiliate_format,
        affiliate_export=export,
        settlement_window=timedelta(hours=settings.recon_settlement_window_hours),
        postback_grace=timedelta(hours=settings.recon_postback_grace_hours),
        game_reports_dir=settings.recon_game_reports_dir,
        game_providers=tuple(settings.recon_game_providers),
        round_window=timedelta(hours=settings.recon_game_round_window_hours),
        work_memory=settings.recon_work_memory,
        work_dir=settings.recon_work_dir,
        slack=slack,
        kind=kind,
        progress=lambda msg: log.info("%s", msg),
    )


def _run(day: date, kind: str) -> None:
    from reconcilers.errors import SourceError
    from reconcilers.run import reconcile_day

    if _context is None:
        raise RuntimeError("reconcilers.schedule.serve() sets up the jobs' context first")
    settings = _context.settings
    make_state = _context.make_state_engine or _context.make_engine
    with _one_at_a_time:
        source = _context.make_engine(settings.database_url)
        try:
            state = make_state(settings.state_url)
        except BaseException:
            source.dispose()
            raise
        try:
            reconcile_day(source, state, day, options_for(settings, day, kind), datetime.now(UTC))
        except SourceError as exc:  # recorded as a failed run; the alert on staleness follows
            log.error("reconciliation of %s (%s) failed: %s", day, kind, exc)
        finally:
            source.dispose()
            state.dispose()


def run_daily() -> None:
    """Reconcile yesterday (UTC), now that every PSP's report for it is in."""
    _run(datetime.now(UTC).date() - timedelta(days=1), "daily")


def run_intraday() -> None:
    """Reconcile today so far: what is still in flight, what already broke."""
    _run(datetime.now(UTC).date(), "intraday")


def configure(scheduler: BaseScheduler, settings: Settings) -> None:
    """Add (or replace) the jobs on a scheduler whose job store is persistent: the daily
    and intraday reconciliations and the full ledger check."""
    hour, minute = (int(x) for x in settings.recon_daily_at.split(":"))
    tz = ZoneInfo(settings.recon_timezone)
    scheduler.add_job(
        "reconcilers.schedule:run_daily",
        CronTrigger(hour=hour, minute=minute, timezone=tz),
        id=DAILY_JOB,
        name="daily reconciliation of yesterday",
        replace_existing=True,
    )
    scheduler.add_job(
        "reconcilers.ledger_job:run_ledger_check",
        CronTrigger(hour=hour, minute=minute, timezone=tz),
        id=LEDGER_JOB,
        name="nightly full ledger check",
        replace_existing=True,
    )
    scheduler.add_job(
        "reconcilers.schedule:run_intraday",
        IntervalTrigger(minutes=settings.recon_intraday_minutes, timezone=tz),
        id=INTRADAY_JOB,
        name="intraday reconciliation of today",
        replace_existing=True,
    )


def scheduler_for(
    settings: Settings, cls: type[BaseScheduler] = BlockingScheduler
) -> BaseScheduler:
    return cls(
        jobstores={"default": SQLAlchemyJobStore(url=settings.state_url, tablename=JOB_TABLE)},
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": int(MISFIRE_GRACE.total_seconds()),
        },
        timezone=ZoneInfo(settings.recon_timezone),
    )


def serve(
    settings: Settings,
    make_engine: Callable[[str], Engine],
    make_state_engine: Callable[[str], Engine] | None = None,
    extra_jobs: Callable[[BaseScheduler, Settings], None] | None = None,
) -> None:
    """Run the scheduler in the foreground until interrupted; the jobs reconcile the
    platform's database of ``settings`` through an engine from ``make_engine`` and keep
    their runs and breaks in ``settings.state_url`` through ``make_state_engine``.
    ``extra_jobs`` adds more jobs beside them (the CLI's backups: reconcilers import no
    higher layer)."""
    global _context
    _context = Context(settings, make_engine, make_state_engine)
    scheduler = scheduler_for(settings)
    configure(scheduler, settings)
    if extra_jobs is not None:
        extra_jobs(scheduler, settings)
    now = datetime.now(ZoneInfo(settings.recon_timezone))
    # One intraday run right away: a scheduler that starts (or restarts) reports on today
    # within a minute instead of after a whole interval without a successful run.
    scheduler.add_job(
        "reconcilers.schedule:run_intraday",
        "date",
        run_date=now,
        id=START_JOB,
        name="intraday reconciliation at start",
        replace_existing=True,
    )
    for job in scheduler.get_jobs():
        # Not started yet: a job has no next_run_time attribute until then.
        log.info("%s: next run %s", job.name, job.trigger.get_next_fire_time(None, now))
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
