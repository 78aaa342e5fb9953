"""The promtool cases of ``alert_rules.domains.infrastructure``: a healthy evening, a quiet
night and a 5x kickoff surge on the database, the host and the backups, on which every
alert stays silent; an incident per alert that it must catch in time; a few guards."""

from __future__ import annotations

from collections.abc import Sequence

from alert_rules.domains.infrastructure import (
    ALERTS,
    BACKUP_LAST_SUCCESS,
    CONNECTIONS,
    DEADLOCKS,
    FS_AVAIL,
    FS_READONLY,
    FS_SIZE,
    JOBS,
    LOCK_OLDEST,
    LOCK_WAITING,
    MAX_CONNECTIONS,
    MEM_AVAILABLE,
    MEM_TOTAL,
    PG_UP,
    RECOVERY_POINT_AGE,
    REPLICATION_LAG,
    RESTORE_DURATION,
    RESTORE_LAST_SUCCESS,
    RESTORE_SUCCESS,
    RPO,
    RTO,
    XACT_OLDEST,
)
from alert_rules.model import Case, Fires, Series, Silent, silence
from alert_rules.series import gauge, gauge_from, series

NAMES = tuple(a.name for a in ALERTS)
NODE = {"job": JOBS.node, "instance": "host-1:9100"}
PG = {"job": JOBS.postgres, "instance": "db-1:9187"}
STATE = {"job": "pitwatch-state", "instance": "state-exporter:9108"}
PG_SCOPE = {"instance": PG["instance"]}
NODE_SCOPE = {"instance": NODE["instance"]}
GB = 1_000_000_000
MB = 1_000_000
DISK = 100 * GB
MEMORY = 16 * GB
IDLE_TX = "idle in transaction"


def flat(minutes: int, value: float) -> str:
    return gauge((minutes, value))


def steps(*segments: tuple[int, float]) -> str:
    """A gauge from (minutes, value) segments, minute 0 included in the first."""
    return gauge_from([v for n, v in segments for _ in range(n)])


def ramp(before: int, start: float, per_minute: float, minutes: int, after: int, rest: float
         ) -> str:  # fmt: skip
    """``rest`` for ``before`` minutes, then ``start + per_minute * k`` for k = 1..minutes,
    then ``rest`` again for ``after`` minutes."""
    values = [rest] * before + [start + per_minute * k for k in range(1, minutes + 1)]
    return gauge_from(values + [rest] * after)


def pg(metric: str, values: str, **kv: str) -> Series:
    return series(metric, values, **PG, **kv)


def node(metric: str, values: str, **kv: str) -> Series:
    return series(metric, values, **NODE, **kv)


def state(metric: str, values: str) -> Series:
    return series(metric, values, **STATE)


# -- the world: database, host, backups --------------------------------------------------


def database(
    minutes: int,
    *,
    active: float = 20,
    idle: float = 30,
    lock_wait: str | None = None,
    xact_active: float = 1.5,
    xact_idle: float = 0.2,
    lag: float = 2,
) -> list[Series]:
    """A primary with one standby: sessions, lock waits, old deadlocks, transactions."""
    return [
        series("up", flat(minutes, 1), **PG),
        pg(PG_UP, flat(minutes, 1)),
        pg(CONNECTIONS, flat(minutes, active), state="active"),
        pg(CONNECTIONS, flat(minutes, idle), state="idle"),
        pg(CONNECTIONS, flat(minutes, 0), state=IDLE_TX),
        pg(MAX_CONNECTIONS, flat(minutes, 100)),
        pg(LOCK_OLDEST, lock_wait or flat(minutes, 0)),
        pg(LOCK_WAITING, flat(minutes, 0)),
        # three deadlocks long ago (a bug since fixed): a counter that does not move
        pg(DEADLOCKS, flat(minutes, 3), datname="pitwatch"),
        pg(XACT_OLDEST, flat(minutes, xact_active), state="active"),
        pg(XACT_OLDEST, flat(minutes, xact_idle), state=IDLE_TX),
        pg(REPLICATION_LAG, flat(minutes, lag)),
    ]


def host(minutes: int, *, free: float = 60 * GB, writes: float = 10 * MB,
         available: float = 6 * GB) -> list[Series]:  # fmt: skip
    """One host: its root disk written at ``writes`` bytes a minute, a tmpfs /run that
    fills and empties fast (left out of the prediction), memory."""
    fs = {"device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"}
    tmp = {"device": "tmpfs", "fstype": "tmpfs", "mountpoint": "/run"}
    run_free = [float(GB - (i % 30) * 30 * MB) for i in range(minutes + 1)]
    return [
        series("up", flat(minutes, 1), **NODE),
        node(FS_SIZE, flat(minutes, DISK), **fs),
        node(FS_AVAIL, gauge_from([free - writes * i for i in range(minutes + 1)]), **fs),
        node(FS_READONLY, flat(minutes, 0), **fs),
        node(FS_SIZE, flat(minutes, GB), **tmp),
        node(FS_AVAIL, gauge_from(run_free), **tmp),
        node(FS_READONLY, flat(minutes, 0), **tmp),
        node(MEM_TOTAL, flat(minutes, MEMORY)),
        node(MEM_AVAILABLE, flat(minutes, available)),
    ]


def backups(minutes: int) -> list[Series]:
    """Hourly backups within a one-hour RPO, a daily restore test that passed an hour
    before minute 0 in 5 minutes of a 30-minute RTO."""
    return [
        state(RPO, flat(minutes, 3600)),
        state(RTO, flat(minutes, 1800)),
        state(RECOVERY_POINT_AGE, gauge_from([60.0 * (i % 60) for i in range(minutes + 1)])),
        state(BACKUP_LAST_SUCCESS, gauge_from([60.0 * (i - i % 60) for i in range(minutes + 1)])),
        state(RESTORE_SUCCESS, flat(minutes, 1)),
        state(RESTORE_LAST_SUCCESS, flat(minutes, -3600)),
        state(RESTORE_DURATION, flat(minutes, 300)),
    ]


def world(minutes: int, db: Sequence[Series], machine: Sequence[Series]) -> tuple[Series, ...]:
    return (*db, *machine, *backups(minutes))


def cases() -> tuple[Case, ...]:
    m = 180
    return (
        silence(
            "a busy evening: half the connections in use, short lock waits, a disk filling "
            "slowly, a tmpfs filling and emptying, hourly backups",
            "normal",
            world(
                m,
                database(
                    m, lock_wait=gauge_from([5.0 if i % 20 == 7 else 0.0 for i in range(m + 1)])
                ),
                host(m),
            ),
            NAMES,
            at=(30, 90, 150, 180),
        ),
        silence(
            "a quiet night: a handful of sessions, nothing waits, nothing written",
            "quiet_night",
            world(
                m,
                database(m, active=1, idle=4, xact_active=0, xact_idle=0, lag=0),
                host(m, writes=0, available=12 * GB),
            ),
            NAMES,
            at=(30, 90, 150, 180),
        ),
        silence(
            "5x kickoff surge: 75 % of the connections, 20 s lock waits, 40 s transactions, "
            "a disk with room written five times faster, memory at 15 %",
            "surge",
            world(
                m,
                database(
                    m,
                    active=60,
                    idle=15,
                    lock_wait=flat(m, 20),
                    xact_active=40,
                    xact_idle=10,
                    lag=60,
                ),
                host(m, free=55 * GB, writes=50 * MB, available=2_400_000_000),
            ),
            NAMES,
            at=(30, 90, 150, 180),
        ),
        *database_incidents(),
        *host_incidents(),
        *backup_incidents(),
    )


def database_incidents() -> tuple[Case, ...]:
    return (
        Case(
            "a scale-out doubles the pools: 90 of 100 connections for half an hour",
            "incident",
            (
                pg(CONNECTIONS, steps((61, 20), (30, 60), (30, 20)), state="active"),
                pg(CONNECTIONS, flat(120, 30), state="idle"),
                pg(MAX_CONNECTIONS, flat(120, 100)),
            ),
            (Silent("65m"), Fires("66m", PG_SCOPE, 0.9), Silent("92m")),
            incident_start="60m",
            recovery="90m",
            alerts=("PostgresConnectionsNearLimit",),
        ),
        Case(
            "a manual session locks the accounts table for 20 minutes: the wallet queues",
            "incident",
            (pg(LOCK_OLDEST, ramp(61, 0, 60, 20, 40, 0)),),
            (
                Silent("61m"),
                Fires("62m", PG_SCOPE, 120),
                Fires("70m", PG_SCOPE, 600),
                Silent("82m"),
            ),
            incident_start="60m",
            recovery="80m",
            alerts=("PostgresLockWaits",),
        ),
        Case(
            "a lock held for 45 s once (a migration's brief table lock)",
            "guard",
            (pg(LOCK_OLDEST, steps((61, 0), (1, 45), (60, 0))),),
            (Silent("61m"), Silent("62m"), Silent("63m")),
            alerts=("PostgresLockWaits",),
        ),
        Case(
            "a new code path locks two accounts in the wrong order: one deadlock",
            "incident",
            (pg(DEADLOCKS, steps((61, 3), (60, 4)), datname="pitwatch"),),
            (
                Silent("60m"),
                Fires("61m", {**PG_SCOPE, "datname": "pitwatch"}, 1),
                Fires("70m", {**PG_SCOPE, "datname": "pitwatch"}, 1),
                Silent("77m"),
            ),
            incident_start="60m",
            recovery="61m",
            alerts=("PostgresDeadlocks",),
        ),
        Case(
            "a finance report runs on the primary for 20 minutes",
            "incident",
            (pg(XACT_OLDEST, ramp(61, 0, 60, 20, 40, 1.5), state="active"),),
            (Silent("67m"), Fires("68m", PG_SCOPE, 480), Silent("82m")),
            incident_start="60m",
            recovery="80m",
            alerts=("LongRunningTransaction",),
        ),
        Case(
            "a request opens a transaction and waits on a PSP call for 10 minutes",
            "incident",
            (pg(XACT_OLDEST, ramp(61, 0, 60, 10, 50, 0.2), state=IDLE_TX),),
            (Silent("63m"), Fires("64m", PG_SCOPE, 240), Silent("72m")),
            incident_start="60m",
            recovery="70m",
            alerts=("IdleInTransaction",),
        ),
        Case(
            "the standby stops replaying: its lag passes the 5-minute RPO",
            "incident",
            (
                pg(REPLICATION_LAG, ramp(61, 0, 60, 30, 30, 2)),
                state(RPO, flat(120, 300)),
            ),
            (Silent("70m"), Fires("71m", PG_SCOPE, 660), Silent("92m")),
            incident_start="60m",
            recovery="90m",
            alerts=("ReplicationLagBeyondRpo",),
        ),
        Case(
            "no RPO exported: the fixed 900 s applies",
            "guard",
            (pg(REPLICATION_LAG, ramp(0, 0, 60, 40, 20, 2)),),
            (Silent("14m"), Silent("19m"), Fires("20m", PG_SCOPE, 1260)),
            alerts=("ReplicationLagBeyondRpo",),
        ),
        Case(
            "the database's exporter crashes for 20 minutes",
            "incident",
            (series("up", steps((61, 1), (20, 0), (40, 1)), **PG),),
            (
                Silent("65m"),
                Fires("66m", {"job": JOBS.postgres, "instance": PG["instance"]}, 0),
                Silent("82m"),
            ),
            incident_start="60m",
            recovery="80m",
            alerts=("ExporterDown",),
        ),
        Case(
            "the exporter answers but its role's password was rotated: pg_up 0",
            "incident",
            (
                series("up", flat(120, 1), **PG),
                pg(PG_UP, steps((61, 1), (20, 0), (40, 1))),
            ),
            (
                Silent("65m"),
                Fires("66m", {"job": JOBS.postgres, "instance": PG["instance"]}, 0),
                Silent("82m"),
            ),
            incident_start="60m",
            recovery="80m",
            alerts=("ExporterDown",),
        ),
    )


def host_incidents() -> tuple[Case, ...]:
    fs = {"device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"}
    # 38 GB free, then a runaway log writes 200 MB a minute from minute 61 until it is
    # cleaned up at minute 100 (60 GB free again).
    free = [38.0 * GB] * 61 + [38.0 * GB - 200 * MB * k for k in range(1, 40)] + [60.0 * GB] * 40
    return (
        Case(
            "a runaway log fills the root disk at 200 MB a minute",
            "incident",
            (
                node(FS_SIZE, flat(140, DISK), **fs),
                node(FS_AVAIL, gauge_from(free), **fs),
                node(FS_READONLY, flat(140, 0), **fs),
            ),
            (
                Silent("85m"),  # predicted to fill since ~77m: pending
                Fires("95m", {**NODE_SCOPE, "mountpoint": "/"}, free[95] / DISK),
                Silent("102m"),
            ),
            incident_start="60m",
            recovery="100m",
            alerts=("DiskFillingUp",),
        ),
        Case(
            "a nearly full disk that does not grow (an archive volume)",
            "guard",
            (
                node(FS_SIZE, flat(120, DISK), **fs),
                node(FS_AVAIL, flat(120, 5 * GB), **fs),
                node(FS_READONLY, flat(120, 0), **fs),
            ),
            (Silent("60m"), Silent("120m")),
            alerts=("DiskFillingUp",),
        ),
        Case(
            "a memory leak leaves 7.5 % of the host's memory for half an hour",
            "incident",
            (
                node(MEM_TOTAL, flat(120, MEMORY)),
                node(MEM_AVAILABLE, steps((61, 6 * GB), (30, 1_200_000_000), (30, 6 * GB))),
            ),
            (Silent("70m"), Fires("71m", NODE_SCOPE, 1_200_000_000 / MEMORY), Silent("92m")),
            incident_start="60m",
            recovery="90m",
            alerts=("HostMemoryPressure",),
        ),
    )


def backup_incidents() -> tuple[Case, ...]:
    # Backups stop: the recovery point ages a minute a minute from 10 minutes old, reaches
    # the one-hour RPO at minute 50; a backup succeeds at minute 130.
    age = [600.0 + 60 * i for i in range(131)] + [0.0 + 60 * i for i in range(1, 20)]
    return (
        Case(
            "the backup job fails every night after a password change: the RPO passes",
            "incident",
            (state(RPO, flat(150, 3600)), state(RECOVERY_POINT_AGE, gauge_from(age))),
            (Silent("55m"), Fires("56m", {}, age[56]), Silent("132m")),
            incident_start="50m",
            recovery="130m",
            alerts=("BackupOlderThanRpo",),
        ),
        Case(
            "a new deployment whose backups were never scheduled, until minute 90",
            "incident",
            (
                state(RPO, flat(120, 3600)),
                state(BACKUP_LAST_SUCCESS, gauge((90, None), (31, 5400))),
            ),
            (Silent("59m"), Fires("60m", {}, 3600), Silent("91m")),
            incident_start="0m",
            recovery="90m",
            alerts=("BackupMissing",),
        ),
        Case(
            "the restore test finds the backup truncated (checksum mismatch)",
            "incident",
            (state(RESTORE_SUCCESS, steps((61, 1), (60, 0), (20, 1))),),
            (Silent("60m"), Fires("61m", {}, 0), Silent("122m")),
            incident_start="60m",
            recovery="120m",
            alerts=("RestoreTestFailed",),
        ),
        Case(
            "the weekly restore test stopped running: the last pass turns a week old",
            "incident",
            (state(RESTORE_LAST_SUCCESS, steps((41, -604200), (40, 2460))),),
            (Silent("20m"), Fires("21m", {}, 21 * 60 + 604200), Silent("42m")),
            incident_start="10m",
            recovery="40m",
            alerts=("RestoreTestStale",),
        ),
        Case(
            "the database doubled: the restore takes 40 minutes against a 30-minute RTO",
            "incident",
            (
                state(RTO, flat(150, 1800)),
                state(RESTORE_DURATION, steps((61, 300), (60, 2400), (30, 600))),
            ),
            (Silent("60m"), Fires("61m", {}, 2400), Silent("122m")),
            incident_start="60m",
            recovery="120m",
            alerts=("RestoreSlowerThanRto",),
        ),
    )
