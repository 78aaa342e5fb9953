"""The two ways ``pitwatch backtest`` runs: simulated runs (several seeds aggregated) and an
operator's own history (optionally two rule sets side by side)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pitwatch.backtest import run as steps
from pitwatch.backtest.model import INCIDENTS_FILE, BacktestError, Evaluation, Recording

Progress = Callable[[str], None]
CACHE = Path("var/backtest/cache")


@dataclass
class Outcome:
    table: str  # Markdown, for the terminal and docs/backtest.md
    files: list[Path] = field(default_factory=list)
    scores: Any = None
    phases: steps.Phase = field(default_factory=steps.Phase)
    recordings: list[Recording] = field(default_factory=list)
    engine: str = ""


def _interval(recording: Recording, profile: str) -> float:
    """The evaluation interval: the platform's scrape interval (the rules' own 15 s would
    only re-read the same samples)."""
    if recording.scrape_seconds:
        return min(recording.scrape_seconds.values())
    return steps.SCRAPE[profile]["platform"]


def simulated(
    *,
    scenario: str | None,
    recorded: list[Path],
    seeds: list[int] | None,
    days: float | None,
    scale: float,
    profile: str,
    rules: Path | None,
    out: Path | None,
    grace_minutes: float,
    use_cache: bool = True,
    progress: Progress = print,
    sim_progress: Callable[[datetime, Any], None] | None = None,
) -> Outcome:
    """Simulate (or reuse) one run per seed, evaluate, score, aggregate, report."""
    from igaming.traffic import scenario as scenarios
    from pitwatch.backtest import report, score

    rule_paths = steps.rules_for(profile, rules)
    keep = sorted(steps.needed_metrics(rule_paths))
    phases = steps.Phase()
    runs: list[tuple[Path, Recording]] = []
    if recorded:
        for directory in recorded:
            if not (directory / "recording.json").is_file():
                raise BacktestError(f"{directory}: not a recorded run (no recording.json)")
            runs.append((directory, Recording.read(directory)))
        name = runs[0][1].scenario or recorded[0].name
        out = out or recorded[0]
    else:
        assert scenario is not None
        try:
            loaded = scenarios.load(scenario)
        except scenarios.ScenarioError as exc:
            raise BacktestError(str(exc)) from None
        name = loaded.name
        out = out or Path("var/backtest") / name
        scrape = steps.SCRAPE[profile]
        for seed in seeds or [loaded.seed]:
            directory = out / f"seed-{seed}"
            recording = steps.record_simulation(
                loaded,
                directory,
                seed=seed,
                days=days,
                scale=scale,
                scrape=scrape,
                keep=keep,
                progress=progress,
                sim_progress=sim_progress,
                cache=CACHE if use_cache else None,
                phases=phases,
            )
            runs.append((directory, recording))
    results = []
    engine = ""
    for directory, recording in runs:
        progress(f"{directory.name}: evaluating {len(rule_paths)} rule files with Prometheus")
        evaluation = steps.evaluate_recording(
            directory,
            rule_paths,
            recording,
            _interval(recording, profile),
            progress=progress,
            phases=phases,
        )
        engine = evaluation.engine
        incidents = score.read_incidents(directory / INCIDENTS_FILE)
        results.append(
            score.score_run(
                evaluation,
                incidents,
                measured_from=recording.measured_from or recording.start,
                grace=timedelta(minutes=grace_minutes),
                label=directory.name,
            )
        )
        _keep_alerts(directory, evaluation)
    overall = score.aggregate(results)
    context = {
        "title": f"Backtest of {name}",
        "engine": engine,
        "runs": [_describe(r) for _, r in runs],
        "rules": [str(p) for p in rule_paths],
        "profile": profile if rules is None else str(rules),
    }
    files = report.write_all(overall, out, context=context)
    return Outcome(
        table=report.markdown(overall, context=context),
        files=files,
        scores=overall,
        phases=phases,
        recordings=[r for _, r in runs],
        engine=engine,
    )


def _describe(recording: Recording) -> dict[str, Any]:
    return {
        "scenario": recording.scenario,
        "seed": recording.seed,
        "daily_active": recording.daily_active,
        "scale": recording.scale,
        "start": recording.start.isoformat(),
        "end": recording.end.isoformat(),
        "measured_from": (recording.measured_from or recording.start).isoformat(),
        "scrape_seconds": recording.scrape_seconds,
        "series": recording.series,
        "samples": recording.samples,
        "dropped_series": recording.dropped_series,
        "source": recording.source,
    }


def _keep_alerts(directory: Path, evaluation: Evaluation) -> None:
    """The raw ALERTS series beside the recording (alerts.json), for a second look."""
    rows = [
        {
            "alertname": s.alertname,
            "alertstate": s.state,
            "labels": dict(s.labels),
            "timestamps": list(s.timestamps),
        }
        for s in evaluation.series
    ]
    (directory / "alerts.json").write_text(json.dumps(rows) + "\n", encoding="utf-8")


def history(
    url: str,
    start: datetime,
    end: datetime,
    *,
    out: Path,
    rules: Path | None,
    compare: Path | None,
    incidents: Path | None,
    chunk_minutes: int,
    max_rps: float,
    grace_minutes: float,
    progress: Progress = print,
) -> Outcome:
    """An operator's history: fetch what the rules read (read-only), evaluate each rule set
    on it, score (against ``incidents`` when given: otherwise every firing is counted as
    how often and how long the alert would have fired)."""
    from pitwatch.backtest import report, score
    from pitwatch.backtest.history import fetch_history

    rule_sets = {"rules": steps.rules_for("production", rules)}
    if compare is not None:
        rule_sets["compare"] = steps.rules_for("production", compare)
    truth = score.read_incidents(incidents) if incidents is not None else []
    names: set[str] = set()
    for paths in rule_sets.values():
        names |= steps.needed_metrics(paths)
    phases = steps.Phase()
    progress(
        f"fetching {len(names)} metrics from {url}, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}"
    )
    data = out / "history"
    shutil.rmtree(data, ignore_errors=True)
    recording = fetch_history(
        url,
        names,
        start,
        end,
        data,
        chunk=timedelta(minutes=chunk_minutes),
        max_rps=max_rps,
        progress=progress,
    )
    if truth:
        shutil.copyfile(incidents, data / INCIDENTS_FILE)  # type: ignore[arg-type]
    results = {}
    engine = ""
    for label, paths in rule_sets.items():
        progress(f"{label}: evaluating {len(paths)} rule files with Prometheus")
        evaluation = steps.evaluate_recording(
            data, paths, recording, 15.0, progress=progress, phases=phases
        )
        engine = evaluation.engine
        results[label] = score.score_run(
            evaluation,
            truth,
            measured_from=start,
            grace=timedelta(minutes=grace_minutes),
            label=label,
        )
    context = {
        "title": f"Backtest of {url} history",
        "engine": engine,
        "runs": [_describe(recording)],
        "rules": {k: [str(p) for p in v] for k, v in rule_sets.items()},
        "profile": str(rules or "production"),
    }
    if compare is not None:
        table = report.compare_markdown(results["rules"], results["compare"], context=context)
        files = report.write_all(results["rules"], out, context=context, compare=results["compare"])
    else:
        table = report.markdown(results["rules"], context=context)
        files = report.write_all(results["rules"], out, context=context)
    return Outcome(
        table=table,
        files=files,
        scores=results,
        phases=phases,
        recordings=[recording],
        engine=engine,
    )
