"""The reconciliation metrics, read back with ``registry.get_sample_value`` from a fresh
CollectorRegistry with the ReconciliationCollector registered (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from prometheus_client import CollectorRegistry

from collectors.exporter import make_read_engine
from collectors.state import Health, StateConfig
from ground.clock import FakeClock
from reconcilers import frames
from reconcilers.ledger import apply_breaks, finish_run, start_run
from reconcilers.metrics import ReconciliationCollector, major
from tests.reconcilers.ledger_helpers import brk

DAY = date(2026, 11, 2)
T0 = datetime(2026, 11, 3, 6, 0, tzinfo=UTC)
OPEN = "pitwatch_reconciliation_open_breaks"
OLDEST = "pitwatch_reconciliation_break_oldest_age_seconds"
AMOUNT = "pitwatch_reconciliation_amount_at_risk"
LAST_SUCCESS = "pitwatch_reconciliation_last_success_timestamp_seconds"
DURATION = "pitwatch_reconciliation_run_duration_seconds"
ROWS = "pitwatch_reconciliation_rows_read"
RUNS = "pitwatch_reconciliation_runs_total"


def registry_for(engine, clock) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(ReconciliationCollector(engine, clock))
    return registry


def a_run(engine, now, pairs, breaks, *, outcome="success", seconds=30.0, rows=None):
    """One run: its breaks applied per pair, finished ``seconds`` after ``now``."""
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    with engine.begin() as conn:
        run_id = start_run(
            conn, kind="daily", period_start=start, period_end=start + timedelta(days=1),
            pairs=pairs, now=now,
        )  # fmt: skip
    with engine.begin() as conn:
        if outcome == "success":
            for pair in pairs:
                mine = [b for b in breaks if b["pair"] == pair]
                frame = (
                    frames.conform(pd.DataFrame(mine), frames.BREAKS, "breaks")
                    if mine
                    else frames.empty(frames.BREAKS)
                )
                apply_breaks(
                    conn, frame, run_id=run_id, scope_day=DAY, pairs=[pair], psps=None, now=now
                )
        finish_run(
            conn, run_id, outcome=outcome, now=now + timedelta(seconds=seconds),
            rows=rows or {}, matched=0, in_flight=0,
            error=None if outcome == "success" else "no settlement report",
        )  # fmt: skip


def test_an_empty_ledger_exports_zeros_and_no_last_success(engine):
    registry = registry_for(engine, FakeClock(T0))
    assert registry.get_sample_value(OPEN, {"pair": "wallet_psp", "type": "missing_in_wallet",
                                            "psp": "paybridge"}) == 0  # fmt: skip
    assert registry.get_sample_value(OPEN, {"pair": "wallet_affiliate", "type": "missing_postback",
                                            "psp": "none"}) == 0  # fmt: skip
    assert registry.get_sample_value(OPEN, {"pair": "wallet_internal", "type": "clearing_residue",
                                            "psp": "nordpay"}) == 0  # fmt: skip
    for pair in frames.PAIRS:
        for kind in ("missing_at_psp", "balance_mismatch", "other"):
            assert registry.get_sample_value(OLDEST, {"pair": pair, "type": kind}) == 0
        assert registry.get_sample_value(LAST_SUCCESS, {"pair": pair}) is None  # absent()
        assert registry.get_sample_value(DURATION, {"pair": pair}) is None
        for outcome in ("success", "failed"):
            assert registry.get_sample_value(RUNS, {"pair": pair, "outcome": outcome}) == 0
    assert registry.get_sample_value(AMOUNT, {"currency": "EUR"}) == 0
    assert registry.get_sample_value(ROWS, {"source": "wallet"}) is None


def test_open_breaks_ages_and_amounts_at_risk_in_major_units(engine):
    clock = FakeClock(T0 + timedelta(hours=3))
    a_run(
        engine,
        T0,
        ["wallet_psp", "wallet_affiliate", "wallet_internal"],
        [
            brk("pb1", amount_at_risk_minor=1_234),
            brk("pb2", amount_at_risk_minor=66),
            brk("np1", psp="nordpay", type="amount_mismatch", amount_at_risk_minor=100),
            brk("jp", psp="nordpay", currency="JPY", amount_at_risk_minor=5_000),
            brk("kw", psp="nordpay", currency="KWD", amount_at_risk_minor=1_500),  # 3 digits
            brk("bad", type="invalid_record", currency="XXX", amount_at_risk_minor=7),
            brk("ftd", pair="wallet_affiliate", type="missing_postback", psp="none",
                affiliate="aff17", amount_at_risk_minor=2_000),
        ],
    )  # fmt: skip
    a_run(  # an hour later pb2 matched, pb1 still open
        engine,
        T0 + timedelta(hours=1),
        ["wallet_psp"],
        [
            brk("pb1", amount_at_risk_minor=1_234),
            brk("np1", psp="nordpay", type="amount_mismatch", amount_at_risk_minor=100),
            brk("jp", psp="nordpay", currency="JPY", amount_at_risk_minor=5_000),
            brk("kw", psp="nordpay", currency="KWD", amount_at_risk_minor=1_500),
            brk("bad", type="invalid_record", currency="XXX", amount_at_risk_minor=7),
        ],
    )
    registry = registry_for(engine, clock)
    psp_pair = {"pair": "wallet_psp"}
    assert registry.get_sample_value(
        OPEN, {**psp_pair, "type": "missing_in_wallet", "psp": "paybridge"}
    ) == 1  # fmt: skip
    assert registry.get_sample_value(
        OPEN, {**psp_pair, "type": "missing_in_wallet", "psp": "nordpay"}
    ) == 2  # fmt: skip
    invalid = {**psp_pair, "type": "invalid_record", "psp": "paybridge"}
    assert registry.get_sample_value(OPEN, invalid) == 1
    assert registry.get_sample_value(
        OPEN, {"pair": "wallet_affiliate", "type": "missing_postback", "psp": "none"}
    ) == 1  # fmt: skip
    assert registry.get_sample_value(OLDEST, {**psp_pair, "type": "missing_in_wallet"}) == 3 * 3600
    assert registry.get_sample_value(OLDEST, {**psp_pair, "type": "missing_at_psp"}) == 0
    assert registry.get_sample_value(AMOUNT, {"currency": "EUR"}) == pytest.approx(12.34 + 1 + 20)
    assert registry.get_sample_value(AMOUNT, {"currency": "JPY"}) == 5_000
    assert registry.get_sample_value(AMOUNT, {"currency": "other"}) == pytest.approx(1.5)
    assert registry.get_sample_value(AMOUNT, {"currency": "GBP"}) == 0


def test_runs_are_counted_by_pair_and_outcome_with_the_last_success_and_duration(engine):
    clock = FakeClock(T0 + timedelta(days=1))
    both = ["wallet_psp", "wallet_internal"]
    a_run(engine, T0, both, [], seconds=40, rows={"wallet": 1_000, "psp_report": 990})
    a_run(engine, T0 + timedelta(hours=1), ["wallet_affiliate"], [], seconds=5,
          rows={"wallet": 300, "affiliate_export": 280})  # fmt: skip
    a_run(engine, T0 + timedelta(hours=2), both, [], outcome="failed", seconds=2)
    registry = registry_for(engine, clock)
    assert registry.get_sample_value(RUNS, {"pair": "wallet_psp", "outcome": "success"}) == 1
    assert registry.get_sample_value(RUNS, {"pair": "wallet_psp", "outcome": "failed"}) == 1
    assert registry.get_sample_value(RUNS, {"pair": "wallet_affiliate", "outcome": "failed"}) == 0
    assert (
        registry.get_sample_value(LAST_SUCCESS, {"pair": "wallet_psp"})
        == (T0 + timedelta(seconds=40)).timestamp()
    )
    assert (
        registry.get_sample_value(LAST_SUCCESS, {"pair": "wallet_affiliate"})
        == (T0 + timedelta(hours=1, seconds=5)).timestamp()
    )
    assert registry.get_sample_value(DURATION, {"pair": "wallet_psp"}) == 2  # the failed one
    assert registry.get_sample_value(DURATION, {"pair": "wallet_affiliate"}) == 5
    assert registry.get_sample_value(ROWS, {"source": "wallet"}) == 300  # last success
    assert registry.get_sample_value(ROWS, {"source": "psp_report"}) == 990
    assert registry.get_sample_value(ROWS, {"source": "affiliate_export"}) == 280


def test_a_running_run_is_not_counted_until_it_finishes(engine):
    with engine.begin() as conn:
        start_run(
            conn, kind="intraday", period_start=T0, period_end=T0 + timedelta(hours=1),
            pairs=["wallet_psp"], now=T0,
        )  # fmt: skip
    registry = registry_for(engine, FakeClock(T0))
    assert registry.get_sample_value(RUNS, {"pair": "wallet_psp", "outcome": "success"}) == 0
    assert registry.get_sample_value(DURATION, {"pair": "wallet_psp"}) is None


def test_registering_runs_no_query_and_a_dead_database_yields_nothing_but_health(tmp_path):
    dead = make_read_engine(f"sqlite:///{tmp_path / 'missing.db'}")
    health = Health(["reconciliation"])
    registry = CollectorRegistry()
    registry.register(ReconciliationCollector(dead, FakeClock(T0), StateConfig(), health))
    assert registry.get_sample_value(RUNS, {"pair": "wallet_psp", "outcome": "success"}) is None
    assert registry.get_sample_value(AMOUNT, {"currency": "EUR"}) is None
    up, _duration, errors = health.snapshot()
    assert up["reconciliation"] == 0 and errors["reconciliation"] >= 1


def test_major_units_follow_the_iso_exponent():
    assert major(1_234, "EUR") == 12.34
    assert major(1_234, "JPY") == 1_234
    assert major(1_234, "BHD") == 1.234


def test_the_game_provider_pair_is_labelled_by_provider_and_counts_its_rows(engine):
    zero = registry_for(engine, FakeClock(T0))
    pair = "wallet_game_provider"
    for provider in ("spinworks", "lucky_labs", "livetable"):
        labels = {"pair": pair, "type": "round_open_past_window", "psp": provider}
        assert zero.get_sample_value(OPEN, labels) == 0
    a_run(
        engine,
        T0,
        [pair],
        [
            brk("g1", pair=pair, type="ggr_difference", psp="spinworks", amount_at_risk_minor=250),
            brk("g2", pair=pair, type="missing_at_provider", psp="lucky_labs"),
        ],
        rows={"wallet": 10, "game_report": 12},
    )
    registry = registry_for(engine, FakeClock(T0 + timedelta(hours=1)))
    assert registry.get_sample_value(
        OPEN, {"pair": pair, "type": "ggr_difference", "psp": "spinworks"}
    ) == 1  # fmt: skip
    assert registry.get_sample_value(
        OPEN, {"pair": pair, "type": "missing_at_provider", "psp": "lucky_labs"}
    ) == 1  # fmt: skip
    assert registry.get_sample_value(AMOUNT, {"currency": "EUR"}) == pytest.approx(2.5 + 25)
    assert registry.get_sample_value(ROWS, {"source": "game_report"}) == 12
    assert registry.get_sample_value(RUNS, {"pair": pair, "outcome": "success"}) == 1
