"""The evaluation engine: the for: state machine, rule loading and ordering, the private
Prometheus, and the oracle test (the engine's firings against promtool's own)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import pitwatch.backtest.prom as prom
from pitwatch.backtest.engine import alert_states, evaluate, grid
from pitwatch.backtest.model import AlertSeries, BacktestError
from pitwatch.backtest.oracle import parse_failures, promtool_firings, unit_test
from pitwatch.backtest.rulefiles import load_rules, parse_duration, recording_levels
from tests.backtest.backtest_helpers import assert_agree, require_prometheus
from tests.backtest.synth import Synth, write

RULES = sorted((Path(__file__).resolve().parents[2] / "alert_rules" / "rules").glob("*.yml"))
START = datetime(2026, 11, 2, tzinfo=UTC).timestamp()
# Skipped without prometheus/promtool, failed without them in CI (PITWATCH_REQUIRE_PROMTOOL).
needs_prometheus = pytest.mark.usefixtures("prometheus_tools")


def firing(series: list[AlertSeries]) -> dict[tuple[str, str], tuple[float, ...]]:
    return {(a.state, a.label("x") or ""): a.timestamps for a in series}


# -- the for: state machine ------------------------------------------------------------------

TIMES = grid(0, 600, 30)  # 0, 30, ..., 600


def result(x: str, times: list[float]) -> tuple[dict[str, str], list[tuple[float, float]]]:
    return {"__name__": "m", "x": x}, [(t, 1.0) for t in times]


def test_pending_then_firing_after_for():
    out = alert_states([result("a", grid(60, 600, 30))], TIMES, alertname="A", for_seconds=120)
    got = firing(out)
    assert got[("pending", "a")] == (60, 90, 120, 150)
    assert got[("firing", "a")] == tuple(grid(180, 600, 30))  # 180 - 60 >= 120


def test_absent_once_resolves_and_pends_again():
    present = [t for t in grid(0, 600, 30) if t != 300]
    out = alert_states([result("a", present)], TIMES, alertname="A", for_seconds=60)
    got = firing(out)
    assert got[("pending", "a")] == (0, 30, 330, 360)  # active again from 330
    assert got[("firing", "a")] == (
        *(60, 90, 120, 150, 180, 210, 240, 270, 390, 420, 450),
        *grid(480, 600, 30),
    )


def test_for_zero_fires_at_first_evaluation():
    out = alert_states([result("a", [90, 120])], TIMES, alertname="A")
    assert [(a.state, a.timestamps) for a in out] == [("firing", (90, 120))]


def test_gap_in_result_and_label_sets_apart():
    # "a" misses 150 (resolved there); "b" is never long enough to fire.
    a = [t for t in grid(0, 300, 30) if t != 150]
    out = alert_states([result("a", a), result("b", [0, 30])], TIMES, alertname="A", for_seconds=90)
    got = firing(out)
    assert got[("pending", "a")] == (0, 30, 60, 180, 210, 240)
    assert got[("firing", "a")] == (90, 120, 270, 300)
    assert got[("pending", "b")] == (0, 30)
    assert ("firing", "b") not in got


def test_keep_firing_for_bridges_a_short_absence():
    a = [t for t in grid(0, 600, 30) if not 120 <= t < 240]
    out = alert_states([result("a", a)], TIMES, alertname="A", for_seconds=30, keep_firing_for=90)
    got = firing(out)
    # missing from 120: kept firing at 120, 150, 180 (< 90 s since 120), resolved at 210
    assert got[("firing", "a")] == (30, 60, 90, 120, 150, 180, 270, *grid(300, 600, 30))
    assert got[("pending", "a")] == (0, 240)


def test_alert_labels_rule_labels_win_and_no_name():
    res = ({"__name__": "m", "psp": "p", "severity": "low", "alertname": "X"}, [(0.0, 1.0)])
    (out,) = alert_states([res], TIMES, alertname="A", labels={"severity": "critical"})
    assert out.labels == (("alertname", "A"), ("psp", "p"), ("severity", "critical"))
    assert out.state == "firing" and out.timestamps == (0,)


def test_same_labels_twice_fails_that_evaluation_only():
    one = ({"__name__": "m", "x": "1"}, [(0.0, 1.0), (30.0, 1.0), (60.0, 1.0)])
    two = ({"__name__": "n", "x": "1"}, [(30.0, 1.0)])  # same labels without __name__ at 30
    out = alert_states([one, two], TIMES, alertname="A", for_seconds=60)
    # nothing at 30 (Prometheus fails that evaluation), and the state survives it
    assert [(a.state, a.timestamps) for a in out] == [("pending", (0,)), ("firing", (60,))]


# -- rules --------------------------------------------------------------------------------


def test_production_rules_load_and_order():
    rules = load_rules(RULES)
    assert len(rules.alerting) >= 30
    levels = recording_levels(rules.recording)
    where = {r.name: i for i, level in enumerate(levels) for r in level}
    assert where["geo:igaming_deposit_approved:rate5m"] == 0
    assert where["geo:igaming_deposit_success:ratio_1h"] == 1
    assert where["geo:igaming_deposit_success:ratio_baseline"] == 2
    psp_down = next(a for a in rules.alerting if a.name == "PspDown")
    assert psp_down.for_seconds == 60 and psp_down.labels["severity"] == "critical"


def test_recording_circle_and_bad_rule_files(tmp_path):
    circle = tmp_path / "c.yml"
    circle.write_text(
        "groups:\n- name: g\n  rules:\n  - record: a:x\n    expr: b:x\n"
        "  - record: b:x\n    expr: a:x + 1\n"
    )
    with pytest.raises(BacktestError, match="circle"):
        recording_levels(load_rules([circle]).recording)
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    for: 5 minutes\n")
    with pytest.raises(BacktestError, match="not a Prometheus duration") as info:
        load_rules([bad])
    assert "\n" not in str(info.value)
    with pytest.raises(BacktestError, match="cannot read"):
        load_rules([tmp_path / "missing.yml"])


def test_parse_duration():
    assert parse_duration("1h30m") == 5400
    assert parse_duration("0s") == 0 and parse_duration(None) == 0
    with pytest.raises(BacktestError):
        parse_duration("5 m")


# -- the private Prometheus --------------------------------------------------------------


@pytest.fixture(scope="module")
def small_prometheus(tmp_path_factory) -> Iterator[prom.LocalPrometheus]:
    require_prometheus()
    root = tmp_path_factory.mktemp("prom")
    om = root / "m.om"
    write(Synth(START, 3600), om)
    prom.create_blocks(om, root / "data")
    with prom.LocalPrometheus(root / "data", root) as p:
        yield p
    assert p._proc is None  # stopped by the context manager


@needs_prometheus
def test_local_prometheus_queries_and_chunks(small_prometheus, monkeypatch):
    p = small_prometheus
    assert p.url.startswith("http://127.0.0.1:")
    assert p.version.startswith("prometheus 2.")
    expr = 'sum by (job) (up{job="pitwatch-state"})'
    whole = p.query_range(expr, START, START + 3600, 30)
    assert len(whole) == 1 and len(whole[0][1]) == 121
    assert [t for t, _ in whole[0][1]] == grid(START, START + 3600, 30)
    monkeypatch.setattr(prom, "MAX_POINTS", 7)  # 18 requests, the same answer
    assert p.query_range(expr, START, START + 3600, 30) == whole
    assert p.query("up", START + 60)[0][1] == 1.0
    with pytest.raises(BacktestError, match="query failed") as info:
        p.query_range("sum(", START, START + 60, 30)
    assert "\n" not in str(info.value)
    assert (p.log.parent / "prometheus.log").exists()


def test_missing_binaries_are_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    om = tmp_path / "m.om"
    om.write_text("up 1 0\n# EOF\n")
    with pytest.raises(BacktestError, match="promtool not found on PATH") as info:
        prom.create_blocks(om, tmp_path / "data")
    assert "\n" not in str(info.value)
    with pytest.raises(BacktestError, match="prometheus not found on PATH"):
        prom.LocalPrometheus(tmp_path / "data")


@needs_prometheus
def test_failing_promtool_gives_its_last_line(tmp_path):
    om = tmp_path / "m.om"
    om.write_text("this is not openmetrics\n")
    with pytest.raises(
        BacktestError, match="promtool tsdb create-blocks-from openmetrics failed: "
    ) as info:
        prom.create_blocks(om, tmp_path / "data")
    assert "\n" not in str(info.value)
    with pytest.raises(BacktestError, match="no such OpenMetrics file"):
        prom.create_blocks(tmp_path / "none.om", tmp_path / "data")


# -- the oracle --------------------------------------------------------------------------


def test_oracle_refuses_samples_off_the_grid(tmp_path):
    om = tmp_path / "m.om"
    om.write_text("up 1 100.000\nup 1 145.000\n# EOF\n")
    with pytest.raises(BacktestError, match="off the 30 s grid"):
        unit_test(om, RULES, 100, 200, 30)


def test_parse_failures_reads_got_lists():
    report = """  FAILED:
    alertname: PspDown, time: 1h0m30s,
        exp:[],
        got:[
            0:
              Labels:{alertname="PspDown", geo="DE", psp="a\\"b"}
              Annotations:{summary="x"}
            ]
    alertname: PlatformDown, time: 30s,
        exp:[],
        got:[]
"""
    assert parse_failures(report) == {
        ("PspDown", (("alertname", "PspDown"), ("geo", "DE"), ("psp", 'a"b'))): [3630.0]
    }


@needs_prometheus
@pytest.mark.slow
def test_engine_agrees_with_promtool(tmp_path):
    """Three hours of samples through the production rules: a PSP approving nothing, a
    GEO's success rate dropping, the platform's scrape down 5 minutes, withdrawals stuck
    with a hole in the samples. The engine's firing episodes and promtool's agree within
    one evaluation interval at both ends."""
    interval, seconds = 30.0, 3 * 3600
    synth = Synth(
        START,
        seconds,
        psp_down=("nordpay", (3600, 5400)),
        geo_drop=("BR", (7200, 9000)),
        platform_down=(1800, 2100),
        stuck=("pixgate", (600, 2400)),
    )
    om = tmp_path / "metrics.om"
    write(synth, om)
    start, end = datetime.fromtimestamp(START, UTC), datetime.fromtimestamp(START + seconds, UTC)
    said: list[str] = []
    ev = evaluate([om], RULES, start, end, interval, tmp_path / "work", progress=said.append)
    oracle = promtool_firings(om, RULES, START, START + seconds, interval)

    oracle_eps = assert_agree(ev, oracle, interval)
    fired = {
        (name, dict(labels).get("psp"), dict(labels).get("geo")) for name, labels in oracle_eps
    }
    assert {
        ("PspDown", "nordpay", "DE"),
        ("PspDown", "nordpay", "BR"),
        ("PspDown", "nordpay", "IN"),
        # the PSP's drop is per PSP and GEO: nordpay's outage in each of its GEOs
        ("DepositSuccessRateDropPsp", "nordpay", "DE"),
        ("DepositSuccessRateDropPsp", "nordpay", "BR"),
        ("DepositSuccessRateDropPsp", "nordpay", "IN"),
        ("DepositSuccessRateDropGeo", None, "BR"),
        ("PlatformDown", None, None),
        ("WithdrawalsStuck", "pixgate", None),
    } <= fired
    # pending before firing, every alert evaluated, progress per phase and rule
    psp = [a for a in ev.series if a.alertname == "PspDown" and a.label("geo") == "DE"]
    assert {a.state for a in psp} == {"pending", "firing"}
    assert len(ev.alerts) == len(load_rules(RULES).alerting)
    assert ev.engine.startswith("prometheus 2.")
    levels = len(recording_levels(load_rules(RULES).recording))
    assert levels >= 3  # the payments baseline chain at least
    assert any(m.startswith(f"recording rules level {levels}/{levels}") for m in said)
    assert sum(m.startswith("alert ") for m in said) == len(ev.alerts)
