"""docs/metrics.md's "Views mode" section with the alerts it serves: which alerts read only
metrics views mode derives (or the state exporter's, or Prometheus' own), and which still
need a metric only the platform's code emits (rendered by ``pitwatch generate``)."""

from __future__ import annotations

from alert_rules import DOMAINS
from alert_rules.checks import expressions, referenced_metrics
from alert_rules.config import RulesConfig
from collectors.catalog import METRICS
from collectors.views import DERIVED
from collectors.views.docs import views_reference


def _base(series: str) -> str:
    for suffix in ("_total", "_bucket", "_count", "_sum", "_info"):
        if series.endswith(suffix):
            return series[: -len(suffix)]
    return series


def _rules() -> dict[str, str]:
    config = RulesConfig()
    return {name: expr for d in DOMAINS for name, expr in expressions(d, config)}


def platform_only_metrics(expr: str, rules: dict[str, str] | None = None) -> set[str]:
    """The platform-only metrics an expression reads, recording rules followed."""
    rules = _rules() if rules is None else rules
    platform = {m.name for m in METRICS if m.source == "platform"} - DERIVED

    def reads(expr: str, seen: frozenset[str]) -> set[str]:
        out: set[str] = set()
        for series in referenced_metrics(expr):
            if series in rules and series not in seen:
                out |= reads(rules[series], seen | {series})
            elif _base(series) in platform:
                out.add(_base(series))
        return out

    return reads(expr, frozenset())


def platform_only_reads() -> dict[str, set[str]]:
    """Alert -> the platform-only metrics it reads (recording rules followed), for every
    alert of the production rules."""
    rules = _rules()
    return {a.name: platform_only_metrics(rules[a.name], rules) for d in DOMAINS for a in d.alerts}


# Alerts that read a platform-only metric in one branch only and work without it.
PARTLY_SERVED = {
    name: "its drop windows work (they read the deposit outcomes views mode derives); the "
    "branch that takes over the deposit SLO's page reads the SLO's, as the SLO alert does"
    for name in ("DepositSuccessRateDropGeo", "DepositSuccessRateDropPsp")
}


def views_mode_reference() -> list[str]:
    needs = platform_only_reads()
    served = sorted(a for a, metrics in needs.items() if not metrics)
    unserved = sorted((a, sorted(m)) for a, m in needs.items() if m)
    lines = views_reference()
    lines += [
        "",
        "### The alerts in views mode",
        "",
        f"Of the {len(needs)} alerts, {len(served)} read only what views mode derives, the",
        "state exporter's gauges or Prometheus' own series, and work on a platform that",
        f"exports nothing; {len(unserved)} still read a metric only the platform's code (or a",
        "proxy, for the HTTP ones) emits:",
        "",
        "| alert | platform-only metrics it reads | without them |",
        "|---|---|---|",
    ]
    lines += [
        f"| {a} | {', '.join(f'`{m}`' for m in ms)} | {PARTLY_SERVED.get(a, 'silent')} |"
        for a, ms in unserved
    ]
    return lines
