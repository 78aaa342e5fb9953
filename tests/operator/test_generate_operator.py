"""``pitwatch generate --config FILE``: another operator's rules, promtool tests, runbooks,
Alertmanager routes and dashboards, in a folder of its own, checked by --check and promtool."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from pitwatch.cli import main

LAGOON = Path(__file__).resolve().parent / "lagoon.toml"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lagoon(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lagoon")
    # this process runs the reference operator: main runs the command in a child process
    assert main(["generate", "--config", str(LAGOON), "--out", str(out)]) == 0
    return out


def test_it_renders_the_operators_artefacts_into_its_own_folder(lagoon):
    rules = {p.stem for p in (lagoon / "alert_rules/rules").glob("*.yml")}
    assert rules == {"payments", "wallet", "casino", "affiliates", "kyc", "reconciliation",
                     "platform", "infrastructure"}  # fmt: skip
    boards = {p.stem for p in (lagoon / "dashboards").glob("*.json")}
    assert "sportsbook" not in boards and {"payments", "casino", "overview"} <= boards
    assert (lagoon / "alert_rules/alertmanager/alertmanager.yml").exists()
    assert (lagoon / "alert_rules/runbooks/PspDown.md").exists()
    # no sportsbook: no rule, test or runbook of it
    assert not (lagoon / "alert_rules/tests/sportsbook.yml").exists()
    assert not list((lagoon / "alert_rules/runbooks").glob("OddsFeed*.md"))
    # nothing of the reference stack (compose) in an operator's folder
    assert not (lagoon / "deploy").exists()


def test_the_operators_override_and_vocabulary_are_in_what_is_rendered(lagoon):
    payments = yaml.safe_load((lagoon / "alert_rules/rules/payments.yml").read_text())
    exprs = [
        r["expr"]
        for g in payments["groups"]
        for r in g["rules"]
        if r.get("alert") == "DepositSuccessRateDropPsp"
    ]
    assert any('psp="kiwiflow"' in e for e in exprs)
    assert any('psp!~"kiwiflow"' in e for e in exprs)
    # the reference operator's India override is not the lagoon's
    assert 'geo="IN"' not in (lagoon / "alert_rules/rules/payments.yml").read_text()
    runbook = (lagoon / "alert_rules/runbooks/DepositSuccessRateDropPsp.md").read_text()
    assert "lagoon.toml" in runbook and "psp=kiwiflow (drop=0.4)" in runbook
    assert "https://grafana.lagoon.example/d/" in runbook
    metrics = (lagoon / "docs/metrics.md").read_text()
    assert "`psp` (3 values)" in metrics and "`affiliate` (2 configured, else other)" in metrics
    json.loads((lagoon / "dashboards/payments.json").read_text())


def test_check_passes_on_the_rendered_folder_and_fails_when_a_file_is_stale(lagoon, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(lagoon, copy)
    assert main(["generate", "--config", str(LAGOON), "--out", str(copy), "--check"]) == 0
    (copy / "alert_rules/rules/payments.yml").write_text("# edited\n")
    (copy / "alert_rules/rules/sportsbook.yml").write_text("# left over\n")
    assert main(["generate", "--config", str(LAGOON), "--out", str(copy), "--check"]) == 1


def test_another_operator_never_writes_over_the_repositorys_artefacts(capfd):
    assert main(["generate", "--config", str(LAGOON), "--out", str(ROOT)]) == 2
    err = capfd.readouterr().err  # the child process's (this one runs the reference)
    assert "is the repository" in err and len(err.strip().splitlines()) == 1


def test_the_reference_file_checks_the_repositorys_own_artefacts():
    ref = ROOT / "ground/reference-operator.toml"
    assert main(["generate", "--config", str(ref), "--check"]) == 0


@pytest.mark.slow
@pytest.mark.parametrize("domain", ["payments", "casino", "affiliates", "reconciliation"])
def test_promtool_passes_the_operators_rendered_tests(lagoon, domain):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed")
    result = subprocess.run(
        [promtool, "test", "rules", f"{domain}.yml"],
        cwd=lagoon / "alert_rules/tests",
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_an_override_of_an_unknown_parameter_is_one_line_exit_2(tmp_path, capfd):
    bad = tmp_path / "pitwatch.toml"
    bad.write_text(
        LAGOON.read_text().replace("drop = 0.4", "drop = 0.4\nflor = 0.2")  # a typo
    )
    assert main(["generate", "--config", str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capfd.readouterr().err.strip()
    assert err.startswith(
        "pitwatch: pitwatch.toml: override[1].flor: unknown parameter of DepositSuccessRateDropPsp"
    )
    assert len(err.splitlines()) == 1 and not (tmp_path / "out").exists()


def test_contract_check_takes_the_products_of_the_file(tmp_path, capfd):
    import sqlite3

    db = tmp_path / "platform.db"
    sqlite3.connect(db).execute("CREATE TABLE unrelated (x)").connection.close()
    code = main(["contract", "check", "--config", str(LAGOON), "--database", f"sqlite:///{db}"])
    out = capfd.readouterr().out
    assert code == 1  # the lagoon's core views are missing
    assert "pw_bets: not needed (sportsbook not among the products)" in out
    assert "pw_outbox: not needed" in out
    assert "pw_kyc_checks: missing" in out and "pw_conversions: missing" in out


def test_the_file_named_by_the_environment_renders_into_its_own_folder_too(tmp_path):
    import os
    import sys

    env = {**os.environ, "PITWATCH_OPERATOR_CONFIG": str(LAGOON)}
    env["PYTHONPATH"] = f"{ROOT}:{ROOT / 'platform'}"
    result = subprocess.run(
        [sys.executable, "-m", "pitwatch.cli", "generate", "--check"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # not the repository's artefacts: lagoon's own folder, not yet rendered, so all stale
    assert result.returncode == 1
    assert "stale: var/operators/lagoon/alert_rules/rules/payments.yml" in result.stderr
    assert str(ROOT / "alert_rules") not in result.stderr
