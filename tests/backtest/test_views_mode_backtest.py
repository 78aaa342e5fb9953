"""The proof of views mode (issue 19 §2): on the same incident, the business counters
derived from the contract views fire the same alerts as the platform's instrumentation.

One accelerated run of psp-down-de-short (75 simulated minutes, paybridge approving nothing
in DE for 30) is recorded with both the platform's registry and a views-mode state exporter
over the same database, and written twice: "instrumented" (the business counters from the
platform job, the derived ones left out) and "views" (the derived ones from the state job,
the platform's left out: the platform as if PITWATCH_INSTRUMENTATION=0 for them). The
production rules are evaluated over both; the same alerts fire, and each firing of the
views recording starts at most the derivation's delay (the state job's scrape interval
plus the views' settle time) plus one evaluation after the instrumented one."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from collectors.views import DERIVED, VIEWS_COLLECTORS
from collectors.views.base import ViewsCollector
from igaming.traffic.run import run_accelerated
from igaming.traffic.scenario import load
from pitwatch.backtest import run as steps
from pitwatch.backtest import session
from pitwatch.backtest.engine import evaluate
from pitwatch.backtest.model import SAMPLES_FILE
from pitwatch.backtest.record import PLATFORM_JOB, STATE_JOB, Recorder
from pitwatch.compose import simulation_settings
from pitwatch.state import STATE_COLLECTORS
from tests.backtest.backtest_helpers import require_prometheus

pytestmark = pytest.mark.slow

SCENARIOS = Path(__file__).parent / "scenarios"
RULES = steps.rules_for("production", None)
INTERVAL = 30.0
PAYMENT_ALERTS = {"PspDown", "DepositSuccessRateDropGeo", "DepositSuccessRateDropPsp"}


def onsets(evaluation) -> dict[str, float]:
    """Alert name -> the first time it fired (any label set)."""
    first: dict[str, float] = {}
    for s in evaluation.series:
        if s.state == "firing" and s.alertname not in session.NOT_SIMULATED and s.timestamps:
            first[s.alertname] = min(first.get(s.alertname, s.timestamps[0]), s.timestamps[0])
    return first


def test_views_mode_fires_the_same_alerts_as_the_instrumentation(tmp_path):
    require_prometheus()
    scenario = load(SCENARIOS / "psp-down-de-short.yaml")
    scrape = {j: timedelta(seconds=s) for j, s in steps.SCRAPE["production"].items()}
    recorder = Recorder(
        scrape=scrape,
        keep=sorted(steps.needed_metrics(RULES)),
        state_collectors=(*STATE_COLLECTORS, *VIEWS_COLLECTORS),
    )
    result = run_accelerated(
        scenario,
        f"sqlite:///{tmp_path / 'platform.db'}",
        settings_for=simulation_settings,
        observer=recorder,
        out_dir=tmp_path / "instrumented",
    )
    recorder.leave_out = {STATE_JOB: DERIVED}
    instrumented = recorder.finish(tmp_path / "instrumented", measured_from=result.start)
    recorder.leave_out = {PLATFORM_JOB: DERIVED}
    recorder.finish(tmp_path / "views", measured_from=result.start)

    evaluations = {
        name: evaluate(
            [tmp_path / name / SAMPLES_FILE],
            RULES,
            instrumented.start,
            instrumented.end,
            INTERVAL,
            tmp_path / f"eval-{name}",
        )
        for name in ("instrumented", "views")
    }
    by_platform, by_views = (onsets(evaluations[n]) for n in ("instrumented", "views"))
    assert set(by_platform) >= PAYMENT_ALERTS  # the incident is caught at all...
    assert set(by_views) == set(by_platform)  # ...and views mode fires exactly the same
    for name in sorted(by_platform):
        print(f"{name}: instrumented {by_platform[name]:.0f}, views {by_views.get(name, 0):.0f}")
    delay = scrape[STATE_JOB].total_seconds() + ViewsCollector.settle_seconds + INTERVAL
    for name, at in by_platform.items():
        assert at - INTERVAL <= by_views[name] <= at + delay, (name, by_views[name] - at)
