"""``pitwatch backup run``: a timestamped, checksummed backup of the platform's database.

PostgreSQL: ``pg_dump --format=custom`` (subprocess, no shell; the password through
PGPASSWORD); only the URL's search_path schemas when it names some. SQLite: the online
backup API, a consistent copy while the platform keeps writing. The file is written under a
``.partial`` name and renamed when complete; ``<file>.sha256`` beside it. Before the dump,
the money tables of the live database are counted (the restore test compares with them).
After a successful backup, the oldest files beyond ``backup_keep`` are deleted.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from collectors.exporter import make_read_engine
from igaming.db import make_engine
from pitwatch.backup import records
from pitwatch.backup.common import (
    BackupFailure,
    Progress,
    StateUnavailable,
    count_money,
    first_line,
    log,
    log_progress,
    publish,
    run_tool,
    sha256_of,
    unreachable,
    write_checksum,
)
from pitwatch.backup.records import Run
from pitwatch.backup.target import Target
from pitwatch.settings import Settings


def state_engine(settings: Settings) -> Engine:
    """pitwatch's state database, its ``backup_runs`` table created when missing."""
    engine = make_engine(settings.state_url, pool_size=2)
    try:
        records.ensure_table(engine)
    except (OperationalError, DBAPIError) as exc:
        engine.dispose()
        raise StateUnavailable(f"state database unreachable: {first_line(exc)}") from exc
    return engine


def run_backup(settings: Settings, now: datetime, progress: Progress | None = None) -> Run:
    """Back up the platform's database into ``settings.backup_dir`` and record the run.

    Returns the record, failed with its reason or successful; raises only StateUnavailable
    (nowhere to record anything)."""
    say = progress or log_progress
    target = Target.of(settings.database_url)
    state = state_engine(settings)
    run = Run("backup", target.source, now)
    started = time.monotonic()
    try:
        records.start(state, run)
        try:
            _backup(settings, target, run, now, say)
            run.outcome = "success"
        except BackupFailure as failure:
            run.outcome, run.reason, run.message = "failed", failure.reason, failure.message
        except Exception as exc:  # recorded, with its reason "other"; the caller logs it
            log.exception("backup of %s failed", target.source)
            run.outcome, run.reason, run.message = "failed", "other", first_line(exc)
        run.finished_at = now + timedelta(seconds=time.monotonic() - started)
        records.finish(state, run)
        if run.ok:
            for path in prune(state, run.source, settings.backup_keep):
                say(f"pruned {path}")
    finally:
        state.dispose()
    return run


def _backup(settings: Settings, target: Target, run: Run, now: datetime, say: Progress) -> None:
    folder = writable_folder(Path(settings.backup_dir))
    ext = ".sqlite" if target.is_sqlite else ".dump"
    if not target.is_sqlite and shutil.which("pg_dump") is None:
        raise BackupFailure(
            "tool_missing", "pg_dump not found on PATH (Debian: apt-get install postgresql-client)"
        )
    final = free_name(folder, f"pitwatch-{target.name}-{now:%Y%m%dT%H%M%SZ}", ext)
    run.path = str(final)
    say(f"backing up {target.source} to {final}")
    run.rows = {"source": live_counts(target)}
    say(f"money tables: {format_counts(run.rows['source'])}")
    partial = final.with_name(f".{final.name}.partial")
    t0 = time.monotonic()
    try:
        if target.is_sqlite:
            sqlite_backup(target.sqlite_path, partial)
        else:
            pg_dump(target, partial, say)
        publish(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    run.size_bytes = final.stat().st_size
    run.sha256 = sha256_of(final)
    write_checksum(final, run.sha256)
    say(
        f"wrote {final.name}: {run.size_bytes:,} bytes in {time.monotonic() - t0:.1f} s, "
        f"sha256 {run.sha256[:12]}…"
    )


def writable_folder(folder: Path) -> Path:
    """``folder``, created if missing, proven writable by writing in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".pitwatch-write-test-"):
            pass
    except OSError as exc:
        raise BackupFailure(
            "folder_unwritable", f"backup folder {folder} is not writable: {exc.strerror or exc}"
        ) from exc
    return folder


def free_name(folder: Path, stem: str, ext: str) -> Path:
    """``stem + ext`` in ``folder``, or ``stem-2 + ext``… when a backup of that second exists."""
    path, n = folder / f"{stem}{ext}", 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}{ext}"
    return path


def live_counts(target: Target) -> dict[str, int]:
    """The live database's money tables, read-only (and proof that it is reachable)."""
    if target.is_sqlite and not target.sqlite_path.is_file():
        raise BackupFailure("database_unreachable", f"{target.sqlite_path}: no such database")
    engine = make_read_engine(target.sqlalchemy_url(), "pitwatch-backup")
    try:
        try:
            conn = engine.connect()
        except (OperationalError, DBAPIError) as exc:
            raise BackupFailure(
                "database_unreachable", f"database unreachable: {first_line(exc)}"
            ) from exc
        with conn, conn.begin():
            return count_money(conn)
    finally:
        engine.dispose()


def format_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {table}" for table, n in counts.items())


def sqlite_backup(source: Path, dest: Path) -> None:
    """SQLite's online backup: a consistent copy, the platform still writing (WAL)."""
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupFailure("database_unreachable", f"{source}: {exc}") from exc
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)  # every page in one step: a step-wise copy restarts on writes
        finally:
            dst.close()
    finally:
        src.close()


def pg_dump(target: Target, dest: Path, say: Progress) -> None:
    """``pg_dump --format=custom`` of the target into ``dest``, reporting bytes written."""
    argv = ["pg_dump", "--format=custom", "--no-password", f"--file={dest}"]
    argv += [f"--schema={schema}" for schema in target.schemas]

    def written() -> str:
        return f"{dest.stat().st_size if dest.exists() else 0:,} bytes written"

    code, last = run_tool(argv, target.libpq_env(), say, written)
    if code != 0:
        reason = "database_unreachable" if unreachable(last) else "other"
        raise BackupFailure(reason, f"pg_dump failed (exit {code}): {last}")


def prune(state: Engine, source: str, keep: int) -> list[Path]:
    """Delete the files of the successful backups of ``source`` beyond the newest ``keep``
    (only files this suite recorded writing, with their .sha256)."""
    deleted = []
    for old in records.successful_backups(state, source)[keep:]:
        if not old.path:
            continue
        path = Path(old.path)
        for p in (path, path.with_name(path.name + ".sha256")):
            if p.exists():
                try:
                    p.unlink()
                except OSError as exc:
                    log.warning("could not prune %s: %s", p, exc)
                    continue
                if p == path:
                    deleted.append(p)
    return deleted
