"""Helpers of the backtest tests."""

from __future__ import annotations

from pathlib import Path

import pitwatch.backtest.openmetrics as openmetrics
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
