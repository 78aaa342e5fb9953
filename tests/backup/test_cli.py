"""``pitwatch backup run|verify``: --help; bad input (an unwritable folder, no pg_dump, an
unreachable database, nothing to verify) is one line and exit 2, and the run is recorded
as failed with its reason; a restore test that ran and failed is exit 1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select

from pitwatch.backup.records import backup_runs
from pitwatch.cli import main
from pitwatch.settings import get_settings
from tests.backup.helpers import funded, pg_tools_or_skip


@pytest.fixture
def env(monkeypatch, tmp_path) -> Iterator[pytest.MonkeyPatch]:
    """Settings from the environment, a state database of the test's own."""
    monkeypatch.setenv("PITWATCH_STATE_DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    monkeypatch.setenv("PITWATCH_BACKUP_DIR", str(tmp_path / "backups"))
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def use(env: pytest.MonkeyPatch, **values: str) -> None:
    for key, value in values.items():
        env.setenv(f"PITWATCH_{key.upper()}", value)
    get_settings.cache_clear()


def recorded(tmp_path: Path) -> list[tuple[str, str, str | None]]:
    engine: Engine = create_engine(f"sqlite:///{tmp_path / 'state.db'}")
    with engine.connect() as conn:
        c = backup_runs.c
        rows = conn.execute(select(c.operation, c.outcome, c.reason).order_by(c.id)).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert lines, "nothing on stderr"
    last = lines[-1]  # progress lines come first
    assert last.startswith("pitwatch: ") and "Traceback" not in err
    return last


@pytest.mark.parametrize("command", [["backup"], ["backup", "run"], ["backup", "verify"]])
def test_every_backup_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    assert "usage: pitwatch backup" in capsys.readouterr().out


def test_an_unwritable_backup_folder_is_exit_2_and_a_recorded_failure(env, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    use(env, database_url=f"sqlite:///{tmp_path / 'platform.db'}")
    assert main(["backup", "run", "--dir", str(blocker / "backups")]) == 2
    assert "folder_unwritable" in one_line_error(capsys)
    assert recorded(tmp_path) == [("backup", "failed", "folder_unwritable")]


def test_a_missing_pg_dump_is_exit_2_and_a_recorded_failure(env, tmp_path, capsys):
    empty = tmp_path / "bin"
    empty.mkdir()
    env.setenv("PATH", str(empty))
    use(env, database_url="postgresql://postgres@127.0.0.1:5432/test")
    assert main(["backup", "run"]) == 2
    line = one_line_error(capsys)
    assert "tool_missing" in line and "pg_dump" in line
    assert recorded(tmp_path) == [("backup", "failed", "tool_missing")]


def test_an_unreachable_database_is_exit_2_and_a_recorded_failure(env, tmp_path, capsys):
    use(env, database_url=f"sqlite:///{tmp_path / 'nowhere' / 'platform.db'}")
    assert main(["backup", "run"]) == 2
    assert "database_unreachable" in one_line_error(capsys)
    pg_tools_or_skip()
    use(env, database_url="postgresql://postgres@127.0.0.1:1/test")  # nothing listens there
    assert main(["backup", "run"]) == 2
    assert "database_unreachable" in one_line_error(capsys)
    assert recorded(tmp_path) == [("backup", "failed", "database_unreachable")] * 2


def test_nothing_to_verify_is_exit_2(env, tmp_path, capsys):
    use(env, database_url=f"sqlite:///{tmp_path / 'platform.db'}")
    assert main(["backup", "verify"]) == 2
    assert "no_backup" in one_line_error(capsys)
    assert recorded(tmp_path) == [("verify", "failed", "no_backup")]


def test_an_unreachable_state_database_is_exit_2_without_a_record(env, tmp_path, capsys):
    use(
        env,
        database_url=f"sqlite:///{tmp_path / 'platform.db'}",
        state_database_url="postgresql://postgres@127.0.0.1:1/state",
    )
    assert main(["backup", "run"]) == 2
    assert "not recorded" in one_line_error(capsys)


def test_backup_then_verify_is_exit_0_and_a_corrupted_file_is_exit_1(
    env, sqlite_engine, tmp_path, capsys
):
    funded(sqlite_engine, players=1)
    use(env, database_url=str(sqlite_engine.url))
    assert main(["backup", "run"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("backup ") and "money tables:" in err  # progress on stderr
    assert main(["backup", "verify"]) == 0
    assert "passed" in capsys.readouterr().out
    [dump] = (tmp_path / "backups").glob("*.sqlite")
    dump.write_bytes(dump.read_bytes()[:4096])
    assert main(["backup", "verify"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.strip().splitlines()[-1].startswith("pitwatch: restore test failed")
    assert "checksum_mismatch" in err
    assert [r[1:] for r in recorded(tmp_path)] == [
        ("success", None),
        ("success", None),
        ("failed", "checksum_mismatch"),
    ]
