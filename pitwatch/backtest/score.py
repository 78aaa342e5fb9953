"""Scoring: what the alerts did over a run against the incidents that really happened.

Firing and pending episodes are built from the raw ``ALERTS`` samples of an
``Evaluation``: samples no further apart than one evaluation interval form one episode,
which ends one interval after its last sample (the evaluation that no longer saw it) or is
open at the run's end. A firing episode catches an incident when its alert declares a
``Catch`` for the incident's type (``alert_rules``), the scope agrees (each label the
catch maps and both sides carry is equal) and the episode overlaps the incident's window
``[start, end + grace]``. An episode that catches nothing but overlaps some incident's
window is that incident's collateral (a page or a warning it caused); any other is a false
alert, counted per simulated week and by severity.

Pages are what PagerDuty receives after Alertmanager (``paging``: inhibition, then grouping)
from the firing episodes. A page counts on an incident when an alert it carried fired on the
incident (caught or collateral) and the page starts within the incident's window; a page
carrying no alert that fired on any incident is a false page. Critical firing episodes are
still counted (``critical_firings``): what would page without Alertmanager.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from alert_rules.model import Catch, seconds
from ground.vocabulary import INCIDENT_SCOPE_KEYS, INCIDENT_TYPES
from pitwatch.backtest.model import AlertSeries, BacktestError, Evaluation, State
from pitwatch.backtest.paging import NOT_SCOPE, Page, Sent, generated_config, pages, read_config

GRACE = timedelta(minutes=15)
WEEK = 7 * 86400.0
Kind = Literal["declared", "collateral", "false"]


# -- what the scorer is told about the alerts --------------------------------------------


@dataclass(frozen=True)
class AlertInfo:
    """What scoring needs of an alert: who it wakes, what it promises, what it catches."""

    name: str
    severity: str
    team: str
    promise: str | None = None  # alert_rules' ``detection``: incident start to firing
    catches: tuple[Catch, ...] = ()

    @property
    def promise_seconds(self) -> float | None:
        return seconds(self.promise) if self.promise else None


def declared() -> dict[str, AlertInfo]:
    """Every alert of ``alert_rules``, as declared beside its rule."""
    from alert_rules import all_alerts

    return {
        a.name: AlertInfo(a.name, a.severity, a.team, a.detection, a.catches) for a in all_alerts()
    }


def parse_catches(
    data: Any, alerts: Mapping[str, AlertInfo], source: str = "catches"
) -> dict[str, AlertInfo]:
    """``alerts`` with the catches of a mapping (an operator's, read from JSON or YAML):
    ``{alert: [incident_type | {incident, scope: {label: key}, needs: [...]}, ...]}``.
    An alert or incident type the mapping names and nobody knows is a BacktestError."""
    if not isinstance(data, Mapping):
        raise BacktestError(f"{source}: a mapping of alert name to incident types")
    out = dict(alerts)
    for name, entries in data.items():
        if name not in alerts:
            raise BacktestError(f"{source}: unknown alert {name!r}")
        if not isinstance(entries, list):
            raise BacktestError(f"{source}: {name}: a list of incident types")
        catches = []
        for entry in entries:
            spec: Any = {"incident": entry} if isinstance(entry, str) else entry
            try:
                catch = Catch(
                    incident=spec["incident"],
                    scope=dict(spec.get("scope") or {}),
                    needs=tuple(spec.get("needs") or ()),
                )
            except (KeyError, TypeError, AttributeError):
                raise BacktestError(
                    f"{source}: {name}: {entry!r} is not an incident type or "
                    "{incident, scope, needs}"
                ) from None
            if catch.incident not in INCIDENT_TYPES:
                raise BacktestError(f"{source}: {name}: unknown incident type {catch.incident!r}")
            if (problem := catch.problem(catch.scope)) is not None:  # labels are the user's
                raise BacktestError(f"{source}: {name}: {problem}")
            catches.append(catch)
        out[name] = replace(alerts[name], catches=tuple(catches))
    return out


# -- incidents ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Incident:
    """One line of incidents.jsonl, times in Unix seconds; ``index`` is its position."""

    index: int
    type: str
    scope: dict[str, str]
    start: float
    end: float  # the run's end while ``open``
    parameters: dict[str, Any]
    note: str | None = None
    open: bool = False  # still going when the run ended


def _time(value: Any, what: str) -> float:
    if not isinstance(value, str):
        raise ValueError(f"{what} is not an ISO 8601 time: {value!r}")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{what} is not an ISO 8601 time: {value!r}") from None
    if when.tzinfo is None:
        raise ValueError(f"{what} has no time zone: {value!r}")
    return when.timestamp()


def incident(row: Any, index: int, run_end: float | None = None) -> Incident:
    """One incident from its incidents.jsonl object; ValueError says what is wrong."""
    if not isinstance(row, Mapping):
        raise ValueError("not a JSON object")
    kind = row.get("type")
    if kind not in INCIDENT_TYPES:
        raise ValueError(f"unknown incident type {kind!r}")
    scope = row.get("scope") or {}
    if not isinstance(scope, Mapping) or not all(
        k in INCIDENT_SCOPE_KEYS and isinstance(v, str) for k, v in scope.items()
    ):
        raise ValueError(f"scope must map {', '.join(INCIDENT_SCOPE_KEYS)} to text: {scope!r}")
    parameters = row.get("parameters") or {}
    if not isinstance(parameters, Mapping):
        raise ValueError(f"parameters must be an object: {parameters!r}")
    start = _time(row.get("start"), "start")
    is_open = row.get("end") is None
    end = (run_end if run_end is not None else start) if is_open else _time(row["end"], "end")
    if end < start:
        raise ValueError("the incident ends before it starts")
    note = row.get("note")
    return Incident(
        index, kind, dict(scope), start, end, dict(parameters), note if note else None, is_open
    )


def parse_incidents(
    rows: Iterable[Any], run_end: float | None = None, source: str = "incidents"
) -> list[Incident]:
    """Incidents as ``Simulation.incidents`` (or incidents.jsonl) holds them."""
    out = []
    for i, row in enumerate(rows):
        try:
            out.append(incident(row, i, run_end))
        except ValueError as exc:
            raise BacktestError(f"{source}: incident {i + 1}: {exc}") from None
    return out


def read_incidents(path: Path, run_end: float | None = None) -> list[Incident]:
    """incidents.jsonl (one JSON object a line; blank lines skipped). A bad line is a
    BacktestError naming the file and the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BacktestError(f"{path}: cannot read: {exc.strerror or exc}") from None
    out: list[Incident] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(incident(json.loads(line), len(out), run_end))
        except json.JSONDecodeError as exc:
            raise BacktestError(f"{path}:{number}: not JSON: {exc.msg}") from None
        except ValueError as exc:
            raise BacktestError(f"{path}:{number}: {exc}") from None
    return out


# -- episodes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Episode:
    """A stretch of consecutive ALERTS samples of one series."""

    alert: str
    state: State
    labels: tuple[tuple[str, str], ...]
    start: float  # the first sample
    last: float  # the last sample
    end: float  # resolution: last + interval; the run's end while open
    open: bool  # still there at the run's last evaluation

    def label(self, name: str) -> str | None:
        return dict(self.labels).get(name)


_SCOPE_NOISE = NOT_SCOPE


def episodes(series: AlertSeries, interval: float, run_end: float) -> list[Episode]:
    """The series' samples cut wherever two are more than one interval apart."""
    out: list[Episode] = []
    times = sorted(series.timestamps)
    slack = interval * 1e-3  # evaluation times are floats
    labels = tuple((k, v) for k, v in series.labels if k not in _SCOPE_NOISE)
    i = 0
    while i < len(times):
        j = i
        while j + 1 < len(times) and times[j + 1] - times[j] <= interval + slack:
            j += 1
        last = times[j]
        # No evaluation after the last sample saw it gone (whether the engine's last
        # evaluation falls on the run's end or one interval before it): still open.
        is_open = last + interval >= run_end - slack
        end = run_end if is_open else last + interval
        out.append(Episode(series.alertname, series.state, labels, times[i], last, end, is_open))
        i = j + 1
    return out


def all_episodes(evaluation: Evaluation) -> list[Episode]:
    run_end = evaluation.end.timestamp()
    out = [e for s in evaluation.series for e in episodes(s, evaluation.interval, run_end)]
    return sorted(out, key=lambda e: (e.alert, e.state, e.start, e.labels))


# -- the scores --------------------------------------------------------------------------


@dataclass(frozen=True)
class Detection:
    """One alert on one incident it declares it catches."""

    alert: str
    incident: int
    caught: bool
    delay: float | None = None  # incident start -> first firing sample (>= 0)
    reset: float | None = None  # incident end -> end of the last matching episode
    still_firing: bool = False  # a matching episode was open at the run's end: no reset
    within_promise: bool | None = None


@dataclass(frozen=True)
class Firing:
    """A firing episode and what it was: a catch, an incident's collateral, or false."""

    alert: str
    severity: str
    labels: tuple[tuple[str, str], ...]
    start: float
    end: float
    open: bool
    kind: Kind
    incidents: tuple[int, ...]  # caught (declared) or overlapped (collateral)


@dataclass(frozen=True)
class AlertScore:
    alert: str
    team: str
    severity: str
    promise: str | None
    promise_seconds: float | None
    catches: tuple[str, ...]  # Catch.describe()
    incidents: int  # of the types it declares
    caught: int
    missed: int
    within_promise: int
    detection_median: float | None
    detection_worst: float | None
    reset_median: float | None
    still_firing: int  # caught incidents without a reset (open at the run's end)
    firings: int  # firing episodes in the measured period
    collateral: int
    false_alerts: int
    false_per_week: float
    # False firings of a critical alert a week: the alert's own share, before Alertmanager
    # (the run's and the teams' false pages count PagerDuty's pages).
    false_pages_per_week: float


@dataclass(frozen=True)
class TypeScore:
    incident: str
    incidents: int
    caught: int  # by at least one alert declaring the type
    declared_by: tuple[str, ...]
    caught_by: dict[str, int]  # alert -> incidents of the type it caught
    detection_best: float | None  # the median over the incidents of their first detection
    detection_worst: float | None  # the latest first detection
    pages: int  # Alertmanager's pages on the incidents, summed
    pages_per_incident: tuple[int, ...]  # each incident's (the target: 1 each)
    # each incident's: a critical alert is meant for it (else the target is no page)
    pageworthy_per_incident: tuple[bool, ...]
    paged_teams: tuple[str, ...]
    critical_firings: int  # critical firing episodes on the incidents (caught or collateral)
    warnings: int
    # incidents some alert is meant to catch (a catch holds for their parameters: an
    # affiliate endpoint that answers 200 and loses postbacks is none's; reconciliation's)
    meant: int


@dataclass(frozen=True)
class IncidentScore:
    index: int
    type: str
    scope: dict[str, str]
    start: float
    end: float
    open: bool
    note: str | None
    detections: tuple[Detection, ...]  # every alert declaring the type
    firings: tuple[Firing, ...]  # every firing on it, declared or collateral
    first_detection: float | None
    # A critical alert is meant for it (its catch holds for the incident's parameters: a
    # deploy without a regression is not): the target is one page, else none.
    pageworthy: bool
    pages: int  # the PagerDuty pages it caused (after inhibition and grouping)
    paged_teams: tuple[str, ...]
    paged: tuple[Page, ...]  # those pages
    critical_firings: int  # critical firing episodes on it
    warnings: int  # the other firing episodes on it


@dataclass(frozen=True)
class TeamScore:
    team: str
    false_alerts: int
    false_pages: int  # pages to the team that no incident explains
    false_per_week: float
    false_pages_per_week: float


@dataclass(frozen=True)
class RunScore:
    """One run scored: per alert, per incident type, per incident, per team."""

    run: str
    start: float
    end: float
    measured_from: float
    interval: float
    grace: float
    weeks: float  # the measured period in weeks
    engine: str
    alerts: tuple[AlertScore, ...]
    types: tuple[TypeScore, ...]
    incidents: tuple[IncidentScore, ...]
    teams: tuple[TeamScore, ...]
    episodes: tuple[Episode, ...]  # pending and firing, for the timelines
    firings: tuple[Firing, ...]
    pages: tuple[Page, ...]  # every PagerDuty page in the measured period
    false_pages: int  # pages no incident explains

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _scope_agrees(catch: Catch, episode: Episode, inc: Incident) -> bool:
    for label, key in catch.scope.items():
        ours, theirs = episode.label(label), inc.scope.get(key)
        if ours is not None and theirs is not None and ours != theirs:
            return False
    return True


def _overlaps(episode: Episode, inc: Incident, grace: float) -> bool:
    return episode.start <= inc.end + grace and episode.end > inc.start


def _targets(info: AlertInfo, inc: Incident) -> list[Catch]:
    return [c for c in info.catches if c.incident == inc.type and c.wants(inc.parameters)]


def _info(name: str, alerts: Mapping[str, AlertInfo], evaluation: Evaluation) -> AlertInfo:
    if name in alerts:
        return alerts[name]
    # An alert of the operator's own rules: who it wakes is on its series.
    labels = next((dict(s.labels) for s in evaluation.series if s.alertname == name), {})
    return AlertInfo(name, labels.get("severity", "unknown"), labels.get("team", "unknown"))


def score(
    evaluation: Evaluation,
    incidents: Sequence[Incident] | Sequence[Mapping[str, Any]],
    alerts: Mapping[str, AlertInfo] | None = None,
    *,
    measured_from: datetime | None = None,
    grace: timedelta = GRACE,
    run: str = "",
    alertmanager: Mapping[str, Any] | None = None,
) -> RunScore:
    """Score one run. ``incidents`` as ``read_incidents`` returns them or as rows of
    incidents.jsonl; ``alerts`` defaults to ``declared()``; ``alertmanager`` (a
    configuration as alertmanager.yml holds it) to the one alert_rules generates. Firings
    that end before ``measured_from`` (the warm-up) and incidents that ended before it are
    left out."""
    alerts = declared() if alerts is None else alerts
    routing = read_config(generated_config() if alertmanager is None else alertmanager)
    run_start, run_end = evaluation.start.timestamp(), evaluation.end.timestamp()
    evaluated = set(evaluation.alerts) | {s.alertname for s in evaluation.series}
    for name, given in alerts.items():
        for catch in given.catches:
            if catch.incident not in INCIDENT_TYPES:
                raise BacktestError(f"{name}: catches unknown incident type {catch.incident!r}")
        if given.catches and name not in evaluated:
            raise BacktestError(f"catches name alert {name!r}, which the evaluation lacks")
    if incidents and not isinstance(incidents[0], Incident):
        incs = parse_incidents(incidents, run_end)
    else:
        incs = [i for i in incidents if isinstance(i, Incident)]
    since = max(run_start, measured_from.timestamp() if measured_from else run_start)
    if run_end <= since:
        raise BacktestError("nothing to score: the evaluation ends before the measured period")
    weeks = (run_end - since) / WEEK
    g = grace.total_seconds()
    incs = [i for i in incs if i.end + g >= since]
    names = [n for n in alerts if n in evaluated] + sorted(evaluated - set(alerts))
    info = {n: _info(n, alerts, evaluation) for n in names}
    eps = all_episodes(evaluation)
    firing_eps = [e for e in eps if e.state == "firing" and e.end > since]

    # An incident no alert is meant to catch (a traffic surge, a deploy without a
    # regression) is normal business: what fires on it is false, not its collateral.
    faults = {i.index for i in incs if any(_targets(info[n], i) for n in names)}

    firings: list[Firing] = []
    for e in firing_eps:
        me = info[e.alert]
        caught = tuple(
            i.index
            for i in incs
            if _overlaps(e, i, g) and any(_scope_agrees(c, e, i) for c in _targets(me, i))
        )
        touched = caught or tuple(i.index for i in incs if i.index in faults and _overlaps(e, i, g))
        kind: Kind = "declared" if caught else "collateral" if touched else "false"
        firings.append(
            Firing(e.alert, me.severity, e.labels, e.start, e.end, e.open, kind, touched)
        )

    detections: dict[tuple[str, int], Detection] = {}
    for name in names:
        me = info[name]
        promise = me.promise_seconds
        for inc in incs:
            if not _targets(me, inc):
                continue
            mine = [
                f
                for f in firings
                if f.alert == name and f.kind == "declared" and inc.index in f.incidents
            ]
            if not mine:
                detections[name, inc.index] = Detection(name, inc.index, caught=False)
                continue
            delay = max(0.0, min(f.start for f in mine) - inc.start)
            still = any(f.open for f in mine) or inc.open
            reset = None if still else max(f.end for f in mine) - inc.end
            within = None if promise is None else delay <= promise
            detections[name, inc.index] = Detection(
                name, inc.index, True, delay, reset, any(f.open for f in mine), within
            )

    # Pages: from every firing episode (the warm-up's too: they may inhibit), those still
    # going in the measured period; what each explains is what its alerts fired on.
    sent = [p for p in pages(_sent(evaluation, info), routing) if p.end > since]
    by_key = {(f.alert, tuple(sorted(f.labels)), f.start): f for f in firings}
    explains = [_explains(p, by_key) for p in sent]
    false_pages = [p for p, on in zip(sent, explains, strict=True) if not on]

    alert_scores = tuple(_alert_score(info[n], detections, firings, weeks) for n in names)
    incident_scores = tuple(
        _incident_score(
            i,
            detections,
            firings,
            [
                p
                for p, on in zip(sent, explains, strict=True)
                if i.index in on and i.start <= p.start <= i.end + g
            ],
            info,
        )
        for i in incs
    )
    types = tuple(_type_score(t, incident_scores, info) for t in INCIDENT_TYPES)
    teams = tuple(
        _team_score(
            t,
            [f for f in firings if info[f.alert].team == t],
            sum(t in p.teams for p in false_pages),
            weeks,
        )
        for t in sorted({info[n].team for n in names} | {t for p in sent for t in p.teams})
    )
    return RunScore(
        run=run,
        start=run_start,
        end=run_end,
        measured_from=since,
        interval=evaluation.interval,
        grace=g,
        weeks=weeks,
        engine=evaluation.engine,
        alerts=alert_scores,
        types=tuple(t for t in types if t.incidents or t.declared_by),
        incidents=incident_scores,
        teams=teams,
        episodes=tuple(e for e in eps if e.end > since),
        firings=tuple(firings),
        pages=tuple(sent),
        false_pages=len(false_pages),
    )


def _explains(page: Page, firings: Mapping[tuple[Any, ...], Firing]) -> set[int]:
    """The incidents the page's alerts fired on (caught or collateral)."""
    out: set[int] = set()
    for a in page.alerts:
        f = firings.get((a.alert, a.labels, a.start))
        out.update(f.incidents if f else ())
    return out


def _sent(evaluation: Evaluation, info: Mapping[str, AlertInfo]) -> list[Sent]:
    """Every firing episode with the labels Alertmanager matches on; an alert whose series
    lacks severity or team (a test's) takes its declared ones."""
    run_end = evaluation.end.timestamp()
    out = []
    for s in evaluation.series:
        if s.state != "firing":
            continue
        me = info.get(s.alertname)
        labels = {"severity": me.severity, "team": me.team} if me else {}
        labels.update((k, v) for k, v in s.labels if k != "alertstate")
        labels["alertname"] = s.alertname
        pairs = tuple(sorted(labels.items()))
        out += [
            Sent(pairs, e.start, e.end, e.open) for e in episodes(s, evaluation.interval, run_end)
        ]
    return out


def _alert_score(
    me: AlertInfo,
    detections: Mapping[tuple[str, int], Detection],
    firings: Sequence[Firing],
    weeks: float,
) -> AlertScore:
    mine = [d for (name, _), d in detections.items() if name == me.name]
    caught = [d for d in mine if d.caught]
    delays = [d.delay for d in caught if d.delay is not None]
    resets = [d.reset for d in caught if d.reset is not None]
    fired = [f for f in firings if f.alert == me.name]
    false = sum(f.kind == "false" for f in fired)
    return AlertScore(
        alert=me.name,
        team=me.team,
        severity=me.severity,
        promise=me.promise,
        promise_seconds=me.promise_seconds,
        catches=tuple(c.describe() for c in me.catches),
        incidents=len(mine),
        caught=len(caught),
        missed=len(mine) - len(caught),
        within_promise=sum(bool(d.within_promise) for d in caught),
        detection_median=_median(delays),
        detection_worst=max(delays) if delays else None,
        reset_median=_median(resets),
        still_firing=sum(d.still_firing for d in caught),
        firings=len(fired),
        collateral=sum(f.kind == "collateral" for f in fired),
        false_alerts=false,
        false_per_week=false / weeks,
        false_pages_per_week=false / weeks if me.severity == "critical" else 0.0,
    )


def _incident_score(
    inc: Incident,
    detections: Mapping[tuple[str, int], Detection],
    firings: Sequence[Firing],
    paged: Sequence[Page],
    info: Mapping[str, AlertInfo],
) -> IncidentScore:
    mine = tuple(d for (_, i), d in sorted(detections.items()) if i == inc.index)
    on_it = tuple(f for f in firings if inc.index in f.incidents)
    delays = [d.delay for d in mine if d.delay is not None]
    return IncidentScore(
        index=inc.index,
        type=inc.type,
        scope=inc.scope,
        start=inc.start,
        end=inc.end,
        open=inc.open,
        note=inc.note,
        detections=mine,
        firings=on_it,
        first_detection=min(delays) if delays else None,
        pageworthy=any(info[d.alert].severity == "critical" for d in mine),
        pages=len(paged),
        paged_teams=tuple(sorted({t for p in paged for t in p.teams})),
        paged=tuple(paged),
        critical_firings=sum(f.severity == "critical" for f in on_it),
        warnings=sum(f.severity != "critical" for f in on_it),
    )


def _type_score(
    kind: str, incidents: Sequence[IncidentScore], info: Mapping[str, AlertInfo]
) -> TypeScore:
    mine = [i for i in incidents if i.type == kind]
    firsts = [i.first_detection for i in mine if i.first_detection is not None]
    caught_by: dict[str, int] = {}
    for i in mine:
        for d in i.detections:
            if d.caught:
                caught_by[d.alert] = caught_by.get(d.alert, 0) + 1
    return TypeScore(
        incident=kind,
        incidents=len(mine),
        caught=len(firsts),
        declared_by=tuple(n for n, a in info.items() if any(c.incident == kind for c in a.catches)),
        caught_by=caught_by,
        detection_best=_median(firsts),
        detection_worst=max(firsts) if firsts else None,
        pages=sum(i.pages for i in mine),
        pages_per_incident=tuple(i.pages for i in mine),
        pageworthy_per_incident=tuple(i.pageworthy for i in mine),
        paged_teams=tuple(sorted({t for i in mine for t in i.paged_teams})),
        critical_firings=sum(i.critical_firings for i in mine),
        warnings=sum(i.warnings for i in mine),
        meant=sum(bool(i.detections) for i in mine),
    )


def _team_score(team: str, firings: Sequence[Firing], false_pages: int, weeks: float) -> TeamScore:
    false = [f for f in firings if f.kind == "false"]
    return TeamScore(team, len(false), false_pages, len(false) / weeks, false_pages / weeks)


# -- several runs ------------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """One figure across runs: its median and its worst (highest or lowest, as bad goes)."""

    median: float | None
    worst: float | None


def spread(values: Iterable[float | None], worse: Literal["high", "low"] = "high") -> Spread:
    present = [v for v in values if v is not None and not math.isnan(v)]
    if not present:
        return Spread(None, None)
    return Spread(_median(present), max(present) if worse == "high" else min(present))


@dataclass(frozen=True)
class AlertAggregate:
    alert: str
    team: str
    severity: str
    promise: str | None
    promise_seconds: float | None
    catches: tuple[str, ...]
    incidents: Spread
    caught: Spread
    missed: Spread
    detection_median: Spread
    detection_worst: Spread
    reset_median: Spread
    false_per_week: Spread
    false_pages_per_week: Spread
    collateral: Spread


@dataclass(frozen=True)
class TypeAggregate:
    incident: str
    declared_by: tuple[str, ...]
    caught_by: dict[str, int]  # summed over the runs
    incidents: Spread
    caught: Spread
    detection_best: Spread
    detection_worst: Spread
    pages: Spread
    pages_per_incident: tuple[int, ...]  # every incident's, over the runs
    pageworthy_per_incident: tuple[bool, ...]  # the same incidents'
    paged_teams: tuple[str, ...]  # over the runs
    critical_firings: Spread
    warnings: Spread
    meant: Spread


@dataclass(frozen=True)
class TeamAggregate:
    team: str
    false_per_week: Spread
    false_pages_per_week: Spread


@dataclass(frozen=True)
class Aggregate:
    """Several runs (seeds) of the same rules: the median and the worst of each figure."""

    runs: tuple[str, ...]
    weeks: float  # measured, over all runs
    alerts: tuple[AlertAggregate, ...]
    types: tuple[TypeAggregate, ...]
    teams: tuple[TeamAggregate, ...]
    engines: tuple[str, ...] = field(default=())
    false_pages: Spread = Spread(None, None)  # per run: pages no incident explains

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _by(items: Iterable[Any], key: Callable[[Any], str]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for item in items:
        out.setdefault(key(item), []).append(item)
    return out


def aggregate(runs: Sequence[RunScore]) -> Aggregate:
    if not runs:
        raise BacktestError("nothing to aggregate: no run was scored")
    alerts = []
    for name, scores in _by((a for r in runs for a in r.alerts), lambda a: a.alert).items():
        first = scores[0]

        def s(attr: str, worse: Literal["high", "low"] = "high") -> Spread:
            return spread((getattr(x, attr) for x in scores), worse)  # noqa: B023

        alerts.append(
            AlertAggregate(
                alert=name,
                team=first.team,
                severity=first.severity,
                promise=first.promise,
                promise_seconds=first.promise_seconds,
                catches=first.catches,
                incidents=s("incidents"),
                caught=s("caught", "low"),
                missed=s("missed"),
                detection_median=s("detection_median"),
                detection_worst=s("detection_worst"),
                reset_median=s("reset_median"),
                false_per_week=s("false_per_week"),
                false_pages_per_week=s("false_pages_per_week"),
                collateral=s("collateral"),
            )
        )
    types = []
    for kind, scores in _by((t for r in runs for t in r.types), lambda t: t.incident).items():
        caught_by: dict[str, int] = {}
        for t in scores:
            for alert, n in t.caught_by.items():
                caught_by[alert] = caught_by.get(alert, 0) + n
        types.append(
            TypeAggregate(
                incident=kind,
                declared_by=scores[0].declared_by,
                caught_by=caught_by,
                incidents=spread(t.incidents for t in scores),
                caught=spread((t.caught for t in scores), "low"),
                detection_best=spread(t.detection_best for t in scores),
                detection_worst=spread(t.detection_worst for t in scores),
                pages=spread(t.pages for t in scores),
                pages_per_incident=tuple(n for t in scores for n in t.pages_per_incident),
                pageworthy_per_incident=tuple(w for t in scores for w in t.pageworthy_per_incident),
                paged_teams=tuple(sorted({team for t in scores for team in t.paged_teams})),
                critical_firings=spread(t.critical_firings for t in scores),
                warnings=spread(t.warnings for t in scores),
                meant=spread(t.meant for t in scores),
            )
        )
    teams = [
        TeamAggregate(
            team,
            spread(t.false_per_week for t in scores),
            spread(t.false_pages_per_week for t in scores),
        )
        for team, scores in _by((t for r in runs for t in r.teams), lambda t: t.team).items()
    ]
    order = {kind: i for i, kind in enumerate(INCIDENT_TYPES)}
    return Aggregate(
        runs=tuple(r.run for r in runs),
        weeks=sum(r.weeks for r in runs),
        alerts=tuple(alerts),
        types=tuple(sorted(types, key=lambda t: order.get(t.incident, len(order)))),
        teams=tuple(sorted(teams, key=lambda t: t.team)),
        engines=tuple(sorted({r.engine for r in runs})),
        false_pages=spread(r.false_pages for r in runs),
    )


def iso(ts: float) -> str:
    """Unix seconds as ISO 8601 UTC, as the reports print them."""
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
