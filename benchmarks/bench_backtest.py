"""The backtest's own cost: what recording, loading, evaluating every rule and scoring add
to a simulated week, and what the recorder costs the simulation.

    .venv/bin/python benchmarks/bench_backtest.py                 # make bench-backtest
    .venv/bin/python benchmarks/bench_backtest.py --week-scale 0.25 --slice-hours 2

Two measurements:

1. **The recorder's overhead on the simulation**: the same slice of ``mixed-week`` (its
   Monday evening, the warm-up included) run twice without and twice with the recorder,
   alternating, on fresh SQLite files. Target: < 10 %.
2. **The backtest's own cost for one simulated week**: a recording of ``mixed-week`` (the
   one ``make backtest`` cached, when it is there; else simulated now at ``--week-scale``),
   then, timed separately, writing it (``Recorder.finish``: only when simulated now),
   loading it into TSDB blocks, evaluating every recording and alerting rule of the
   production profile with Prometheus, and scoring. Target: < 5 minutes.

A measurement: it exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from igaming.traffic.run import run_accelerated
from igaming.traffic.scenario import load
from pitwatch.backtest import run as steps
from pitwatch.backtest import score
from pitwatch.backtest.engine import evaluate
from pitwatch.backtest.model import INCIDENTS_FILE, SAMPLES_FILE, Recording
from pitwatch.backtest.record import Recorder
from pitwatch.backtest.session import CACHE
from pitwatch.compose import simulation_settings

OVERHEAD_TARGET = 0.10
OWN_COST_TARGET = 300.0


def _slice(hours: float, record: bool, tmp: Path) -> tuple[float, Recorder | None]:
    scenario = load("mixed-week")
    # Monday 16:00 to evening: the busy hours, the first incident (18:00) inside.
    scenario = scenario.model_copy(update={"start": scenario.start + timedelta(hours=16)})
    database = tmp / f"slice-{record}-{time.monotonic_ns()}.db"
    recorder = (
        Recorder(scrape={j: timedelta(seconds=s) for j, s in steps.SCRAPE["production"].items()})
        if record
        else None
    )
    started = time.perf_counter()
    run_accelerated(
        scenario,
        f"sqlite:///{database}",
        settings_for=simulation_settings,
        duration=timedelta(hours=hours),
        observer=recorder,
    )
    wall = time.perf_counter() - started
    database.unlink(missing_ok=True)
    return wall, recorder


def overhead(hours: float, tmp: Path) -> dict[str, float]:
    plain: list[float] = []
    recorded: list[float] = []
    for i in range(2):
        for record in (False, True) if i == 0 else (True, False):
            wall, _ = _slice(hours, record, tmp)
            (recorded if record else plain).append(wall)
            print(f"  slice {'with' if record else 'without'} the recorder: {wall:.1f} s")
    best_plain, best_recorded = min(plain), min(recorded)
    return {
        "without": best_plain,
        "with": best_recorded,
        "overhead": best_recorded / best_plain - 1.0,
    }


def _week_recording(scale: float, out: Path) -> tuple[Path, Recording, float | None]:
    """The cached mixed-week recording of make backtest (seed 1, full size), else a new one."""
    scenario = load("mixed-week")
    rules = steps.rules_for("production", None)
    scrape = steps.SCRAPE["production"]
    key = steps.cache_key(scenario, 1, scenario.duration.total_seconds() / 86400, scale, scrape)
    cached = CACHE / key
    if (cached / SAMPLES_FILE).is_file():
        print(f"  the week's recording: cached ({cached})")
        return cached, Recording.read(cached), None
    print(f"  the week's recording: simulating mixed-week at scale {scale:g} (minutes)")
    phases = steps.Phase()
    recording = steps.record_simulation(
        scenario,
        out,
        seed=1,
        days=None,
        scale=scale,
        scrape=scrape,
        keep=sorted(steps.needed_metrics(rules)),
        progress=lambda m: print(f"  {m}"),
        cache=CACHE,
        phases=phases,
    )
    return out, recording, phases.seconds.get("record (write)")


def own_cost(scale: float, tmp: Path) -> dict[str, float]:
    directory, recording, write = _week_recording(scale, tmp / "week")
    rules = steps.rules_for("production", None)
    marks: list[tuple[float, str]] = []

    def mark(message: str) -> None:
        marks.append((time.perf_counter(), message))

    started = time.perf_counter()
    evaluation = evaluate(
        [directory / SAMPLES_FILE],
        rules,
        recording.start,
        recording.end,
        min(recording.scrape_seconds.values()),
        tmp / "tsdb",
        progress=mark,
    )
    evaluated = time.perf_counter()
    first_rule = next((t for t, m in marks if m.startswith("recording rules")), evaluated)
    first_alert = next((t for t, m in marks if m.startswith("alert ")), evaluated)
    incidents = score.read_incidents(directory / INCIDENTS_FILE, recording.end.timestamp())
    score.score(evaluation, incidents, measured_from=recording.measured_from)
    scored = time.perf_counter()
    figures = {
        "series": float(recording.series),
        "samples": float(recording.samples),
        "bytes": float((directory / SAMPLES_FILE).stat().st_size),
        "load": first_rule - started,
        "recording rules": first_alert - first_rule,
        "alerts": evaluated - first_alert,
        "score": scored - evaluated,
    }
    if write is not None:
        figures["write"] = write
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slice-hours", type=float, default=3.0, help="overhead slice (3 h)")
    parser.add_argument(
        "--week-scale", type=float, default=1.0, help="scale of the week when not cached (1)"
    )
    parser.add_argument("--skip-overhead", action="store_true", help="only the week's cost")
    parser.add_argument("--skip-week", action="store_true", help="only the overhead")
    args = parser.parse_args()
    os.environ.setdefault("PITWATCH_ENVIRONMENT", "development")
    tmp = Path(tempfile.mkdtemp(prefix="bench-backtest-"))
    try:
        if not args.skip_overhead:
            print(f"1. the recorder's overhead: {args.slice_hours:g} h of mixed-week + warm-up")
            o = overhead(args.slice_hours, tmp)
            verdict = "met" if o["overhead"] < OVERHEAD_TARGET else "NOT met"
            print(
                f"   best of two: {o['without']:.1f} s without, {o['with']:.1f} s with: "
                f"{o['overhead']:+.1%} (target < {OVERHEAD_TARGET:.0%}: {verdict})"
            )
        if args.skip_week:
            return 0
        print("2. the backtest's own cost for one simulated week")
        f = own_cost(args.week_scale, tmp)
        total = sum(v for k, v in f.items() if k not in ("series", "samples", "bytes"))
        for name in ("write", "load", "recording rules", "alerts", "score"):
            if name in f:
                print(f"   {name:<16} {f[name]:7.1f} s")
        print(
            f"   {'total':<16} {total:7.1f} s for {f['series']:,.0f} series, "
            f"{f['samples']:,.0f} samples, {f['bytes'] / 1e6:,.0f} MB "
            f"(target < {OWN_COST_TARGET:.0f} s: "
            f"{'met' if total < OWN_COST_TARGET else 'NOT met'})"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
