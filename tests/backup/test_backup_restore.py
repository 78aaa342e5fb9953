"""A backup and its restore test on SQLite and PostgreSQL: the file, its checksum and its
record; the restored copy's ledger checked and its money tables counted; a truncated file,
an unbalanced ledger and a missing table's rows are failed tests with their reasons, and
the scratch database is dropped whatever happens."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text, update

from pitwatch.backup import records
from pitwatch.backup.records import backup_runs
from pitwatch.backup.run import run_backup, state_engine
from pitwatch.backup.verify import verify_latest
from tests.backup.helpers import EXTRA_LEG, funded, scratch_databases, settings_for

T0 = datetime(2026, 12, 6, 10, 15, tzinfo=UTC)
MONEY = ("ledger_entries", "accounts", "wallet_transactions", "deposits", "withdrawals")


def test_a_backup_is_written_checksummed_recorded_and_proven_by_its_restore(engine, tmp_path):
    funded(engine, players=3)
    settings = settings_for(engine, tmp_path / "backups")

    backup = run_backup(settings, T0)

    assert backup.ok, backup.message
    path = Path(str(backup.path))
    ext = ".sqlite" if engine.dialect.name == "sqlite" else ".dump"
    assert path.name.startswith("pitwatch-") and path.name.endswith(f"-20261206T101500Z{ext}")
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".partial")] == []
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert backup.sha256 == digest and backup.size_bytes == path.stat().st_size
    sidecar = path.with_name(path.name + ".sha256").read_text()
    assert sidecar == f"{digest}  {path.name}\n"  # sha256sum -c reads it
    source_rows = backup.rows["source"]
    assert source_rows["ledger_entries"] > 0 and source_rows["deposits"] == 3

    verify = verify_latest(settings, T0 + timedelta(hours=1))

    assert verify.ok, verify.message
    assert verify.path == backup.path and verify.restore_seconds is not None
    assert verify.restore_seconds >= 0
    assert verify.rows["restored"] == source_rows
    assert verify.rows["ledger"]["unbalanced_transactions"] == 0
    assert verify.rows["ledger"]["entries"] == source_rows["ledger_entries"]
    with _state(settings) as state:
        stored = records.latest_backup(state, backup.source)
    assert stored is not None and stored.id == backup.id and stored.sha256 == digest
    if engine.dialect.name == "postgresql":
        assert verify.rows["scratch_database"] not in scratch_databases(engine)


def test_a_truncated_backup_fails_its_restore_test_on_the_checksum(engine, tmp_path):
    funded(engine, players=1)
    settings = settings_for(engine, tmp_path / "backups")
    backup = run_backup(settings, T0)
    assert backup.ok, backup.message
    path = Path(str(backup.path))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    verify = verify_latest(settings, T0 + timedelta(hours=1))

    assert not verify.ok
    assert verify.reason == "checksum_mismatch"
    assert path.name in str(verify.message)
    assert verify.restore_seconds is None  # nothing was restored


def test_an_unbalanced_ledger_backed_up_faithfully_fails_on_the_invariants(engine, tmp_path):
    funded(engine, players=2)
    with engine.begin() as conn:
        conn.execute(text(EXTRA_LEG))
    settings = settings_for(engine, tmp_path / "backups")
    backup = run_backup(settings, T0)
    assert backup.ok, backup.message  # the file is what the database held

    verify = verify_latest(settings, T0 + timedelta(hours=1))

    assert not verify.ok
    assert verify.reason == "invariant_failed"
    assert "1 unbalanced transactions" in str(verify.message)
    assert verify.rows["ledger"]["unbalanced_transactions"] == 1
    if engine.dialect.name == "postgresql":
        assert verify.rows["scratch_database"] not in scratch_databases(engine)


def test_a_money_table_restored_empty_where_the_database_had_rows_fails(engine, tmp_path):
    funded(engine, players=1)
    settings = settings_for(engine, tmp_path / "backups")
    backup = run_backup(settings, T0)
    assert backup.ok and backup.rows["source"]["withdrawals"] == 0
    # As if the database had held withdrawals the backup lost.
    had = {**backup.rows, "source": {**backup.rows["source"], "withdrawals": 4}}
    with _state(settings) as state, state.begin() as conn:
        conn.execute(update(backup_runs).where(backup_runs.c.id == backup.id).values(rows=had))

    verify = verify_latest(settings, T0 + timedelta(hours=1))

    assert (verify.outcome, verify.reason) == ("failed", "invariant_failed")
    assert "withdrawals (the database had 4)" in str(verify.message)


def test_verify_restores_the_newest_backup_and_old_files_are_pruned_beyond_keep(engine, tmp_path):
    funded(engine, players=1)
    settings = settings_for(engine, tmp_path / "backups", backup_keep=2)
    runs = [run_backup(settings, T0 + timedelta(hours=h)) for h in range(3)]
    assert all(r.ok for r in runs)

    kept = sorted(p.name for p in (tmp_path / "backups").iterdir())
    verify = verify_latest(settings, T0 + timedelta(hours=4))

    assert not Path(str(runs[0].path)).exists()
    assert kept == sorted(
        n for r in runs[1:] for n in (Path(str(r.path)).name, Path(str(r.path)).name + ".sha256")
    )
    assert verify.ok and verify.path == runs[2].path


def test_nothing_to_verify_is_a_failed_test_with_reason_no_backup(engine, tmp_path):
    settings = settings_for(engine, tmp_path / "backups")
    verify = verify_latest(settings, T0)
    assert (verify.outcome, verify.reason) == ("failed", "no_backup")


def test_an_unwritable_folder_is_a_failed_backup_with_its_reason(engine, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings = settings_for(engine, blocker / "backups")

    backup = run_backup(settings, T0)

    assert (backup.outcome, backup.reason) == ("failed", "folder_unwritable")
    assert str(blocker / "backups") in str(backup.message)
    with _state(settings) as state, state.connect() as conn:
        row = conn.execute(backup_runs.select().where(backup_runs.c.id == backup.id)).one()
    assert (row.outcome, row.reason) == ("failed", "folder_unwritable")
    assert row.finished_at is not None


@contextmanager
def _state(settings) -> Iterator[Engine]:
    engine = state_engine(settings)
    try:
        yield engine
    finally:
        engine.dispose()
