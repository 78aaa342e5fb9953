"""Helpers of the backtest tests."""

from __future__ import annotations

import re
from pathlib import Path

from tests.alert_rules.tools import require


def require_prometheus() -> None:
    """Skip without prometheus and promtool, except in CI, where their absence fails."""
    require("prometheus")
    require("promtool")


_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+) (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def read_openmetrics(path: Path) -> dict[tuple[tuple[str, str], ...], list[tuple[float, float]]]:
    """Every series of an OpenMetrics file with timestamps: labels -> [(t, value)]."""
    out: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        assert match, line
        name, labels, value, ts = match.groups()
        pairs = [("__name__", name)]
        if labels:
            pairs += [
                (k, v.replace('\\"', '"').replace("\\\\", "\\")) for k, v in _LABEL.findall(labels)
            ]
        out.setdefault(tuple(sorted(pairs)), []).append((float(ts), float(value)))
    return out
