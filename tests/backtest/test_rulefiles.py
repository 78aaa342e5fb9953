"""The metric names an expression selects (rule-file loading: test_engine.py)."""

from __future__ import annotations

from pathlib import Path

from pitwatch.backtest.rulefiles import load_rules, metric_names, raw_metric_names

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
    recorded = {r.name for r in rules.recording}
    raw = raw_metric_names(rules)
    assert "igaming_deposit_outcomes_total" in raw and "up" in raw
    assert not raw & recorded  # recordings are evaluated, not fetched
