"""Reading rule files: the metric names an expression selects, durations, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from pitwatch.backtest.model import BacktestError
from pitwatch.backtest.rulefiles import load_rules, metric_names, raw_metric_names, seconds

RULES = sorted(Path("alert_rules/rules").glob("*.yml"))


def test_metric_names_are_selectors_not_functions_labels_strings_or_durations():
    expr = """
      # a comment naming not_a_metric
      sum by (geo, psp) (rate(igaming_deposit_outcomes_total{outcome="approved", psp=~"a|b"}[5m]))
      / on(geo) group_left sum without (instance) (geo:rec:rate5m offset 1w)
      and on(job) absent(up{job="igaming-platform"}) or vector(0)
      unless label_replace(x_total, "dst", "$1", "src", "(.*)") > bool 3
    """
    assert metric_names(expr) == {
        "igaming_deposit_outcomes_total",
        "geo:rec:rate5m",
        "up",
        "x_total",
    }


def test_the_production_rules_read_the_catalog_and_their_own_recordings():
    rules = load_rules(RULES)
    recorded = {r.name for r in rules if r.kind == "record"}
    raw = raw_metric_names(rules)
    assert "igaming_deposit_outcomes_total" in raw and "up" in raw
    assert not raw & recorded  # recordings are evaluated, not fetched
    assert all(r.for_seconds >= 0 for r in rules)
    assert {r.kind for r in rules} == {"record", "alert"}


@pytest.mark.parametrize(
    "text, value", [("5m", 300), ("1h30m", 5400), ("0s", 0), ("1w", 604800), (None, 0)]
)
def test_durations(text, value):
    assert seconds(text) == value


def test_bad_rule_files_are_one_line(tmp_path):
    with pytest.raises(BacktestError, match="not a Prometheus duration"):
        seconds("5 minutes")
    bad = tmp_path / "bad.yml"
    bad.write_text("groups: [ {name: x, rules: [ {alert: A} ] } ]\n")
    with pytest.raises(BacktestError, match="without alert/record or expr"):
        load_rules([bad])
    bad.write_text("just: text\n")
    with pytest.raises(BacktestError, match="not a Prometheus rule file"):
        load_rules([bad])
    with pytest.raises(BacktestError, match="no such rule file"):
        load_rules([tmp_path / "missing.yml"])
