"""The command line: every command has --help, bad usage is one line and exit code 2."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect

from pitwatch.cli import main

COMMANDS = [
    [],
    ["demo"],
    ["platform"],
    ["platform", "serve"],
    ["platform", "db"],
    ["platform", "db", "upgrade"],
    ["platform", "operator", "create"],
    ["generate"],
    ["collect", "serve"],
    ["backtest"],
    ["sim", "psp", "serve"],
    ["sim", "kyc", "serve"],
    ["sim", "odds", "serve"],
    ["sim", "games", "serve"],
    ["sim", "affiliates", "serve"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "pitwatch")
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    assert "usage: pitwatch" in capsys.readouterr().out


def test_bad_usage_is_one_line_and_exit_code_2(capsys):
    assert main(["platform", "serve", "--port", "eighty"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid int value" in err


def test_db_upgrade_creates_tables_and_contract_views(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert main(["platform", "db", "upgrade", "--database-url", url]) == 0
    inspector = inspect(create_engine(url))
    assert {"players", "ledger_entries", "outbox"} <= set(inspector.get_table_names())
    assert {"pw_deposits", "pw_balances", "pw_callbacks"} <= set(inspector.get_view_names())


def test_operator_create_prints_a_key_and_refuses_an_unknown_role(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    main(["platform", "db", "upgrade", "--database-url", url])
    monkeypatch.setenv("PITWATCH_DATABASE_URL", url)
    from pitwatch.settings import get_settings

    get_settings.cache_clear()
    capsys.readouterr()
    assert main(["platform", "operator", "create", "--name", "fiona", "--role", "finance"]) == 0
    assert capsys.readouterr().out.startswith("pwk_")
    assert main(["platform", "operator", "create", "--name", "x", "--role", "king"]) == 2
    get_settings.cache_clear()


@pytest.mark.parametrize("sim", ["psp", "kyc", "odds", "games", "affiliates"])
def test_a_missing_or_malformed_simulator_config_is_one_line_and_exit_code_2(sim, tmp_path, capsys):
    assert main(["sim", sim, "serve", "--config", str(tmp_path / "missing.json")]) == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["sim", sim, "serve", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and err.startswith("pitwatch: ")


def test_generated_files_are_up_to_date(capsys):
    assert main(["generate", "--check"]) == 0, capsys.readouterr().err


def test_a_stale_generated_file_is_reported_and_regenerated(tmp_path):
    from pitwatch.generate import ARTEFACTS, generate

    assert len(generate(tmp_path)) > 10  # an empty tree: everything is written
    assert generate(tmp_path, check=True) == []
    (tmp_path / ARTEFACTS[0].path).write_text("edited by hand\n")
    assert generate(tmp_path, check=True) == [ARTEFACTS[0].path]
    assert (tmp_path / ARTEFACTS[0].path).read_text() == "edited by hand\n"  # check writes nothing
    assert generate(tmp_path) == [ARTEFACTS[0].path]
    assert generate(tmp_path, check=True) == []
    assert "igaming_deposit_attempts_total" in (tmp_path / ARTEFACTS[0].path).read_text()


def test_a_generated_file_no_source_renders_any_more_is_stale_and_removed(tmp_path):
    from pitwatch.generate import generate

    generate(tmp_path)
    orphan = tmp_path / "alert_rules/runbooks/AlertThatWasDeleted.md"
    orphan.write_text("# AlertThatWasDeleted\n")
    assert generate(tmp_path, check=True) == ["alert_rules/runbooks/AlertThatWasDeleted.md"]
    assert orphan.exists()
    generate(tmp_path)
    assert not orphan.exists()
