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


def test_a_message_that_names_the_command_is_not_prefixed_twice():
    from pitwatch.cli.errors import CliError, one_line

    assert one_line(CliError("x.csv: missing\nmore")) == "pitwatch: x.csv: missing"
    assert one_line(CliError("pitwatch simulate: give --scenario")) == (
        "pitwatch simulate: give --scenario"
    )
    assert one_line(CliError("pitwatch: already")) == "pitwatch: already"


def test_no_cli_error_is_written_with_the_prefix_main_adds():
    """``main`` prints ``pitwatch: `` before a CliError's message: a message that starts
    with it would print it twice."""
    import ast
    from pathlib import Path

    import pitwatch

    doubled = []
    for path in Path(pitwatch.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "CliError"):
                continue
            first = node.args[0] if node.args else None
            if isinstance(first, ast.JoinedStr) and first.values:
                first = first.values[0]
            if isinstance(first, ast.Constant) and str(first.value).startswith("pitwatch:"):
                doubled.append(f"{path.name}:{node.lineno}")
    assert doubled == []


def test_a_busy_metrics_port_is_named_once(capsys):
    import argparse
    import socket
    from types import SimpleNamespace

    from prometheus_client import CollectorRegistry

    from pitwatch.cli.errors import CliError, one_line
    from pitwatch.cli.platform import _serve_metrics

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        platform = SimpleNamespace(metrics=SimpleNamespace(registry=CollectorRegistry()))
        args = argparse.Namespace(metrics_host="127.0.0.1", metrics_port=port)
        with pytest.raises(CliError) as error:
            _serve_metrics(platform, args, settings=None)
    assert one_line(error.value).startswith(f"pitwatch: metrics listener on 127.0.0.1:{port}: ")


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
