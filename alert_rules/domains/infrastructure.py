"""Infrastructure: the database the wallet runs on (connections, locks, deadlocks, long
and idle transactions, replication), the hosts (disks filling, memory), the exporters that
watch them, and the backups, proven by restoring them against the recovery targets (RPO,
RTO). Team sre.

The database and host series come from prometheus-postgres-exporter (with our queries,
deploy/postgres-exporter/queries.yaml) and prometheus-node-exporter
(``collectors.catalog.exporters``); the backup series from pitwatch's own state exporter
(``collectors.catalog.backup``), which exports the configured RPO and RTO beside them so
that no target is typed twice.
"""

from __future__ import annotations

from alert_rules.config import Jobs
from alert_rules.model import Alert, Domain, Param, Runbook
from collectors.catalog import BY_NAME
from collectors.catalog import exporters as x

JOBS = Jobs()
EXPORTER_JOBS = f"{JOBS.node}|{JOBS.postgres}"

CONNECTIONS = x.PG_CONNECTIONS.name
MAX_CONNECTIONS = x.PG_MAX_CONNECTIONS.name
LOCK_OLDEST = x.PG_LOCK_OLDEST.name
LOCK_WAITING = x.PG_LOCK_WAITING.name
DEADLOCKS = x.PG_DEADLOCKS.name
XACT_OLDEST = x.PG_XACT_OLDEST.name
REPLICATION_LAG = x.PG_REPLICATION_LAG.name
PG_UP = x.PG_UP.name
FS_AVAIL = x.NODE_FS_AVAIL.name
FS_SIZE = x.NODE_FS_SIZE.name
FS_READONLY = x.NODE_FS_READONLY.name
MEM_AVAILABLE = x.NODE_MEM_AVAILABLE.name
MEM_TOTAL = x.NODE_MEM_TOTAL.name

RPO = BY_NAME["pitwatch_backup_rpo_seconds"].name
RTO = BY_NAME["pitwatch_backup_rto_seconds"].name
RECOVERY_POINT_AGE = BY_NAME["pitwatch_backup_recovery_point_age_seconds"].name
BACKUP_LAST_SUCCESS = BY_NAME["pitwatch_backup_last_success_timestamp_seconds"].name
RESTORE_SUCCESS = BY_NAME["pitwatch_backup_restore_test_success"].name
RESTORE_LAST_SUCCESS = BY_NAME["pitwatch_backup_restore_test_last_success_timestamp_seconds"].name
RESTORE_DURATION = BY_NAME["pitwatch_backup_restore_duration_seconds"].name
BACKUP_FAILURES = BY_NAME["pitwatch_backup_failures"].exposed_name

# Filesystems that are not disks: memory-backed or virtual. They fill and empty with the
# processes that use them; a prediction on them is noise.
EXCLUDED_FSTYPES = "tmpfs|ramfs|devtmpfs|overlay|squashfs|nsfs|fuse.*|iso9660"
_FS = f'{{fstype!~"{EXCLUDED_FSTYPES}"}}'

_LOCK_QUERY = (
    "SELECT pid, pg_blocking_pids(pid) AS blocked_by, now() - query_start AS waiting, "
    "left(query, 80) FROM pg_stat_activity WHERE wait_event_type = 'Lock' ORDER BY 3 DESC;"
)
_XACT_QUERY = (
    "SELECT pid, usename, application_name, client_addr, state, now() - xact_start AS age, "
    "left(query, 80) FROM pg_stat_activity WHERE xact_start IS NOT NULL "
    "ORDER BY xact_start LIMIT 10;"
)
_CANCEL = (
    "Cancel the statement first (`SELECT pg_cancel_backend(<pid>);`), end the session only "
    "if that does not free it (`SELECT pg_terminate_backend(<pid>);`): the transaction "
    "rolls back, the wallet's movements in it are undone as a whole (double entry, one "
    "transaction), and the client retries with its idempotency key."
)
_RESTORE = (
    "Restore from the newest verified backup: `pitwatch backup verify` proves the newest "
    "backup restores and balances; `pg_restore --clean --if-exists --no-owner -d "
    "<database> <backup file>` restores it (PostgreSQL, custom format), then `pitwatch "
    "platform db upgrade` and the ledger check before traffic returns."
)

CONNECTIONS_NEAR_LIMIT = Alert(
    name="PostgresConnectionsNearLimit",
    domain="infrastructure",
    team="sre",
    severity="warning",
    summary="PostgreSQL's sessions approach max_connections.",
    description=(
        "PostgreSQL at {instance} has {value:pct} of max_connections in use: new sessions "
        "will soon be refused."
    ),
    expr=f"sum by (instance) ({CONNECTIONS})\n/\nmax by (instance) ({MAX_CONNECTIONS})\n"
    "> $max_share",
    for_="5m",
    scope=("instance",),
    dashboard="infrastructure",
    detection="10m",
    params={"max_share": Param(0.8, "share of max_connections in use that fires")},
    runbook=Runbook(
        meaning="The server's client sessions (every state, every database) have been above "
        "`max_share` of `max_connections` for 5 minutes. At the limit PostgreSQL refuses "
        "new sessions (`FATAL: sorry, too many clients already`), except the few reserved "
        "for superusers.",
        impact="When it is reached the platform's pools cannot open connections: log-ins, "
        "deposits and bets fail with 5xx, the state exporter and the reconciliation fail "
        "too.",
        diagnosis=(
            "Which state holds the sessions? The Infrastructure dashboard's connections by "
            "state: many `idle` means pools too large for the server; many `idle in "
            "transaction` means an application holding transactions open "
            "(IdleInTransaction); many `active` means slow queries or lock waits "
            "(PostgresLockWaits).",
            "Who holds them: `SELECT usename, application_name, client_addr, state, count(*) "
            "FROM pg_stat_activity GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC;`",
            "Compare with the platform's pools (`igaming_db_pool_size_connections` per "
            "instance times the instances): more instances after a scale-out multiply them.",
        ),
        mitigation=(
            "End idle-in-transaction sessions that hold slots (IdleInTransaction's runbook).",
            "Lower the pool size per instance, or put PgBouncer (transaction pooling) in "
            "front of the database; raise `max_connections` only with the memory to match "
            "(each session costs work_mem and more).",
        ),
    ),
)

LOCK_WAITS = Alert(
    name="PostgresLockWaits",
    domain="infrastructure",
    team="sre",
    severity="critical",
    summary="A session of the platform's database has waited on a lock for too long.",
    description=(
        "A session of the platform's database on {instance} has waited {value:dur} for a "
        "lock: whatever holds it blocks the wallet."
    ),
    expr=f"max by (instance) ({LOCK_OLDEST}) > $max_wait_seconds",
    for_="1m",
    scope=("instance",),
    dashboard="infrastructure",
    detection="3m",
    params={"max_wait_seconds": Param(30, "age of the oldest lock wait that fires")},
    runbook=Runbook(
        meaning="The oldest lock wait in the platform's database (`pg_locks` not granted, "
        "since `waitstart`) has been longer than `max_wait_seconds` for a minute. The "
        "wallet takes its row locks in a fixed order and holds them for milliseconds: a "
        "wait of tens of seconds means a transaction holds locks and does not finish (a "
        "stuck request, a manual session, a migration taking a table lock).",
        impact="Every movement on the locked rows (a player's balance, the cashier's "
        "accounts) waits behind it: deposits, bets and withdrawals hang and time out. More "
        "web servers will not fix a locked wallet table.",
        diagnosis=(
            f"Who waits on whom: `{_LOCK_QUERY}` (`blocked_by` lists the blockers' pids).",
            f"What the blocker does and since when: `{_XACT_QUERY}`",
            "A migration or a manual `ALTER TABLE`/`LOCK TABLE` in progress? An `idle in "
            "transaction` blocker means an application that opened a transaction and "
            "stopped (IdleInTransaction).",
        ),
        mitigation=(
            _CANCEL,
            "Set `lock_timeout` on migrations and manual sessions so that they give up "
            "instead of queueing the wallet behind them.",
        ),
    ),
)

DEADLOCKS_DETECTED = Alert(
    name="PostgresDeadlocks",
    domain="infrastructure",
    team="sre",
    severity="warning",
    summary="PostgreSQL detected deadlocks in a database.",
    description=(
        "PostgreSQL on {instance} aborted {value:int} transactions of database {datname} as "
        "deadlocks over the last 15 minutes."
    ),
    expr=f"sum by (instance, datname) (increase({DEADLOCKS}[$window])) >= $min_deadlocks",
    for_="0m",
    scope=("instance", "datname"),
    dashboard="infrastructure",
    detection="5m",
    params={
        "min_deadlocks": Param(1, "deadlocks in the window that fire"),
        "window": Param("15m", "how long a deadlock keeps the alert firing"),
    },
    runbook=Runbook(
        meaning="`pg_stat_database.deadlocks` grew: PostgreSQL found transactions waiting "
        "on each other and aborted one of them (`ERROR: deadlock detected`). The wallet "
        "locks rows in a fixed order so that this never happens: a deadlock is a code path "
        "that takes locks in another order, or a manual session.",
        impact="The aborted transaction's request failed (the client may retry with its "
        "idempotency key). Repeated deadlocks mean failing deposits or bets under load.",
        diagnosis=(
            "Read the PostgreSQL log around the time: `deadlock detected` lists both "
            "processes, the statements and the locks (enable `log_lock_waits` for more).",
            "Match the statements to the code path (wallet, cashier, sportsbook "
            "settlement) and check the order it locks accounts in.",
        ),
        mitigation=(
            "Fix the lock order in the offending path (lock accounts sorted by id, as the "
            "wallet does); until then the retries absorb it at low volume.",
        ),
    ),
)

LONG_TRANSACTION = Alert(
    name="LongRunningTransaction",
    domain="infrastructure",
    team="sre",
    severity="warning",
    summary="A transaction on the wallet's database has been running for minutes.",
    description=(
        "The oldest active transaction of the platform's database on {instance} has run for "
        "{value:dur}."
    ),
    expr=f'max by (instance) ({XACT_OLDEST}{{state="active"}}) > $max_age_seconds',
    for_="2m",
    scope=("instance",),
    dashboard="infrastructure",
    detection="10m",
    params={"max_age_seconds": Param(300, "age of the oldest active transaction that fires")},
    runbook=Runbook(
        meaning="A client session of the platform's database has had a transaction open "
        "and working for longer than `max_age_seconds` (pg_dump's own snapshot is left "
        "out). Wallet transactions last milliseconds; minutes mean a report, an "
        "unbounded query or a batch job on the primary.",
        impact="It holds its locks and its snapshot the whole time: the wallet may queue "
        "behind its locks (PostgresLockWaits), vacuum cannot clean rows newer than it so "
        "the ledger tables bloat, and replicas may lag.",
        diagnosis=(
            f"Find it: `{_XACT_QUERY}`",
            "Is it a known job (a reconciliation, a report, a migration)? Reports belong "
            "on a replica.",
        ),
        mitigation=(
            _CANCEL,
            "Move reports to a replica; set `statement_timeout` for report roles.",
        ),
    ),
)

IDLE_IN_TRANSACTION = Alert(
    name="IdleInTransaction",
    domain="infrastructure",
    team="sre",
    severity="warning",
    summary="A session holds a transaction open without doing anything.",
    description=(
        "A session of the platform's database on {instance} has held an idle transaction "
        "open for {value:dur}."
    ),
    expr=f'max by (instance) ({XACT_OLDEST}{{state=~"idle in transaction.*"}})\n> $max_age_seconds',
    for_="2m",
    scope=("instance",),
    dashboard="infrastructure",
    detection="5m",
    params={"max_age_seconds": Param(60, "age of the oldest idle transaction that fires")},
    runbook=Runbook(
        meaning="A client session opened a transaction, ran statements, and has sat idle "
        "(`idle in transaction`) for longer than `max_age_seconds` without committing: an "
        "application that awaits something (an HTTP call to a PSP) inside a transaction, "
        "or a leaked connection.",
        impact="Its row locks stay held (the wallet waits behind them), its snapshot holds "
        "back vacuum, and its connection slot is taken.",
        diagnosis=(
            "Find it: `SELECT pid, usename, application_name, client_addr, now() - "
            "state_change AS idle, left(query, 80) AS last_statement FROM pg_stat_activity "
            "WHERE state LIKE 'idle in transaction%' ORDER BY state_change;`",
            "The last statement and the application name point at the code path; an "
            "outgoing call inside a unit of work is the usual cause.",
        ),
        mitigation=(
            "End the session (`SELECT pg_terminate_backend(<pid>);`): its transaction rolls back.",
            "Set `idle_in_transaction_session_timeout` (e.g. 60s) for the platform's role; "
            "fix the code path to commit before calling out.",
        ),
    ),
)

REPLICATION_LAG_BEYOND_RPO = Alert(
    name="ReplicationLagBeyondRpo",
    domain="infrastructure",
    team="sre",
    severity="warning",
    summary="A replica lags further behind than the recovery point objective.",
    description=(
        "Replication on {instance} lags {value:dur} behind, more than the recovery point "
        "objective: a failover now would lose more data than promised."
    ),
    expr=f"max by (instance) ({REPLICATION_LAG})\n> on() group_left()\n"
    f"(max({RPO}) or vector($max_lag_seconds))",
    for_="5m",
    scope=("instance",),
    dashboard="infrastructure",
    detection="15m",
    params={
        "max_lag_seconds": Param(
            900, "lag that fires where no RPO is exported (pitwatch_backup_rpo_seconds)"
        )
    },
    runbook=Runbook(
        meaning="The replication lag (on a standby: the age of the last transaction "
        "replayed while WAL waits to be replayed; on a primary: its standbys' largest "
        "`replay_lag`) has exceeded the configured RPO (`pitwatch_backup_rpo_seconds`, or "
        "`max_lag_seconds` where pitwatch exports none) for 5 minutes.",
        impact="Failing over to the standby now would lose the lagging transactions: "
        "deposits and bets the players saw accepted. Reads from the replica are stale.",
        diagnosis=(
            "On the primary: `SELECT application_name, client_addr, state, write_lag, "
            "flush_lag, replay_lag FROM pg_stat_replication;`",
            "On the standby: `SELECT now() - pg_last_xact_replay_timestamp(), "
            "pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn();`: receiving but not "
            "replaying means a long query on the standby holds replay "
            "(max_standby_streaming_delay); not receiving means the network or the "
            "primary's WAL sender.",
            "The standby host's disk and CPU (Infrastructure dashboard, host row).",
        ),
        mitigation=(
            "Cancel the standby's long queries; fix the link or the standby's I/O.",
            "Until it catches up, do not fail over without accepting the loss; take a "
            "fresh backup of the primary (`pitwatch backup run`).",
        ),
    ),
)

DISK_FILLING = Alert(
    name="DiskFillingUp",
    domain="infrastructure",
    team="sre",
    severity="warning",
    summary="A filesystem is predicted to fill within 24 hours.",
    description=(
        "Filesystem {mountpoint} on {instance} has {value:pct} of its space left and, at "
        "the rate of the last 6 hours, fills within 24 hours."
    ),
    expr=f"""max by (instance, mountpoint) (
  {FS_AVAIL}{_FS} / {FS_SIZE}{_FS} < $max_free_share
  and
  predict_linear({FS_AVAIL}{_FS}[$window], $horizon_seconds) < 0
  and
  {FS_READONLY}{_FS} == 0
)""",
    for_="15m",
    scope=("instance", "mountpoint"),
    dashboard="infrastructure",
    detection="1h",
    params={
        "max_free_share": Param(0.4, "share of the space left under which a prediction counts"),
        "window": Param("6h", "history the linear prediction is fitted on"),
        "horizon_seconds": Param(86400, "how far ahead the prediction looks (24 hours)"),
    },
    runbook=Runbook(
        meaning="A writable disk filesystem (tmpfs, overlay and other virtual ones left out) "
        "has less than `max_free_share` of its space left, and a straight line through "
        "its free space over `window` reaches zero within `horizon_seconds`. Firing "
        "needs both: a full disk that is not growing, or a growing disk with plenty left, "
        "does not fire.",
        impact="When it fills: PostgreSQL stops (it cannot write WAL) and the wallet with "
        "it; backups fail; logs are lost.",
        diagnosis=(
            "What grows: `du -xh --max-depth=2 <mountpoint> | sort -h | tail`; on the "
            "database host usually `pg_wal` (a stuck replication slot or archiving: `SELECT "
            "slot_name, active, pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), "
            "restart_lsn)) FROM pg_replication_slots;`), the data files (bloat: the ledger "
            "tables' dead rows on the dashboard), backups or logs.",
            "The Infrastructure dashboard's time-to-full panel: how many hours are left.",
        ),
        mitigation=(
            "Drop a replication slot nobody consumes; move old backups off the host; rotate logs.",
            "Grow the volume before it fills; never delete files under `pg_wal` by hand.",
        ),
    ),
)

MEMORY_PRESSURE = Alert(
    name="HostMemoryPressure",
    domain="infrastructure",
    team="sre",
    severity="warning",
    summary="A host has little memory available.",
    description="Host {instance} has only {value:pct} of its memory available.",
    expr=f"max by (instance) ({MEM_AVAILABLE} / {MEM_TOTAL}) < $min_available_share",
    for_="10m",
    scope=("instance",),
    dashboard="infrastructure",
    detection="15m",
    params={"min_available_share": Param(0.1, "share of memory available under which it fires")},
    runbook=Runbook(
        meaning="`MemAvailable` (the kernel's estimate of memory new work can use without "
        "swapping) has been below `min_available_share` of the host's memory for 10 "
        "minutes.",
        impact="Next comes swapping (everything slows) or the OOM killer, which on a "
        "database host may kill PostgreSQL's backends (the server restarts, every session "
        "drops).",
        diagnosis=(
            "Which process grows: `ps aux --sort=-rss | head`; on the database host, many "
            "connections times work_mem (PostgresConnectionsNearLimit) or a query with a "
            "huge sort or hash.",
            "`dmesg -T | grep -i oom` for kills already made.",
        ),
        mitigation=(
            "Restart the leaking process (after capturing what grows); lower pool sizes or "
            "work_mem; add memory.",
        ),
    ),
)

EXPORTER_DOWN = Alert(
    name="ExporterDown",
    domain="infrastructure",
    team="sre",
    severity="warning",
    summary="A host or database exporter is down: its alerts are blind.",
    description=(
        "Exporter {job} at {instance} has not answered, or has not reached its database, for "
        "5 minutes (up = {value:int}): the infrastructure alerts are blind there."
    ),
    expr=f'max by (job, instance) (up{{job=~"{EXPORTER_JOBS}"}}) == 0\nor\n'
    f"max by (job, instance) ({PG_UP}) == 0",
    for_="5m",
    scope=("job", "instance"),
    dashboard="infrastructure",
    detection="10m",
    runbook=Runbook(
        meaning=f"A target of job `{JOBS.node}` (prometheus-node-exporter) or `{JOBS.postgres}` "
        "(prometheus-postgres-exporter) fails its scrapes, or the postgres exporter answers "
        "but cannot query PostgreSQL (`pg_up` 0). A target no longer configured does not "
        "fire.",
        impact="The host and database alerts for that target cannot fire: disks, memory, "
        "connections, locks, long transactions, replication. If PostgreSQL itself is down "
        "the platform is down too (PlatformDown).",
        diagnosis=(
            "Prometheus' `/targets` page: the scrape error for the target.",
            "The exporter's process and log (`node_exporter.log`, `postgres_exporter.log` "
            "in the stack's run folder): crashed, or `pg_up 0` with the connection error "
            "(wrong DATA_SOURCE_NAME, password, pg_hba.conf, the server down).",
            "`psql` with the exporter's DATA_SOURCE_NAME from the exporter's host.",
        ),
        mitigation=(
            "Restart the exporter; fix its DATA_SOURCE_NAME or the role's access "
            "(`GRANT pg_monitor TO <role>;`).",
            "If PostgreSQL is down, follow PlatformDown: restore or fail over the database.",
        ),
    ),
)

# -- backups, proven by restoring them ---------------------------------------------------

_BACKUP_DIAGNOSIS = (
    "Read the last runs: `pitwatch_backup_failures_total` by operation and reason on the "
    "Infrastructure dashboard, and the scheduler's log (`reconcile.log` in the stack).",
    "Run one by hand and read its one-line error: `pitwatch backup run` (folder not "
    "writable, pg_dump missing, database unreachable).",
)

BACKUP_TOO_OLD = Alert(
    name="BackupOlderThanRpo",
    domain="infrastructure",
    team="sre",
    severity="warning",
    summary="The newest backup is older than the recovery point objective.",
    description=(
        "The newest successful backup is {value:dur} old, older than the recovery point "
        "objective: a restore now would lose that much data."
    ),
    expr=f"max({RECOVERY_POINT_AGE}) > max({RPO})",
    for_="5m",
    scope=(),
    dashboard="infrastructure",
    detection="10m",
    runbook=Runbook(
        meaning="`pitwatch_backup_recovery_point_age_seconds` (time since the newest "
        "successful backup was taken) exceeds `pitwatch_backup_rpo_seconds` (the configured "
        "RPO) for 5 minutes: the scheduled backups stopped succeeding or run less often "
        "than the RPO needs.",
        impact="If the database is lost now, a restore loses more than the promised "
        "window of deposits, bets and withdrawals: money the players and the books "
        "disagree on.",
        diagnosis=_BACKUP_DIAGNOSIS,
        mitigation=(
            "Fix the cause and take a backup now: `pitwatch backup run`, then `pitwatch "
            "backup verify` to prove it.",
            "If backups cannot finish within the RPO any more (the database grew), run them "
            "more often, or rely on WAL archiving for the RPO and backups for the base.",
        ),
    ),
)

BACKUP_MISSING = Alert(
    name="BackupMissing",
    domain="infrastructure",
    team="sre",
    severity="warning",
    summary="No successful backup is recorded while recovery targets are configured.",
    description=(
        "No successful backup is recorded for an hour, with a recovery point objective of "
        "{value:dur}: there is nothing to restore."
    ),
    expr=f"max({RPO})\nand on()\nabsent({BACKUP_LAST_SUCCESS})",
    for_="1h",
    scope=(),
    dashboard="infrastructure",
    detection="1h10m",
    runbook=Runbook(
        meaning="The state exporter exports the recovery targets "
        "(`pitwatch_backup_rpo_seconds`) but no `pitwatch_backup_last_success_timestamp_"
        "seconds`: no backup has ever succeeded (or pitwatch's records of them are gone), "
        "for an hour.",
        impact="There is no backup to restore from: losing the database loses everything.",
        diagnosis=_BACKUP_DIAGNOSIS,
        mitigation=(
            "Take one now (`pitwatch backup run`) and prove it (`pitwatch backup verify`); "
            "check the schedule runs them.",
        ),
    ),
)

RESTORE_TEST_FAILED = Alert(
    name="RestoreTestFailed",
    domain="infrastructure",
    team="sre",
    severity="warning",
    summary="The last restore test failed: the newest backup is not proven restorable.",
    description=(
        "The last restore test failed (success = {value:int}): the newest backup did not "
        "restore, or the restored ledger did not balance."
    ),
    expr=f"min({RESTORE_SUCCESS}) == 0",
    for_="0m",
    scope=(),
    dashboard="infrastructure",
    detection="5m",
    runbook=Runbook(
        meaning="`pitwatch backup verify` restored the newest backup into a scratch "
        "database and either the restore failed or the ledger check or the money tables' "
        "row counts failed on the restored copy. A backup that has never been restored is "
        "a theory, not a plan; this one was tried and failed.",
        impact="The recovery plan is broken: restoring now may fail or bring back a ledger "
        "that does not balance.",
        diagnosis=(
            'The reason: `pitwatch_backup_failures_total{operation="verify"}` by reason '
            "(checksum_mismatch: the file is truncated or altered; restore_failed: "
            "pg_restore or the copy failed; invariant_failed: the restored ledger does not "
            "balance or a money table is empty).",
            "Run it by hand: `pitwatch backup verify` prints the reason in one line.",
            "invariant_failed on a good restore means the live ledger may be broken too: "
            "see LedgerInvariantBroken and run the full ledger check.",
        ),
        mitigation=(
            "Take a new backup (`pitwatch backup run`) and verify it; keep the failed file "
            "for the post-mortem.",
            _RESTORE,
        ),
    ),
)

RESTORE_TEST_STALE = Alert(
    name="RestoreTestStale",
    domain="infrastructure",
    team="sre",
    severity="warning",
    summary="No restore test has passed for a week.",
    description="The last passing restore test was {value:dur} ago.",
    expr=f"time() - max({RESTORE_LAST_SUCCESS}) > $max_age_seconds",
    for_="10m",
    scope=(),
    dashboard="infrastructure",
    detection="15m",
    params={"max_age_seconds": Param(604800, "age of the last passing restore test that fires")},
    runbook=Runbook(
        meaning="`pitwatch_backup_restore_test_last_success_timestamp_seconds` is older than "
        "`max_age_seconds` (a week): the scheduled `pitwatch backup verify` stopped running "
        "or has not passed since. Before any test has passed it is absent and this stays "
        "silent: RestoreTestFailed reports tests that run and fail.",
        impact="The backups taken since are unproven: nobody knows whether they restore.",
        diagnosis=(
            "Is the verification scheduled and running? The scheduler's log, "
            '`pitwatch_backup_runs_total{operation="verify"}` on the dashboard.',
            *_BACKUP_DIAGNOSIS[1:],
        ),
        mitigation=("Run `pitwatch backup verify` now; fix the schedule.",),
    ),
)

RESTORE_SLOWER_THAN_RTO = Alert(
    name="RestoreSlowerThanRto",
    domain="infrastructure",
    team="sre",
    severity="warning",
    summary="The last restore test took longer than the recovery time objective.",
    description=(
        "The last restore test took {value:dur} to restore, longer than the recovery time "
        "objective."
    ),
    expr=f"max({RESTORE_DURATION}) > max({RTO})",
    for_="0m",
    scope=(),
    dashboard="infrastructure",
    detection="5m",
    runbook=Runbook(
        meaning="`pitwatch_backup_restore_duration_seconds` (the wall time the last restore "
        "test's restore took) exceeds `pitwatch_backup_rto_seconds` (the configured RTO).",
        impact="A real restore would keep the platform down longer than promised: no "
        "deposits, bets or withdrawals for the whole time.",
        diagnosis=(
            "Compare the restore durations over weeks on the dashboard: a database that "
            "grew (the ledger tables' sizes) or a slower scratch host?",
            "Index builds dominate pg_restore: `pg_restore --jobs=<cores>` restores in parallel.",
        ),
        mitigation=(
            "Restore in parallel (`--jobs`), on faster storage, or keep a streaming "
            "standby to fail over to (minutes instead of a restore); revisit the RTO with "
            "the business if none of these fits.",
        ),
    ),
)

ALERTS = (
    CONNECTIONS_NEAR_LIMIT,
    LOCK_WAITS,
    DEADLOCKS_DETECTED,
    LONG_TRANSACTION,
    IDLE_IN_TRANSACTION,
    REPLICATION_LAG_BEYOND_RPO,
    DISK_FILLING,
    MEMORY_PRESSURE,
    EXPORTER_DOWN,
    BACKUP_TOO_OLD,
    BACKUP_MISSING,
    RESTORE_TEST_FAILED,
    RESTORE_TEST_STALE,
    RESTORE_SLOWER_THAN_RTO,
)

DOMAIN = Domain(
    name="infrastructure",
    recordings=(),
    alerts=ALERTS,
    about="Infrastructure: the platform's database (connections, locks, deadlocks, long and "
    "idle transactions, replication), hosts (disks, memory), their exporters, and backups "
    "proven by restore against the RPO and RTO.",
)
