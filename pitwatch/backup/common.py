"""What a backup and a restore test share: their failures, the money tables, the files."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, text

from collectors.catalog.backup import FAILURE_REASON

log = logging.getLogger("pitwatch.backup")

Progress = Callable[[str], None]

# The money tables, counted through the contract views (what an operator's platform also
# has): a restored copy missing the rows of one of them is not a backup.
MONEY_VIEWS: dict[str, str] = {
    "ledger_entries": "pw_ledger_entries",
    "accounts": "pw_balances",
    "wallet_transactions": "pw_wallet_transactions",
    "deposits": "pw_deposits",
    "withdrawals": "pw_withdrawals",
}
CHUNK = 1 << 20


class BackupFailure(Exception):
    """A backup or restore test that failed, with its reason (catalog FAILURE_REASON)."""

    def __init__(self, reason: str, message: str) -> None:
        if reason not in FAILURE_REASON.values:
            raise ValueError(f"unknown failure reason {reason!r}")
        super().__init__(message)
        self.reason = reason
        self.message = message


class StateUnavailable(BackupFailure):
    """pitwatch's state database cannot be reached: the run cannot even be recorded."""

    def __init__(self, message: str) -> None:
        super().__init__("database_unreachable", message)


def log_progress(message: str) -> None:
    log.info("%s", message)


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def count_money(conn: Connection) -> dict[str, int]:
    """Rows of each money table, through its view."""
    return {
        table: int(conn.execute(text(f"SELECT COUNT(*) FROM {view}")).scalar_one())
        for table, view in MONEY_VIEWS.items()
    }


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(partial: Path, final: Path) -> None:
    """Make ``partial`` durable, then give it its final name (atomic on one filesystem): a
    crash leaves a ``.partial`` file, never a half file under a finished name."""
    fsync(partial)
    os.replace(partial, final)
    fsync(final.parent)


def write_checksum(path: Path, digest: str) -> Path:
    """``<file>.sha256`` in sha256sum's format (``sha256sum -c`` checks it by hand)."""
    sidecar = path.with_name(path.name + ".sha256")
    partial = sidecar.with_name(f".{sidecar.name}.partial")
    partial.write_text(f"{digest}  {path.name}\n")
    publish(partial, sidecar)
    return sidecar


# How often a running pg_dump/pg_restore reports progress.
PROGRESS_EVERY_SECONDS = 5.0


def run_tool(
    argv: list[str], env: dict[str, str], say: Progress, status: Callable[[], str]
) -> tuple[int, str]:
    """Run a libpq tool (no shell), saying ``status()`` every few seconds; its exit code and
    the last line of what it printed."""
    import subprocess
    import tempfile
    import time

    started = time.monotonic()
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.Popen(argv, env=env, stdout=out, stderr=out)
        except FileNotFoundError as exc:
            raise BackupFailure("tool_missing", f"{argv[0]} not found: {exc}") from exc
        while True:
            try:
                code = proc.wait(PROGRESS_EVERY_SECONDS)
                break
            except subprocess.TimeoutExpired:
                say(f"  {argv[0]}: {status()} ({time.monotonic() - started:.0f} s)")
        out.seek(0)
        printed = out.read().decode(errors="replace")
    lines = [line.strip() for line in printed.splitlines() if line.strip()]
    return code, (lines[-1] if lines else "no message")


def unreachable(message: str) -> bool:
    """Whether a libpq tool's message says it could not reach the server."""
    return "connection to server" in message or "could not connect" in message
