"""Reconciling what the traffic simulator produced: the same afternoon of player traffic,
once with money-flow incidents (lost, delayed and duplicated PSP callbacks, a PSP
degradation, a bad deploy, postbacks lost by the network or refused while it is down) and
once without. The PSP simulator writes its settlement reports and the affiliate network
its export from their own books, as they would for a real operator, and ``reconcile_day``
must find exactly the money the incidents put at risk — and nothing on the clean run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ground.vocabulary import DEFAULT_PSPS
from igaming.affiliates.models import PostbackAttempt, PostbackJob
from igaming.db import make_engine
from igaming.models import Deposit, PspCallback
from igaming.traffic.partner_files import conversions_name, write_partner_files
from igaming.traffic.run import run_accelerated
from igaming.traffic.scenario import Scenario, load
from pitwatch.compose import simulation_settings
from reconcilers import ledger
from reconcilers.run import RunOptions, RunResult, reconcile_day
from tests.sim.traffic_tools import Run, capture_world, run_scenario, scenario

# Every test here reads a simulated afternoon or week, run once per module (15 s to minutes).
pytestmark = pytest.mark.slow

WARMUP = timedelta(minutes=20)

INCIDENTS: list[dict] = [
    {
        "type": "psp_degradation",
        "start": "20m",
        "end": "60m",
        "psp": "paybridge",
        "geo": "DE",
        "method": "card",
        "approval_rate": 0.1,
    },
    {"type": "psp_callback_delay", "start": "20m", "end": "60m", "psp": "nordpay",
     "delay_seconds": 900},
    {"type": "psp_callback_loss", "start": "20m", "end": "60m", "psp": "ewallo",
     "loss_rate": 0.5},
    {"type": "psp_callback_duplicates", "start": "20m", "end": "60m", "psp": "pixgate",
     "duplicate_rate": 0.5},
    {"type": "deploy", "start": "20m", "end": "60m", "version": "2.14.0",
     "regression": {"geo": "SE", "deposit_failure_rate": 0.3}},
    {"type": "postback_outage", "start": "20m", "end": "50m", "affiliate": "aff17",
     "mode": "losing"},
    {"type": "postback_outage", "start": "20m", "end": "50m", "affiliate": "betpartners",
     "mode": "down"},
]  # fmt: skip


def afternoon(incidents: list[dict]) -> Scenario:
    """90 minutes of new players who each deposit once (every PSP serves its own GEO and
    method), half of them through two affiliate campaigns."""
    s = scenario(
        "reconcile",
        duration="90m",
        players={
            "daily_active": 100,
            "existing": 0,
            "sessions_per_day": 2,
            "organic_registrations_per_day": 6_000,
            "registration_to_ftd": 1.0,
            "kyc_before_deposit": 0.3,
        },
        geos={
            "DE": {"weight": 0.3, "methods": {"card": 0.5, "bank_transfer": 0.5}},
            "GB": {"weight": 0.25, "methods": {"card": 0.4, "ewallet": 0.6}},
            "BR": {"weight": 0.25, "methods": {"pix": 1.0}},
            "SE": {"weight": 0.2, "methods": {"card": 1.0}},
        },
        campaigns=[
            {
                "affiliate": "aff17",
                "campaign": "spring-de",
                "clicks_per_day": 20_000,
                "geos": ["DE"],
                "click_to_registration": 0.2,
            },
            {
                "affiliate": "betpartners",
                "campaign": "br-football",
                "clicks_per_day": 10_000,
                "geos": ["BR"],
                "click_to_registration": 0.4,
            },
        ],
        deposits={"retry_after_decline": 0.0},
        casino={"share": 0.5, "rounds_per_session": 1},
        sportsbook={"share": 0.0},
        withdrawals={"per_session": 0.0},
        incidents=incidents,
    )
    return s


@dataclass
class Reconciled:
    run: Run
    day: date
    now: datetime
    result: RunResult
    breaks: pd.DataFrame  # open, as the ledger keeps them


def reconcile_the_run(run: Run, tmp: Path) -> Reconciled:
    """The partners' files for the run's day from the simulators' books, then the day."""
    day = run.start.date()
    reports, exports = tmp / "psp-settlement", tmp / "affiliates"
    days = (day - timedelta(days=1), day, day + timedelta(days=1))
    write_partner_files(run.world, days, psp_reports=reports, affiliate_exports=exports)
    export = exports / conversions_name(day)
    now = run.result.end + timedelta(days=3)  # past every settlement window and grace
    options = RunOptions(
        psp_reports_dir=reports, out_dir=tmp / "out", psps=DEFAULT_PSPS, affiliate_export=export
    )
    result = reconcile_day(run.engine, run.engine, day, options, now)
    with run.engine.connect() as conn:
        breaks = ledger.ledger_breaks(conn, status="open", now=now)
    return Reconciled(run, day, now, result, breaks)


def reconciled(name: str, incidents: list[dict], factory: pytest.TempPathFactory) -> Reconciled:
    tmp = factory.mktemp(name)
    run = run_scenario(afternoon(incidents), tmp, warmup=timedelta(minutes=10))
    return reconcile_the_run(run, tmp)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reconciled]:
    r = reconciled("clean", [], tmp_path_factory)
    yield r
    r.run.engine.dispose()


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reconciled]:
    r = reconciled("faulty", INCIDENTS, tmp_path_factory)
    yield r
    r.run.engine.dispose()


def rows_of(run: Run, model: type) -> list:
    with Session(run.engine) as session:
        return list(session.execute(select(model)).scalars())


def rows(r: Reconciled, model: type) -> list:
    return rows_of(r.run, model)


def of(breaks: pd.DataFrame, pair: str, kind: str) -> pd.DataFrame:
    return breaks[(breaks["pair"] == pair) & (breaks["type"] == kind)]


def test_a_clean_afternoon_reconciles_without_a_single_break(clean: Reconciled):
    s = clean.result.summary
    assert s.outcome == "success"
    # Enough of every flow for "no break" to mean something.
    assert s.rows["wallet"] >= 200 and s.rows["psp_report"] >= 200
    assert s.rows["affiliate_export"] >= 40
    assert s.matched["wallet_psp"] >= 200 and s.matched["wallet_affiliate"] >= 40
    assert s.open_breaks == 0, clean.breaks[["pair", "type", "psp", "reference", "details"]]
    assert len(clean.breaks) == 0


def test_the_incidents_break_only_where_money_is_at_risk(faulty: Reconciled):
    found = set(zip(faulty.breaks["pair"], faulty.breaks["type"], strict=True))
    # Delayed and duplicated callbacks, declines and a bad deploy's failed deposits leave
    # the books agreeing: the wallet is idempotent and nothing was charged.
    assert found == {
        ("wallet_psp", "missing_in_wallet"),
        ("wallet_internal", "clearing_residue"),
        ("wallet_affiliate", "missing_postback"),
    }


def test_lost_callbacks_are_the_deposits_the_psp_settled_and_the_wallet_never_credited(
    faulty: Reconciled,
):
    missing = of(faulty.breaks, "wallet_psp", "missing_in_wallet")
    window = faulty.run.window("psp_callback_loss")
    heard = {c.merchant_reference for c in rows(faulty, PspCallback)}
    # The wallet's side: ewallo deposits still pending that no callback ever reached.
    never_heard = {
        d.id
        for d in rows(faulty, Deposit)
        if d.psp == "ewallo" and d.status == "pending" and d.id not in heard
    }
    # The PSP's side: which of its transactions it approved (its own books).
    approved = {
        tx.merchant_reference
        for tx in faulty.run.world.psp.ledger.transactions("ewallo")
        if tx.status_at(faulty.now)[0] == "approved"
    }
    expected = never_heard & approved

    assert len(expected) >= 5  # half of ~40 minutes of ewallo deposits
    assert set(missing["psp"]) == {"ewallo"}
    assert set(missing["reference"]) == expected
    created = {d.id: d.created_at for d in rows(faulty, Deposit)}
    assert all(window[0] <= created[ref] <= window[1] for ref in expected)
    # Each at risk for the deposit's whole amount, in its currency.
    amounts = {d.id: (d.amount, d.currency) for d in rows(faulty, Deposit)}
    assert all(
        (b.amount_at_risk_minor, b.currency) == amounts[b.reference] for b in missing.itertuples()
    )


def test_the_clearing_residue_is_exactly_the_money_of_the_lost_callbacks(faulty: Reconciled):
    missing = of(faulty.breaks, "wallet_psp", "missing_in_wallet")
    residue = of(faulty.breaks, "wallet_internal", "clearing_residue")

    assert set(residue["psp"]) == {"ewallo"}
    lost = missing.groupby("currency")["amount_at_risk_minor"].sum().to_dict()
    assert residue.set_index("currency")["amount_at_risk_minor"].to_dict() == lost


def test_postbacks_the_network_lost_are_missing_and_those_refused_while_down_are_not(
    faulty: Reconciled,
):
    missing = of(faulty.breaks, "wallet_affiliate", "missing_postback")
    window = faulty.run.window("postback_outage", affiliate="aff17")
    jobs = {j.id: j for j in rows(faulty, PostbackJob)}
    lost = {
        jobs[a.job_id].conversion_id
        for a in rows(faulty, PostbackAttempt)
        if jobs[a.job_id].affiliate == "aff17"
        and jobs[a.job_id].event == "ftd"  # what commission is paid on
        and a.outcome == "delivered"
        and window[0] < a.at <= window[1]
    }

    assert len(lost) >= 5
    assert set(missing["affiliate"]) == {"aff17"}  # betpartners' were retried and delivered
    assert set(missing["reference"]) == lost
    assert faulty.result.summary.open_breaks == len(faulty.breaks)


def test_reconciling_the_day_again_finds_the_same_breaks(faulty: Reconciled, tmp_path: Path):
    again = reconcile_the_run(faulty.run, tmp_path)

    assert again.result.summary.new_breaks == 0
    assert sorted(again.breaks["break_key"]) == sorted(faulty.breaks["break_key"])


# -- the built-in mixed week -------------------------------------------------------------


@dataclass
class Week:
    run: Run
    days: dict[date, RunResult]
    new: dict[date, dict[str, int]]  # the breaks each day's run added, by type
    breaks: pd.DataFrame  # open after every day was reconciled


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Week]:
    """``mixed-week`` (one incident of every kind), a fiftieth of its traffic, every day
    reconciled against the partners' files of that day."""
    tmp = tmp_path_factory.mktemp("week")
    url = f"sqlite:///{tmp}/db.sqlite"
    with capture_world() as (worlds, _delays):
        # The partners' files of every day, as ``pitwatch simulate --psp-reports DIR
        # --affiliate-export DIR`` writes them.
        result = run_accelerated(
            load("mixed-week"),
            url,
            settings_for=simulation_settings,
            scale=0.02,
            warmup=WARMUP,
            psp_reports=tmp / "psp-settlement",
            affiliate_exports=tmp / "affiliates",
        )
    run = Run(result, make_engine(url), worlds[-1], [])
    first, last = result.start.date(), (result.end - timedelta(microseconds=1)).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    reports = tmp / "psp-settlement"
    assert result.partner_files is not None
    # The warm-up's day (before the start) and the days either side of the run's.
    around = [days[0] - timedelta(days=2), days[0] - timedelta(days=1), *days]
    expected = [*around, days[-1] + timedelta(days=1)]
    exported = result.partner_files.affiliate_exports
    assert [p.name for p in exported] == [conversions_name(d) for d in expected]
    now = result.end + timedelta(days=3)
    done: dict[date, RunResult] = {}
    new: dict[date, dict[str, int]] = {}
    seen: set[str] = set()
    for day in days:
        export = tmp / "affiliates" / conversions_name(day)
        options = RunOptions(
            psp_reports_dir=reports, out_dir=tmp / "out", psps=DEFAULT_PSPS, affiliate_export=export
        )
        done[day] = reconcile_day(run.engine, run.engine, day, options, now)
        with run.engine.connect() as conn:
            breaks = ledger.ledger_breaks(conn, status="open", now=now)
        added = breaks[~breaks["break_key"].isin(seen)]
        new[day] = added["type"].value_counts().to_dict()
        seen.update(added["break_key"])
    yield Week(run, done, new, breaks)
    run.engine.dispose()


def test_the_ledger_invariant_holds_after_the_mixed_week(week: Week):
    """(The week's run, shared with its reconciliation: two minutes here.)"""
    result = week.run.result
    assert result.invariants_ok is True
    assert len(result.incidents) == len(load("mixed-week").incidents)
    assert all(r["end"] for r in result.incidents)
    flows = result.tally.as_dict()["flows"]
    assert flows["deposit"] and flows["bet"]["accepted"] and flows["casino_round"]
    assert result.database["postback_jobs"].get("delivered", 0) > 0


def test_a_mixed_week_breaks_only_where_its_callbacks_were_lost(week: Week):
    assert all(r.summary.outcome == "success" for r in week.days.values())
    assert sum(r.summary.matched["wallet_psp"] for r in week.days.values()) >= 50
    assert sum(r.summary.matched["wallet_affiliate"] for r in week.days.values()) >= 10
    start, end = week.run.window("psp_callback_loss")
    heard = {c.merchant_reference for c in rows_of(week.run, PspCallback)}
    approved = {
        tx.merchant_reference
        for tx in week.run.world.psp.ledger.transactions("ewallo")
        if tx.status_at(end + timedelta(days=1))[0] == "approved"
    }
    pending = {
        d.id: d.currency
        for d in rows_of(week.run, Deposit)
        if d.psp == "ewallo" and d.status == "pending" and d.id not in heard
    }
    lost = set(pending) & approved
    # Every other incident of the week (a PSP degradation, delayed and duplicated
    # callbacks, a stalled and a refused postback stream, a bad deploy, a slow database,
    # ...) breaks nothing; a fiftieth of the traffic may lose no callback at all.
    expected = (
        {start.date(): {"missing_in_wallet": len(lost),
                        "clearing_residue": len({pending[d] for d in lost})}}
        if lost
        else {}
    )  # fmt: skip
    assert {day: kinds for day, kinds in week.new.items() if kinds} == expected
    assert set(of(week.breaks, "wallet_psp", "missing_in_wallet")["reference"]) == lost
