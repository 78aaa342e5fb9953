"""The backup metrics, read back from a fresh registry with the BackupCollector: present at
zero before any run, moving with the runs' records and with the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry

from collectors.catalog import backup as catalog
from ground.clock import FakeClock
from pitwatch.backup import records
from pitwatch.backup.metrics import BackupCollector
from pitwatch.backup.records import Run

T0 = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
RPO, RTO = 86_400.0, 3_600.0


def registry_for(engine, clock) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(BackupCollector(engine, clock, rpo_seconds=RPO, rto_seconds=RTO))
    return registry


def recorded(engine, operation: str, at: datetime, outcome: str = "success", **kw) -> Run:
    run = Run(operation, "sqlite:/test", at)
    records.start(engine, run)
    run.outcome, run.finished_at = outcome, at + timedelta(seconds=kw.pop("seconds", 60))
    for key, value in kw.items():
        setattr(run, key, value)
    records.finish(engine, run)
    return run


def value(registry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_before_any_run_the_targets_and_zero_counters_are_there_and_the_rest_absent(
    sqlite_engine,
):
    registry = registry_for(sqlite_engine, FakeClock(T0))
    assert value(registry, "pitwatch_backup_rpo_seconds") == RPO
    assert value(registry, "pitwatch_backup_rto_seconds") == RTO
    for op in catalog.OPERATION.values:
        for outcome in catalog.BACKUP_OUTCOME.values:
            assert value(registry, "pitwatch_backup_runs_total", operation=op, outcome=outcome) == 0
        for reason in catalog.FAILURE_REASON.values:
            assert (
                value(registry, "pitwatch_backup_failures_total", operation=op, reason=reason) == 0
            )
    for absent in (
        "pitwatch_backup_last_success_timestamp_seconds",
        "pitwatch_backup_last_size_bytes",
        "pitwatch_backup_recovery_point_age_seconds",
        "pitwatch_backup_restore_test_timestamp_seconds",
        "pitwatch_backup_restore_test_success",
        "pitwatch_backup_restore_test_last_success_timestamp_seconds",
        "pitwatch_backup_restore_duration_seconds",
    ):
        assert value(registry, absent) is None, absent


def test_the_recovery_point_age_grows_with_the_clock_until_the_next_backup(engine):
    clock = FakeClock(T0 + timedelta(hours=2))
    recorded(engine, "backup", T0, size_bytes=1234)
    registry = registry_for(engine, clock)

    assert value(registry, "pitwatch_backup_last_success_timestamp_seconds") == T0.timestamp()
    assert value(registry, "pitwatch_backup_last_size_bytes") == 1234
    assert value(registry, "pitwatch_backup_recovery_point_age_seconds") == 7200
    clock.advance(hours=23)  # past the RPO
    assert value(registry, "pitwatch_backup_recovery_point_age_seconds") == 25 * 3600 > RPO

    recorded(engine, "backup", T0 + timedelta(hours=25), outcome="failed", reason="other")
    assert value(registry, "pitwatch_backup_recovery_point_age_seconds") == 25 * 3600
    recorded(engine, "backup", T0 + timedelta(hours=25), size_bytes=2000)
    assert value(registry, "pitwatch_backup_recovery_point_age_seconds") == 0
    assert value(registry, "pitwatch_backup_last_size_bytes") == 2000
    assert value(registry, "pitwatch_backup_runs_total", operation="backup", outcome="success") == 2
    assert value(registry, "pitwatch_backup_runs_total", operation="backup", outcome="failed") == 1
    assert (
        value(registry, "pitwatch_backup_failures_total", operation="backup", reason="other") == 1
    )


def test_a_failed_restore_test_turns_success_to_zero_and_counts_its_reason(engine):
    registry = registry_for(engine, FakeClock(T0 + timedelta(days=1)))
    passed = recorded(engine, "verify", T0, restore_seconds=42.5, seconds=90)
    assert value(registry, "pitwatch_backup_restore_test_success") == 1
    assert value(registry, "pitwatch_backup_restore_duration_seconds") == 42.5
    assert passed.finished_at is not None
    passed_at = passed.finished_at.timestamp()
    assert value(registry, "pitwatch_backup_restore_test_timestamp_seconds") == passed_at

    failed = recorded(
        engine, "verify", T0 + timedelta(hours=1), outcome="failed", reason="checksum_mismatch"
    )
    assert failed.finished_at is not None
    assert value(registry, "pitwatch_backup_restore_test_success") == 0
    assert (
        value(registry, "pitwatch_backup_restore_test_timestamp_seconds")
        == failed.finished_at.timestamp()
    )
    last_pass = "pitwatch_backup_restore_test_last_success_timestamp_seconds"
    assert value(registry, last_pass) == passed_at
    # Nothing was restored: the duration is still the last restore's.
    assert value(registry, "pitwatch_backup_restore_duration_seconds") == 42.5
    assert value(registry, "pitwatch_backup_runs_total", operation="verify", outcome="failed") == 1
    assert (
        value(
            registry,
            "pitwatch_backup_failures_total",
            operation="verify",
            reason="checksum_mismatch",
        )
        == 1
    )
    assert (
        value(
            registry,
            "pitwatch_backup_failures_total",
            operation="backup",
            reason="checksum_mismatch",
        )
        == 0
    )


def test_a_run_still_running_counts_nowhere_and_an_unknown_reason_folds_into_other(engine):
    registry = registry_for(engine, FakeClock(T0))
    records.start(engine, Run("backup", "sqlite:/test", T0))  # its process died
    recorded(engine, "verify", T0, outcome="failed", reason="cosmic_rays")
    assert value(registry, "pitwatch_backup_runs_total", operation="backup", outcome="success") == 0
    assert value(registry, "pitwatch_backup_runs_total", operation="backup", outcome="failed") == 0
    assert (
        value(registry, "pitwatch_backup_failures_total", operation="verify", reason="other") == 1
    )
    assert value(registry, "pitwatch_backup_last_success_timestamp_seconds") is None
