"""Fault injection: each injected incident breaks exactly what it says, loses no money, and
heals when the fault is lifted; the admin API puts faults in force, audited."""

from __future__ import annotations

import logging
import time

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select, text

from collectors.catalog import platform as c
from collectors.state.sportsbook import BACKLOG
from igaming.admin import create_operator
from igaming.api.app import create_app
from igaming.bus import MessageBus
from igaming.cashier import deposits
from igaming.errors import UpstreamUnavailable
from igaming.events import Event, PlatformDeployed
from igaming.fault_injection import apply_faults
from igaming.faults import Faults, deposit_fails
from igaming.models import AuditLog, Deposit, LedgerEntry, WalletTransaction
from igaming.sportsbook import feed
from igaming.sportsbook.models import Bet, FeedMessage, Market
from igaming.wallet.invariants import check_invariants
from igaming.worker import BackgroundJobs
from pitwatch.compose import attach_instrumentation
from tests.conftest import make_platform, register_player
from tests.platform.affiliate_helpers import approved_deposit, make_world, referred_player
from tests.platform.sportsbook_helpers import (
    assert_ledger_ok,
    bet,
    cash,
    events,
    funded_player,
    message,
    open_fixture,
    push,
    result,
)

# -- the Faults value ------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"deposit_failures": {"de": 0.5}},
        {"deposit_failures": {"DEU": 0.5}},
        {"deposit_failures": {"DE": 1.5}},
        {"deposit_failures": {"DE": -0.1}},
        {"db_delay_ms": 5_001},
        {"db_delay_ms": -1},
        {"version": ""},
        {"version": "v" * 65},
        {"settlement_stalled": True},
    ],
)
def test_faults_refuse_what_they_cannot_mean(bad):
    with pytest.raises(ValidationError):
        Faults.model_validate(bad)


def test_faults_are_immutable_and_break_nothing_by_default():
    faults = Faults()
    assert (faults.settlement_paused, faults.postbacks_paused, faults.db_delay_ms) == (
        False,
        False,
        0,
    )
    with pytest.raises(ValidationError):
        faults.db_delay_ms = 10


def test_the_deposit_draw_is_reproducible_and_respects_the_extremes():
    half = Faults(deposit_failures={"DE": 0.5})
    ids = [f"dep-{i}" for i in range(400)]
    draws = [deposit_fails(half, "DE", i) for i in ids]
    assert draws == [deposit_fails(half, "DE", i) for i in ids]
    assert 0.35 < sum(draws) / len(ids) < 0.65
    assert not any(deposit_fails(half, "SE", i) for i in ids)
    assert all(deposit_fails(Faults(deposit_failures={"DE": 1.0}), "DE", i) for i in ids)
    assert not any(deposit_fails(Faults(deposit_failures={"DE": 0.0}), "DE", i) for i in ids)


# -- a bad deploy's deposit regression ---------------------------------------------------


def failed_outcomes(p, geo: str) -> float:
    return p.metrics.registry.get_sample_value(
        c.DEPOSIT_OUTCOMES.exposed_name,
        {
            "geo": geo,
            "psp": "paybridge",
            "method": "card",
            "brand": "pitwatch",
            "outcome": "failed",
        },
    )


def test_a_deposit_regression_fails_its_share_in_the_geo_and_moves_no_money(platform):
    platform.faults.replace(Faults(deposit_failures={"DE": 0.5}))
    de, se = register_player(platform, country="DE"), register_player(platform, country="SE")
    failed: list[str] = []
    for i in range(200):
        try:
            deposits.request_deposit(
                platform, de.id, amount=100, currency="EUR", method="card", idempotency_key=f"{i}"
            )
        except UpstreamUnavailable as exc:
            assert (exc.status, exc.extra["reason"]) == (503, "internal_error")
            failed.append(str(exc.extra["deposit_id"]))
    others = [
        deposits.request_deposit(
            platform, se.id, amount=100, currency="EUR", method="card", idempotency_key=f"{i}"
        )
        for i in range(50)
    ]

    assert 0.35 <= len(failed) / 200 <= 0.65
    assert {d.status for d in others} == {"pending"}
    submitted = {r.merchant_reference for r in platform.psp.submitted}
    assert submitted.isdisjoint(failed)  # no PSP was asked to charge them
    with platform.session_factory() as s:
        rows = s.execute(select(Deposit).where(Deposit.id.in_(failed))).scalars().all()
        assert {(d.status, d.reason) for d in rows} == {("failed", "internal_error")}
        txs = s.execute(select(WalletTransaction.status).where(WalletTransaction.id.in_(failed)))
        assert set(txs.scalars()) == {"failed"}
        moved = s.execute(select(LedgerEntry.id).where(LedgerEntry.transaction_id.in_(failed)))
        assert moved.first() is None
        report = check_invariants(s)
    assert report.ok, report.violations()
    reasons = [e["reason"] for e in events(platform, "deposit.failed")]
    assert reasons == ["internal_error"] * len(failed)
    assert failed_outcomes(platform, "DE") == len(failed)
    assert failed_outcomes(platform, "SE") == 0


# -- a stalled settlement worker ---------------------------------------------------------


def backlog(p) -> int:
    """Open bets of resulted markets, as the settlement-backlog collector counts them."""
    with p.engine.connect() as conn:
        return sum(r.n for r in conn.execute(BACKLOG))


def feed_row(p, market_id: str, type_: str = "result") -> FeedMessage:
    with p.session_factory() as s:
        return s.execute(
            select(FeedMessage)
            .where(FeedMessage.market_id == market_id, FeedMessage.type == type_)
            .order_by(FeedMessage.id.desc())
            .limit(1)
        ).scalar_one()


def bet_status(p, bet_id: str) -> str:
    with p.session_factory() as s:
        return s.get(Bet, bet_id).status


def test_paused_settlement_records_the_result_and_leaves_bets_open(platform):
    open_fixture(platform)
    player = funded_player(platform, 10_000)
    b = bet(platform, player, stake=1_000)
    platform.faults.replace(Faults(settlement_paused=True))
    body = result(platform, "f1-1x2", "f1-h")

    assert push(platform, body) == "deferred"
    assert push(platform, body) == "duplicate"  # a redelivery of a deferred message
    assert bet_status(platform, b.id) == "accepted"
    assert cash(platform, player) == 9_000
    with platform.session_factory() as s:
        market = s.get(Market, "f1-1x2")
        assert (market.status, market.result_at) == ("active", platform.clock.now())
    assert backlog(platform) == 1
    assert feed.settle_deferred(platform) == 0  # still paused: nothing moves
    assert bet_status(platform, b.id) == "accepted"


def test_resumed_settlement_settles_the_deferred_results_once(platform):
    open_fixture(platform)
    player = funded_player(platform, 10_000)
    won, lost = (
        bet(platform, player, stake=1_000),
        bet(platform, player, "f1-o", stake=500, odds="1.90"),
    )
    platform.faults.replace(Faults(settlement_paused=True))
    push(platform, result(platform, "f1-1x2", "f1-h"))
    push(platform, result(platform, "f1-ou", "f1-u"))
    platform.clock.advance(600)
    platform.faults.replace(Faults())

    assert feed.settle_deferred(platform) == 2
    assert feed.settle_deferred(platform) == 0
    assert (bet_status(platform, won.id), bet_status(platform, lost.id)) == (
        "settled_won",
        "settled_lost",
    )
    assert cash(platform, player) == 8_500 + 2_000
    assert len(events(platform, "bet.settled")) == 2
    assert backlog(platform) == 0
    row = feed_row(platform, "f1-1x2")
    assert row.outcome == "applied" and "settlement stall" in (row.detail or "")
    with platform.session_factory() as s:
        assert s.get(Bet, won.id).settlement_lag_seconds == 600  # the stall shows as lag
    assert_ledger_ok(platform)


def test_a_rollback_during_the_stall_makes_the_deferred_result_stale(platform):
    open_fixture(platform)
    player = funded_player(platform, 10_000)
    b = bet(platform, player, stake=1_000)
    platform.faults.replace(Faults(settlement_paused=True))
    assert push(platform, result(platform, "f1-1x2", "f1-h")) == "deferred"
    assert push(platform, message(platform, "rollback", market_id="f1-1x2")) == "applied"
    assert backlog(platform) == 0  # the withdrawn result no longer counts as known
    platform.faults.replace(Faults())

    assert feed.settle_deferred(platform) == 1
    assert feed_row(platform, "f1-1x2").outcome == "stale"
    assert bet_status(platform, b.id) == "accepted"
    assert cash(platform, player) == 9_000
    assert_ledger_ok(platform)


def test_a_corrected_result_parked_by_a_rollback_waits_for_the_stall_to_end(platform):
    open_fixture(platform)
    player = funded_player(platform, 10_000)
    b = bet(platform, player, stake=1_000)
    push(platform, result(platform, "f1-1x2", "f1-h"))
    assert cash(platform, player) == 11_000
    platform.faults.replace(Faults(settlement_paused=True))
    rollback = message(platform, "rollback", market_id="f1-1x2")
    corrected = result(platform, "f1-1x2", "f1-a")  # sent after the rollback
    assert push(platform, corrected) == "duplicate"
    assert push(platform, rollback) == "applied"
    assert bet_status(platform, b.id) == "accepted"  # reopened, not re-settled while paused
    assert cash(platform, player) == 9_000
    assert feed_row(platform, "f1-1x2").outcome == "deferred"
    platform.faults.replace(Faults())

    assert feed.settle_deferred(platform) == 1
    with platform.session_factory() as s:
        assert (s.get(Bet, b.id).status, s.get(Bet, b.id).generation) == ("settled_lost", 2)
    assert cash(platform, player) == 9_000
    assert_ledger_ok(platform)


def test_the_background_jobs_settle_what_the_stall_deferred(engine):
    world = make_world(engine)
    open_fixture(world.p)
    player = funded_player(world.p, 10_000)
    b = bet(world.p, player, stake=1_000)
    world.p.faults.replace(Faults(settlement_paused=True))
    push(world.p, result(world.p, "f1-1x2", "f1-h"))
    jobs = BackgroundJobs(world.p, world.client)
    jobs.run_once()
    assert bet_status(world.p, b.id) == "accepted"
    world.p.faults.replace(Faults())
    jobs.run_once()
    assert bet_status(world.p, b.id) == "settled_won"
    assert cash(world.p, player) == 11_000


# -- a stalled postback dispatcher -------------------------------------------------------


def test_paused_postbacks_are_not_dispatched_until_resumed(engine, caplog):
    world = make_world(engine)
    approved_deposit(world.p, referred_player(world.p))
    jobs = BackgroundJobs(world.p, world.client)
    world.p.faults.replace(Faults(postbacks_paused=True))
    with caplog.at_level(logging.INFO, logger="igaming.worker"):
        jobs.run_once()
        jobs.run_once()
    assert world.network.conversions(world.clock.now().date()) == []
    paused_logs = [r for r in caplog.records if "paused" in r.getMessage()]
    assert len(paused_logs) == 1  # once per pause, not per pass

    world.p.faults.replace(Faults())
    jobs.run_once()
    delivered = {conv.event for conv in world.network.conversions(world.clock.now().date())}
    assert {"registration", "ftd"} <= delivered


def test_the_dispatcher_heartbeat_ages_while_postbacks_are_paused(engine):
    world = make_world(engine)
    registry = attach_instrumentation(world.p).registry
    beat = c.POSTBACK_DISPATCHER_LAST_PASS.exposed_name
    jobs = BackgroundJobs(world.p, world.client)
    assert registry.get_sample_value(beat) == 0  # never passed: as old as it gets
    jobs.run_once()  # nothing due: the pass beats all the same
    first = world.clock.now().timestamp()
    assert registry.get_sample_value(beat) == first

    world.p.faults.replace(Faults(postbacks_paused=True))
    world.clock.advance(300)
    approved_deposit(world.p, referred_player(world.p))
    jobs.run_once()
    assert registry.get_sample_value(beat) == first  # five minutes old, postbacks waiting

    world.p.faults.replace(Faults())
    world.clock.advance(1)
    jobs.run_once()
    assert registry.get_sample_value(beat) == world.clock.now().timestamp()
    assert world.network.conversions(world.clock.now().date())  # and they left


# -- a slow database ---------------------------------------------------------------------


def test_db_delay_makes_every_statement_wait_at_least_that_long(platform):
    platform.faults.replace(Faults(db_delay_ms=20))
    with platform.engine.connect() as conn:
        started = time.perf_counter()
        conn.execute(text("SELECT 1"))
        conn.execute(text("SELECT 2"))
        elapsed = time.perf_counter() - started
    assert elapsed >= 0.040


def test_a_platform_built_on_an_engine_already_in_use_owns_its_delay(sqlite_engine):
    first = make_platform(sqlite_engine)
    second = make_platform(sqlite_engine)
    first.faults.replace(Faults())
    second.faults.replace(Faults(db_delay_ms=20))
    with sqlite_engine.connect() as conn:
        started = time.perf_counter()
        conn.execute(text("SELECT 1"))
    assert time.perf_counter() - started >= 0.020


# -- deploy marker and audit -------------------------------------------------------------


def test_a_new_version_moves_build_info_and_the_deploy_time(platform):
    registry = platform.metrics.registry
    platform.clock.advance(3_600)
    apply_faults(platform, Faults(version="2026.11.3"), "simulator")

    assert registry.get_sample_value(c.BUILD_INFO.exposed_name, {"version": "2026.11.3"}) == 1
    assert registry.get_sample_value(c.BUILD_INFO.exposed_name, {"version": "0.1.0"}) is None
    deployed = registry.get_sample_value(c.DEPLOY_TIMESTAMP.exposed_name)
    assert deployed == platform.clock.now().timestamp()

    platform.clock.advance(60)
    apply_faults(platform, Faults(version="2026.11.3", db_delay_ms=1), "simulator")
    assert registry.get_sample_value(c.DEPLOY_TIMESTAMP.exposed_name) == deployed  # same build
    apply_faults(platform, Faults(), "simulator")  # rolled back to the settings' version
    assert registry.get_sample_value(c.BUILD_INFO.exposed_name, {"version": "0.1.0"}) == 1
    with platform.session_factory() as s:
        audited = s.execute(select(AuditLog.operator, AuditLog.action)).all()
    assert [tuple(a) for a in audited] == [("simulator", "faults")] * 3


def test_the_bus_knows_whether_a_deploy_event_would_reach_anyone():
    bus = MessageBus()
    assert not bus.has_subscribers(PlatformDeployed)  # then apply_faults builds no event
    bus.subscribe(Event, lambda e: None)  # a subscriber of a base class receives it too
    assert bus.has_subscribers(PlatformDeployed)


def test_a_new_version_is_published_as_a_deploy_event_once(platform):
    deploys: list[PlatformDeployed] = []
    platform.bus.subscribe(PlatformDeployed, deploys.append)
    platform.clock.advance(3_600)
    apply_faults(platform, Faults(version="2026.11.3"), "simulator")
    apply_faults(platform, Faults(version="2026.11.3", db_delay_ms=1), "simulator")  # same build
    assert [(d.version, d.occurred_at) for d in deploys] == [("2026.11.3", platform.clock.now())]


# -- the admin API -----------------------------------------------------------------------


PLAYER = {
    "email": "fault@example.com",
    "password": "correct horse battery",
    "country": "DE",
    "currency": "EUR",
    "date_of_birth": "1990-05-17",
}


@pytest.fixture
def client(platform):
    with TestClient(create_app(platform), raise_server_exceptions=False) as c_:
        yield c_


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    return body


def test_the_faults_role_puts_faults_in_force_audited(client, platform):
    admin_key = create_operator(platform, "ada", "faults")
    support_key = create_operator(platform, "sam", "support")
    wanted = {"settlement_paused": True, "deposit_failures": {"DE": 0.25}, "version": "2026.11.3"}

    r = client.put("/admin/faults", json=wanted, headers={"X-API-Key": admin_key})
    assert r.status_code == 200, r.text
    assert r.json() == Faults(**wanted).model_dump()
    assert platform.faults.current == Faults(**wanted)
    seen = client.get("/admin/faults", headers={"X-API-Key": support_key})
    assert seen.json()["deposit_failures"] == {"DE": 0.25}
    log = client.get("/admin/audit-log", headers={"X-API-Key": support_key}).json()
    assert (log[0]["operator"], log[0]["role"], log[0]["action"]) == ("ada", "faults", "faults")
    assert log[0]["payload"]["to"]["version"] == "2026.11.3"
    registry = platform.metrics.registry
    assert registry.get_sample_value(c.BUILD_INFO.exposed_name, {"version": "2026.11.3"}) == 1


def test_only_the_faults_role_may_inject_faults(client, platform):
    for role in ("support", "admin"):
        key = create_operator(platform, role, role)
        r = client.put("/admin/faults", json={"db_delay_ms": 100}, headers={"X-API-Key": key})
        assert "may not inject faults" in assert_problem(r, 403)["detail"]
    assert platform.faults.current == Faults()


@pytest.mark.parametrize(
    "bad", [{"db_delay_ms": 99_999}, {"deposit_failures": {"de": 0.5}}, {"paused": True}]
)
def test_a_bad_faults_body_is_a_422_problem_and_changes_nothing(client, platform, bad):
    admin_key = create_operator(platform, "ada", "faults")
    r = client.put("/admin/faults", json=bad, headers={"X-API-Key": admin_key})
    assert assert_problem(r, 422)["errors"]
    assert platform.faults.current == Faults()


def test_a_regressed_deposit_answers_503_with_its_id_and_reason(client, platform):
    assert client.post("/players", json=PLAYER).status_code == 201
    token = client.post(
        "/sessions", json={"email": PLAYER["email"], "password": PLAYER["password"]}
    )
    platform.faults.replace(Faults(deposit_failures={"DE": 1.0}))
    r = client.post(
        "/cashier/deposits",
        json={"amount": 2_500, "currency": "EUR", "method": "card"},
        headers={"Authorization": f"Bearer {token.json()['token']}", "Idempotency-Key": "k1"},
    )
    body = assert_problem(r, 503)
    assert body["reason"] == "internal_error" and "nothing was charged" in body["detail"]
    with platform.session_factory() as s:
        assert s.get(Deposit, body["deposit_id"]).status == "failed"
