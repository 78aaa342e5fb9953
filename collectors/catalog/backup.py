"""Metrics of backups and restore tests (``pitwatch backup run`` / ``pitwatch backup verify``).

A backup is only proven by restoring it: ``verify`` restores the newest backup into a scratch
database, runs the full ledger check and counts the money tables there, and times it. The
state exporter reads these from pitwatch's own records of the runs (never from the files);
the recovery targets (RPO, RTO) are exported beside them so that alerts and dashboards
compare against the configured values instead of repeating them.
"""

from __future__ import annotations

from collectors.catalog.base import LabelDomain, Metric, MetricType
from collectors.catalog.labels import outcome

OPERATION = outcome("backup", "verify", name="operation")
BACKUP_OUTCOME = outcome("success", "failed")
# Why a backup or a restore test failed (the full message is in the run record and the log).
FAILURE_REASON = outcome(
    "tool_missing",  # pg_dump / pg_restore not installed
    "database_unreachable",
    "folder_unwritable",
    "no_backup",  # verify found nothing to restore
    "checksum_mismatch",  # the file is not what was written (truncated, altered)
    "restore_failed",  # the restore tool or the copy failed
    "invariant_failed",  # the restored ledger does not balance or a money table is empty
    "other",
    name="reason",
)


def _m(name: str, type_: MetricType, help_: str, *labels: LabelDomain, unit: str = "") -> Metric:
    return Metric(name, type_, help_, tuple(labels), unit=unit, source="backup", team="sre")


METRICS: tuple[Metric, ...] = (
    _m(
        "pitwatch_backup_last_success_timestamp_seconds",
        "gauge",
        "Unix time the newest successful backup was taken (absent until one is).",
        unit="seconds",
    ),
    _m(
        "pitwatch_backup_last_size_bytes",
        "gauge",
        "Size of the newest successful backup file.",
        unit="bytes",
    ),
    _m(
        "pitwatch_backup_recovery_point_age_seconds",
        "gauge",
        "Data a restore would lose now: time since the newest successful backup was taken.",
        unit="seconds",
    ),
    _m(
        "pitwatch_backup_rpo_seconds",
        "gauge",
        "Configured recovery point objective: the most data a restore may lose.",
        unit="seconds",
    ),
    _m(
        "pitwatch_backup_rto_seconds",
        "gauge",
        "Configured recovery time objective: the longest a restore may take.",
        unit="seconds",
    ),
    _m(
        "pitwatch_backup_restore_test_timestamp_seconds",
        "gauge",
        "Unix time of the last restore test, whatever its result (absent until one ran).",
        unit="seconds",
    ),
    _m(
        "pitwatch_backup_restore_test_success",
        "gauge",
        "1 if the last restore test restored the backup and its ledger checks passed, else 0.",
    ),
    _m(
        "pitwatch_backup_restore_test_last_success_timestamp_seconds",
        "gauge",
        "Unix time of the last restore test that passed (absent until one did).",
        unit="seconds",
    ),
    _m(
        "pitwatch_backup_restore_duration_seconds",
        "gauge",
        "Wall time of the last restore test's restore (the recovery time it measured).",
        unit="seconds",
    ),
    _m(
        "pitwatch_backup_runs",
        "counter",
        "Backup and restore-test runs recorded, by operation and outcome.",
        OPERATION,
        BACKUP_OUTCOME,
    ),
    _m(
        "pitwatch_backup_failures",
        "counter",
        "Failed backup and restore-test runs recorded, by operation and reason.",
        OPERATION,
        FAILURE_REASON,
    ),
)
