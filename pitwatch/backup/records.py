"""The run records of backups and restore tests (table ``backup_runs``, in pitwatch's state
database, created when missing: pitwatch's own state, not a migration of the platform).

A run is inserted as ``running`` in a transaction of its own when it starts and finished
with its outcome, so that a run whose process died still leaves its record. The state
exporter reads these rows, never the files (pitwatch.backup.metrics).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)

from ground.sqltypes import NAMING, UTCDateTime

OPERATIONS = ("backup", "verify")
OUTCOMES = ("success", "failed")  # and "running" until finish

metadata = MetaData(naming_convention=NAMING)

backup_runs = Table(
    "backup_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("operation", String(12), nullable=False),
    # Which database was backed up (or whose backup was tested): backend, host, database
    # and schema, never a password.
    Column("source", String(300), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime(), nullable=True),
    Column("outcome", String(12), nullable=False),
    Column("reason", String(40), nullable=True),
    Column("message", Text, nullable=True),
    Column("path", Text, nullable=True),
    Column("size_bytes", BigInteger, nullable=True),
    Column("sha256", String(64), nullable=True),
    Column("restore_seconds", Float, nullable=True),
    Column("rows", JSON, nullable=True),
    Index("ix_backup_runs_operation_outcome", "operation", "outcome", "id"),
)


@dataclass
class Run:
    """What a backup or a restore test did; ``reason`` (catalog FAILURE_REASON) when failed."""

    operation: str
    source: str
    started_at: datetime
    id: int | None = None
    finished_at: datetime | None = None
    outcome: str = "running"
    reason: str | None = None
    message: str | None = None
    path: str | None = None
    size_bytes: int | None = None
    sha256: str | None = None
    restore_seconds: float | None = None
    rows: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome == "success"


# What the two commands return: one record type, named for what each does.
BackupRecord = Run
VerifyRecord = Run


def ensure_table(engine: Engine) -> None:
    metadata.create_all(engine, tables=[backup_runs], checkfirst=True)


def start(engine: Engine, run: Run) -> None:
    """Insert ``run`` as running (its own transaction) and set its id."""
    ensure_table(engine)
    with engine.begin() as conn:
        run.id = conn.execute(
            insert(backup_runs)
            .values(
                operation=run.operation,
                source=run.source,
                started_at=run.started_at,
                outcome="running",
                path=run.path,
            )
            .returning(backup_runs.c.id)
        ).scalar_one()


def finish(engine: Engine, run: Run) -> None:
    """Write the outcome and what was measured."""
    values = {
        "finished_at": run.finished_at,
        "outcome": run.outcome,
        "reason": run.reason,
        "message": (run.message or "")[:2000] or None,
        "path": run.path,
        "size_bytes": run.size_bytes,
        "sha256": run.sha256,
        "restore_seconds": run.restore_seconds,
        "rows": run.rows or None,
    }
    with engine.begin() as conn:
        conn.execute(update(backup_runs).where(backup_runs.c.id == run.id).values(**values))


def latest_backup(engine: Engine, source: str) -> Run | None:
    """The newest successful backup of ``source``, or None."""
    ensure_table(engine)
    c = backup_runs.c
    with engine.connect() as conn:
        row = conn.execute(
            select(backup_runs)
            .where(c.operation == "backup", c.outcome == "success", c.source == source)
            .order_by(c.id.desc())
            .limit(1)
        ).one_or_none()
    return None if row is None else _run(row._mapping)


def successful_backups(engine: Engine, source: str) -> list[Run]:
    """Every successful backup of ``source``, newest first."""
    c = backup_runs.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(backup_runs)
            .where(c.operation == "backup", c.outcome == "success", c.source == source)
            .order_by(c.id.desc())
        ).all()
    return [_run(r._mapping) for r in rows]


def _run(m: Any) -> Run:
    return Run(
        operation=m["operation"],
        source=m["source"],
        started_at=m["started_at"],
        id=m["id"],
        finished_at=m["finished_at"],
        outcome=m["outcome"],
        reason=m["reason"],
        message=m["message"],
        path=m["path"],
        size_bytes=m["size_bytes"],
        sha256=m["sha256"],
        restore_seconds=m["restore_seconds"],
        rows=m["rows"] or {},
    )


def last_success_at(engine: Engine, operation: str, source: str) -> datetime | None:
    """When the newest successful run of ``operation`` on ``source`` started, or None."""
    c = backup_runs.c
    with engine.connect() as conn:
        return conn.execute(
            select(c.started_at)
            .where(c.operation == operation, c.outcome == "success", c.source == source)
            .order_by(c.id.desc())
            .limit(1)
        ).scalar_one_or_none()
