"""The oracle: ``promtool test rules``'s own firings on a slice of recorded samples, to check
the engine against (tests/backtest/test_engine.py).

The samples in ``[start, end]`` become one promtool unit test: every series as
``input_series`` at ``interval`` (``_`` where it has no sample), and for every alert at
every evaluation time an ``alert_rule_test`` that expects nothing. promtool reports every
firing alert as a failure; its "got:" lists are parsed back into firing label sets.

promtool's clock starts at 0, so times are shifted by ``start``: expressions comparing
``time()`` with sample values (timestamps) differ from the engine's; keep such series out
of an oracle slice. Keep the slice short (hours): promtool evaluates every rule at every
step in memory.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import yaml

from pitwatch.backtest.engine import grid
from pitwatch.backtest.model import AlertSeries, BacktestError
from pitwatch.backtest.openmetrics import Key, parse_labels, read_openmetrics
from pitwatch.backtest.prom import promtool
from pitwatch.backtest.rulefiles import load_rules

_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m|s|ms)")
_GO_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def _series_name(key: Key) -> str:
    labels = dict(key)
    name = labels.pop("__name__")
    inner = ", ".join(
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in sorted(labels.items())
    )
    return f"{name}{{{inner}}}" if inner else name


def _promtool_value(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Inf" if v > 0 else "-Inf"
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


def _go_duration(text: str) -> float:
    parts = _GO_DURATION.findall(text)
    if not parts:
        raise BacktestError(f"promtool output: {text!r} is not a duration")
    return sum(float(n) * _GO_UNITS[u] for n, u in parts)


def _seconds(value: float) -> str:
    return f"{round(value * 1000)}ms"


def unit_test(
    om_file: Path, rule_files: list[Path], start: float, end: float, interval: float
) -> dict[str, object]:
    """The promtool unit-test document for the samples of ``om_file`` in ``[start, end]``."""
    times = grid(start, end, interval)
    values: dict[Key, list[str]] = {}
    for key, t, v in read_openmetrics(om_file):
        if t < start - 1e-6 or t > end + 1e-6:
            continue
        k = (t - start) / interval
        i = round(k)
        if abs(k - i) > 1e-6:
            raise BacktestError(
                f"{om_file}: a sample at {t} is off the {interval:g} s grid from {start}"
            )
        row = values.setdefault(key, ["_"] * len(times))
        row[i] = _promtool_value(v)
    alerts = list(dict.fromkeys(a.name for a in load_rules(rule_files).alerting))
    return {
        "rule_files": [str(p.resolve()) for p in rule_files],
        "evaluation_interval": _seconds(interval),
        "tests": [
            {
                "interval": _seconds(interval),
                "input_series": [
                    {"series": _series_name(key), "values": " ".join(row)}
                    for key, row in sorted(values.items())
                ],
                "alert_rule_test": [
                    {"eval_time": _seconds(t - start), "alertname": name, "exp_alerts": []}
                    for name in alerts
                    for t in times
                ],
            }
        ],
    }


_FAILURE = re.compile(r"alertname: (\S+), time: (\S+),")
_GOT_LABELS = re.compile(r"^\s*Labels:\{(.*)\}\s*$")


def parse_failures(output: str) -> dict[tuple[str, Key], list[float]]:
    """promtool's failure report → {(alertname, labels): [eval time offsets]} (firing)."""
    firing: dict[tuple[str, Key], list[float]] = {}
    current: tuple[str, float] | None = None
    in_got = False
    for line in output.splitlines():
        if m := _FAILURE.search(line):
            current, in_got = (m.group(1), _go_duration(m.group(2))), False
        elif current is not None and line.strip().startswith("got:"):
            in_got = True
        elif current is not None and in_got and (g := _GOT_LABELS.match(line)):
            labels = parse_labels(g.group(1), "promtool output")
            key = tuple(sorted(labels.items()))
            firing.setdefault((current[0], key), []).append(current[1])
    return firing


def promtool_firings(
    om_file: Path, rule_files: list[Path], start: float, end: float, interval: float
) -> list[AlertSeries]:
    """Every firing alert series promtool's rule unit test sees on the samples of
    ``om_file`` in ``[start, end]`` (Unix seconds), evaluated every ``interval`` seconds
    from ``start``; timestamps in Unix seconds."""
    doc = unit_test(om_file, rule_files, start, end, interval)
    test_file = om_file.with_name(om_file.stem + ".promtool-test.yml")
    test_file.write_text(yaml.safe_dump(doc, sort_keys=False, width=1 << 20), encoding="utf-8")
    done = promtool(["test", "rules", str(test_file)], timeout=1800)
    if done.returncode == 0:
        return []  # nothing fired
    report = done.stdout + "\n" + done.stderr
    firing = parse_failures(report)
    if not firing:
        last = [ln.strip() for ln in report.splitlines() if ln.strip()][-1:] or ["(no output)"]
        raise BacktestError(f"promtool test rules failed: {last[0][:300]}")
    return [
        AlertSeries(
            name,
            "firing",
            key,
            tuple(sorted(round(start + off, 3) for off in offsets)),
        )
        for (name, key), offsets in sorted(firing.items())
    ]
