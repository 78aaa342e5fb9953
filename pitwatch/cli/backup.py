"""``pitwatch backup``: backups of the platform's database, proven by restoring them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pitwatch.cli.errors import CliError, Parser
from pitwatch.settings import Settings, get_settings

# Failures that are bad input or a bad environment (exit 2), as opposed to a backup or a
# restore test that ran and failed (exit 1).
USER_ERRORS = ("tool_missing", "database_unreachable", "folder_unwritable", "no_backup")


def _settings(args: argparse.Namespace) -> Settings:
    settings = get_settings()
    if getattr(args, "dir", None):
        settings = settings.model_copy(update={"backup_dir": Path(args.dir)})
    return settings


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _failed(run, what: str) -> int:
    """A failed run: bad input is one line and exit 2 (CliError), a failed test exit 1."""
    message = f"{what} failed ({run.reason}): {run.message}"
    if run.reason in USER_ERRORS:
        raise CliError(message)
    print(f"pitwatch: {message}", file=sys.stderr)
    return 1


def cmd_backup_run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from pitwatch.backup.common import BackupFailure
    from pitwatch.backup.run import run_backup

    try:
        run = run_backup(_settings(args), datetime.now(UTC), progress=_say)
    except BackupFailure as failure:
        raise CliError(f"backup not recorded: {failure.message}") from failure
    if not run.ok:
        return _failed(run, "backup")
    print(f"backup {run.path}: {run.size_bytes or 0:,} bytes, sha256 {run.sha256}")
    return 0


def cmd_backup_verify(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from pitwatch.backup.common import BackupFailure
    from pitwatch.backup.verify import verify_latest

    settings = _settings(args)
    try:
        run = verify_latest(settings, datetime.now(UTC), progress=_say)
    except BackupFailure as failure:
        raise CliError(f"restore test not recorded: {failure.message}") from failure
    if not run.ok:
        return _failed(run, "restore test")
    seconds = run.restore_seconds or 0.0
    print(
        f"restore test of {run.path} passed: restored in {seconds:.1f} s "
        f"(RTO {settings.backup_rto_seconds:.0f} s), ledger balanced"
    )
    if seconds > settings.backup_rto_seconds:
        _say(f"pitwatch: the restore took longer than the RTO ({seconds:.0f} s)")
    return 0


def register(sub) -> None:
    bak = sub.add_parser(
        "backup", help="back up the platform's database and prove the backup by restoring it"
    )
    bsub = bak.add_subparsers(dest="backup_command", required=True, parser_class=Parser)
    brun = bsub.add_parser(
        "run",
        help="dump the platform's database (pg_dump custom format, or SQLite's backup API) "
        "into a timestamped, checksummed file, and record it",
        description="Exit 0: backed up. Exit 2: bad input (unwritable folder, no pg_dump, "
        "unreachable database). Exit 1: the dump failed otherwise. Every run is recorded.",
    )
    brun.add_argument("--dir", help="backup folder (settings: backup_dir)")
    brun.set_defaults(func=cmd_backup_run)
    bver = bsub.add_parser(
        "verify",
        help="restore the newest backup into a scratch database, check the ledger and the "
        "money tables there, time it, and record the result",
        description="Exit 0: restored and checked. Exit 1: the restore test failed (checksum, "
        "restore, ledger invariants, empty money table). Exit 2: bad input (no backup, no "
        "pg_restore, unreachable server).",
    )
    bver.set_defaults(func=cmd_backup_verify)
