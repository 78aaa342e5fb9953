"""Metrics of the third-party exporters the stack runs beside pitwatch: the host's
(prometheus-node-exporter) and PostgreSQL's (prometheus-postgres-exporter, with our queries
file ``deploy/postgres-exporter/queries.yaml``).

pitwatch does not export these, so they are not ``Metric``s (the catalog's ``igaming_`` and
``pitwatch_`` names, registered by the platform and the state exporter). They are declared
here, by the name Prometheus sees, with the exporter that serves them, so that the rule
checker (``alert_rules.checks``) accepts the rules that read them, the dashboards take
their names from one place, and ``docs/metrics.md`` lists them under their exporter. Only
what a rule or a panel reads is declared: the exporters serve far more.

To read another exporter metric from a rule or a panel, add it to ``METRICS`` below:
its exposed name (with ``_total`` where the exporter writes it), type, the labels the
queries use, and where it comes from (``built-in``, a node_exporter collector, or our
queries file's namespace).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Exporter = Literal["node_exporter", "postgres_exporter"]
EXPORTERS: dict[Exporter, str] = {
    "node_exporter": "prometheus-node-exporter 1.5 (host: CPU, memory, filesystems)",
    "postgres_exporter": "prometheus-postgres-exporter 0.11 (PostgreSQL; "
    "`--extend.query-path deploy/postgres-exporter/queries.yaml`)",
}
QUERIES_FILE = "deploy/postgres-exporter/queries.yaml"
PREFIX: dict[Exporter, str] = {"node_exporter": "node_", "postgres_exporter": "pg_"}
NAME = re.compile(r"^[a-z][a-zA-Z0-9_]*$")  # node_memory_MemTotal_bytes


@dataclass(frozen=True)
class ExporterMetric:
    """A series a third-party exporter serves, by the name Prometheus sees."""

    name: str
    type: Literal["counter", "gauge"]
    help: str
    exporter: Exporter
    labels: tuple[str, ...] = ()  # the labels rules and panels read (the exporter adds more)
    origin: str = "built-in"  # "built-in", a node_exporter collector, or "queries.yaml"

    @property
    def exposed_name(self) -> str:
        return self.name


class ExporterCatalogError(ValueError):
    """A declaration that cannot be an exporter's series."""


def validate(metrics: Iterable[ExporterMetric]) -> None:
    problems = []
    seen: set[str] = set()
    for m in metrics:
        if not NAME.match(m.name) or not m.name.startswith(PREFIX[m.exporter]):
            problems.append(f"{m.name}: a {m.exporter} series starts with {PREFIX[m.exporter]}")
        if m.name.startswith(("igaming_", "pitwatch_")):
            problems.append(f"{m.name}: pitwatch's own names belong in the catalog proper")
        if m.name in seen:
            problems.append(f"{m.name}: declared twice")
        seen.add(m.name)
    if problems:
        raise ExporterCatalogError("; ".join(problems))


def _node(name: str, type_: Literal["counter", "gauge"], help_: str, *labels: str,
          collector: str) -> ExporterMetric:  # fmt: skip
    return ExporterMetric(name, type_, help_, "node_exporter", labels, f"collector {collector}")


def _pg(name: str, type_: Literal["counter", "gauge"], help_: str, *labels: str,
        ours: bool = True) -> ExporterMetric:  # fmt: skip
    origin = "queries.yaml" if ours else "built-in"
    return ExporterMetric(name, type_, help_, "postgres_exporter", labels, origin)


NODE_CPU = _node("node_cpu_seconds_total", "counter", "CPU time spent per CPU and mode.",
                 "cpu", "mode", collector="cpu")  # fmt: skip
NODE_LOAD1 = _node("node_load1", "gauge", "1-minute load average.", collector="loadavg")
NODE_MEM_TOTAL = _node(
    "node_memory_MemTotal_bytes", "gauge", "Physical memory.", collector="meminfo"
)
NODE_MEM_AVAILABLE = _node(
    "node_memory_MemAvailable_bytes",
    "gauge",
    "Memory available to new work without swapping (the kernel's estimate).",
    collector="meminfo",
)
NODE_FS_AVAIL = _node(
    "node_filesystem_avail_bytes",
    "gauge",
    "Filesystem space available to unprivileged users.",
    "device",
    "fstype",
    "mountpoint",
    collector="filesystem",
)
NODE_FS_SIZE = _node(
    "node_filesystem_size_bytes",
    "gauge",
    "Filesystem size.",
    "device",
    "fstype",
    "mountpoint",
    collector="filesystem",
)
NODE_FS_READONLY = _node(
    "node_filesystem_readonly",
    "gauge",
    "1 when the filesystem is mounted read-only.",
    "device",
    "fstype",
    "mountpoint",
    collector="filesystem",
)
NODE_NET_RX = _node("node_network_receive_bytes_total", "counter",
                    "Bytes received per network device.", "device", collector="netdev")  # fmt: skip
NODE_NET_TX = _node("node_network_transmit_bytes_total", "counter",
                    "Bytes sent per network device.", "device", collector="netdev")  # fmt: skip

PG_UP = _pg("pg_up", "gauge", "1 when the exporter's last query reached PostgreSQL.", ours=False)
PG_CONNECTIONS = _pg(
    "pg_connections_count", "gauge", "Client sessions by state, every database.", "state"
)
PG_MAX_CONNECTIONS = _pg(
    "pg_connections_limit_max", "gauge", "max_connections: the most sessions the server accepts."
)
PG_LOCK_WAITING = _pg(
    "pg_lock_waits_waiting_sessions", "gauge", "Sessions waiting on a lock now (platform database)."
)
PG_LOCK_UNGRANTED = _pg(
    "pg_lock_waits_ungranted_locks", "gauge", "Locks requested and not granted (platform database)."
)
PG_LOCK_OLDEST = _pg(
    "pg_lock_waits_oldest_wait_seconds",
    "gauge",
    "How long the longest current lock wait has lasted (0 when none).",
)
PG_DEADLOCKS = _pg(
    "pg_stat_database_deadlocks",
    "counter",
    "Deadlocks detected per database (pg_stat_database; the exporter writes no _total).",
    "datname",
    ours=False,
)
PG_XACT_COUNT = _pg(
    "pg_open_transactions_count",
    "gauge",
    "Sessions of the platform database with an open transaction, by state.",
    "state",
)
PG_XACT_OLDEST = _pg(
    "pg_open_transactions_oldest_seconds",
    "gauge",
    "Age of the oldest open transaction of the platform database, by state (0 when none).",
    "state",
)
PG_REPLICA = _pg("pg_replication_is_replica", "gauge", "1 on a standby, 0 on a primary.")
PG_STANDBYS = _pg("pg_replication_standbys", "gauge", "Standbys streaming from this server.")
PG_REPLICATION_LAG = _pg(
    "pg_replication_lag_seconds",
    "gauge",
    "Replication lag: a standby's replay delay, or a primary's largest standby replay_lag.",
)
PG_TABLE_LIVE = _pg(
    "pg_ledger_tables_live_rows", "gauge", "Estimated live rows of a money table.", "relname"
)
PG_TABLE_DEAD = _pg(
    "pg_ledger_tables_dead_rows",
    "gauge",
    "Dead rows not yet vacuumed in a money table (a bloat proxy).",
    "relname",
)
PG_TABLE_BYTES = _pg(
    "pg_ledger_tables_table_bytes",
    "gauge",
    "Size of a money table with its TOAST (pg_class pages at the last VACUUM/ANALYZE).",
    "relname",
)
PG_INDEX_BYTES = _pg(
    "pg_ledger_tables_index_bytes",
    "gauge",
    "Size of a money table's indexes (pg_class pages at the last VACUUM/ANALYZE).",
    "relname",
)
PG_CHECKPOINTS_TIMED = _pg(
    "pg_stat_bgwriter_checkpoints_timed_total",
    "counter",
    "Checkpoints started by checkpoint_timeout (pg_stat_bgwriter).",
    ours=False,
)
PG_CHECKPOINTS_REQ = _pg(
    "pg_stat_bgwriter_checkpoints_req_total",
    "counter",
    "Checkpoints requested (WAL filled max_wal_size, or asked for): many mean WAL pressure.",
    ours=False,
)

METRICS: tuple[ExporterMetric, ...] = tuple(
    v for v in dict(globals()).values() if isinstance(v, ExporterMetric)
)
validate(METRICS)
BY_NAME: dict[str, ExporterMetric] = {m.name: m for m in METRICS}
