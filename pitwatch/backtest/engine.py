"""Evaluate rule files over a recorded period with a real Prometheus.

The samples become TSDB blocks (``promtool tsdb create-blocks-from openmetrics``) under a
private Prometheus (``prom.LocalPrometheus``). PromQL is Prometheus's own; only two things
happen here:

* Recording rules, level by level in dependency order (a rule reading another rule's
  ``record:`` name comes a level later), are evaluated with range queries on the grid
  ``start + k * interval`` from the first sample on, written as OpenMetrics, loaded as
  blocks, and Prometheus restarted to see them. Not ``promtool tsdb create-blocks-from
  rules``: that evaluates each group at its own hashed phase within the interval, so a rule
  reading a recording rule sees a value up to one interval old per level (measured: 21.5 s
  off the grid at 30 s), where Prometheus and ``promtool test rules`` evaluate a group's
  rules in order at one timestamp.
* Alerting rules: one range query each over ``[start, end]`` at ``interval`` (chunked by
  ``LocalPrometheus.query_range``), then Prometheus's ``for:`` / ``keep_firing_for:`` state
  machine (rules/alerting.go) in ``alert_states``.

Known difference from a live Prometheus: a recording-rule series that vanishes gets no
staleness marker (OpenMetrics cannot write one), so a query still sees its last value for
the lookback (5 min); this matters only for recording rules whose series come and go
(``and`` / ``or`` / ``unless`` / comparison filters). Rule labels are used verbatim (not
templated), and a group's own ``interval:`` is used for its rules where it has one.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pitwatch.backtest.model import AlertSeries, BacktestError, Evaluation, State
from pitwatch.backtest.openmetrics import OpenMetricsWriter
from pitwatch.backtest.prom import LocalPrometheus, Matrix, create_blocks
from pitwatch.backtest.rulefiles import load_rules, recording_levels

Progress = Callable[[str], None]

# promtool reads the whole OpenMetrics file once per block: for a week of 1,000 series at
# 30 s (20M samples, 1.5 GB) 162h blocks load in 28 s, 18h blocks (its "24h") in 93 s.
BLOCK = "162h"

# -- the for: state machine -------------------------------------------------------------------


@dataclass
class _Active:
    labels: tuple[tuple[str, str], ...]
    active_at: float
    state: State
    keep_firing_since: float | None = None


def alert_labels(
    result: Mapping[str, str], rule_labels: Mapping[str, str], alertname: str
) -> tuple[tuple[str, str], ...]:
    """The alert's labels: the result's minus ``__name__``, the rule's on top, alertname."""
    labels = {k: v for k, v in result.items() if k != "__name__"}
    labels.update(rule_labels)
    labels["alertname"] = alertname
    return tuple(sorted(labels.items()))


def alert_states(
    results: Matrix,
    times: Sequence[float],
    *,
    alertname: str,
    for_seconds: float = 0.0,
    keep_firing_for: float = 0.0,
    labels: Mapping[str, str] | None = None,
) -> list[AlertSeries]:
    """Prometheus's alerting state machine over a range query's result, evaluated at every
    time of ``times`` (the query's steps): a label set newly in the result is pending from
    that time, firing once it has been active ``for_seconds`` (at once for 0); absent at an
    evaluation it is resolved and forgotten, unless it was firing and ``keep_firing_for``
    has not run out since it first went missing. One AlertSeries per (state, labels), with
    the time of every evaluation in that state."""
    rule_labels = labels or {}
    index = {round(t, 3): i for i, t in enumerate(times)}
    present: list[dict[tuple[tuple[str, str], ...], None]] = [{} for _ in times]
    dup: set[int] = set()
    for result_labels, points in results:
        key = alert_labels(result_labels, rule_labels, alertname)
        for t, _v in points:
            i = index.get(round(t, 3))
            if i is None:
                continue
            if key in present[i]:
                dup.add(i)  # Prometheus fails the evaluation: no output, state unchanged
            present[i][key] = None
    active: dict[tuple[tuple[str, str], ...], _Active] = {}
    out: dict[tuple[State, tuple[tuple[str, str], ...]], list[float]] = {}
    for i, t in enumerate(times):
        if i in dup:
            continue
        now = present[i]
        for key in now:
            if key not in active:
                active[key] = _Active(key, t, "pending")
        for key in list(active):
            a = active[key]
            if key not in now:
                keep = False
                if a.state == "firing" and keep_firing_for > 0:
                    if a.keep_firing_since is None:
                        a.keep_firing_since = t
                    keep = t - a.keep_firing_since < keep_firing_for
                if not keep:
                    del active[key]
                    continue
            else:
                a.keep_firing_since = None
            if a.state == "pending" and t - a.active_at >= for_seconds:
                a.state = "firing"
            out.setdefault((a.state, key), []).append(t)
    return [
        AlertSeries(alertname, state, key, tuple(ts))
        for (state, key), ts in sorted(out.items(), key=lambda kv: (kv[1][0], kv[0]))
    ]


# -- evaluation -------------------------------------------------------------------------------


def grid(start: float, end: float, step: float) -> list[float]:
    """``start + k * step`` for every k with the time at most ``end``."""
    n = math.floor((end - start) / step + 1e-9) + 1
    return [start + k * step for k in range(max(n, 0))]


def write_openmetrics(
    series: Iterable[tuple[Mapping[str, str], Sequence[tuple[float, float]]]], path: Path
) -> int:
    """Write (labels with ``__name__``, points) as OpenMetrics with timestamps, grouped by
    metric name as the format wants; the number of samples written."""
    by_name: dict[str, list[tuple[Mapping[str, str], Sequence[tuple[float, float]]]]] = {}
    for labels, points in series:
        by_name.setdefault(labels["__name__"], []).append((labels, points))
    with OpenMetricsWriter(path) as writer:
        for name in sorted(by_name):
            for labels, points in by_name[name]:
                writer.series(tuple(sorted(labels.items())), points)
    return writer.samples


def _data_min_time(data_dir: Path) -> float | None:
    """The earliest sample time of the blocks in ``data_dir`` (from their meta.json)."""
    times = []
    for meta in data_dir.glob("*/meta.json"):
        try:
            times.append(json.loads(meta.read_text())["minTime"] / 1000.0)
        except (OSError, ValueError, KeyError):
            continue
    return min(times) if times else None


def _unix(value: datetime) -> float:
    if value.tzinfo is None:
        raise BacktestError(f"{value.isoformat()}: a time needs a time zone (UTC)")
    return value.timestamp()


def evaluate(
    samples: list[Path],
    rule_files: list[Path],
    start: datetime,
    end: datetime,
    interval: float,
    workdir: Path,
    progress: Progress | None = None,
) -> Evaluation:
    """Every alerting rule of ``rule_files`` evaluated every ``interval`` seconds over
    ``[start, end]`` on the OpenMetrics ``samples``, by a private Prometheus whose data
    directory and log live in ``workdir`` (its ``tsdb`` directory is made afresh).
    Recording rules are evaluated from the first sample on (on the same grid), so that
    rules reading their history (``[1d]``, ``offset 1w``) see it; alert states start
    empty at ``start``."""
    say = progress or (lambda _msg: None)
    t0, t1 = round(_unix(start), 3), round(_unix(end), 3)  # Prometheus keeps milliseconds
    if not (interval > 0 and math.isfinite(interval)):
        raise BacktestError(f"evaluation interval must be positive, not {interval}")
    if t1 < t0:
        raise BacktestError(f"the period ends ({end.isoformat()}) before it starts")
    rules = load_rules(rule_files)
    levels = recording_levels(rules.recording)
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / "tsdb"
    if data.exists():
        shutil.rmtree(data)
    for i, path in enumerate(samples, start=1):
        say(f"loading samples {i}/{len(samples)}: {path.name}")
        create_blocks(path, data, max_block_duration=BLOCK)
    first = _data_min_time(data)
    with LocalPrometheus(data, workdir) as prom:
        for n, level in enumerate(levels, start=1):
            say(f"recording rules level {n}/{len(levels)}: {len(level)} rules")
            out: dict[tuple[tuple[str, str], ...], tuple[dict[str, str], list[tuple[float, float]]]]
            out = {}
            for rule in level:
                step = rule.interval or interval
                rs = t0  # back to the first sample, on the grid
                if first is not None and first < t0:
                    rs = t0 - math.floor((t0 - first) / step) * step
                for labels, points in prom.query_range(rule.expr, rs, t1, step):
                    new = {k: v for k, v in labels.items() if k != "__name__"}
                    new.update(rule.labels)
                    new["__name__"] = rule.name
                    key = tuple(sorted(new.items()))
                    if key in out:  # Prometheus would fail such an evaluation; keep the first
                        continue
                    out[key] = (new, points)
            om = workdir / f"recording-level-{n}.om"
            if write_openmetrics(out.values(), om):
                create_blocks(om, data, max_block_duration=BLOCK)
                prom.restart()
            om.unlink()
        series: list[AlertSeries] = []
        for n, alert in enumerate(rules.alerting, start=1):
            say(f"alert {n}/{len(rules.alerting)} {alert.name}")
            step = alert.interval or interval
            results = prom.query_range(alert.expr, t0, t1, step)
            series.extend(
                alert_states(
                    results,
                    grid(t0, t1, step),
                    alertname=alert.name,
                    for_seconds=alert.for_seconds,
                    keep_firing_for=alert.keep_firing_for,
                    labels=alert.labels,
                )
            )
        engine = prom.version
    names = tuple(dict.fromkeys(a.name for a in rules.alerting))
    return Evaluation(
        start.astimezone(UTC), end.astimezone(UTC), interval, tuple(series), names, engine
    )
