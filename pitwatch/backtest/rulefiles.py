"""Prometheus rule files as the backtest reads them: the rules, and the metric names each
expression selects (to know which raw series an evaluation needs and which recording rules
must be evaluated before which)."""

from __future__ import annotations

import re
from collections.abc import Iterable
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
_DURATION = re.compile(r"\[[^\]]*\]|\boffset\s+-?[0-9a-z]+")


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (a conservative reading of its tokens)."""
    text = _COMMENT.sub(" ", expr)
    text = _STRINGS.sub(" ", text)
    text = _BRACES.sub(" ", text)
    text = _PARENS_LABELS.sub(" ", text)
    text = _DURATION.sub(" ", text)
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


@dataclass(frozen=True)
class Rule:
    """One rule of a rule file: recording (``record``) or alerting (``alert``)."""

    group: str
    name: str
    kind: str  # "record" or "alert"
    expr: str
    for_seconds: float = 0.0
    keep_firing_for_seconds: float = 0.0
    labels: dict[str, str] = field(default_factory=dict)
    source: Path | None = None

    @property
    def reads(self) -> set[str]:
        return metric_names(self.expr)


_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")


def seconds(duration: str | int | float | None) -> float:
    """A Prometheus duration ("1h30m", "5m", "0s") in seconds."""
    if duration is None or duration == "":
        return 0.0
    if isinstance(duration, (int, float)):
        return float(duration)
    text = str(duration).strip()
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise BacktestError(f"not a Prometheus duration: {duration!r}")
    return float(sum(int(n) * _UNITS[u] for n, u in parts))


def load_rules(paths: Iterable[Path]) -> list[Rule]:
    """Every rule of the rule files, in file and group order."""
    rules: list[Rule] = []
    for path in paths:
        try:
            doc: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BacktestError(f"{path}: no such rule file") from None
        except yaml.YAMLError as exc:
            raise BacktestError(f"{path}: not YAML: {str(exc).splitlines()[0]}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
            raise BacktestError(f"{path}: not a Prometheus rule file (no groups)")
        for group in doc["groups"]:
            for raw in group.get("rules") or []:
                kind = "alert" if "alert" in raw else "record"
                if kind not in raw or "expr" not in raw:
                    raise BacktestError(f"{path}: a rule without alert/record or expr")
                rules.append(
                    Rule(
                        group=str(group.get("name")),
                        name=str(raw[kind]),
                        kind=kind,
                        expr=str(raw["expr"]),
                        for_seconds=seconds(raw.get("for")),
                        keep_firing_for_seconds=seconds(raw.get("keep_firing_for")),
                        labels={str(k): str(v) for k, v in (raw.get("labels") or {}).items()},
                        source=path,
                    )
                )
    return rules


def rule_files(directory: Path) -> list[Path]:
    """The rule files of a directory (``*.yml`` and ``*.yaml``), sorted."""
    if not directory.is_dir():
        raise BacktestError(f"{directory}: no such rules directory")
    files = sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")])
    if not files:
        raise BacktestError(f"{directory}: no rule files (*.yml) in it")
    return files


def raw_metric_names(rules: Iterable[Rule]) -> set[str]:
    """The metric names the rules read that no recording rule among them writes: what a
    backtest needs from the recorded or fetched samples."""
    rules = list(rules)
    recorded = {r.name for r in rules if r.kind == "record"}
    needed: set[str] = set()
    for rule in rules:
        needed |= rule.reads
    return needed - recorded
