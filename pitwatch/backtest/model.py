"""What the backtest's stages hand each other: a recording's files and description, the
alert series an evaluation produced. Plain data, no behaviour beyond (de)serialising."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

# The files of a recorded run's directory (``pitwatch backtest --recorded DIR``).
SAMPLES_FILE = "metrics.om"  # OpenMetrics text with explicit timestamps (promtool's input)
RECORDING_FILE = "recording.json"  # Recording below
INCIDENTS_FILE = "incidents.jsonl"  # the ground truth (igaming.traffic.truth)

State = Literal["pending", "firing"]


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class Recording:
    """A recorded run: the period, how often each job was scraped, and its size."""

    start: datetime  # first sample (the warm-up's start for a simulation)
    end: datetime  # last sample
    scrape_seconds: dict[str, float]  # job -> interval
    source: str  # "simulation" or the Prometheus URL the history came from
    series: int = 0  # written
    samples: int = 0  # written
    dropped_series: int = 0  # left out (zero for the whole run, and no rule needs them)
    scenario: str | None = None
    seed: int | None = None
    scale: float | None = None
    daily_active: int | None = None
    measured_from: datetime | None = None  # scoring starts here (the end of the warm-up)
    extra: dict[str, Any] = field(default_factory=dict)

    def write(self, directory: Path) -> None:
        data = asdict(self)
        for key in ("start", "end", "measured_from"):
            if data[key] is not None:
                data[key] = _ts(data[key])
        (directory / RECORDING_FILE).write_text(
            json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )

    @classmethod
    def read(cls, directory: Path) -> Recording:
        data = json.loads((directory / RECORDING_FILE).read_text(encoding="utf-8"))
        for key in ("start", "end", "measured_from"):
            if data.get(key) is not None:
                data[key] = datetime.fromisoformat(data[key])
        return cls(**data)


@dataclass(frozen=True)
class AlertSeries:
    """One ``ALERTS`` series as Prometheus would have written it: the times (Unix seconds)
    of every evaluation at which the alert was in ``state`` with these labels."""

    alertname: str
    state: State
    labels: tuple[tuple[str, str], ...]  # sorted; the rule's labels included, no __name__
    timestamps: tuple[float, ...]

    def label(self, name: str) -> str | None:
        return dict(self.labels).get(name)


@dataclass(frozen=True)
class Evaluation:
    """What the rules did over a period: every ALERTS series, at ``interval`` seconds."""

    start: datetime
    end: datetime
    interval: float
    series: tuple[AlertSeries, ...]
    alerts: tuple[str, ...]  # every alerting rule evaluated, fired or not
    engine: str  # e.g. "prometheus 2.42.0"


class BacktestError(Exception):
    """Bad input to a backtest (a recording, an incidents file, a mapping): one line, exit 2."""
