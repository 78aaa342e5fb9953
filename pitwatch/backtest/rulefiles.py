"""Prometheus rule files as the backtest reads them: the rules, and the metric names each
expression selects (to know which raw series an evaluation needs and which recording rules
must be evaluated before which)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pitwatch.backtest.model import BacktestError

# PromQL words that look like metric names: functions, aggregations, keywords, modifiers.
_NOT_METRICS = frozenset(
    """
    abs absent absent_over_time and avg avg_over_time bool bottomk by ceil changes clamp
    clamp_max clamp_min count count_over_time count_values day_of_month day_of_week
    day_of_year days_in_month delta deriv exp floor group group_left group_right
    histogram_count histogram_fraction histogram_quantile histogram_sum holt_winters hour
    idelta ignoring increase inf irate label_join label_replace last_over_time ln log10
    log2 max max_over_time min min_over_time minute month nan offset on or predict_linear
    present_over_time quantile quantile_over_time rate resets round scalar sgn sort
    sort_desc sqrt stddev stddev_over_time stdvar stdvar_over_time sum sum_over_time time
    timestamp topk unless vector without year atan2 start end
    """.split()  # noqa: SIM905
)
_TOKEN = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
# What a metric name cannot be: inside quotes, a label name before = or =~, a duration.
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_COMMENT = re.compile(r"#[^\n]*")
_BRACES = re.compile(r"\{[^{}]*\}")
_PARENS_LABELS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_RANGES = re.compile(r"\[[^\]]*\]|\boffset\s+-?[0-9a-z]+")


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (a conservative reading of its tokens)."""
    text = _COMMENT.sub(" ", expr)
    text = _STRINGS.sub(" ", text)
    text = _BRACES.sub(" ", text)
    text = _PARENS_LABELS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    names = set()
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token.lower() in _NOT_METRICS:
            continue
        rest = text[match.end() :].lstrip()
        if rest.startswith("("):  # a function call
            continue
        names.add(token)
    return names


_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def parse_duration(text: str | int | float | None, where: str = "duration") -> float:
    """Prometheus's duration syntax (``5m``, ``1h30m``, ``0s``) in seconds; None is 0."""
    if text is None:
        return 0.0
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    s = str(text).strip()
    if s == "0":
        return 0.0
    parts = _DURATION.findall(s)
    if not parts or "".join(n + u for n, u in parts) != s:
        raise BacktestError(f"{where}: {text!r} is not a Prometheus duration (e.g. 5m, 1h30m)")
    return float(sum(int(n) * _UNITS[u] for n, u in parts))


@dataclass(frozen=True)
class RecordingRule:
    name: str
    expr: str
    labels: Mapping[str, str]
    interval: float | None  # the group's own, if it has one
    source: str  # file: group


@dataclass(frozen=True)
class AlertingRule:
    name: str
    expr: str
    for_seconds: float
    keep_firing_for: float
    labels: Mapping[str, str]
    interval: float | None
    source: str


@dataclass
class Rules:
    recording: list[RecordingRule] = field(default_factory=list)
    alerting: list[AlertingRule] = field(default_factory=list)


def _labels(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise BacktestError(f"{where}: labels must be a mapping")
    return {str(k): str(v) for k, v in raw.items()}


def load_rules(rule_files: Sequence[Path]) -> Rules:
    """The recording and alerting rules of Prometheus rule files, in file order."""
    rules = Rules()
    for path in rule_files:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise BacktestError(f"{path}: cannot read ({exc.strerror})") from None
        except yaml.YAMLError as exc:
            raise BacktestError(f"{path}: not YAML ({' '.join(str(exc).split())[:200]})") from None
        groups = doc.get("groups") if isinstance(doc, dict) else None
        if not isinstance(groups, list):
            raise BacktestError(f"{path}: not a Prometheus rule file (no groups: list)")
        for group in groups:
            gname = str(group.get("name", "?")) if isinstance(group, dict) else "?"
            where = f"{path.name}: group {gname}"
            if not isinstance(group, dict) or not isinstance(group.get("rules"), list):
                raise BacktestError(f"{where}: a group needs a rules: list")
            gint = group.get("interval")
            interval = parse_duration(gint, f"{where} interval") if gint is not None else None
            for rule in group["rules"]:
                if not isinstance(rule, dict) or not isinstance(rule.get("expr"), str | int):
                    raise BacktestError(f"{where}: a rule without expr")
                expr = str(rule["expr"])
                if "record" in rule:
                    rules.recording.append(
                        RecordingRule(
                            str(rule["record"]),
                            expr,
                            _labels(rule.get("labels"), where),
                            interval,
                            where,
                        )
                    )
                elif "alert" in rule:
                    name = str(rule["alert"])
                    rules.alerting.append(
                        AlertingRule(
                            name,
                            expr,
                            parse_duration(rule.get("for"), f"{where}: {name} for"),
                            parse_duration(
                                rule.get("keep_firing_for"), f"{where}: {name} keep_firing_for"
                            ),
                            _labels(rule.get("labels"), f"{where}: {name}"),
                            interval,
                            where,
                        )
                    )
                else:
                    raise BacktestError(f"{where}: a rule with neither record: nor alert:")
    return rules


def recording_levels(rules: Sequence[RecordingRule]) -> list[list[RecordingRule]]:
    """Recording rules grouped so that every rule comes a level after each rule whose
    ``record:`` name its expression reads. A circle is a BacktestError."""
    by_name: dict[str, list[RecordingRule]] = {}
    for r in rules:
        by_name.setdefault(r.name, []).append(r)
    deps: dict[str, set[str]] = {}
    for r in rules:  # a name recorded by two rules reads the inputs of both
        tokens = metric_names(r.expr)
        if r.name in tokens:
            raise BacktestError(f"recording rule {r.name} reads itself (not supported)")
        deps.setdefault(r.name, set()).update(tokens & by_name.keys())
    level: dict[str, int] = {}

    def depth(name: str, path: tuple[str, ...]) -> int:
        if name in level:
            return level[name]
        if name in path:
            raise BacktestError(f"recording rules read each other in a circle: {name}")
        d = 1 + max((depth(n, (*path, name)) for n in deps[name]), default=-1)
        level[name] = d
        return d

    out: list[list[RecordingRule]] = []
    for r in rules:
        d = depth(r.name, ())
        while len(out) <= d:
            out.append([])
        out[d].append(r)
    return out


def rule_files(directory: Path) -> list[Path]:
    """The rule files of a directory (``*.yml`` and ``*.yaml``), sorted."""
    if not directory.is_dir():
        raise BacktestError(f"{directory}: no such rules directory")
    files = sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")])
    if not files:
        raise BacktestError(f"{directory}: no rule files (*.yml) in it")
    return files


def raw_metric_names(rules: Rules) -> set[str]:
    """The metric names the rules read that no recording rule among them writes: what a
    backtest needs from the recorded or fetched samples."""
    recorded = {r.name for r in rules.recording}
    needed: set[str] = set()
    for expr in [r.expr for r in rules.recording] + [a.expr for a in rules.alerting]:
        needed |= metric_names(expr)
    return needed - recorded
