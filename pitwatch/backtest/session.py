"""The two ways ``pitwatch backtest`` runs: simulated runs (several seeds aggregated) and an
operator's own history (optionally two rule sets side by side)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pitwatch.backtest import run as steps
from pitwatch.backtest.model import INCIDENTS_FILE, BacktestError, Evaluation, Recording

Progress = Callable[[str], None]
CACHE = Path("var/backtest/cache")
# Alerts on what an accelerated simulation does not run: scored "not measured" there (their
# firings are the simulation's gap, not the rule's), measured on an operator's history.
NOT_SIMULATED = {
    "ReconciliationRunStale": "the simulation runs no reconciliation (no run records)",
    "ReconciliationBreaksOpen": "the simulation runs no reconciliation (no break ledger)",
    "ReconciliationAmountAtRisk": "the simulation runs no reconciliation (no break ledger)",
    **{
        name: "the simulation takes no backups and runs no restore test (no backup records)"
        for name in (
            "BackupMissing",
            "BackupOlderThanRpo",
            "RestoreTestFailed",
            "RestoreTestStale",
            "RestoreSlowerThanRto",
        )
    },
}
GRACE_MINUTES = 15.0  # after an incident's end, a firing still counts as catching it
# An operator's history is evaluated as production Prometheus evaluates: every 15 s.
HISTORY_INTERVAL = 15.0


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
    return min(steps.SCRAPE[profile].values())


def simulated(
    *,
    scenario: str | None = None,
    recorded: Sequence[Path] = (),
    seeds: list[int] | None = None,
    days: float | None = None,
    scale: float = 1.0,
    profile: str = "production",
    rules: Path | None = None,
    out: Path | None = None,
    grace_minutes: float = GRACE_MINUTES,
    use_cache: bool = True,
    progress: Progress = print,
    sim_progress: Callable[[datetime, datetime], Callable[[datetime, Any], None]] | None = None,
    alertmanager: Mapping[str, Any] | None = None,
) -> Outcome:
    """Simulate (or reuse) one run per seed, evaluate, score, aggregate, report.
    ``sim_progress(start, end)`` makes a simulation's progress callback (a bar);
    ``alertmanager`` is the configuration pages go through (None: the generated one)."""
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
        out = out or recorded[0]
    else:
        assert scenario is not None
        try:
            loaded = scenarios.load(scenario)
        except scenarios.ScenarioError as exc:
            raise BacktestError(str(exc)) from None
        out = out or Path("var/backtest") / loaded.name
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
                sim_progress=_bar(sim_progress, loaded, days),
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
        _keep_alerts(directory, evaluation)
        evaluation = _without(evaluation, NOT_SIMULATED)
        engine = evaluation.engine
        incidents = score.read_incidents(directory / INCIDENTS_FILE, recording.end.timestamp())
        results.append(
            score.score(
                evaluation,
                incidents,
                _evaluated(evaluation),
                measured_from=recording.measured_from or recording.start,
                grace=timedelta(minutes=grace_minutes),
                run=directory.name,
                alertmanager=alertmanager,
            )
        )
    overall = score.aggregate(results)
    table = (
        report.findings(overall) + "\n" + report.markdown(overall) + _not_measured(NOT_SIMULATED)
    )
    files = report.write(out, overall, results)
    (out / "backtest.md").write_text(table, encoding="utf-8")
    files.append(out / "backtest.md")
    return Outcome(
        table=table,
        files=files,
        scores=overall,
        phases=phases,
        recordings=[r for _, r in runs],
        engine=engine,
    )


def _without(evaluation: Evaluation, alerts: dict[str, str]) -> Evaluation:
    return replace(
        evaluation,
        series=tuple(s for s in evaluation.series if s.alertname not in alerts),
        alerts=tuple(a for a in evaluation.alerts if a not in alerts),
    )


def _not_measured(alerts: dict[str, str]) -> str:
    lines = ["", "### Not measured by a simulated run", ""]
    lines += [f"- {name}: {why}" for name, why in alerts.items()]
    return "\n".join(lines) + "\n"


def _bar(
    make: Callable[[datetime, datetime], Callable[[datetime, Any], None]] | None,
    scenario: Any,
    days: float | None,
) -> Callable[[datetime, Any], None] | None:
    if make is None:
        return None
    duration = timedelta(days=days) if days is not None else scenario.duration
    return make(scenario.start, scenario.start + duration)


def _evaluated(evaluation: Evaluation) -> dict[str, Any]:
    """The declared alerts the evaluation's rules hold (a rule set of one's own may lack
    some, or hold alerts of its own: those are scored by their labels, catching nothing)."""
    from pitwatch.backtest.score import declared

    return {name: info for name, info in declared().items() if name in evaluation.alerts}


def _keep_alerts(directory: Path, evaluation: Evaluation, suffix: str = "") -> None:
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
    (directory / f"alerts{suffix}.json").write_text(json.dumps(rows) + "\n", encoding="utf-8")


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
    from pitwatch.backtest.history import PrometheusReader, fetch_history

    rule_sets = {"rules": steps.rules_for("production", rules)}
    if compare is not None:
        rule_sets["compare"] = steps.rules_for("production", compare)
    truth = score.read_incidents(incidents) if incidents is not None else []
    names: set[str] = set()
    for paths in rule_sets.values():
        names |= steps.needed_metrics(paths)
    phases = steps.Phase()
    if end <= start:
        raise BacktestError("--to must be after --from")
    reader = PrometheusReader(url, max_rps=max_rps)
    reader.check()  # a wrong URL fails here, in one line, before any progress
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
        reader=reader,
    )
    if truth:
        shutil.copyfile(incidents, data / INCIDENTS_FILE)  # type: ignore[arg-type]
    results = {}
    engine = ""
    for label, paths in rule_sets.items():
        progress(f"{label}: evaluating {len(paths)} rule files with Prometheus")
        evaluation = steps.evaluate_recording(
            data, paths, recording, HISTORY_INTERVAL, progress=progress, phases=phases
        )
        engine = evaluation.engine
        results[label] = score.score(
            evaluation,
            truth,
            _evaluated(evaluation),
            measured_from=start,
            grace=timedelta(minutes=grace_minutes),
            run=label,
        )
        _keep_alerts(data, evaluation, suffix=f"-{label}")
    table = report.firing_markdown(results)
    first = score.aggregate([results["rules"]])
    if truth:
        table += "\n" + report.markdown(first)
    files = report.write(out, first, [results["rules"]])
    (out / "backtest.md").write_text(table, encoding="utf-8")
    files.append(out / "backtest.md")
    return Outcome(
        table=table,
        files=files,
        scores=results,
        phases=phases,
        recordings=[recording],
        engine=engine,
    )
