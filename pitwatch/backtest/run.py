"""A backtest from end to end: record (simulate, or fetch an operator's history), evaluate
the rules with Prometheus, score against the incidents, report. The CLI's
``pitwatch backtest`` and ``make backtest`` call these."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from alert_rules.config import Jobs
from pitwatch.backtest.model import (
    INCIDENTS_FILE,
    SAMPLES_FILE,
    BacktestError,
    Evaluation,
    Recording,
)
from pitwatch.backtest.rulefiles import load_rules, raw_metric_names, rule_files

ROOT = Path(__file__).resolve().parents[2]
PROFILES = {"production": ROOT / "alert_rules" / "rules", "demo": ROOT / "alert_rules" / "demo"}
# How often each job is recorded, and the rules evaluated, per rule profile. Production
# Prometheus scrapes every 15 s; the backtest records the platform every 30 s (half the
# samples, the same rates within the window's edges) and the state exporter every 60 s
# (each of its scrapes is SQL; its gauges move slowly). The demo profile divides every
# window by 12, so it needs the demo stack's 5 s.
_JOBS = Jobs()
SCRAPE = {
    "production": {_JOBS.platform: 30.0, _JOBS.state: 60.0},
    "demo": {_JOBS.platform: 5.0, _JOBS.state: 5.0},
}
CACHE_VERSION = "1"

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass
class Phase:
    """Wall-clock seconds per phase of a backtest (the benchmark reads them)."""

    seconds: dict[str, float] = field(default_factory=dict)

    def time(self, name: str, started: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


# The code a recording depends on: the platform, what it is measured with, the recorder.
RECORDED_BY = ("platform/igaming", "collectors", "reconcilers", "ground")
RECORDER = "pitwatch/backtest/record.py"


def code_version() -> str:
    """A digest of every source file a recording depends on, committed or not: a cached
    recording of other code is recorded again."""
    digest = hashlib.sha256()
    files = [p for d in RECORDED_BY for p in (ROOT / d).rglob("*.py")] + [ROOT / RECORDER]
    for path in sorted(files):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def cache_key(scenario: Any, seed: int, days: float, scale: float, scrape: dict[str, float]) -> str:
    """The recording a (scenario, seed, size, intervals, code) gives: the same key, the same
    samples (runs are deterministic per seed; tests check it with db_dump)."""
    payload = json.dumps(
        {
            "scenario": scenario.model_dump(mode="json"),
            "seed": seed,
            "days": days,
            "scale": scale,
            "scrape": scrape,
            "code": code_version(),
            "cache": CACHE_VERSION,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def record_simulation(
    scenario: Any,
    out_dir: Path,
    *,
    seed: int,
    days: float | None,
    scale: float,
    scrape: dict[str, float],
    keep: Sequence[str],
    progress: Progress = _quiet,
    sim_progress: Callable[[datetime, Any], None] | None = None,
    cache: Path | None = None,
    phases: Phase | None = None,
) -> Recording:
    """Run the scenario accelerated with the recorder attached (or reuse the cached
    recording of the same key) and leave metrics.om, recording.json and incidents.jsonl in
    ``out_dir``."""
    from igaming.traffic.run import run_accelerated
    from pitwatch.backtest.record import Recorder
    from pitwatch.compose import simulation_settings

    scenario = scenario.model_copy(update={"seed": seed})
    duration = timedelta(days=days) if days is not None else scenario.duration
    key = cache_key(scenario, seed, duration.total_seconds() / 86400, scale, scrape)
    if cache is not None and (cache / key / SAMPLES_FILE).is_file():
        progress(f"seed {seed}: the recording of this scenario, seed, size and code is cached")
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in (SAMPLES_FILE, "recording.json", INCIDENTS_FILE, "summary.json"):
            if (cache / key / name).exists():
                shutil.copyfile(cache / key / name, out_dir / name)
        return Recording.read(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    database = out_dir / "platform.db"
    database.unlink(missing_ok=True)
    recorder = Recorder(scrape={job: timedelta(seconds=s) for job, s in scrape.items()}, keep=keep)
    started = time.perf_counter()
    progress(f"seed {seed}: simulating {scenario.name} for {duration} at scale {scale:g}")
    result = run_accelerated(
        scenario,
        f"sqlite:///{database}",
        settings_for=simulation_settings,
        duration=duration,
        scale=scale,
        progress=sim_progress,
        observer=recorder,
        out_dir=out_dir,
    )
    if phases is not None:
        phases.time("simulate", started)
    started = time.perf_counter()
    recording = recorder.finish(
        out_dir,
        scenario=scenario.name,
        seed=seed,
        scale=scale,
        daily_active=scenario.players.daily_active,
        measured_from=result.start,
    )
    if phases is not None:
        phases.time("record (write)", started)
    progress(
        f"seed {seed}: recorded {recording.series:,} series, {recording.samples:,} samples "
        f"({recording.dropped_series:,} always-zero series left out)"
    )
    database.unlink(missing_ok=True)
    if cache is not None:
        (cache / key).mkdir(parents=True, exist_ok=True)
        for name in (SAMPLES_FILE, "recording.json", INCIDENTS_FILE, "summary.json"):
            if (out_dir / name).exists():
                shutil.copyfile(out_dir / name, cache / key / name)
    return recording


def evaluate_recording(
    directory: Path,
    rules: list[Path],
    recording: Recording,
    interval: float,
    *,
    progress: Progress = _quiet,
    phases: Phase | None = None,
) -> Evaluation:
    """The rules over a recorded directory, by Prometheus (pitwatch.backtest.engine)."""
    from pitwatch.backtest.engine import evaluate

    started = time.perf_counter()
    work = directory / "tsdb"
    shutil.rmtree(work, ignore_errors=True)
    evaluation = evaluate(
        [directory / SAMPLES_FILE],
        rules,
        recording.start,
        recording.end,
        interval,
        work,
        progress=progress,
    )
    shutil.rmtree(work, ignore_errors=True)
    if phases is not None:
        phases.time("evaluate", started)
    return evaluation


def needed_metrics(rules: list[Path]) -> set[str]:
    return raw_metric_names(load_rules(rules))


def rules_for(profile: str, rules_dir: Path | None) -> list[Path]:
    if rules_dir is not None:
        return rule_files(rules_dir)
    if profile not in PROFILES:
        raise BacktestError(f"unknown rule profile {profile!r}; one of {', '.join(PROFILES)}")
    return rule_files(PROFILES[profile])
