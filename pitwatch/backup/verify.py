"""``pitwatch backup verify``: the newest backup restored into a scratch database and proven.

The newest successful backup of the platform's database (from the records) is checked
against its recorded sha256, restored (PostgreSQL: a new database
``pitwatch_restore_<random>`` on the platform's server, or on ``backup_restore_url``'s,
created from template0 and filled by ``pg_restore --no-owner --no-privileges
--exit-on-error``; SQLite: a copy in a temporary folder), then the full ledger check
(reconcilers.ledger_check) and the row counts of the money tables run on the restored copy.
The restore is timed (the recovery time the RTO is compared with). A checksum mismatch, a
restore that fails, an unbalanced ledger or an empty money table where the database had
rows when it was backed up is a failed test with its reason; the scratch database is always
dropped.
"""

from __future__ import annotations

import secrets
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.pool import NullPool

from pitwatch.backup import records
from pitwatch.backup.common import (
    BackupFailure,
    Progress,
    count_money,
    first_line,
    log,
    log_progress,
    run_tool,
    sha256_of,
    unreachable,
)
from pitwatch.backup.records import Run
from pitwatch.backup.run import format_counts, state_engine
from pitwatch.backup.target import CONNECT_TIMEOUT_SECONDS, Target
from pitwatch.settings import Settings
from reconcilers.ledger_check import check_ledger

SCRATCH_PREFIX = "pitwatch_restore_"


def verify_latest(settings: Settings, now: datetime, progress: Progress | None = None) -> Run:
    """Restore the newest backup into a scratch database, check it, and record the test.

    Returns the record, failed with its reason or successful; raises only StateUnavailable."""
    say = progress or log_progress
    target = Target.of(settings.database_url)
    state = state_engine(settings)
    run = Run("verify", target.source, now)
    started = time.monotonic()
    try:
        records.start(state, run)
        try:
            _verify(settings, state, target, run, say)
            run.outcome = "success"
        except BackupFailure as failure:
            run.outcome, run.reason, run.message = "failed", failure.reason, failure.message
        except Exception as exc:
            log.exception("restore test of %s failed", target.source)
            run.outcome, run.reason, run.message = "failed", "other", first_line(exc)
        run.finished_at = now + timedelta(seconds=time.monotonic() - started)
        records.finish(state, run)
    finally:
        state.dispose()
    return run


def _verify(settings: Settings, state: Engine, target: Target, run: Run, say: Progress) -> None:
    backup = records.latest_backup(state, target.source)
    if backup is None or not backup.path:
        raise BackupFailure("no_backup", f"no successful backup of {target.source} to verify")
    path = Path(backup.path)
    run.path = backup.path
    run.rows = {"backup_id": backup.id, "backup_started_at": backup.started_at.isoformat()}
    if not path.is_file():
        raise BackupFailure("no_backup", f"{path}: the newest backup's file is missing")
    say(f"verifying {path.name} (backup of {backup.started_at:%Y-%m-%d %H:%M:%S} UTC)")
    digest = sha256_of(path)
    if digest != backup.sha256:
        size = path.stat().st_size
        raise BackupFailure(
            "checksum_mismatch",
            f"{path.name}: sha256 {digest[:12]}… is not the recorded {str(backup.sha256)[:12]}… "
            f"({size:,} bytes, {backup.size_bytes or 0:,} written)",
        )
    run.sha256, run.size_bytes = digest, path.stat().st_size
    say("checksum ok")
    restore = restore_sqlite if target.is_sqlite else restore_postgres
    with restore(settings, target, path, run, say) as conn:
        check(conn, backup, run, say)


def check(conn: Connection, backup: Run, run: Run, say: Progress) -> None:
    """The ledger invariants and the money tables' rows on the restored copy."""
    t0 = time.monotonic()
    try:
        ledger = check_ledger(conn)
        restored = count_money(conn)
    except (ProgrammingError, OperationalError) as exc:  # views or tables missing
        raise BackupFailure(
            "restore_failed", f"the restored copy cannot be read: {first_line(exc)}"
        ) from exc
    run.rows.update(
        restored=restored,
        source=backup.rows.get("source", {}),
        ledger={
            "entries": ledger.entries,
            "accounts": ledger.accounts,
            "unbalanced_transactions": ledger.unbalanced_count,
            "balance_mismatches": ledger.mismatch_count,
        },
        check_seconds=round(time.monotonic() - t0, 3),
    )
    say(f"restored copy: {format_counts(restored)}")
    say(f"ledger check: {ledger.summary()}")
    if not ledger.ok:
        raise BackupFailure("invariant_failed", f"restored ledger: {ledger.summary()}")
    had = backup.rows.get("source", {})
    empty = [t for t, n in restored.items() if n == 0 and int(had.get(t, 0)) > 0]
    if empty:
        detail = ", ".join(f"{t} (the database had {int(had[t]):,})" for t in empty)
        raise BackupFailure("invariant_failed", f"restored copy has no rows in {detail}")


@contextmanager
def restore_sqlite(
    settings: Settings, target: Target, path: Path, run: Run, say: Progress
) -> Iterator[Connection]:
    """A copy of the backup in a temporary folder, opened (the restore is the copy)."""
    with tempfile.TemporaryDirectory(prefix=SCRATCH_PREFIX) as folder:
        copy = Path(folder) / "restored.sqlite"
        t0 = time.monotonic()
        try:
            shutil.copyfile(path, copy)
            with sqlite3.connect(copy) as raw:  # a file that is no database fails here
                raw.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            raw.close()
        except (OSError, sqlite3.Error) as exc:
            raise BackupFailure("restore_failed", f"restore of {path.name}: {exc}") from exc
        run.restore_seconds = time.monotonic() - t0
        say(f"restored into {copy} in {run.restore_seconds:.1f} s")
        engine = create_engine(f"sqlite:///{copy}", poolclass=NullPool)
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()


@contextmanager
def restore_postgres(
    settings: Settings, target: Target, path: Path, run: Run, say: Progress
) -> Iterator[Connection]:
    """A new database on the server, the dump restored into it, dropped afterwards."""
    if shutil.which("pg_restore") is None:
        raise BackupFailure(
            "tool_missing",
            "pg_restore not found on PATH (Debian: apt-get install postgresql-client)",
        )
    server = Target.of(settings.backup_restore_url or settings.database_url)
    scratch = f"{SCRATCH_PREFIX}{secrets.token_hex(6)}"
    run.rows["scratch_database"] = scratch
    admin = create_engine(
        server.sqlalchemy_url(),
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": int(CONNECT_TIMEOUT_SECONDS)},
    )
    t0 = time.monotonic()
    try:
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{scratch}" TEMPLATE template0'))
        except OperationalError as exc:
            raise BackupFailure(
                "database_unreachable", f"restore server unreachable: {first_line(exc)}"
            ) from exc
        except DBAPIError as exc:  # e.g. no CREATEDB privilege
            raise BackupFailure(
                "restore_failed", f"cannot create the scratch database: {first_line(exc)}"
            ) from exc
        try:
            say(f"restoring into scratch database {scratch}")
            yield from _restored(server, scratch, target, path, run, say, t0)
        finally:
            drop(admin, scratch)
    finally:
        admin.dispose()


def _restored(
    server: Target,
    scratch: str,
    target: Target,
    path: Path,
    run: Run,
    say: Progress,
    t0: float,
) -> Iterator[Connection]:
    argv = [
        "pg_restore",
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--no-password",
        f"--dbname={scratch}",
        str(path),
    ]
    code, last = run_tool(argv, server.libpq_env(scratch), say, lambda: "restoring")
    if code != 0:
        reason = "database_unreachable" if unreachable(last) else "restore_failed"
        raise BackupFailure(reason, f"pg_restore failed (exit {code}): {last}")
    run.restore_seconds = time.monotonic() - t0
    say(f"restored in {run.restore_seconds:.1f} s")
    url = server.url.set(database=scratch)
    if target.schemas:  # the backup holds these schemas: read the views there
        url = url.update_query_dict({"options": f"-csearch_path={','.join(target.schemas)}"})
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def drop(admin: Engine, scratch: str) -> None:
    """Drop the scratch database, whoever is still connected to it."""
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
    except DBAPIError as exc:  # logged loudly: a leftover database costs disk
        log.error("could not drop the scratch database %s: %s", scratch, first_line(exc))
