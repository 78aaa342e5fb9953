"""Pages as PagerDuty receives them: the firing alerts after Alertmanager.

Prometheus sends every firing alert to Alertmanager, but what wakes the on-call is less:
inhibition rules mute the alerts another alert explains, and routing puts the rest into
notification groups, one PagerDuty incident per group (its dedup key is the group key). So
the backtest counts an incident's pages here, not as the critical firings behind them
(issue 21: one incident, one page, to the team that owns the fix).

Alertmanager's semantics, as in its sources (dispatch/route.go, inhibit/inhibit.go):

* Matchers ``name="v"``, ``name!="v"``, ``name=~"re"``, ``name!~"re"``; a regex is anchored
  at both ends; a missing label is the empty value.
* Routing walks the tree depth first: an alert goes to the first child that matches it (and
  on past it when that child has ``continue: true``), to the node itself when no child
  matches. A child inherits receiver, group_by, group_wait and group_interval unless it sets
  its own; ``group_by: ['...']`` groups by every label.
* Inhibition: a target alert is muted while an alert matching the source matchers fires with
  the same value (missing equals missing) of every ``equal`` label. When the target matches
  the source matchers too, sources that also match the target matchers do not count (so no
  alert mutes itself, nor two such alerts each other).

Not simulated flush by flush: a group's *active set* (its alerts firing and not muted) going
from empty to non-empty opens a page, sent ``group_wait`` later; a gap shorter than
``group_interval`` does not close it (Alertmanager would only send the resolve at the next
flush, and a new trigger with the same dedup key joins the open PagerDuty incident). Not
modelled: the flush phase, ``repeat_interval`` (a reminder on the same incident, no new
page), and that an activity shorter than ``group_wait`` may send nothing at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from alert_rules.model import seconds
from pitwatch.backtest.model import BacktestError

Labels = Mapping[str, str]
LabelPairs = tuple[tuple[str, str], ...]
Op = Literal["=", "!=", "=~", "!~"]
Span = tuple[float, float]

# Labels that say which alert and whom it wakes, not where: the rest is its scope.
NOT_SCOPE = frozenset({"alertname", "alertstate", "severity", "team"})
# Alertmanager's defaults for a root route that sets none.
GROUP_WAIT = 30.0
GROUP_INTERVAL = 300.0


# -- matchers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Matcher:
    name: str
    op: Op
    value: str

    def matches(self, labels: Labels) -> bool:
        have = labels.get(self.name, "")
        if self.op == "=":
            return have == self.value
        if self.op == "!=":
            return have != self.value
        hit = _regex(self.value).fullmatch(have) is not None
        return hit if self.op == "=~" else not hit


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(f"(?:{pattern})")


_MATCHER = re.compile(
    r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|[^\s,{}"]+)\s*'
)


def _unquote(value: str) -> str:
    """Alertmanager's escapes: ``\\"``, ``\\\\`` and ``\\n``; any other keeps its backslash
    (a regex's ``\\.`` stays one)."""
    if not value.startswith('"'):
        return value
    escapes = {"n": "\n", '"': '"', "\\": "\\"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m[1], m[0]), value[1:-1])


def parse_matchers(text: str) -> tuple[Matcher, ...]:
    """One line of a ``matchers`` list: ``name="v"``, or several separated by commas,
    optionally in braces. Anything else is a BacktestError."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    out: list[Matcher] = []
    pos = 0
    while True:
        m = _MATCHER.match(body, pos)
        if m is None:
            raise BacktestError(
                f'alertmanager: matcher {text!r} is not name="value", name!="value", '
                'name=~"regex" or name!~"regex"'
            )
        name, op, value = m[1], m[2], _unquote(m[3])
        if op in ("=~", "!~"):
            try:
                _regex(value)
            except re.error as exc:
                raise BacktestError(f"alertmanager: matcher {text!r}: bad regex: {exc}") from None
        out.append(Matcher(name, op, value))  # type: ignore[arg-type]
        pos = m.end()
        if pos == len(body):
            return tuple(out)
        if body[pos] != ",":
            raise BacktestError(f"alertmanager: matcher {text!r}: unexpected {body[pos:]!r}")
        pos += 1


def _matchers(data: Mapping[str, Any], new: str, old: str, where: str) -> tuple[Matcher, ...]:
    """The ``new`` list of matcher strings and the deprecated ``old`` / ``old_re`` maps."""
    lines = data.get(new) or []
    if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
        raise BacktestError(f"alertmanager: {where}: {new} must be a list of strings")
    out = [m for line in lines for m in parse_matchers(line)]
    for key, op in ((old, "="), (f"{old}_re", "=~")):
        pairs = data.get(key) or {}
        if not isinstance(pairs, Mapping):
            raise BacktestError(f"alertmanager: {where}: {key} must map labels to values")
        out += [m for name, value in pairs.items() for m in parse_matchers(f'{name}{op}"{value}"')]
    return tuple(out)


def _all(matchers: Iterable[Matcher], labels: Labels) -> bool:
    return all(m.matches(labels) for m in matchers)


# -- the configuration ---------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    receiver: str
    matchers: tuple[Matcher, ...]
    group_by: tuple[str, ...] | None  # None: every label (``group_by: ['...']``)
    group_wait: float
    group_interval: float
    cont: bool  # ``continue``
    routes: tuple[Route, ...]
    key: str  # its place in the tree: the same group labels on two routes are two groups

    def match(self, labels: Labels) -> list[Route]:
        """The routes an alert with these labels goes to (Alertmanager's Route.Match)."""
        if not _all(self.matchers, labels):
            return []
        out: list[Route] = []
        for child in self.routes:
            found = child.match(labels)
            out += found
            if found and not child.cont:
                break
        return out or [self]

    def group(self, labels: Labels) -> LabelPairs:
        """The group labels of an alert on this route (a missing label is left out)."""
        if self.group_by is None:
            return tuple(sorted(labels.items()))
        return tuple((n, labels[n]) for n in sorted(set(self.group_by)) if n in labels)


@dataclass(frozen=True)
class InhibitRule:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]


@dataclass(frozen=True)
class Alertmanager:
    route: Route
    inhibit_rules: tuple[InhibitRule, ...]
    pagers: frozenset[str]  # the receivers that page (those with pagerduty_configs)


def _seconds(value: Any, where: str) -> float:
    try:
        return seconds(str(value))
    except ValueError:
        raise BacktestError(f"alertmanager: {where}: {value!r} is not a duration") from None


def _route(data: Any, parent: Route | None, key: str) -> Route:
    where = f"route {key}" if key else "route"
    if not isinstance(data, Mapping):
        raise BacktestError(f"alertmanager: {where} is not a mapping")
    receiver = data.get("receiver", parent.receiver if parent else None)
    if not isinstance(receiver, str) or not receiver:
        raise BacktestError(f"alertmanager: {where} has no receiver")
    group_by: tuple[str, ...] | None = parent.group_by if parent else ()
    if "group_by" in data:
        given = data["group_by"] or []
        if not isinstance(given, list) or not all(isinstance(x, str) for x in given):
            raise BacktestError(f"alertmanager: {where}: group_by must be a list of labels")
        group_by = None if "..." in given else tuple(given)
    wait = parent.group_wait if parent else GROUP_WAIT
    interval = parent.group_interval if parent else GROUP_INTERVAL
    if "group_wait" in data:
        wait = _seconds(data["group_wait"], where)
    if "group_interval" in data:
        interval = _seconds(data["group_interval"], where)
    node = Route(
        receiver,
        _matchers(data, "matchers", "match", where),
        group_by,
        wait,
        interval,
        bool(data.get("continue", False)),
        (),
        key,
    )
    children = data.get("routes") or []
    if not isinstance(children, list):
        raise BacktestError(f"alertmanager: {where}: routes must be a list")
    kids = tuple(_route(c, node, f"{key}.{i}" if key else str(i)) for i, c in enumerate(children))
    return Route(receiver, node.matchers, group_by, wait, interval, node.cont, kids, key)


def read_config(data: Any) -> Alertmanager:
    """An Alertmanager configuration, as ``yaml.safe_load`` reads alertmanager.yml."""
    if not isinstance(data, Mapping) or "route" not in data:
        raise BacktestError("alertmanager: the configuration has no route")
    rules = []
    for i, rule in enumerate(data.get("inhibit_rules") or []):
        where = f"inhibit rule {i + 1}"
        if not isinstance(rule, Mapping):
            raise BacktestError(f"alertmanager: {where} is not a mapping")
        equal = rule.get("equal") or []
        if not isinstance(equal, list) or not all(isinstance(x, str) for x in equal):
            raise BacktestError(f"alertmanager: {where}: equal must be a list of labels")
        rules.append(
            InhibitRule(
                _matchers(rule, "source_matchers", "source_match", where),
                _matchers(rule, "target_matchers", "target_match", where),
                tuple(equal),
            )
        )
    pagers = frozenset(
        r["name"]
        for r in data.get("receivers") or []
        if isinstance(r, Mapping) and r.get("pagerduty_configs")
    )
    return Alertmanager(_route(data["route"], None, ""), tuple(rules), pagers)


def generated_config() -> dict[str, Any]:
    """The Alertmanager configuration ``pitwatch generate`` writes for alert_rules."""
    from alert_rules import DOMAINS
    from alert_rules.alertmanager import config

    return config(DOMAINS)


# -- pages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """A firing episode of one alert, as Prometheus sends it to Alertmanager."""

    labels: LabelPairs  # every label: alertname, severity and team included
    start: float
    end: float  # resolved (the run's end while open)
    open: bool = False

    @property
    def alert(self) -> str:
        return dict(self.labels).get("alertname", "")


@dataclass(frozen=True)
class PagedAlert:
    """An alert a page carried: its name, its scope and its firing episode."""

    alert: str
    labels: LabelPairs  # scope: without alertname, alertstate, severity, team
    start: float
    end: float


@dataclass(frozen=True)
class Page:
    """One PagerDuty incident: a notification group's active set from empty to empty."""

    receiver: str
    teams: tuple[str, ...]
    group: LabelPairs  # the group labels
    start: float  # the first notification: the first flush with an alert still active
    end: float  # the active set empty for good (the resolve goes at the next flush)
    open: bool  # still active at the run's end
    alerts: tuple[PagedAlert, ...]


def _merge(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _subtract(span: Span, cuts: Sequence[Span]) -> list[Span]:
    """``span`` without the (merged, sorted) ``cuts``."""
    out, (start, end) = [], span
    for s, e in cuts:
        if e <= start or s >= end:
            continue
        if s > start:
            out.append((start, s))
        start = max(start, e)
    if start < end:
        out.append((start, end))
    return out


def _key(labels: Labels, names: Sequence[str]) -> tuple[str, ...]:
    return tuple(labels.get(n, "") for n in names)


def unmuted(alerts: Sequence[Sent], rules: Sequence[InhibitRule]) -> list[list[Span]]:
    """For each alert, the stretches of its episode no inhibition rule mutes."""
    labels = [dict(a.labels) for a in alerts]
    # Per rule, its sources by their values of the equal labels.
    sources: list[dict[tuple[str, ...], list[int]]] = []
    for rule in rules:
        index: dict[tuple[str, ...], list[int]] = {}
        for i, lab in enumerate(labels):
            if _all(rule.source, lab):
                index.setdefault(_key(lab, rule.equal), []).append(i)
        sources.append(index)
    out = []
    for alert, lab in zip(alerts, labels, strict=True):
        cuts: list[Span] = []
        for rule, index in zip(rules, sources, strict=True):
            if not _all(rule.target, lab):
                continue
            two_sided = _all(rule.source, lab)
            for j in index.get(_key(lab, rule.equal), []):
                if two_sided and _all(rule.target, labels[j]):
                    continue  # itself among them
                cuts.append((alerts[j].start, alerts[j].end))
        out.append(_subtract((alert.start, alert.end), _merge(cuts)))
    return out


def pages(alerts: Sequence[Sent], config: Alertmanager) -> list[Page]:
    """The pages these firing alerts send through ``config``, in order of their start."""
    groups: dict[tuple[str, LabelPairs], tuple[Route, list[tuple[Span, Sent]]]] = {}
    for alert, pieces in zip(alerts, unmuted(alerts, config.inhibit_rules), strict=True):
        if not pieces:
            continue
        labels = dict(alert.labels)
        for route in config.route.match(labels):
            if route.receiver not in config.pagers:
                continue
            _, members = groups.setdefault((route.key, route.group(labels)), (route, []))
            members += [(piece, alert) for piece in pieces]
    out = []
    for (_, group), (route, members) in groups.items():
        members.sort(key=lambda m: m[0])
        cluster: list[tuple[Span, Sent]] = []
        until = 0.0  # the cluster's last active moment
        for member in members:
            (start, end), _ = member
            if cluster and start - until >= route.group_interval:
                out += _page(route, group, cluster)
                cluster = []
            until = max(until, end) if cluster else end
            cluster.append(member)
        out += _page(route, group, cluster)
    return sorted(out, key=lambda p: (p.start, p.receiver, p.group))


def _first_flush(route: Route, members: Sequence[tuple[Span, Sent]]) -> float | None:
    """When Alertmanager first notifies the group: its first flush (``group_wait`` after
    the first alert) or a later one (every ``group_interval``) at which some alert is
    still firing and not muted. None: every alert resolved or was muted before any flush
    (the explaining alert arrived within ``group_wait``), and nothing is sent."""
    first = min(span[0] for span, _ in members)
    last = max(span[1] for span, _ in members)
    flush = first + route.group_wait
    while flush <= last:
        if any(start <= flush < end for (start, end), _ in members):
            return flush
        flush += route.group_interval
    return None


def _page(route: Route, group: LabelPairs, members: Sequence[tuple[Span, Sent]]) -> list[Page]:
    """The cluster's page, or none when nothing is firing at any of its flushes."""
    start = _first_flush(route, members)
    if start is None:
        return []
    carried: dict[tuple[LabelPairs, float], PagedAlert] = {}
    for _, a in members:
        scope = tuple(sorted((k, v) for k, v in a.labels if k not in NOT_SCOPE))
        carried.setdefault((a.labels, a.start), PagedAlert(a.alert, scope, a.start, a.end))
    teams = {dict(a.labels).get("team", "") for _, a in members} - {""}
    end = max(span[1] for span, _ in members)
    return [
        Page(
            receiver=route.receiver,
            teams=tuple(sorted(teams)),
            group=group,
            start=start,
            end=end,
            open=any(a.open and span[1] >= a.end for span, a in members),
            alerts=tuple(sorted(carried.values(), key=lambda p: (p.start, p.alert, p.labels))),
        )
    ]
