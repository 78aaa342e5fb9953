"""The generated rules: promtool accepts them and their unit tests pass, every rule reads
only metrics that exist, every alert carries what on-call needs and keeps its promises."""

from __future__ import annotations

import ast
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from alert_rules import CASES, DOMAINS, all_alerts, artefacts
from alert_rules.checks import promise_problems, referenced_metrics, unknown_metrics
from alert_rules.config import ConfigError, Override, RulesConfig, load
from alert_rules.dashboard_uids import DASHBOARDS
from alert_rules.domains import payments
from alert_rules.model import TEAMS, Case, Domain, Fires, Silent
from alert_rules.render import RULES_DIR, TESTS_DIR, rule_file
from tests.alert_rules.tools import require

ROOT = Path(__file__).resolve().parents[2]
RULE_FILES = sorted((ROOT / RULES_DIR).glob("*.yml"))
TEST_FILES = sorted((ROOT / TESTS_DIR).glob("*.yml"))


def rules_of(path: Path) -> list[dict]:
    return [r for g in yaml.safe_load(path.read_text())["groups"] for r in g["rules"]]


def test_every_domain_has_its_committed_rule_and_test_file():
    assert {p.stem for p in RULE_FILES} == {d.name for d in DOMAINS}
    assert {p.stem for p in TEST_FILES} == {d.name for d in DOMAINS}


def test_promtool_check_rules_passes_on_every_rule_file():
    promtool = require("promtool")
    result = subprocess.run(
        [promtool, "check", "rules", *map(str, RULE_FILES)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("test_file", TEST_FILES, ids=lambda p: p.stem)
def test_promtool_unit_tests_pass(test_file):
    """Each alert fires on its incident within its promised time, stays silent on normal
    traffic, a quiet night and a 5x surge, and resolves after recovery."""
    promtool = require("promtool")
    result = subprocess.run(
        [promtool, "test", "rules", test_file.name],
        cwd=test_file.parent,
        capture_output=True,
        text=True,
        timeout=1800,  # payments replays a week of history at one-minute steps: 12 min loaded
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


@pytest.mark.slow
def test_promtool_unit_tests_can_fail(tmp_path):
    """The harness is not vacuous: a rule whose threshold moved fails its own tests."""
    promtool = require("promtool")
    loose = {"PspDown": {"min_attempts": 100_000}}
    alerts = tuple(
        replace(a, params={**a.params, **{k: replace(a.params[k], default=v)
                                          for k, v in loose.get(a.name, {}).items()}})
        for a in payments.ALERTS
    )  # fmt: skip
    domain = replace(payments.DOMAIN, alerts=alerts)
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "rules/payments.yml").write_text(rule_file(domain, load()))
    # Only the test groups that check PspDown: the whole payments file (its week of
    # history for the same-hour-last-week baseline) takes minutes and proves nothing more.
    tests = yaml.safe_load(artefacts()[f"{TESTS_DIR}/payments.yml"])
    tests["tests"] = [
        group
        for group in tests["tests"]
        if any(t["alertname"] == "PspDown" for t in group.get("alert_rule_test", []))
    ]
    assert tests["tests"], "the payments tests check PspDown"
    (tmp_path / "tests/payments.yml").write_text(yaml.safe_dump(tests))
    result = subprocess.run(
        [promtool, "test", "rules", "payments.yml"],
        cwd=tmp_path / "tests",
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "alertname: PspDown" in result.stdout + result.stderr


def test_every_rule_reads_only_metrics_from_the_catalog_or_recording_rules():
    assert unknown_metrics(DOMAINS, load()) == {}


def test_a_rule_reading_a_metric_nobody_exports_is_reported():
    bad = replace(payments.PSP_DOWN, expr="igaming_deposit_atempts_total$sel > 0")
    domain = replace(payments.DOMAIN, alerts=(bad,))
    assert unknown_metrics((domain,), load()) == {"PspDown": {"igaming_deposit_atempts_total"}}


def test_metric_names_are_read_out_of_nested_expressions():
    expr = (
        'histogram_quantile(0.95, sum by (le) (rate(a_bucket{x="1"}[5m]))) > on() '
        "group_left b:rec:rate5m offset 1w unless absent(c)"
    )
    assert referenced_metrics(expr) == {"a_bucket", "b:rec:rate5m", "c"}


def test_every_alert_keeps_its_promises():
    problems = [p for d in DOMAINS for p in promise_problems(d, CASES[d.name]())]
    assert problems == []


def test_a_broken_promise_is_reported():
    late = Case(
        "fires an hour late",
        "incident",
        (),
        (Silent("10m"), Fires("70m", {"psp": "x"}, 1), Silent("200m")),
        incident_start="0m",
        recovery="100m",
        alerts=("PspDown",),
    )
    domain = Domain("payments", (), (payments.PSP_DOWN,))
    problems = promise_problems(domain, (late,))
    promised = payments.PSP_DOWN.detection
    assert any(f"later than the promised {promised}" in p for p in problems)
    assert any("no normal case" in p for p in problems)
    assert any("no surge case" in p for p in problems)


def test_a_quiet_incident_is_held_to_the_quiet_promise():
    def incident(at: str, *, quiet: bool) -> Case:
        checks = (Silent("10m"), Fires(at, {"psp": "x"}, 1), Silent("300m"))
        return Case("dups", "incident", (), checks, incident_start="0m", recovery="200m",
                    alerts=("PspCallbackDuplicates",), quiet=quiet)  # fmt: skip

    def late(case: Case, alert=payments.CALLBACK_DUPLICATES) -> list[str]:
        problems = promise_problems(Domain("payments", (), (alert,)), (case,))
        return [p for p in problems if "promise" in p]

    assert payments.CALLBACK_DUPLICATES.detection == "20m"
    assert payments.CALLBACK_DUPLICATES.detection_quiet == "2h"
    # 100 minutes: past the busy promise, within the quiet one
    assert late(incident("100m", quiet=True)) == []
    assert late(incident("100m", quiet=False)) != []
    assert late(incident("130m", quiet=True)) != []
    # a quiet case for an alert that promises nothing quiet is a problem, not a pass
    no_quiet = replace(payments.CALLBACK_DUPLICATES, detection_quiet=None)
    assert late(incident("10m", quiet=True), no_quiet) == [
        "PspCallbackDuplicates: quiet incident 'dups' but no detection_quiet promise"
    ]


def test_alert_rules_never_import_dashboards():
    """The dashboards read the alert declarations; an import the other way is a circle."""
    for path in sorted((ROOT / "alert_rules").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            else:
                continue
            assert not [x for x in modules if x.split(".")[0] == "dashboards"], path


def test_alert_names_are_unique_camel_case():
    names = [a.name for a in all_alerts()]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[A-Z][a-zA-Z0-9]+", n) for n in names)


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.stem)
def test_every_alert_has_severity_team_and_the_annotations_on_call_needs(path):
    alerts = [r for r in rules_of(path) if "alert" in r]
    assert alerts
    for rule in alerts:
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), rule["alert"]
        assert rule["labels"]["team"] in TEAMS, rule["alert"]
        ann = rule["annotations"]
        assert set(ann) == {"summary", "description", "runbook_url", "dashboard_url"}
        assert "{{" not in ann["summary"], "summary is a static sentence"
        assert "$value" in ann["description"], "the description shows the value"
        runbook = ROOT / "alert_rules/runbooks" / ann["runbook_url"].rsplit("/", 1)[1]
        assert runbook.exists() and rule["alert"] in runbook.read_text()
        uid = ann["dashboard_url"].split("/d/")[1].split("?")[0]
        assert uid in {u for u, _ in DASHBOARDS.values()}


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.stem)
def test_recording_rules_follow_level_metric_operations(path):
    for rule in rules_of(path):
        if "record" in rule:
            assert re.fullmatch(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", rule["record"]), rule["record"]


def test_no_rule_groups_by_a_label_that_identifies_a_person_or_payment():
    from collectors.catalog.base import FORBIDDEN_LABELS

    text = "\n".join(p.read_text() for p in RULE_FILES)
    for label in FORBIDDEN_LABELS:
        assert not re.search(rf"\b(by|on|without)\s*\([^)]*\b{label}\b", text), label


# -- per-GEO / per-PSP overrides ----------------------------------------------------------


def test_an_override_renders_its_own_branch_and_excludes_it_from_the_default():
    config = RulesConfig(overrides=(Override("PspDown", "psp", "pixgate", {"min_attempts": 3}),))
    text = rule_file(payments.DOMAIN, config)
    rule = next(
        r for r in yaml.safe_load(text)["groups"][0]["rules"] if r.get("alert") == "PspDown"
    )
    expected = "psp_geo:igaming_deposit_success:ratio_expected"
    assert f'clamp_max({expected}{{psp="pixgate"}}, 0.99)), 3)' in rule["expr"]
    assert f'clamp_max({expected}{{psp!~"pixgate"}}, 0.99)), 6)' in rule["expr"]
    assert 'igaming_deposit_attempts_total{psp="pixgate"}[3m]))' in rule["expr"]
    assert 'igaming_deposit_attempts_total{psp!~"pixgate"}[3m]))' in rule["expr"]


# The smallest operator file the overrides below go into (docs/operator-config.md).
MINIMAL_OPERATOR = 'markets = ["DE"]\ncurrencies = ["EUR"]\nmethods = ["card"]\n'
MINIMAL_PSP = '[psps.x]\nmethods = ["card"]\n'


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[[override]]\nalert = "PspDown"\nmin_attempts = 3\n',
            "override[1]: PspDown: needs exactly one of geo, psp",
        ),
        ('[[override]]\nalert = "PspDown"\npsp = "x"\n', "override[1]: PspDown: changes no"),
        (
            '[[override]]\nalert = "PspDown"\npsp = "y"\nfloor = 1\n',
            'override[1].psp: unknown PSP "y"',
        ),
        ("[[override]\n", "not TOML"),
        ('[links]\ngrafana = "x"\n', "links.grafana: unknown key"),
    ],
)
def test_a_bad_override_in_the_operator_file_is_refused_with_a_clear_error(tmp_path, toml, message):
    path = tmp_path / "pitwatch.toml"
    path.write_text(MINIMAL_OPERATOR + toml + "\n" + MINIMAL_PSP)
    with pytest.raises(ConfigError, match=re.escape(f"pitwatch.toml: {message}")):
        load(path)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (Override("NoSuchAlert", "geo", "DE", {"floor": 0.1}), "unknown alert"),
        (Override("PspDown", "geo", "DE", {"min_attempts": 3}), "overridable by psp"),
        (Override("PspDown", "psp", "x", {"flor": 3}), "unknown parameter"),
    ],
)
def test_an_override_that_does_not_fit_an_alert_is_refused(override, message):
    with pytest.raises(ConfigError, match=message):
        artefacts(RulesConfig(overrides=(override,)))
