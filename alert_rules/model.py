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

from ground.vocabulary import INCIDENT_SCOPE_KEYS, INCIDENT_TYPES

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
    "infrastructure",
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


_NEED = re.compile(r"[a-z_]+(=[^=>\s]+|>-?[0-9]+(\.[0-9]+)?)?")


def _above(got: object, value: str) -> bool:
    """A parameter lies above a need's number (``delay_seconds>900``); not a number: no."""
    try:
        return float(str(got)) > float(value)
    except ValueError:
        return False


def _same(got: object, value: str) -> bool:
    """A parameter equals a need's value: as numbers when both are (``approval_rate=0``
    matches 0, 0.0 and "0.0"), else as text."""
    if str(got) == value:
        return True
    try:
        return float(str(got)) == float(value)
    except ValueError:
        return False


@dataclass(frozen=True)
class Catch:
    """An incident type (``ground.vocabulary.INCIDENT_TYPES``) an alert is meant to catch.

    ``scope`` maps a label of the alert to a key of the incident's scope
    (``INCIDENT_SCOPE_KEYS``): a firing of ``{geo="DE"}`` only catches an incident whose
    scope has no ``geo`` or ``geo`` DE. ``needs`` narrows the incidents of the type to
    those whose parameters (incidents.jsonl ``parameters``) make the alert's signal
    appear: ``"regression"`` (present and not empty), ``"mode=down"`` (equal as text) or
    ``"delay_seconds>900"`` (a number above);
    a deploy without a regression is a marker no alert is meant to catch."""

    incident: str
    scope: Mapping[str, str] = field(default_factory=dict)
    needs: tuple[str, ...] = ()

    def problem(self, labels: Iterable[str]) -> str | None:
        """What is wrong with this declaration on an alert carrying ``labels``, if anything."""
        if self.incident not in INCIDENT_TYPES:
            return f"catches unknown incident type {self.incident!r}"
        known = set(labels)
        for label, key in self.scope.items():
            if label not in known:
                return f"catches {self.incident} by label {label!r}, which the alert lacks"
            if key not in INCIDENT_SCOPE_KEYS:
                return f"catches {self.incident} by unknown incident scope key {key!r}"
        for need in self.needs:
            if not _NEED.fullmatch(need):
                return (
                    f"catches {self.incident} with a need {need!r} not 'name', 'name=value' "
                    "or 'name>number'"
                )
        return None

    def wants(self, parameters: Mapping[str, object]) -> bool:
        """Whether an incident of the type with these parameters is one it is meant for."""
        for need in self.needs:
            if ">" in need:
                name, _, value = need.partition(">")
                if not _above(parameters.get(name), value):
                    return False
                continue
            name, equals, value = need.partition("=")
            got = parameters.get(name)
            if (not _same(got, value)) if equals else not got:
                return False
        return True

    def describe(self) -> str:
        """``deploy (geo, if regression)``: the type, the scope labels (``label=key`` where
        they differ) and the needs, for the detection table."""
        terms = [label if label == key else f"{label}={key}" for label, key in self.scope.items()]
        terms += [f"if {need}" for need in self.needs]
        return self.incident + (f" ({', '.join(terms)})" if terms else "")


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
    # The simulated incidents it is meant to catch (what the backtest scores it against).
    catches: tuple[Catch, ...] = ()
    # The promise where the scope is too quiet for ``detection`` (a branch of the rule that
    # waits for evidence over a longer window): what its ``quiet`` incident cases prove.
    detection_quiet: str | None = None
    # How long it stays firing once its condition clears: a page that flickers while the
    # evidence hovers at the threshold is one page, not several (Prometheus 2.42+).
    keep_firing_for: str = "0s"

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
        for catch in self.catches:
            if (problem := catch.problem(self.scope)) is not None:
                raise ValueError(f"{self.name}: {problem}")


# -- description templates: one source, rendered for Prometheus and for the tests -------

_FIELD = re.compile(r"\{(\w+)(?::(\w+))?\}")
_GO_FORMAT = {
    "pct": "{{ $value | humanizePercentage }}",
    "dur": "{{ $value | humanizeDuration }}",
    "int": '{{ $value | printf "%.0f" }}',
    "num": "{{ $value | humanize }}",
}
# A version running now that was not running an hour ago, while some version was: a
# deploy within the hour. Not the process start of the only version ever seen (the deploy
# timestamp is the process start without PITWATCH_DEPLOYED_AT), nor a restart of the
# same version.
DEPLOY_QUERY = (
    "max by (version) (igaming_build_info) "
    "unless on(version) max by (version) (igaming_build_info offset 1h) "
    "and on() count(igaming_build_info offset 1h)"
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
    # An incident at low volume, held to the alert's ``detection_quiet`` promise.
    quiet: bool = False
    # (alert, label, value): a case proving an override of the reference operator's file;
    # rendered only for an operator whose file has that override.
    requires_override: tuple[str, str, str] | None = None


@dataclass(frozen=True)
class Domain:
    name: str
    recordings: tuple[Recording, ...]
    alerts: tuple[Alert, ...]
    about: str = ""
