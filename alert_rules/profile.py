"""The demo profile: the production rules with shorter windows, so that the live demo and
the end-to-end tests see an alert fire within minutes of an injected incident.

Derived, never declared twice: every alert keeps its name, labels, annotations,
expression and thresholds; only time changes.

- Windows that are parameters of an alert (``Param`` whose default is a duration, e.g.
  PspDown's ``window``, FtdPostbacksStopped's ``takes_postbacks``) get a shorter default,
  and so do per-GEO/PSP overrides of such a parameter.
- Windows written into an expression or a recording rule (``[15m]`` in the deposit
  success ratio, ``[1h]`` in the SLO burn rates) are range selectors of the PromQL: they
  are shortened where they appear, outside string literals and comments, and nowhere else.
- ``for:`` is shortened the same way.

Every window is divided by ``FACTOR`` and never goes below what a 5 s scrape and
evaluation interval supports (``MIN_RANGE``, ``MIN_FOR``; ``for: 0`` stays 0), nor above
production. What is *not* shortened, on purpose:

- ``offset`` (``offset 1w``, ``offset 6h``): it says how much history a baseline needs
  (same hour last week; six hours of trailing day). A fresh demo has none, so the
  baselines are absent and the alerts fall back to their absolute floors exactly as a new
  production GEO does (see ``alert_rules.domains.payments._drop_expr``: ``< $floor unless
  on(geo) baseline``).
- Thresholds, including those in seconds (an outbox event 600 s old, a KYC SLA of a day)
  and volume guards (20 finished deposits in the ratio's window): the demo must show the
  production decision, only sooner. A volume guard over a shorter window needs a higher
  rate: the demo's traffic has to be busy enough (20 deposits in 75 s in a GEO).
- Recording rule names (``..._ratio_rate15m``) and the descriptions' sentences ("over
  the last 15 minutes"): demo and production rules are never loaded together, and every
  demo file says so in its header.
"""

from __future__ import annotations

import re
from dataclasses import replace

from alert_rules.config import RulesConfig
from alert_rules.model import Alert, Domain, Param, Recording, seconds

FACTOR = 12
MIN_RANGE = 60.0  # seconds: a rate() over a minute has 12 samples at a 5 s scrape interval
MIN_FOR = 30.0  # seconds: six evaluations at 5 s

DEMO_DIR = "alert_rules/demo"
HEADER = (
    "# Demo profile: shorter windows for the live demo and end-to-end tests; production "
    "rules are alert_rules/rules/ (promtool-tested).\n"
    f"# Derived by alert_rules/profile.py: every range window and `for` divided by {FACTOR} "
    f"(ranges at least {MIN_RANGE:.0f}s, `for` at least {MIN_FOR:.0f}s or 0), offsets, "
    "thresholds, labels\n"
    "# and annotations as in production. Recording rules keep their production names: load "
    "either alert_rules/rules/ or alert_rules/demo/, never both.\n"
)


def format_duration(total: float) -> str:
    """5400 -> '1h30m' (Prometheus' duration notation, whole seconds)."""
    left = round(total)
    if left == 0:
        return "0s"
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, left = divmod(left, size)
        if n:
            out += f"{n}{unit}"
    return out


def demo_range(duration: str) -> str:
    """A range window of the demo: production's divided by ``FACTOR``, at least
    ``MIN_RANGE``, at most production's."""
    prod = seconds(duration)
    return format_duration(min(prod, max(MIN_RANGE, round(prod / FACTOR))))


def demo_for(duration: str) -> str:
    """A ``for`` of the demo: production's divided by ``FACTOR``, at least ``MIN_FOR``
    (0 stays 0), at most production's."""
    prod = seconds(duration)
    if prod == 0:
        return duration
    return format_duration(min(prod, max(MIN_FOR, round(prod / FACTOR))))


# A range selector `[15m]` or a subquery `[1h:1m]` / `[1h:]`: only the range is shortened.
_DUR = r"(?:\d+(?:ms|s|m|h|d|w|y))+"
_RANGE = re.compile(rf"\[({_DUR})(:{_DUR}?)?\]")
# String literals (never touched) and comments, in the order PromQL's lexer sees them.
_SKIP = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|`[^`]*`|#[^\n]*')


def shorten_ranges(promql: str) -> str:
    """Every range selector of ``promql`` (or of an expression template) shortened with
    ``demo_range``; string literals, comments, offsets and everything else unchanged."""
    out: list[str] = []
    pos = 0
    for skip in _SKIP.finditer(promql):
        out.append(_RANGE.sub(_shorten_one, promql[pos : skip.start()]))
        out.append(skip.group(0))
        pos = skip.end()
    out.append(_RANGE.sub(_shorten_one, promql[pos:]))
    return "".join(out)


def _shorten_one(match: re.Match[str]) -> str:
    return f"[{demo_range(match.group(1))}{match.group(2) or ''}]"


def is_window(param: Param) -> bool:
    """A parameter is a window when its default is a Prometheus duration ('10m')."""
    if not isinstance(param.default, str):
        return False
    try:
        seconds(param.default)
    except ValueError:
        return False
    return True


def demo_params(alert: Alert) -> dict[str, Param]:
    return {
        k: replace(p, default=demo_range(str(p.default))) if is_window(p) else p
        for k, p in alert.params.items()
    }


def demo_alert(alert: Alert) -> Alert:
    """The alert with every window and its ``for`` shortened; all else as in production."""
    return replace(
        alert,
        expr=shorten_ranges(alert.expr),
        for_=demo_for(alert.for_),
        keep_firing_for=demo_for(alert.keep_firing_for),
        params=demo_params(alert),
    )


def demo_recording(recording: Recording) -> Recording:
    return replace(recording, expr=shorten_ranges(recording.expr))


def demo_domain(domain: Domain) -> Domain:
    """The domain's recording rules and alerts in the demo profile (its promtool cases are
    production's: the demo is not what they test)."""
    return replace(
        domain,
        recordings=tuple(demo_recording(r) for r in domain.recordings),
        alerts=tuple(demo_alert(a) for a in domain.alerts),
    )


def demo_config(config: RulesConfig, domains: tuple[Domain, ...]) -> RulesConfig:
    """The overrides with their window parameters shortened (thresholds unchanged)."""
    alerts = {a.name: a for d in domains for a in d.alerts}
    overrides = []
    for o in config.overrides:
        params = alerts[o.alert].params if o.alert in alerts else {}
        overrides.append(
            replace(
                o,
                params={
                    k: demo_range(str(v)) if k in params and is_window(params[k]) else v
                    for k, v in o.params.items()
                },
            )
        )
    return replace(config, overrides=tuple(overrides))


def rule_file(domain: Domain, config: RulesConfig, domains: tuple[Domain, ...]) -> str:
    """``alert_rules/demo/<domain>.yml``: the domain's rules in the demo profile."""
    from alert_rules.render import rule_file as render_rule_file

    return render_rule_file(demo_domain(domain), demo_config(config, domains), note=HEADER)
