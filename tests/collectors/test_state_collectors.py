"""State collectors: scenarios built with the real platform services, values read back with
``registry.get_sample_value`` from a fresh exporter (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text, update

from collectors.exporter import create_exporter
from collectors.state import StateConfig
from ground.clock import FakeClock
from igaming import admin
from igaming.affiliates.dispatcher import backoff, dispatch_due
from igaming.affiliates.outbox_consumer import consume_all
from igaming.cashier import deposits
from igaming.kyc import service as kyc
from igaming.models import Account
from tests.conftest import make_platform, register_player
from tests.fakes import FakeKyc
from tests.platform.affiliate_helpers import (
    approved_deposit,
    jobs,
    make_world,
    referred_player,
)
from tests.platform.sportsbook_helpers import bet, funded_player, open_fixture

DEAL = {"kind": "cpa", "currency": "EUR", "cpa_amount": 5_000}
GAP = "igaming_ftd_postback_gap"
AFF = {"affiliate": "aff17", "campaign": "spring-de"}


def test_postback_outage_opens_an_ftd_gap_after_the_grace_and_delivery_closes_it(engine):
    w = make_world(engine, deal=DEAL)
    registry, _app = create_exporter(engine, w.clock)
    w.client.patch("/admin/knobs", json={"down": True})
    approved_deposit(w.p, referred_player(w.p, click_id="c1"), key="d1")
    w.pump()  # the FTD postback fails: network down
    assert registry.get_sample_value(GAP, AFF) is None  # inside the grace: not yet counted
    w.clock.advance(601)
    w.pump()
    assert registry.get_sample_value(GAP, AFF) == 1
    assert registry.get_sample_value(GAP + "_oldest_age_seconds", AFF) == 601
    w.client.patch("/admin/knobs", json={"down": False})
    w.clock.advance(3600)
    w.pump()  # delivered
    assert registry.get_sample_value(GAP, AFF) == 0
    assert registry.get_sample_value(GAP + "_oldest_age_seconds", AFF) == 0
    assert registry.get_sample_value("pitwatch_collector_up", {"collector": "affiliates"}) == 1


def test_affiliates_beyond_top_n_fold_into_other(engine):
    w = make_world(engine, deal=DEAL)
    config = StateConfig(top_n={"affiliate": 1, "campaign": 1})
    registry, _app = create_exporter(engine, w.clock, config)
    w.client.patch("/admin/knobs", json={"down": True})
    for i, campaign in enumerate(("spring-de", "spring-de", "autumn-de")):
        player = referred_player(w.p, click_id=f"c{i}", campaign=campaign)
        approved_deposit(w.p, player, key=f"d{i}")
    w.pump()  # FTDs qualified, their postbacks fail
    w.clock.advance(601)
    assert registry.get_sample_value(GAP, AFF) == 2
    assert registry.get_sample_value(GAP, {"affiliate": "other", "campaign": "other"}) == 1


def test_deposit_pending_past_the_threshold_is_counted_by_psp(engine):
    clock = FakeClock()
    p = make_platform(engine, clock=clock)
    registry, _app = create_exporter(engine, clock)
    player = register_player(p)
    d = deposits.request_deposit(
        p, player.id, amount=2_500, currency="EUR", method="card", idempotency_key="k1"
    )
    psp = {"psp": d.psp}
    clock.advance(14 * 60)
    assert registry.get_sample_value("igaming_deposits_pending_stale", psp) == 0
    clock.advance(61)
    assert registry.get_sample_value("igaming_deposits_pending_stale", psp) == 1
    assert registry.get_sample_value("igaming_deposits_pending_stale_oldest_age_seconds", psp) == (
        15 * 60 + 1
    )
    others = {"psp": "other"}
    assert registry.get_sample_value("igaming_deposits_pending_stale", others) == 0
    assert registry.get_sample_value("igaming_withdrawals_stuck", psp) == 0


def test_open_bets_of_a_resulted_market_are_a_settlement_backlog(engine):
    clock = FakeClock()
    p = make_platform(engine, clock=clock)
    registry, _app = create_exporter(engine, clock)
    open_fixture(p)
    player = funded_player(p)
    bet(p, player)
    bet(p, player, selection="f1-a", odds="3.80")
    football = {"sport": "football"}
    assert registry.get_sample_value("igaming_settlement_backlog_bets", football) == 0
    # The reference platform settles with the result, in one transaction; a platform that
    # settles asynchronously shows this state between the two: the result is recorded,
    # the bets are still open.
    result_at = clock.now()
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE sb_markets SET result_at = :t WHERE id = 'f1-1x2'"),
            {"t": result_at.replace(tzinfo=None) if engine.dialect.name == "sqlite" else result_at},
        )
    clock.advance(90)
    assert registry.get_sample_value("igaming_settlement_backlog_bets", football) == 2
    assert (
        registry.get_sample_value("igaming_settlement_backlog_oldest_age_seconds", football) == 90
    )
    assert registry.get_sample_value("igaming_settlement_backlog_bets", {"sport": "tennis"}) == 0


def test_active_market_past_kickoff_without_odds_updates_is_stale(engine):
    clock = FakeClock()
    p = make_platform(engine, clock=clock)
    registry, _app = create_exporter(engine, clock)
    open_fixture(p)  # kick-off in 2 h, two markets
    stale = "igaming_markets_stale_odds"
    clock.advance(3600)  # no odds update for an hour, but before kick-off: not stale
    assert registry.get_sample_value(stale, {"sport": "football"}) == 0
    clock.advance(3600 + 1)
    assert registry.get_sample_value(stale, {"sport": "football"}) == 2


def test_manual_review_backlog_counts_players_waiting_for_compliance(engine):
    clock = FakeClock()
    p = make_platform(engine, clock=clock, kyc=FakeKyc(script=["manual_review"]))
    registry, _app = create_exporter(engine, clock)
    players = [register_player(p) for _ in range(2)]
    clock.advance(days=1)  # the age counts from the check, not from the registration
    checks = [kyc.request_verification(p, pl.id) for pl in players]
    clock.advance(7200)
    assert registry.get_sample_value("igaming_kyc_manual_review_backlog") == 2
    assert registry.get_sample_value("igaming_kyc_manual_review_oldest_age_seconds") == 7200
    compliance = admin.OperatorIdentity("cleo", "compliance")
    admin.review_kyc(p, compliance, checks[0].id, "approved", "passport verified by hand")
    assert registry.get_sample_value("igaming_kyc_manual_review_backlog") == 1


def test_outbox_backlog_is_what_the_consumer_has_not_read(engine):
    w = make_world(engine)
    registry, _app = create_exporter(engine, w.clock)
    consumer = {"consumer": "affiliates"}
    referred_player(w.p)  # player.registered (and more) in the outbox, unread
    w.clock.advance(30)
    assert registry.get_sample_value("igaming_outbox_backlog_events", consumer) >= 1
    assert registry.get_sample_value("igaming_outbox_backlog_oldest_age_seconds", consumer) == 30
    consume_all(w.p)
    assert registry.get_sample_value("igaming_outbox_backlog_events", consumer) == 0
    assert registry.get_sample_value("igaming_outbox_backlog_oldest_age_seconds", consumer) == 0


def test_dead_lettered_postbacks_are_counted_by_affiliate(engine):
    w = make_world(engine)
    registry, _app = create_exporter(engine, w.clock)
    w.client.put("/admin/affiliates/aff17", json={"knobs": {"error_rate": 1.0}})
    referred_player(w.p)
    consume_all(w.p)
    dead = "igaming_postbacks_dead_letter"
    assert registry.get_sample_value(dead, {"affiliate": "aff17"}) is None
    [job] = jobs(w.p)
    for attempt in range(1, job.max_attempts + 1):
        dispatch_due(w.p, w.client)
        w.clock.advance(backoff(attempt).total_seconds())
    assert registry.get_sample_value(dead, {"affiliate": "aff17"}) == 1


def test_pending_postbacks_age_until_delivered_and_leave_the_metric(engine):
    w = make_world(engine)
    registry, _app = create_exporter(engine, w.clock)
    aff = {"affiliate": "aff17"}
    pending, oldest = "igaming_postbacks_pending", "igaming_postbacks_pending_oldest_age_seconds"
    w.client.put("/admin/affiliates/aff17", json={"knobs": {"down": True}})
    referred_player(w.p)
    consume_all(w.p)  # the registration's postback job, not sent yet (a stalled dispatcher)
    assert registry.get_sample_value(pending, aff) >= 1
    w.clock.advance(120)
    assert registry.get_sample_value(oldest, aff) == 120
    dispatch_due(w.p, w.client)  # their endpoint is down: still pending, retried later
    w.clock.advance(60)
    assert registry.get_sample_value(oldest, aff) == 180
    w.client.put("/admin/affiliates/aff17", json={"knobs": {"down": False}})
    dispatch_due(w.p, w.client)
    assert registry.get_sample_value(pending, aff) is None  # delivered: no series
    assert registry.get_sample_value(oldest, aff) is None


def test_ledger_invariant_flips_to_zero_when_a_balance_is_tampered_with(engine):
    clock = FakeClock()
    p = make_platform(engine, clock=clock)
    registry, _app = create_exporter(engine, clock)
    player = funded_player(p)
    assert registry.get_sample_value("pitwatch_ledger_invariant_ok") == 1
    assert registry.get_sample_value("pitwatch_ledger_entries_checked_total") > 0
    with engine.begin() as conn:
        conn.execute(
            update(Account)
            .where(Account.owner == player.id, Account.kind == "cash")
            .values(balance=Account.balance + 1)
        )
    assert registry.get_sample_value("pitwatch_ledger_invariant_ok") == 0
    mismatch = {"kind": "balance_mismatch"}
    assert registry.get_sample_value("pitwatch_ledger_invariant_violations", mismatch) == 1
    # Still 0 on the next scrapes: a violation stays until it is gone, not until it is old.
    assert registry.get_sample_value("pitwatch_ledger_invariant_ok") == 0
    with engine.begin() as conn:
        conn.execute(
            update(Account)
            .where(Account.owner == player.id, Account.kind == "cash")
            .values(balance=Account.balance - 1)
        )
    assert registry.get_sample_value("pitwatch_ledger_invariant_ok") == 1


def test_ledger_check_finds_an_unbalanced_transaction_among_new_entries(engine):
    clock = FakeClock()
    p = make_platform(engine, clock=clock)
    registry, _app = create_exporter(engine, clock)
    funded_player(p)
    assert registry.get_sample_value("pitwatch_ledger_invariant_ok") == 1
    with engine.begin() as conn:  # one extra leg: the transaction no longer sums to zero
        conn.execute(
            text(
                "INSERT INTO ledger_entries (transaction_id, account_id, amount, currency,"
                " created_at) SELECT transaction_id, account_id, 7, currency, created_at"
                " FROM ledger_entries WHERE id = (SELECT MAX(id) FROM ledger_entries)"
            )
        )
    unbalanced = {"kind": "unbalanced_transaction"}
    assert registry.get_sample_value("pitwatch_ledger_invariant_violations", unbalanced) == 1
    assert registry.get_sample_value("pitwatch_ledger_invariant_ok") == 0


def test_thresholds_come_from_the_config(engine):
    clock = FakeClock()
    p = make_platform(engine, clock=clock)
    registry, _app = create_exporter(engine, clock, StateConfig(deposit_pending_seconds=60))
    d = deposits.request_deposit(
        p, register_player(p).id, amount=2_500, currency="EUR", method="card", idempotency_key="k"
    )
    clock.advance(timedelta(seconds=61).total_seconds())
    assert registry.get_sample_value("igaming_deposits_pending_stale", {"psp": d.psp}) == 1
