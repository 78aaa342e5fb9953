"""The shape of an alert, a recording rule and a domain, and how an alert renders.

An alert is declared once, in Python, with everything the people around it need: the
PromQL (a template over its parameters), the team and severity, the sentences a human
reads, the detection time it promises and the runbook; the promtool cases that prove the
promise are declared beside it, in ``alert_rules.cases``. Rule files, runbooks, the
detection table and the promtool tests are all rendered from these declarations
(``alert_rules.render``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from string import Template
from typing import Literal

Severity = Literal["critical", "warning", "info"]
TEAMS = ("payments", "wallet", "sportsbook", "casino", "affiliates", "compliance", "finance", "sre")
DOMAINS = (
    "payments",
    "wallet",
    "sportsbook",
    "casino",
    "affiliates",
    "kyc",
    "platform",
    "reconciliation",
)


@dataclass(frozen=True)
class Param:
    """A threshold, window or volume guard with its documented default."""

    default: float | int | str
    doc: str

    def render(self, value: float | int | str) -> str:
        if isinstance(value, float) and value.is_integer() and not isinstance(self.default, str):
            return str(int(value)) if isinstance(self.default, int) else repr(value)
        return str(value)


@dataclass(frozen=True)
class Recording:
    record: str
    expr: str


@dataclass(frozen=True)
class Runbook:
    meaning: str
    impact: str
    diagnosis: tuple[str, ...]
    mitigation: tuple[str, ...]


@dataclass(frozen=True)
class Alert:
    """One alert. ``expr`` is a ``string.Template`` over the parameters plus ``$sel``
    (``{geo="IN"}`` or empty) and ``$m`` (``,geo="IN"`` or empty), the matchers of an
    override branch (see ``override_by``). ``description`` is a small template: ``{geo}``
    is a label, ``{value:pct}`` / ``{value:dur}`` / ``{value:int}`` / ``{value:num}`` the
    value, formatted as Prometheus' humanize functions do."""

    name: str
    domain: str
    team: str
    severity: Severity
    summary: str
    description: str
    expr: str
    for_: str
    scope: tuple[str, ...]
    dashboard: str
    detection: str  # promised time from the incident's start to a firing alert
    runbook: Runbook
    params: Mapping[str, Param] = field(default_factory=dict)
    override_by: str | None = None  # "geo" or "psp": per-value parameters from the config
    deploy_hint: bool = False  # the description names a deploy of the last hour
    labels: Mapping[str, str] = field(default_factory=dict)
    instances: tuple[Mapping[str, str], ...] = ({},)  # one rule per instance (e.g. per SLO)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Z][A-Za-z0-9]+", self.name):
            raise ValueError(f"{self.name}: alert names are CamelCase")
        if self.team not in TEAMS:
            raise ValueError(f"{self.name}: unknown team {self.team}")
        if self.domain not in DOMAINS:
            raise ValueError(f"{self.name}: unknown domain {self.domain}")
        missing = set(Template(self.expr).get_identifiers()) - {*self.params, "sel", "m"}
        instance_keys = {k for inst in self.instances for k in inst}
        if missing - instance_keys:
            raise ValueError(f"{self.name}: expr uses undeclared {sorted(missing)}")


# -- description templates: one source, rendered for Prometheus and for the tests -------

_FIELD = re.compile(r"\{(\w+)(?::(\w+))?\}")
_GO_FORMAT = {
    "pct": "{{ $value | humanizePercentage }}",
    "dur": "{{ $value | humanizeDuration }}",
    "int": '{{ $value | printf "%.0f" }}',
    "num": "{{ $value | humanize }}",
}
DEPLOY_QUERY = (
    "max by (version) (igaming_build_info) and on() "
    "(time() - max(igaming_deploy_timestamp_seconds) < 3600)"
)
DEPLOY_HINT_GO = (
    '{{ with query "' + DEPLOY_QUERY + '" }}{{ range . }}'
    " Deploy {{ .Labels.version }} went out in the last hour: suspect it first.{{ end }}{{ end }}"
)


def deploy_hint_text(version: str) -> str:
    return f" Deploy {version} went out in the last hour: suspect it first."


def go_template(text: str) -> str:
    """The Prometheus (Go template) form of a description."""

    def field_(match: re.Match[str]) -> str:
        name, fmt = match.group(1), match.group(2)
        if name == "value":
            return _GO_FORMAT[fmt or "num"]
        return "{{ $labels." + name + " }}"

    return _FIELD.sub(field_, text)


def humanize_duration(v: float) -> str:
    """Prometheus' humanizeDuration."""
    if v == 0:
        return "0s"
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        d = int(abs(v))
        seconds, minutes, hours, days = d % 60, (d // 60) % 60, (d // 3600) % 24, d // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{abs(v):.4g}s"
    raise ValueError("sub-second durations are not used in descriptions")


def humanize(v: float) -> str:
    """Prometheus' humanize, for the magnitudes descriptions use (>= 1 or 0)."""
    if v == 0 or 1 <= abs(v) < 1000:
        return f"{v:.4g}"
    for prefix in ("k", "M", "G", "T"):
        v /= 1000
        if abs(v) < 1000:
            return f"{v:.4g}{prefix}"
    return f"{v:.4g}P"


def python_render(text: str, labels: Mapping[str, str], value: float) -> str:
    """The description as Prometheus renders it, for the expected annotations of a test."""

    def field_(match: re.Match[str]) -> str:
        name, fmt = match.group(1), match.group(2)
        if name != "value":
            return labels[name]
        if fmt == "pct":
            return f"{value * 100:.4g}%"
        if fmt == "dur":
            return humanize_duration(value)
        if fmt == "int":
            return f"{value:.0f}"
        return humanize(value)

    return _FIELD.sub(field_, text)


# -- durations ---------------------------------------------------------------------------

_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def seconds(duration: str) -> float:
    """'1h30m' -> 5400.0"""
    parts = _DURATION.findall(duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a Prometheus duration: {duration!r}")
    return sum(int(n) * _UNIT[u] for n, u in parts)


# -- tests -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    series: str  # 'metric{label="v"}'
    values: str  # promtool expanding notation (alert_rules.series builds it)


@dataclass(frozen=True)
class Fires:
    """At ``at``, the alert fires with these scope labels and this value."""

    at: str
    labels: Mapping[str, str]
    value: float
    deploy: str | None = None  # the version the description should name
    alert: str | None = None  # defaults to the case's alert


@dataclass(frozen=True)
class Silent:
    """At ``at``, the alert is not firing (pending is not firing)."""

    at: str
    alert: str | None = None


def silent_all(names: tuple[str, ...], *minutes: int) -> tuple[Silent, ...]:
    """Every named alert silent at each of these minutes (normal, quiet and surge cases)."""
    return tuple(Silent(f"{m}m", alert=name) for m in minutes for name in names)


def silence(
    name: str, kind: CaseKind, series: tuple[Series, ...], names: tuple[str, ...], at: Iterable[int]
) -> Case:
    """A normal, quiet-night or surge case: every named alert silent at these minutes."""
    return Case(name, kind, series, silent_all(names, *at), alerts=names)


CaseKind = Literal["incident", "normal", "quiet_night", "surge", "guard"]


@dataclass(frozen=True)
class Case:
    """A promtool test group. ``incident`` cases give ``incident_start`` and must fire
    within the alert's detection time, be silent before, and resolve after recovery."""

    name: str
    kind: CaseKind
    series: tuple[Series, ...]
    checks: tuple[Fires | Silent, ...]
    incident_start: str | None = None
    recovery: str | None = None  # when the incident ended (checks after it are resolves)
    alerts: tuple[str, ...] = ()  # the alerts a normal/quiet/surge case proves silent


@dataclass(frozen=True)
class Domain:
    name: str
    recordings: tuple[Recording, ...]
    alerts: tuple[Alert, ...]
    about: str = ""
