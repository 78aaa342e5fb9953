"""The backup metrics (collectors/catalog/backup.py), read from ``backup_runs`` and the clock
on each scrape, like the reconciliation collector.

Present from the first scrape: the RPO and RTO (from the settings), the runs and failures
counters at zero for every operation, outcome and reason. Absent until known: the last
successful backup's time and size and the recovery point age (until a backup succeeded),
the restore test's time, result and duration (until one ran), its last success (until one
passed). The duration is that of the newest restore test that got as far as restoring (a
test failed on its checksum restores nothing).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from prometheus_client.core import Metric
from sqlalchemy import Connection, Engine, func, inspect, select

from collectors.catalog import backup as catalog
from collectors.state.base import (
    STATE,
    Health,
    StateCollector,
    StateConfig,
    as_utc,
    family,
    gauge,
)
from ground.clock import Clock
from pitwatch.backup.records import backup_runs

(
    LAST_SUCCESS,
    LAST_SIZE,
    POINT_AGE,
    RPO,
    RTO,
    TEST_TIME,
    TEST_SUCCESS,
    TEST_LAST_SUCCESS,
    RESTORE_DURATION,
    RUNS,
    FAILURES,
) = catalog.METRICS
OPERATIONS = catalog.OPERATION.values
OUTCOMES = catalog.BACKUP_OUTCOME.values
REASONS = catalog.FAILURE_REASON.values


class BackupCollector(StateCollector):
    """pitwatch_backup_*: the newest backup, the last restore test, the targets, the runs."""

    name = "backup"
    metrics = catalog.METRICS
    database = STATE  # the run records are pitwatch's own (Settings.state_url)

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        config: StateConfig | None = None,
        health: Health | None = None,
        *,
        rpo_seconds: float | None = None,
        rto_seconds: float | None = None,
    ) -> None:
        super().__init__(engine, clock, config or StateConfig(), health or Health([self.name]))
        if rpo_seconds is None or rto_seconds is None:
            from pitwatch.settings import get_settings

            settings = get_settings()
            rpo_seconds = settings.backup_rpo_seconds if rpo_seconds is None else rpo_seconds
            rto_seconds = settings.backup_rto_seconds if rto_seconds is None else rto_seconds
        self.rpo_seconds, self.rto_seconds = float(rpo_seconds), float(rto_seconds)

    def query(self, conn: Connection, now: datetime) -> Iterable[Metric]:
        for metric, value in ((RPO, self.rpo_seconds), (RTO, self.rto_seconds)):
            fam = gauge(metric)
            fam.add_metric([], value)
            yield fam
        # No table yet (no run ever recorded): the counters at zero, the rest absent.
        runs = conn if inspect(conn).has_table(backup_runs.name) else None
        yield from self.backups(runs, now)
        yield from self.tests(runs)
        yield from self.counts(runs)

    def backups(self, conn: Connection | None, now: datetime) -> Iterable[Metric]:
        taken, size, age = gauge(LAST_SUCCESS), gauge(LAST_SIZE), gauge(POINT_AGE)
        if conn is None:
            return taken, size, age
        c = backup_runs.c
        newest = conn.execute(
            select(c.started_at, c.size_bytes)
            .where(c.operation == "backup", c.outcome == "success")
            .order_by(c.id.desc())
            .limit(1)
        ).one_or_none()
        if newest is not None:
            taken.add_metric([], newest.started_at.timestamp())
            size.add_metric([], float(newest.size_bytes or 0))
            age.add_metric([], max(0.0, (now - newest.started_at).total_seconds()))
        return taken, size, age

    def tests(self, conn: Connection | None) -> Iterable[Metric]:
        when, success, passed, duration = (
            gauge(TEST_TIME),
            gauge(TEST_SUCCESS),
            gauge(TEST_LAST_SUCCESS),
            gauge(RESTORE_DURATION),
        )
        if conn is None:
            return when, success, passed, duration
        c = backup_runs.c
        verify = c.operation == "verify"
        last = conn.execute(
            select(c.finished_at, c.outcome)
            .where(verify, c.outcome.in_(OUTCOMES))
            .order_by(c.id.desc())
            .limit(1)
        ).one_or_none()
        last_pass = conn.execute(
            select(func.max(c.finished_at)).where(verify, c.outcome == "success")
        ).scalar_one_or_none()
        restored = conn.execute(
            select(c.restore_seconds)
            .where(verify, c.outcome.in_(OUTCOMES), c.restore_seconds.is_not(None))
            .order_by(c.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if last is not None:
            when.add_metric([], last.finished_at.timestamp())
            success.add_metric([], 1.0 if last.outcome == "success" else 0.0)
        if last_pass is not None:
            passed.add_metric([], _timestamp(last_pass))
        if restored is not None:
            duration.add_metric([], float(restored))
        return when, success, passed, duration

    def counts(self, conn: Connection | None) -> Iterable[Metric]:
        runs = {(op, o): 0.0 for op in OPERATIONS for o in OUTCOMES}
        failures = {(op, r): 0.0 for op in OPERATIONS for r in REASONS}
        if conn is not None:
            c = backup_runs.c
            for op, outcome, reason, n in conn.execute(
                select(c.operation, c.outcome, c.reason, func.count())
                .where(c.operation.in_(OPERATIONS), c.outcome.in_(OUTCOMES))
                .group_by(c.operation, c.outcome, c.reason)
            ):
                runs[op, outcome] += n
                if outcome == "failed":
                    failures[op, catalog.FAILURE_REASON.bound(reason)] += n
        runs_family, failures_family = family(RUNS), family(FAILURES)
        for labels, n in runs.items():
            runs_family.add_metric(list(labels), n)
        for labels, n in failures.items():
            failures_family.add_metric(list(labels), n)
        return runs_family, failures_family


def _timestamp(value: datetime | str) -> float:
    """An aggregate's timestamp: text or naive on SQLite, aware on PostgreSQL."""
    stamp = as_utc(value)
    assert stamp is not None
    return stamp.timestamp()


# What pitwatch.state adds to the state exporter (backup_runs is pitwatch's state).
COLLECTORS: tuple[type[StateCollector], ...] = (BackupCollector,)
