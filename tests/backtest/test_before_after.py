"""The rules before and after, side by side (docs/backtest.md): the table, and the rule
files of a commit that ``make backtest`` scores as "before"."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from pitwatch.backtest.publish import before_rules
from pitwatch.backtest.report import before_after
from pitwatch.backtest.score import AlertInfo, aggregate, score
from tests.backtest.test_score import ALERTS, degradation, evaluation, series

# The same run through two rule sets: before, Drop was slow and Old fired on nothing;
# after, Drop is quicker, Old is gone and New is there.
BEFORE_ALERTS = {**ALERTS, "Old": AlertInfo("Old", "warning", "sre")}
AFTER_ALERTS = {**ALERTS, "New": AlertInfo("New", "warning", "sre")}


def _before():
    ev = evaluation(
        series("Drop", range(100, 161), geo="DE", severity="critical", team="payments"),
        series("Old", range(500, 510)),
    )
    return aggregate([score(ev, [degradation(60, 150)], BEFORE_ALERTS, run="seed 1")])


def _after():
    ev = evaluation(series("Drop", range(70, 161), geo="DE", severity="critical", team="payments"))
    ev = replace(ev, alerts=tuple(AFTER_ALERTS))  # New evaluated, never firing
    return aggregate([score(ev, [degradation(60, 150)], AFTER_ALERTS, run="seed 1")])


def _rows(table: str) -> dict[str, list[str]]:
    return {
        cells[0]: cells[1:]
        for line in table.splitlines()
        if line.startswith("| ") and not line.startswith("| alert |")
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
    }


def test_every_alert_side_by_side_and_a_dash_where_a_set_lacks_it():
    table = before_after(_before(), _after(), "4f28df9")
    assert "the rules at 4f28df9 and now" in table
    assert "| alert | caught: before | after | missed: before | after |" in table
    rows = _rows(table)
    # caught, missed, detection median, detection worst, false / week: before, after each
    assert rows["Drop"] == ["1", "1", "0", "0", "40m", "10m", "40m", "10m", "0", "0"]
    assert rows["Old"][::2] == ["0", "0", "–", "–", "7"] and set(rows["Old"][1::2]) == {"–"}
    assert set(rows["New"][::2]) == {"–"} and rows["New"][1::2] == ["0", "0", "–", "–", "0"]
    assert rows["psp_degradation"] == ["1", "1"]  # pages: before, after


def test_without_the_before_rules_only_the_after_columns_and_why():
    table = before_after(None, _after(), "4f28df9", "git is not installed")
    assert "No before columns: git is not installed." in table
    assert "before |" not in table.split("\n\n", 2)[2]
    rows = _rows(table)
    assert rows["Drop"] == ["1", "0", "10m", "10m", "0"]
    assert "Old" not in rows


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "repo"
    (root / "alert_rules" / "rules").mkdir(parents=True)
    (root / "alert_rules" / "alertmanager").mkdir()
    (root / "alert_rules" / "rules" / "payments.yml").write_text("groups: []\n")
    (root / "alert_rules" / "rules" / "README.md").write_text("not a rule file\n")
    (root / "alert_rules" / "alertmanager" / "alertmanager.yml").write_text(
        "route:\n  receiver: pagerduty\n"
    )
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "rules")
    _git(root, "tag", "old")
    (root / "alert_rules" / "rules" / "payments.yml").write_text("groups: [changed]\n")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "changed")
    return root


def test_the_rule_files_of_a_commit_are_extracted_with_its_alertmanager_config(repo, tmp_path):
    before = before_rules("old", tmp_path / "before", repo)
    assert before.why is None and before.rules == tmp_path / "before"
    assert [p.name for p in before.rules.iterdir()] == ["payments.yml"]
    assert (before.rules / "payments.yml").read_text() == "groups: []\n"  # not HEAD's
    assert before.alertmanager == {"route": {"receiver": "pagerduty"}}


def test_an_unknown_ref_or_no_repository_says_why_instead_of_failing(repo, tmp_path):
    unknown = before_rules("nosuchref", tmp_path / "a", repo)
    assert unknown.rules is None and "the rules at nosuchref cannot be read" in (unknown.why or "")
    elsewhere = before_rules("old", tmp_path / "b", tmp_path / "empty")
    assert elsewhere.rules is None and elsewhere.why
    assert "\n" not in elsewhere.why


def test_only_keeps_the_other_suites_sections_as_published(tmp_path):
    from pitwatch.backtest.publish import main, published_sections

    doc = tmp_path / "backtest.md"
    doc.write_text(
        "# Backtest\n\nEngine: x\n\n"
        "## busy-evening: an evening\n\nold evening table\n\n"
        "## peak-day: a day\n\nold day table\n\n"
        "## mixed-week: a week\n\n| a | b |\n\n"
        "## baseline: quiet days\n\nno firing\n\n"
        "## Method\n\nhow\n",
        encoding="utf-8",
    )
    sections = published_sections(doc.read_text(encoding="utf-8"))
    assert list(sections) == ["busy-evening", "peak-day", "mixed-week", "baseline"]
    assert sections["mixed-week"] == "## mixed-week: a week\n\n| a | b |\n"
    assert "Method" not in sections["baseline"]
    # refused before anything runs: one line, exit 2, the document untouched
    before = doc.read_text(encoding="utf-8")
    assert main(["--only", "no-such-suite", "--doc", str(doc), "--workers", "1"]) == 2
    assert main(["--only", "peak-day", "--doc", str(tmp_path / "none.md")]) == 2
    doc.write_text(before.replace("## baseline: quiet days\n\nno firing\n\n", ""), "utf-8")
    assert main(["--only", "peak-day", "--doc", str(doc), "--workers", "1"]) == 2
