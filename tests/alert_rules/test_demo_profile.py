"""The demo profile (alert_rules/demo/): the production alerts with shorter windows, so that
the live demo sees an alert within minutes of its incident. promtool accepts the files,
nothing but time differs from production, and a German deposit collapse pages in minutes
under the demo profile where production is still waiting."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from alert_rules import DOMAINS, artefacts, load, profile
from alert_rules.cases.payments import deposits
from alert_rules.config import Override, RulesConfig
from alert_rules.domains import payments
from alert_rules.model import Fires, Param, seconds
from alert_rules.profile import DEMO_DIR, HEADER, demo_for, demo_range, shorten_ranges
from alert_rules.render import RULES_DIR, dump, expected_alert
from alert_rules.series import merge
from tests.alert_rules.tools import require

ROOT = Path(__file__).resolve().parents[2]
DEMO_FILES = sorted((ROOT / DEMO_DIR).glob("*.yml"))
RANGE = re.compile(r"\[((?:\d+(?:ms|s|m|h|d|w|y))+)(:[^\]]*)?\]")


def rules_of(path: Path) -> list[dict[str, Any]]:
    return [r for g in yaml.safe_load(path.read_text())["groups"] for r in g["rules"]]


def key(rule: dict[str, Any]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A rule's identity: record or alert name, and its static labels (one alert renders
    one rule per instance, e.g. per SLO)."""
    name = rule.get("record") or rule["alert"]
    return name, tuple(sorted(rule.get("labels", {}).items()))


def ranges(expr: str) -> list[float]:
    return [seconds(m.group(1)) for m in RANGE.finditer(expr)]


def without_ranges(expr: str) -> str:
    return RANGE.sub("[RANGE]", expr)


def pairs() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    out = []
    for domain in DOMAINS:
        prod = {key(r): r for r in rules_of(ROOT / RULES_DIR / f"{domain.name}.yml")}
        demo = {key(r): r for r in rules_of(ROOT / DEMO_DIR / f"{domain.name}.yml")}
        assert prod.keys() == demo.keys(), domain.name
        out += [(domain.name, prod[k], demo[k]) for k in prod]
    return out


PAIRS = pairs()
ALERT_PAIRS = [(d, p, q) for d, p, q in PAIRS if "alert" in p]


# -- the files -----------------------------------------------------------------------------


def test_every_domain_has_a_demo_rule_file_headed_as_the_demo_profile():
    assert {p.stem for p in DEMO_FILES} == {d.name for d in DOMAINS}
    for path in DEMO_FILES:
        text = path.read_text()
        assert text.startswith(
            "# Demo profile: shorter windows for the live demo and end-to-end tests; "
            "production rules are alert_rules/rules/ (promtool-tested)."
        ), path.name
        assert text.startswith(HEADER)


def test_the_demo_files_are_what_pitwatch_generate_renders():
    rendered = artefacts()
    for path in DEMO_FILES:
        assert rendered[f"{DEMO_DIR}/{path.name}"] == path.read_text(), path.name


def test_promtool_check_rules_passes_on_every_demo_file():
    promtool = require("promtool")
    result = subprocess.run(
        [promtool, "check", "rules", *map(str, DEMO_FILES)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- only time differs ---------------------------------------------------------------------


def test_every_production_alert_is_in_the_demo_profile_with_its_labels_and_annotations():
    assert len(ALERT_PAIRS) >= len([a for d in DOMAINS for a in d.alerts])
    for _, prod, demo in ALERT_PAIRS:
        assert demo["labels"] == prod["labels"], prod["alert"]
        assert demo["annotations"] == prod["annotations"], prod["alert"]


def test_expressions_and_thresholds_are_production_s_but_for_their_range_windows():
    """Thresholds, volume guards, offsets (the history a baseline needs) and every other
    token of every rule are identical; only range selectors differ."""
    for domain, prod, demo in PAIRS:
        assert without_ranges(demo["expr"]) == without_ranges(prod["expr"]), (domain, key(prod))
    # The check is not vacuous: the payments baseline still needs a week or six hours.
    baseline = next(
        d for _, p, d in PAIRS if p.get("record") == "geo:igaming_deposit_success:ratio_baseline"
    )
    assert "offset 6d23h30m" in baseline["expr"] and "offset 6h" in baseline["expr"]


def test_every_demo_for_is_shorter_or_equal_and_at_least_30s_or_zero():
    shorter = above_30s = 0
    for _, prod, demo in ALERT_PAIRS:
        p, d = seconds(prod.get("for", "0s")), seconds(demo.get("for", "0s"))
        assert d <= p, prod["alert"]
        assert d == 0 or d >= 30, prod["alert"]
        assert (d == 0) == (p == 0), prod["alert"]
        shorter += d < p
        above_30s += p > 30
    assert shorter == above_30s > 0  # every alert with a `for` above 30s


def test_every_demo_range_window_is_shorter_or_equal_and_at_least_a_minute():
    shortened = 0
    for domain, prod, demo in PAIRS:
        p, d = ranges(prod["expr"]), ranges(demo["expr"])
        assert len(p) == len(d), (domain, key(prod))
        for prod_window, demo_window in zip(p, d, strict=True):
            assert 60 <= demo_window <= prod_window, (domain, key(prod), demo_window)
            shortened += demo_window < prod_window
    assert shortened > 100  # the files do differ


@pytest.mark.parametrize(
    ("prod", "demo"), [("5m", "1m"), ("15m", "1m15s"), ("1h", "5m"), ("3d", "6h"), ("30s", "30s")]
)
def test_a_range_is_divided_by_the_factor_but_never_below_a_minute_or_above_production(prod, demo):
    assert demo_range(prod) == demo


@pytest.mark.parametrize(("prod", "demo"), [("5m", "30s"), ("10m", "50s"), ("0m", "0m")])
def test_a_for_is_divided_by_the_factor_but_never_below_30s(prod, demo):
    assert demo_for(prod) == demo


def test_ranges_are_shortened_outside_strings_and_comments_and_offsets_stay():
    promql = '# a [15m] comment\nrate(x{re=~"[1h]"}[15m] offset 1w)[1h:1m]'
    assert shorten_ranges(promql) == (
        '# a [15m] comment\nrate(x{re=~"[1h]"}[1m15s] offset 1w)[5m:1m]'
    )


# -- the demo pages within minutes, production does not yet --------------------------------

STEP = 5  # seconds: the demo stack's scrape and evaluation interval
HEALTHY = 10 * 60 // STEP  # samples of healthy traffic before the incident
INCIDENT = 30 * 60 // STEP


def de_collapse() -> tuple[Any, ...]:
    """DE at two deposits a second (10 per 5 s sample): 85 % approved for ten minutes,
    then 45 %. GB alongside at 90 %, one a second. No history: only the floor applies."""
    return merge(
        deposits("DE", "paybridge", "card", [(HEALTHY, 8.5, 1.5), (INCIDENT, 4.5, 5.5)]),
        deposits("GB", "paybridge", "card", [(HEALTHY + INCIDENT, 4.5, 0.5)]),
    )


def at(minutes_after_incident: float) -> str:
    return f"{round(HEALTHY * STEP + minutes_after_incident * 60)}s"


def collapse_test(rule_file: str, checks: list[tuple[float, bool]]) -> dict[str, Any]:
    config = load()
    alert = payments.DROP_GEO
    fires = Fires("", {"geo": "DE"}, 0.45)
    tests = [
        {
            "eval_time": at(minutes),
            "alertname": alert.name,
            "exp_alerts": [expected_alert(alert, fires, config)] if firing else [],
        }
        for minutes, firing in checks
    ]
    return {
        "rule_files": [rule_file],
        "evaluation_interval": f"{STEP}s",
        "tests": [
            {
                "name": "DE deposit success collapses from 85% to 45% at two deposits a second",
                "interval": f"{STEP}s",
                "input_series": [{"series": s.series, "values": s.values} for s in de_collapse()],
                "alert_rule_test": tests,
            }
        ],
    }


def promtool_test(tmp_path: Path, name: str, source: Path, checks: list[tuple[float, bool]]):
    promtool = require("promtool")
    (tmp_path / "rules.yml").write_text(source.read_text())
    (tmp_path / f"{name}.yml").write_text(dump(collapse_test("rules.yml", checks)))
    return subprocess.run(
        [promtool, "test", "rules", f"{name}.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_demo_profile_pages_on_a_de_deposit_collapse_within_five_minutes(tmp_path):
    demo = ROOT / DEMO_DIR / "payments.yml"
    checks = [(-1, False), (0.5, False), (3, True), (5, True), (20, True)]
    result = promtool_test(tmp_path, "demo", demo, checks)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_production_has_not_fired_yet_at_that_point_and_fires_only_later(tmp_path):
    """The same input against the production rules: silent five minutes in (its shortest
    window, 5 minutes, still holds healthy deposits, then `for: 1m`), firing twenty-five
    minutes in: the demo's windows are what make the difference."""
    prod = ROOT / RULES_DIR / "payments.yml"
    result = promtool_test(tmp_path, "prod", prod, [(-1, False), (5, False), (25, True)])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_the_collapse_test_can_fail_production_does_not_page_within_five_minutes(tmp_path):
    """The harness is not vacuous: expecting production to page at five minutes fails."""
    prod = ROOT / RULES_DIR / "payments.yml"
    result = promtool_test(tmp_path, "prod", prod, [(5, True)])
    assert result.returncode != 0
    assert "DepositSuccessRateDropGeo" in result.stdout + result.stderr


def test_a_window_override_is_shortened_and_a_threshold_override_kept():
    # PspDown with a window parameter, as it had before its windows became fixed: the
    # mechanism holds for any alert whose overrides set a window
    windowed = dataclasses.replace(
        payments.PSP_DOWN,
        expr=f"sum by (psp, geo) (increase({payments.ATT}$sel[$window])) >= $min_attempts",
        params={"window": Param("5m", "window"), "min_attempts": Param(10, "attempts")},
    )
    domain = dataclasses.replace(payments.DOMAIN, alerts=(windowed,))
    config = RulesConfig(
        overrides=(Override("PspDown", "psp", "paybridge", {"window": "10m", "min_attempts": 30}),)
    )
    text = profile.rule_file(domain, config, (domain,))
    psp_down = next(
        r for r in yaml.safe_load(text)["groups"][0]["rules"] if r.get("alert") == "PspDown"
    )
    branch = psp_down["expr"].split("\nor\n")[0]
    assert 'psp="paybridge"' in branch
    assert "[1m]" in branch and "[10m]" not in branch
    assert ">= 30" in branch
