"""Helpers of the backtest tests."""

from __future__ import annotations

from pathlib import Path

import pitwatch.backtest.openmetrics as openmetrics
from pitwatch.backtest.model import AlertSeries, Evaluation
from tests.alert_rules.tools import require


def require_prometheus() -> None:
    """Skip without prometheus and promtool, except in CI, where their absence fails."""
    require("prometheus")
    require("promtool")


def read_openmetrics(path: Path) -> dict[tuple[tuple[str, str], ...], list[tuple[float, float]]]:
    """Every series of an OpenMetrics file with timestamps: labels -> [(t, value)]."""
    out: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
    for key, t, value in openmetrics.read_openmetrics(path):
        out.setdefault(key, []).append((t, value))
    return out


def episodes(timestamps: tuple[float, ...], interval: float) -> list[tuple[float, float]]:
    """Runs of evaluation times at most one interval apart: (first, last)."""
    out: list[tuple[float, float]] = []
    for t in timestamps:
        if out and t - out[-1][1] <= interval + 1e-6:
            out[-1] = (out[-1][0], t)
        else:
            out.append((t, t))
    return out


Episodes = dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[float, float]]]


def assert_agree(
    evaluation: Evaluation,
    oracle: list[AlertSeries],
    interval: float,
    skip: frozenset[str] = frozenset(),
) -> Episodes:
    """The engine's firing episodes and promtool's: the same alerts and label sets, the same
    number of episodes, each starting and ending within one evaluation interval. Returns
    promtool's (``skip``: alerts left out of the comparison)."""
    mine = {
        (a.alertname, a.labels): episodes(a.timestamps, interval)
        for a in evaluation.series
        if a.state == "firing" and a.alertname not in skip
    }
    theirs = {
        (a.alertname, a.labels): episodes(a.timestamps, interval)
        for a in oracle
        if a.alertname not in skip
    }
    assert mine.keys() == theirs.keys()
    for key, eps in theirs.items():
        assert len(mine[key]) == len(eps), (key, mine[key], eps)
        for (s1, e1), (s2, e2) in zip(mine[key], eps, strict=True):
            assert abs(s1 - s2) <= interval and abs(e1 - e2) <= interval, (key, mine[key], eps)
    return theirs
