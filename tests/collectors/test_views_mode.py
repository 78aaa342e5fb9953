"""Views mode: the business counters derived from the pw_* views equal what the platform's
instrumentation counted on the same traffic; no double counting on a re-scrape or a status
change; restarts start from now; bounded rows per scrape; two replicas agree.

Each test drives the real services on SQLite and PostgreSQL and reads both the platform's
registry (instrumentation on) and a views-mode exporter's over the same database."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import update

from collectors.catalog import platform as c
from collectors.exporter import create_exporter
from collectors.views import VIEWS_COLLECTORS
from collectors.views.payments import DepositsView
from igaming.cashier import withdrawals
from igaming.cashier.gateway import PspTimeout
from igaming.models import Player
from tests.collectors.metrics_helpers import deliver, deposit, sample
from tests.conftest import register_player

DE_CARD = {"geo": "DE", "psp": "paybridge", "method": "card", "brand": "pitwatch"}
SETTLE = DepositsView.settle_seconds


def views_exporter(platform: Any, collectors: Any = VIEWS_COLLECTORS) -> CollectorRegistry:
    registry, _app = create_exporter(platform.engine, clock=platform.clock, collectors=collectors)
    registry.get_sample_value("up")  # the first scrape: watermarks at "now"
    return registry


def scrape(platform: Any, registry: CollectorRegistry) -> None:
    """Let the rows settle, then scrape (what Prometheus' next scrape would see)."""
    platform.clock.advance(SETTLE + 1)
    registry.get_sample_value("up")


def derived(registry: CollectorRegistry, metric: Any, suffix: str = "", **labels: str) -> float:
    return sample(registry, metric, suffix, **labels)


SERIES = [
    (c.DEPOSIT_ATTEMPTS, "", DE_CARD),
    *((c.DEPOSIT_OUTCOMES, "", {**DE_CARD, "outcome": o}) for o in c.DEPOSIT_OUTCOME.values),
    (c.DEPOSITS_APPROVED_AMOUNT, "", {"currency": "EUR"}),
    (c.DEPOSIT_APPROVAL, "_count", {"psp": "paybridge"}),
    (c.DEPOSIT_APPROVAL, "_sum", {"psp": "paybridge"}),
    (c.DEPOSIT_CHARGEBACKS, "", {"psp": "paybridge"}),
    *((c.PSP_CALLBACKS, "", {"psp": "paybridge", "outcome": o})
      for o in ("applied", "duplicate", "out_of_order", "orphan")),
    (c.PSP_CALLBACK_DELAY, "_count", {"psp": "paybridge"}),
    (c.PSP_CALLBACK_DELAY, "_sum", {"psp": "paybridge"}),
    (c.WITHDRAWAL_REQUESTS, "", {"psp": "paybridge"}),
    *((c.WITHDRAWAL_OUTCOMES, "", {"psp": "paybridge", "outcome": o})
      for o in c.WITHDRAWAL_OUTCOME.values),
]  # fmt: skip


def assert_same(platform: Any, registry: CollectorRegistry) -> dict[str, float]:
    seen = {}
    for metric, suffix, labels in SERIES:
        want = sample(platform.metrics.registry, metric, suffix, **labels)
        got = derived(registry, metric, suffix, **labels)
        assert got == pytest.approx(want), (metric.name + suffix, labels, got, want)
        seen[metric.name + suffix + str(sorted(labels.items()))] = got
    return seen


def traffic(p: Any, registry: CollectorRegistry) -> None:
    """Deposits with every outcome, callbacks (applied, duplicate), a timed-out deposit
    approved by a late callback, a chargeback, a withdrawal paid out."""
    player = register_player(p, country="DE")
    approved = deposit(p, player, "d1", amount=50_000)
    p.clock.advance(3)
    assert deliver(p, approved, "approved", event_id="e1").outcome == "applied"
    assert deliver(p, approved, "approved", event_id="e1").outcome == "duplicate"
    declined = deposit(p, player, "d2")
    deliver(p, declined, "declined")
    p.psp.fail_with = PspTimeout
    late = deposit(p, player, "d3")
    p.psp.fail_with = None
    scrape(p, registry)  # a status passed through between scrapes is not seen: read it
    p.clock.advance(30)
    deliver(p, late, "approved")  # timed_out, then approved by a late callback
    charged = deposit(p, player, "d4")
    deliver(p, charged, "approved")
    p.clock.advance(5)
    deliver(p, charged, "chargeback")  # approved and charged back before the next scrape
    with p.session_factory() as s:
        s.execute(update(Player).where(Player.id == player.id).values(kyc_status="approved"))
        s.commit()
    w = withdrawals.request_withdrawal(
        p, player.id, amount=1_000, currency="EUR", method="card", idempotency_key="w1"
    )
    assert w.status in ("processing", "requested", "completed")


def test_derived_counters_equal_the_instrumentation_on_the_same_traffic(platform):
    registry = views_exporter(platform)
    traffic(platform, registry)
    scrape(platform, registry)
    values = assert_same(platform, registry)
    assert derived(registry, c.DEPOSIT_ATTEMPTS, **DE_CARD) == 4
    assert derived(registry, c.DEPOSIT_OUTCOMES, **DE_CARD, outcome="approved") == 3
    assert derived(registry, c.DEPOSIT_CHARGEBACKS, psp="paybridge") == 1
    assert derived(registry, c.PSP_CALLBACKS, psp="paybridge", outcome="duplicate") == 1
    # a re-scrape with nothing new counts nothing again
    scrape(platform, registry)
    assert assert_same(platform, registry) == values


def test_a_status_change_between_scrapes_counts_the_attempt_once(platform):
    registry = views_exporter(platform)
    player = register_player(platform, country="DE")
    d = deposit(platform, player, "d1")
    scrape(platform, registry)  # read as pending: an attempt, no outcome
    assert derived(registry, c.DEPOSIT_ATTEMPTS, **DE_CARD) == 1
    assert derived(registry, c.DEPOSIT_OUTCOMES, **DE_CARD, outcome="approved") == 0
    deliver(platform, d, "approved")
    scrape(platform, registry)  # read again, approved: an outcome, not a second attempt
    assert derived(registry, c.DEPOSIT_ATTEMPTS, **DE_CARD) == 1
    assert derived(registry, c.DEPOSIT_OUTCOMES, **DE_CARD, outcome="approved") == 1
    deliver(platform, d, "approved", event_id="again")  # a duplicate changes no row
    scrape(platform, registry)
    assert derived(registry, c.DEPOSIT_OUTCOMES, **DE_CARD, outcome="approved") == 1
    assert_same(platform, registry)


def test_rows_younger_than_the_settle_time_wait_for_the_next_scrape(platform):
    registry = views_exporter(platform)
    player = register_player(platform, country="DE")
    deposit(platform, player, "d1")
    registry.get_sample_value("up")  # at once: the row is not settled yet
    assert registry.get_sample_value(c.DEPOSIT_ATTEMPTS.exposed_name, DE_CARD) is None
    scrape(platform, registry)
    assert derived(registry, c.DEPOSIT_ATTEMPTS, **DE_CARD) == 1


def test_a_restarted_exporter_starts_from_now_and_two_replicas_agree(platform):
    first = views_exporter(platform)
    player = register_player(platform, country="DE")
    deposit(platform, player, "d1")
    scrape(platform, first)
    assert derived(first, c.DEPOSIT_ATTEMPTS, **DE_CARD) == 1
    # a restart (a new exporter) and a second replica started at the same time
    restarted, replica = views_exporter(platform), views_exporter(platform)
    deposit(platform, player, "d2")
    scrape(platform, restarted)
    replica.get_sample_value("up")
    # the restart counts from its start: 1 (rate() sees a reset from 1 to 1, i.e. +1)
    assert derived(restarted, c.DEPOSIT_ATTEMPTS, **DE_CARD) == 1
    assert derived(first, c.DEPOSIT_ATTEMPTS, **DE_CARD) == 2  # the running one: both
    for metric, suffix, labels in SERIES:
        assert restarted.get_sample_value(
            metric.exposed_name if metric.type != "histogram" else metric.name + suffix, labels
        ) == replica.get_sample_value(
            metric.exposed_name if metric.type != "histogram" else metric.name + suffix, labels
        )


def test_work_per_scrape_is_bounded_and_the_rest_comes_next_scrape(platform):
    class Small(DepositsView):
        batch_rows = 2

    registry = views_exporter(platform, (Small,))
    (collector,) = [x for x in registry._collector_to_names if isinstance(x, Small)]
    player = register_player(platform, country="DE")
    for i in range(5):
        deposit(platform, player, f"d{i}")
    counts = []
    for _ in range(4):
        before = collector.rows_read
        scrape(platform, registry)
        assert collector.rows_read - before <= 2 * 3  # batch_rows per stream (3)
        counts.append(collector.counters.counts[c.DEPOSIT_ATTEMPTS.name][tuple(DE_CARD.values())])
    assert counts == [2, 4, 5, 5]  # (reading a sample is a scrape too: no derived() here)
    assert derived(registry, c.DEPOSIT_ATTEMPTS, **DE_CARD) == sample(
        platform.metrics.registry, c.DEPOSIT_ATTEMPTS, **DE_CARD
    )


def test_a_missing_view_reports_the_collector_down_not_a_traceback(sqlite_engine):
    from sqlalchemy import text

    from ground.clock import FakeClock

    with sqlite_engine.begin() as conn:
        conn.execute(text("DROP VIEW pw_callbacks"))
    registry, _app = create_exporter(sqlite_engine, clock=FakeClock(), collectors=VIEWS_COLLECTORS)
    assert registry.get_sample_value("pitwatch_collector_up", {"collector": "views_callbacks"}) == 0
    assert registry.get_sample_value("pitwatch_collector_up", {"collector": "views_deposits"}) == 1


def test_bets_settlements_rollbacks_equal_the_instrumentation(platform):
    from tests.platform.sportsbook_helpers import bet, funded_player, message, open_fixture, push
    from tests.platform.sportsbook_helpers import result as result_message

    registry = views_exporter(platform)
    open_fixture(platform)
    player = funded_player(platform, 10_000)
    bet(platform, player, stake=1_000)
    bet(platform, player, selection="f1-a", stake=500, odds="3.80")
    assert bet(platform, player, stake=5).status == "rejected"  # stake_too_low
    assert bet(platform, player, odds="2.50").reason == "odds_changed"
    platform.clock.advance(30)
    push(platform, result_message(platform, "f1-1x2", "f1-h"))  # a win and a loss
    scrape(platform, registry)
    push(platform, message(platform, "rollback", market_id="f1-1x2"))
    scrape(platform, registry)
    series = [
        (c.BETS_PLACED, "", {"sport": "football"}),
        *((c.BETS_REJECTED, "", {"sport": "football", "reason": r})
          for r in ("stake_too_low", "odds_changed", "market_suspended")),
        *((c.BETS_SETTLED, "", {"sport": "football", "outcome": o}) for o in c.BET_OUTCOME.values),
        (c.SETTLEMENT_LAG, "_count", {"sport": "football"}),
        (c.SETTLEMENT_LAG, "_sum", {"sport": "football"}),
        (c.SETTLEMENT_ROLLBACKS, "", {"sport": "football"}),
    ]  # fmt: skip
    for metric, suffix, labels in series:
        want = sample(platform.metrics.registry, metric, suffix, **labels)
        assert derived(registry, metric, suffix, **labels) == pytest.approx(want), (metric, labels)
    assert derived(registry, c.BETS_PLACED, sport="football") == 2
    assert derived(registry, c.BETS_SETTLED, sport="football", outcome="won") == 1
    assert derived(registry, c.SETTLEMENT_ROLLBACKS, sport="football") == 2


def test_a_platform_without_a_sportsbook_switches_its_collectors_off(sqlite_engine):
    from sqlalchemy import text

    from ground.clock import FakeClock

    with sqlite_engine.begin() as conn:
        conn.execute(text("DROP VIEW pw_bets"))
        conn.execute(text("DROP VIEW pw_settlements"))
    registry, _app = create_exporter(sqlite_engine, clock=FakeClock(), collectors=VIEWS_COLLECTORS)
    up = {"collector": "views_bets"}
    assert registry.get_sample_value("pitwatch_collector_up", up) is None  # off, not failing
    assert registry.get_sample_value(c.BETS_PLACED.exposed_name, {"sport": "football"}) is None
    assert registry.get_sample_value("pitwatch_collector_up", {"collector": "views_deposits"}) == 1


def test_affiliate_registrations_ftds_and_postbacks_equal_the_instrumentation(engine):
    from tests.platform.affiliate_helpers import (
        AFFILIATE,
        approved_deposit,
        make_world,
        referred_player,
    )

    w = make_world(engine, deal={"kind": "cpa", "currency": "EUR", "cpa_amount": 5_000})
    registry = views_exporter(w.p)
    w.client.patch("/admin/knobs", json={"down": True})
    approved_deposit(w.p, referred_player(w.p, click_id="c0"), key="d0")
    register_player(w.p)  # not referred: no affiliate series moves
    assert {r.outcome for r in w.pump()} == {"failed"}
    scrape(w.p, registry)
    w.client.patch("/admin/knobs", json={"down": False})
    w.clock.advance(30)
    assert {r.outcome for r in w.pump()} == {"delivered"}
    scrape(w.p, registry)
    pair = {"affiliate": AFFILIATE, "campaign": "spring-de"}
    series = [
        (c.AFFILIATE_REGISTRATIONS, "", pair),
        (c.AFFILIATE_FTDS, "", pair),
        (c.AFFILIATE_QUALIFIED_FTDS, "", pair),
        *((c.POSTBACKS, "", {"affiliate": AFFILIATE, "outcome": o})
          for o in c.POSTBACK_OUTCOME.values),
        (c.POSTBACK_DELAY, "_count", {"affiliate": AFFILIATE}),
        (c.POSTBACK_DELAY, "_sum", {"affiliate": AFFILIATE}),
    ]  # fmt: skip
    for metric, suffix, labels in series:
        want = sample(w.p.metrics.registry, metric, suffix, **labels)
        assert derived(registry, metric, suffix, **labels) == pytest.approx(want), (metric, labels)
    assert derived(registry, c.AFFILIATE_REGISTRATIONS, **pair) == 1
    assert derived(registry, c.AFFILIATE_FTDS, **pair) == 1
    assert derived(registry, c.AFFILIATE_QUALIFIED_FTDS, **pair) == 1
    assert derived(registry, c.POSTBACKS, affiliate=AFFILIATE, outcome="delivered") >= 1


def test_casino_launches_rounds_and_rollbacks_equal_the_instrumentation(platform):
    from tests.platform.casino_helpers import funded_player, open_game

    registry = views_exporter(platform)
    player = funded_player(platform)
    game = open_game(platform, player)
    game.bet("b1", round_id="r1")
    game.win("w1", round_id="r1")  # completed
    game.bet("b2", round_id="r2")
    game.rollback("rb2", "b2", round_id="r2")  # rolled back: the round is cancelled
    game.bet("b3", round_id="r3")  # still open: not counted
    scrape(platform, registry)
    provider = {"provider": game.name}
    series = [
        (c.CASINO_LAUNCHES, "", provider),
        *((c.CASINO_ROUNDS, "", {**provider, "outcome": o}) for o in c.ROUND_OUTCOME.values),
        (c.CASINO_ROUND_RESULT_DELAY, "_count", provider),
        (c.CASINO_ROUND_RESULT_DELAY, "_sum", provider),
        (c.CASINO_ROLLBACKS, "", provider),
    ]
    for metric, suffix, labels in series:
        want = sample(platform.metrics.registry, metric, suffix, **labels)
        assert derived(registry, metric, suffix, **labels) == pytest.approx(want), (metric, labels)
    assert derived(registry, c.CASINO_LAUNCHES, **provider) == 1
    assert derived(registry, c.CASINO_ROUNDS, **provider, outcome="completed") == 1
    assert derived(registry, c.CASINO_ROUNDS, **provider, outcome="cancelled") == 1
    assert derived(registry, c.CASINO_ROLLBACKS, **provider) == 1


def test_the_payment_sportsbook_and_affiliate_alerts_need_no_platform_metric_in_views_mode():
    from string import Template

    from alert_rules.domains.payments import DROP_GEO, DROP_WINDOWS, _drop_window
    from pitwatch.views_docs import platform_only_metrics, platform_only_reads

    needs = platform_only_reads()
    for alert in ("PspDown", "FtdPostbacksStopped"):
        assert needs[alert] == set(), (alert, needs[alert])
    # ...and the HTTP SLO alerts say what they still need (docs/metrics.md: a proxy's)
    slo = {"igaming_http_requests", "igaming_http_request_duration_seconds"}
    assert needs["SloErrorBudgetBurnFast"] == slo
    # The deposit drops: every drop window reads only what views mode derives; the one
    # branch that takes over the deposit SLO's page reads the SLO's own metrics, so it
    # exists exactly where that page can fire.
    for by in ("geo", "psp, geo"):
        for w in DROP_WINDOWS:
            params = {k: str(v.default) for k, v in DROP_GEO.params.items()}
            expr = Template(_drop_window(by, w)).substitute(params, sel="", m="")
            assert platform_only_metrics(expr) == set(), (by, w)
    for alert in ("DepositSuccessRateDropGeo", "DepositSuccessRateDropPsp"):
        assert needs[alert] == slo, (alert, needs[alert])


def test_a_failed_scrape_keeps_the_counters_and_reports_the_collector_down(sqlite_platform):
    from sqlalchemy import text

    p = sqlite_platform
    registry = views_exporter(p)
    player = register_player(p, country="DE")
    deposit(p, player, "d1")
    scrape(p, registry)
    assert derived(registry, c.DEPOSIT_ATTEMPTS, **DE_CARD) == 1
    with p.engine.begin() as conn:  # the view goes away for a scrape
        sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'pw_deposits'"))
        view_sql = sql.scalar_one()
        conn.execute(text("DROP VIEW pw_deposits"))
    try:
        p.clock.advance(SETTLE + 1)
        up = registry.get_sample_value("pitwatch_collector_up", {"collector": "views_deposits"})
        assert up == 0
        assert registry.get_sample_value(c.DEPOSIT_ATTEMPTS.exposed_name, DE_CARD) == 1
    finally:
        with p.engine.begin() as conn:
            conn.execute(text(view_sql))
    deposit(p, player, "d2")
    scrape(p, registry)  # back: nothing lost, nothing counted twice
    assert derived(registry, c.DEPOSIT_ATTEMPTS, **DE_CARD) == 2


def test_a_deposit_created_before_a_scrapes_cutoff_and_changed_after_it_counts_once(platform):
    """X is created, Y a second later; X is approved just before a scrape whose cutoff
    falls between Y and X's approval: that scrape reads Y only. The next reads X, approved:
    its attempt and its approval each count once."""
    registry = views_exporter(platform)
    player = register_player(platform, country="DE")
    x = deposit(platform, player, "x")
    platform.clock.advance(1)
    deposit(platform, player, "y")
    platform.clock.advance(SETTLE - 0.5)
    deliver(platform, x, "approved")
    platform.clock.advance(1)  # the cutoff: after y's creation, before x's approval
    registry.get_sample_value("up")
    scrape(platform, registry)
    assert derived(registry, c.DEPOSIT_ATTEMPTS, **DE_CARD) == 2
    assert derived(registry, c.DEPOSIT_OUTCOMES, **DE_CARD, outcome="approved") == 1
    assert_same(platform, registry)


def test_odds_feed_messages_and_their_delay_equal_the_instrumentation(platform):
    from tests.platform.sportsbook_helpers import message, open_fixture, push
    from tests.platform.sportsbook_helpers import result as result_message

    registry = views_exporter(platform)
    open_fixture(platform)
    platform.clock.advance(3)
    push(platform, result_message(platform, "f1-1x2", "f1-h"))
    push(platform, message(platform, "result", market_id="nope", results={"x": "won"}))
    push(platform, b"{not json", secret="wrong")  # refused: bad_signature or invalid
    scrape(platform, registry)
    series = [
        *((c.ODDS_FEED_DELAY, suffix, {"message_type": t})
          for t in ("fixture", "result", "other") for suffix in ("_count", "_sum")),
        *((c.ODDS_FEED_MESSAGES, "", {"message_type": t, "outcome": o, "sport": s})
          for t, o, s in (("fixture", "applied", "football"), ("result", "applied", "football"),
                          ("result", "orphan", "other"), ("other", "bad_signature", "other"),
                          ("other", "invalid", "other"))),
    ]  # fmt: skip
    for metric, suffix, labels in series:
        want = sample(platform.metrics.registry, metric, suffix, **labels)
        assert derived(registry, metric, suffix, **labels) == pytest.approx(want), (labels, want)
    assert derived(registry, c.ODDS_FEED_DELAY, "_count", message_type="fixture") == 1


def test_a_view_with_integer_ids_is_read_from_the_first_watermark(engine):
    """An operator's ids may be integers (Lagoon's conversions, casino rounds): the first
    watermark compares with them on both backends (it was ``''``, and PostgreSQL refused
    ``bigint > ''`` at the second scrape). A row at the start time itself is history."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import bindparam, text

    from collectors.views.base import Once, once_statement
    from ground.sqltypes import UTCDateTime

    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    insert = text("INSERT INTO lv_rows (id, at) VALUES (:id, :at)").bindparams(
        bindparam("at", type_=UTCDateTime)
    )
    with engine.connect() as conn:
        conn.execute(text("CREATE TEMPORARY TABLE lv_rows (id bigint, at timestamptz)"))
        for rid, seconds in ((1, 0), (3, 1), (2, 1), (4, 30)):
            conn.execute(insert, {"id": rid, "at": start + timedelta(seconds=seconds)})
        once = Once(
            once_statement(
                """SELECT id AS row_id, at AS row_at FROM lv_rows
                   WHERE (at, id) > (:t, :id) AND at <= :cutoff ORDER BY at, id LIMIT :n"""
            ),
            start,
        )
        first = once.read(conn, start + timedelta(seconds=10), 10)
        second = once.read(conn, start + timedelta(seconds=40), 10)
        conn.rollback()
    assert [int(r.row_id) for r in first] == [2, 3]
    assert [int(r.row_id) for r in second] == [4]
