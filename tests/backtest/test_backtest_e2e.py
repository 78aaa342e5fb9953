"""The backtest from end to end on real simulated runs: a PSP outage is caught within the
alerts' promises, an hour without incident fires nothing, the engine agrees with promtool
on a slice of the recording, and what the recorder leaves out changes no firing."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from igaming.traffic.run import run_accelerated
from igaming.traffic.scenario import load
from pitwatch.backtest import run as steps
from pitwatch.backtest import session
from pitwatch.backtest.engine import evaluate
from pitwatch.backtest.model import INCIDENTS_FILE, SAMPLES_FILE, Recording
from pitwatch.backtest.openmetrics import OpenMetricsWriter, read_openmetrics
from pitwatch.backtest.oracle import promtool_firings
from pitwatch.backtest.record import Recorder
from pitwatch.compose import simulation_settings
from tests.backtest.backtest_helpers import assert_agree, require_prometheus

pytestmark = pytest.mark.slow

SCENARIOS = Path(__file__).parent / "scenarios"
RULES = steps.rules_for("production", None)
INTERVAL = 30.0


@dataclass(frozen=True)
class Recorded:
    dropped: Path  # as the backtest records: series zero all run and read by no rule left out
    full: Path  # every series
    recording: Recording


@pytest.fixture(scope="module")
def outage(tmp_path_factory) -> Recorded:
    """psp-down-de-short recorded once, written both ways."""
    require_prometheus()
    root = tmp_path_factory.mktemp("outage")
    scenario = load(SCENARIOS / "psp-down-de-short.yaml")
    recorder = Recorder(
        scrape={j: timedelta(seconds=s) for j, s in steps.SCRAPE["production"].items()},
        keep=sorted(steps.needed_metrics(RULES)),
    )
    result = run_accelerated(
        scenario,
        f"sqlite:///{root / 'platform.db'}",
        settings_for=simulation_settings,
        observer=recorder,
        out_dir=root / "dropped",
    )
    recording = recorder.finish(
        root / "dropped", scenario=scenario.name, seed=scenario.seed, measured_from=result.start
    )
    recorder.keep_zero = True
    recorder.finish(root / "full", measured_from=result.start)
    shutil.copyfile(root / "dropped" / INCIDENTS_FILE, root / "full" / INCIDENTS_FILE)
    return Recorded(root / "dropped", root / "full", recording)


def test_a_psp_outage_is_caught_by_its_alerts_within_their_promises(outage, tmp_path):
    outcome = session.simulated(
        recorded=[outage.dropped], out=tmp_path, progress=lambda message: None
    )
    alerts = {a.alert: a for a in outcome.scores.alerts}
    for name in ("PspDown", "DepositSuccessRateDropGeo", "DepositSuccessRateDropPsp"):
        a = alerts[name]
        assert (a.incidents.median, a.caught.median, a.missed.median) == (1, 1, 0), name
        assert a.promise_seconds is not None
        assert 0 < a.detection_worst.median <= a.promise_seconds, (name, a.detection_worst)
        assert a.reset_median.median is not None and a.reset_median.median <= 15 * 60, name
        assert a.false_per_week.median == 0, name
    (psp_outage,) = [t for t in outcome.scores.types if t.incident == "psp_degradation"]
    assert psp_outage.caught.median == 1
    # Nothing else fires critical: the outage's critical firings are the three alerts meant
    # for it, and after Alertmanager (inhibitions, pages grouped by team) they are one page
    # to payments.
    assert psp_outage.critical_firings.median == 3
    assert psp_outage.pages.median == 1
    assert psp_outage.paged_teams == ("payments",)
    assert {p.name for p in outcome.files} >= {"scores.json", "report.html", "backtest.md"}
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "PspDown" in html and "<svg" in html
    close_up = html[html.index("Close-ups") :]
    assert "#1 psp_degradation" in close_up and "PspDown firing (declared)" in close_up


def test_an_hour_without_incident_fires_nothing_and_its_recording_is_reused(tmp_path, monkeypatch):
    require_prometheus()
    monkeypatch.setattr(session, "CACHE", tmp_path / "cache")

    def backtest(out: Path) -> session.Outcome:
        return session.simulated(
            scenario=str(SCENARIOS / "quiet-de-short.yaml"),
            out=out,
            progress=lambda message: None,
        )

    outcome = backtest(tmp_path / "first")
    raw = json.loads((tmp_path / "first" / "seed-7" / "alerts.json").read_text(encoding="utf-8"))
    measured = (outcome.recordings[0].measured_from or outcome.recordings[0].start).timestamp()
    fired = {
        r["alertname"]
        for r in raw
        if r["alertstate"] == "firing"
        and r["alertname"] not in session.NOT_SIMULATED
        and r["timestamps"][-1] >= measured
    }
    assert fired == set()
    assert all(a.false_per_week.median == 0 for a in outcome.scores.alerts)
    # ...and it was measured: the deposit series the rules read are there.
    assert outcome.recordings[0].samples > 10_000

    # The same scenario, seed, size and code again: the recording comes from the cache.
    def no_simulation(*args, **kwargs):
        raise AssertionError("simulated again")

    monkeypatch.setattr("igaming.traffic.run.run_accelerated", no_simulation)
    again = backtest(tmp_path / "second")
    assert again.recordings[0] == outcome.recordings[0]
    assert again.table == outcome.table


def _slice(source: Path, target: Path, start: float, end: float) -> None:
    series: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
    for key, t, value in read_openmetrics(source):
        if start <= t <= end:
            series.setdefault(key, []).append((t, value))
    with OpenMetricsWriter(target) as writer:
        for key in sorted(series, key=lambda k: (dict(k)["__name__"], k)):
            writer.series(key, series[key])


def test_the_engine_agrees_with_promtool_on_a_slice_of_the_recording(outage, tmp_path):
    """The outage's slice (20 minutes before it to 20 after), through the production rules by
    the engine and by ``promtool test rules``. ReconciliationRunStale is left out: promtool's
    clock starts at 0, so ``time()`` differs (and the simulation runs no reconciliation)."""
    incident = json.loads((outage.dropped / INCIDENTS_FILE).read_text().splitlines()[0])
    begin = datetime.fromisoformat(incident["start"]).timestamp() - 20 * 60
    end = datetime.fromisoformat(incident["end"]).timestamp() + 20 * 60
    om = tmp_path / "slice.om"
    _slice(outage.dropped / SAMPLES_FILE, om, begin, end)
    evaluation = evaluate(
        [om],
        RULES,
        datetime.fromtimestamp(begin, UTC),
        datetime.fromtimestamp(end, UTC),
        INTERVAL,
        tmp_path / "w",
    )
    oracle = promtool_firings(om, RULES, begin, end, INTERVAL)
    agreed = assert_agree(evaluation, oracle, INTERVAL, skip=frozenset(session.NOT_SIMULATED))
    assert {name for name, _ in agreed} >= {"PspDown", "DepositSuccessRateDropGeo"}


def test_what_the_recorder_leaves_out_changes_no_firing(outage, tmp_path):
    full = dict(read_openmetrics_counts(outage.full / SAMPLES_FILE))
    dropped = dict(read_openmetrics_counts(outage.dropped / SAMPLES_FILE))
    assert set(dropped) < set(full)  # something was left out...
    assert len(full) - len(dropped) == outage.recording.dropped_series
    rec = outage.recording
    evaluations = [
        evaluate([d / SAMPLES_FILE], RULES, rec.start, rec.end, INTERVAL, tmp_path / d.name)
        for d in (outage.full, outage.dropped)
    ]
    as_sets = [
        {(s.alertname, s.state, s.labels, s.timestamps) for s in e.series} for e in evaluations
    ]
    assert as_sets[0] == as_sets[1]  # ...and every alert, pending and firing, is the same
    assert any(s.alertname == "PspDown" for s in evaluations[1].series)


def read_openmetrics_counts(path: Path) -> dict[tuple[tuple[str, str], ...], int]:
    counts: dict[tuple[tuple[str, str], ...], int] = {}
    for key, _t, _v in read_openmetrics(path):
        counts[key] = counts.get(key, 0) + 1
    return counts
