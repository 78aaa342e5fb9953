"""Infrastructure: the hosts (CPU, memory, disks and their time to full), the platform's
database (connections against the limit, lock waits, deadlocks, long and idle
transactions, replication lag against the RPO, the money tables, checkpoints) and the
backups, proven by restore against the RPO and RTO. Thresholds are the infrastructure
alerts' parameters, or the exported RPO and RTO themselves."""

from __future__ import annotations

from alert_rules.config import Jobs
from alert_rules.domains.infrastructure import EXCLUDED_FSTYPES
from dashboards.alerts import AlertSource
from dashboards.build import Board
from dashboards.links import runbook_links
from dashboards.panels import Cell, Q, stat, table, timeline, timeseries, up_down
from dashboards.promql import m, ratio, x

JOBS = Jobs()
FS = f'fstype!~"{EXCLUDED_FSTYPES}"'

CPU = x("node_cpu_seconds_total")
MEM_AVAILABLE = x("node_memory_MemAvailable_bytes")
MEM_TOTAL = x("node_memory_MemTotal_bytes")
FS_AVAIL = x("node_filesystem_avail_bytes")
FS_SIZE = x("node_filesystem_size_bytes")
LOAD1 = x("node_load1")
NET_RX = x("node_network_receive_bytes_total")
NET_TX = x("node_network_transmit_bytes_total")
PG_UP = x("pg_up")
CONNECTIONS = x("pg_connections_count")
MAX_CONNECTIONS = x("pg_connections_limit_max")
LOCK_OLDEST = x("pg_lock_waits_oldest_wait_seconds")
LOCK_WAITING = x("pg_lock_waits_waiting_sessions")
LOCK_UNGRANTED = x("pg_lock_waits_ungranted_locks")
DEADLOCKS = x("pg_stat_database_deadlocks")
XACT_OLDEST = x("pg_open_transactions_oldest_seconds")
XACT_COUNT = x("pg_open_transactions_count")
LAG = x("pg_replication_lag_seconds")
STANDBYS = x("pg_replication_standbys")
REPLICA = x("pg_replication_is_replica")
LIVE = x("pg_ledger_tables_live_rows")
DEAD = x("pg_ledger_tables_dead_rows")
TABLE_BYTES = x("pg_ledger_tables_table_bytes")
INDEX_BYTES = x("pg_ledger_tables_index_bytes")
CHECKPOINTS_TIMED = x("pg_stat_bgwriter_checkpoints_timed_total")
CHECKPOINTS_REQ = x("pg_stat_bgwriter_checkpoints_req_total")

RPO = m("pitwatch_backup_rpo_seconds")
RTO = m("pitwatch_backup_rto_seconds")
POINT_AGE = m("pitwatch_backup_recovery_point_age_seconds")
BACKUP_AT = m("pitwatch_backup_last_success_timestamp_seconds")
BACKUP_SIZE = m("pitwatch_backup_last_size_bytes")
RESTORE_AT = m("pitwatch_backup_restore_test_timestamp_seconds")
RESTORE_OK = m("pitwatch_backup_restore_test_success")
RESTORE_PASSED_AT = m("pitwatch_backup_restore_test_last_success_timestamp_seconds")
RESTORE_DURATION = m("pitwatch_backup_restore_duration_seconds")
RUNS = m("pitwatch_backup_runs")
FAILURES = m("pitwatch_backup_failures")

EXPORTERS = f'job=~"{JOBS.node}|{JOBS.postgres}"'


def host(src: AlertSource) -> list[Cell]:
    window = src.window("DiskFillingUp", "window", "6h")
    avail = f"{FS_AVAIL}{{{FS}}}"
    return [
        timeseries(
            "CPU busy by host",
            Q(
                f'1 - avg by (instance) (rate({CPU}{{mode="idle"}}[$__rate_interval]))',
                "{{instance}}",
            ),
            Q(f"max by (instance) ({LOAD1})", "{{instance}} load 1m"),
            unit="percentunit",
            min_=0,
            desc="Share of CPU time not idle, all cores; the load average beside it.",
            overrides=[
                {
                    "matcher": {"id": "byRegexp", "options": ".* load 1m"},
                    "properties": [
                        {"id": "unit", "value": "short"},
                        {"id": "custom.axisPlacement", "value": "right"},
                    ],
                }
            ],
            w=8,
        ),
        timeseries(
            "Memory available by host",
            Q(f"max by (instance) ({MEM_AVAILABLE} / {MEM_TOTAL})", "{{instance}}"),
            unit="percentunit",
            min_=0,
            max_=1,
            limits=[src.limit("HostMemoryPressure", "min_available_share", op="<")],
            w=8,
        ),
        timeseries(
            "Network by host",
            Q(f"sum by (instance) (rate({NET_RX}[$__rate_interval]))", "{{instance}} in"),
            Q(f"sum by (instance) (rate({NET_TX}[$__rate_interval]))", "{{instance}} out"),
            unit="Bps",
            w=8,
        ),
        timeseries(
            "Disk space left by filesystem",
            Q(
                f"max by (instance, mountpoint) ({avail} / {FS_SIZE}{{{FS}}})",
                "{{instance}} {{mountpoint}}",
            ),
            unit="percentunit",
            min_=0,
            max_=1,
            desc="Memory-backed and virtual filesystems are left out, as the alert does.",
            limits=[src.limit("DiskFillingUp", "max_free_share", op="<")],
            w=12,
        ),
        timeseries(
            f"Disk time to full (at the rate of the last {window})",
            Q(
                f"min by (instance, mountpoint) (\n  {avail}\n  / "
                f"(-deriv({avail}[{window}]) > 0)\n)",
                "{{instance}} {{mountpoint}}",
            ),
            unit="s",
            min_=0,
            desc="Free space divided by the rate it shrinks at; only filesystems that are "
            "filling. DiskFillingUp also needs less than its share of space left.",
            limits=[src.limit("DiskFillingUp", "horizon_seconds", op="<")],
            links=runbook_links(src, "DiskFillingUp"),
            w=12,
        ),
    ]


def database(src: AlertSource) -> list[Cell]:
    used = f"sum by (instance) ({CONNECTIONS})"
    deadlock_window = src.window("PostgresDeadlocks", "window", "15m")
    return [
        timeseries(
            "Connections in use of max_connections",
            Q(ratio(used, f"max by (instance) ({MAX_CONNECTIONS})"), "{{instance}}"),
            unit="percentunit",
            min_=0,
            max_=1,
            limits=[src.limit("PostgresConnectionsNearLimit", "max_share", op=">")],
            w=8,
        ),
        timeseries(
            "Connections by state",
            Q(f"sum by (state) ({CONNECTIONS})", "{{state}}"),
            Q(f"max({MAX_CONNECTIONS})", "max_connections"),
            unit="short",
            min_=0,
            stack=False,
            w=8,
        ),
        timeseries(
            "Oldest lock wait",
            Q(f"max by (instance) ({LOCK_OLDEST})", "{{instance}}"),
            unit="s",
            min_=0,
            limits=[src.limit("PostgresLockWaits", "max_wait_seconds", op=">")],
            w=8,
        ),
        timeseries(
            "Sessions waiting on locks",
            Q(f"sum by (instance) ({LOCK_WAITING})", "{{instance}} sessions"),
            Q(f"sum by (instance) ({LOCK_UNGRANTED})", "{{instance}} locks not granted"),
            unit="short",
            min_=0,
            links=runbook_links(src, "PostgresLockWaits"),
            w=8,
        ),
        timeseries(
            f"Deadlocks ({deadlock_window})",
            Q(f"sum by (datname) (increase({DEADLOCKS}[{deadlock_window}]))", "{{datname}}"),
            unit="short",
            min_=0,
            limits=[src.limit("PostgresDeadlocks", "min_deadlocks", op=">=")],
            w=8,
        ),
        timeseries(
            "Oldest active transaction",
            Q(f'max by (instance) ({XACT_OLDEST}{{state="active"}})', "{{instance}}"),
            unit="s",
            min_=0,
            limits=[src.limit("LongRunningTransaction", "max_age_seconds", op=">")],
            w=8,
        ),
        timeseries(
            "Oldest idle-in-transaction session",
            Q(
                f'max by (instance) ({XACT_OLDEST}{{state=~"idle in transaction.*"}})',
                "{{instance}}",
            ),
            unit="s",
            min_=0,
            limits=[src.limit("IdleInTransaction", "max_age_seconds", op=">")],
            w=8,
        ),
        timeseries(
            "Open transactions by state",
            Q(f"sum by (state) ({XACT_COUNT})", "{{state}}"),
            unit="short",
            min_=0,
            w=8,
        ),
        timeseries(
            "Replication lag and the RPO",
            Q(f"max by (instance) ({LAG})", "{{instance}} lag"),
            Q(f"max({RPO})", "RPO"),
            unit="s",
            min_=0,
            desc="A standby's replay delay, or a primary's largest standby replay_lag; "
            "ReplicationLagBeyondRpo fires above the RPO (or the fixed limit where none is "
            "exported).",
            limits=[src.limit("ReplicationLagBeyondRpo", "max_lag_seconds", op=">")],
            w=8,
        ),
        table(
            "Money tables",
            Q(f"max by (relname) ({LIVE})", column="live rows", unit="short"),
            Q(f"max by (relname) ({DEAD})", column="dead rows", unit="short"),
            Q(
                ratio(f"max by (relname) ({DEAD})", f"max by (relname) ({LIVE} + {DEAD})"),
                column="dead share",
                unit="percentunit",
            ),
            Q(f"max by (relname) ({TABLE_BYTES})", column="table", unit="bytes"),
            Q(f"max by (relname) ({INDEX_BYTES})", column="indexes", unit="bytes"),
            unit="short",
            sort_by="table",
            desc="Dead rows are updates and deletes vacuum has not reclaimed yet: a share "
            "that keeps growing means autovacuum falls behind (or a long transaction "
            "holds it back), and the table bloats.",
            w=16,
        ),
        timeseries(
            "Checkpoints per hour",
            Q(f"sum(rate({CHECKPOINTS_TIMED}[$__rate_interval])) * 3600", "timed"),
            Q(f"sum(rate({CHECKPOINTS_REQ}[$__rate_interval])) * 3600", "requested"),
            unit="short",
            min_=0,
            desc="Requested checkpoints (WAL filled max_wal_size) much more often than timed "
            "ones mean write bursts: raise max_wal_size.",
            w=8,
        ),
    ]


def backups(src: AlertSource) -> list[Cell]:
    return [
        timeseries(
            "Recovery point age and the RPO",
            Q(f"max({POINT_AGE})", "recovery point age"),
            Q(f"max({RPO})", "RPO"),
            unit="s",
            min_=0,
            desc="Data a restore would lose now (time since the newest successful backup); "
            "BackupOlderThanRpo fires above the RPO.",
            links=runbook_links(src, "BackupOlderThanRpo", "BackupMissing"),
            w=8,
        ),
        stat(
            "Last restore test",
            Q(f"min({RESTORE_OK})"),
            unit="none",
            graph=False,
            mappings=up_down("PASSED", "FAILED"),
            links=runbook_links(src, "RestoreTestFailed"),
            w=4,
        ),
        stat(
            "Last restore test ran",
            Q(f"time() - max({RESTORE_AT})"),
            unit="s",
            graph=False,
            desc="Time since the last restore test, whatever its result.",
            w=4,
        ),
        stat(
            "Last passing restore test",
            Q(f"time() - max({RESTORE_PASSED_AT})"),
            unit="s",
            graph=False,
            limits=[src.limit("RestoreTestStale", "max_age_seconds", op=">")],
            w=4,
        ),
        stat(
            "Newest backup taken",
            Q(f"time() - max({BACKUP_AT})"),
            unit="s",
            graph=False,
            w=4,
        ),
        timeseries(
            "Restore duration and the RTO",
            Q(f"max({RESTORE_DURATION})", "restore duration"),
            Q(f"max({RTO})", "RTO"),
            unit="s",
            min_=0,
            links=runbook_links(src, "RestoreSlowerThanRto"),
            w=8,
        ),
        timeseries(
            "Backup size",
            Q(f"max({BACKUP_SIZE})", "newest backup"),
            unit="bytes",
            min_=0,
            w=8,
        ),
        timeseries(
            "Backup and restore-test runs (1h)",
            Q(f"sum by (operation, outcome) (increase({RUNS}[1h]))", "{{operation}} {{outcome}}"),
            Q(
                f"sum by (operation, reason) (increase({FAILURES}[1h]))",
                "{{operation}} failed: {{reason}}",
            ),
            unit="short",
            min_=0,
            w=8,
        ),
        timeline(
            "Exporters up",
            Q(f"min by (job) (up{{{EXPORTERS}}})", "{{job}}"),
            Q(f"min({PG_UP})", "postgres reaches the database"),
            unit="none",
            mappings=up_down("UP", "DOWN"),
            links=runbook_links(src, "ExporterDown"),
            w=12,
            h=6,
        ),
        stat(
            "Standbys / replica",
            Q(f"sum({STANDBYS})", "standbys streaming"),
            Q(f"max({REPLICA})", "is a replica"),
            unit="short",
            graph=False,
            w=12,
            h=6,
        ),
    ]


def board(src: AlertSource) -> Board:
    return Board(
        key="infrastructure",
        description="Hosts, the platform's database and backups proven by restore: the "
        "infrastructure alerts' signals with their thresholds.",
        variables=(),
        sections=(
            ("Host", host(src)),
            ("Database", database(src)),
            ("Backups and exporters", backups(src)),
        ),
        tags=("infrastructure", "sre"),
    )
