"""The platform's own /metrics: business counters move exactly as the domain events say.

Each test drives the real services (registration, deposits and signed PSP callbacks,
stakes, an affiliate registration) on SQLite and PostgreSQL and reads the platform's
registry by catalog declaration.
"""

from __future__ import annotations

import pytest

from collectors.catalog import platform as c
from collectors.instrumentation.build import DEPLOYED_AT_ENV, PROCESS_STARTED, deploy_timestamp
from collectors.instrumentation.subscribers.base import major_units
from collectors.instrumentation.subscribers.payments import routed_combinations
from ground.vocabulary import DEFAULT_BRAND
from igaming.accounts.service import Registration
from igaming.cashier.gateway import PspTimeout
from igaming.cashier.routing import RoutingTable
from igaming.errors import InsufficientFunds, Unauthorized
from igaming.faults import Faults
from igaming.wallet.service import place_stake
from tests.collectors.metrics_helpers import deliver, deposit, sample
from tests.conftest import make_platform, register_player

DE_CARD = {"geo": "DE", "psp": "paybridge", "method": "card", "brand": "pitwatch"}


def test_every_fixed_combination_is_at_zero_from_start_up(platform):
    r = platform.metrics.registry
    for outcome in c.DEPOSIT_OUTCOME.values:
        assert sample(r, c.DEPOSIT_OUTCOMES, **DE_CARD, outcome=outcome) == 0
    br = {"geo": "BR", "psp": "pixgate", "method": "pix", "brand": "pitwatch"}
    assert sample(r, c.DEPOSIT_ATTEMPTS, **br) == 0
    assert sample(r, c.PSP_CALLBACKS, psp="nordpay", outcome="orphan") == 0
    assert sample(r, c.BETS_REJECTED, sport="tennis", reason="odds_changed") == 0
    assert sample(r, c.CASINO_LAUNCH_FAILURES, provider="spinworks", reason="timeout") == 0
    assert sample(r, c.KYC_OUTCOMES, status="rejected", geo="SE") == 0
    assert sample(r, c.WALLET_FAILURES, tx_type="bet", reason="insufficient_funds") == 0
    assert sample(r, c.SETTLEMENT_LAG, "_count", sport="football") == 0
    # a combination the routing table cannot produce has no series
    none = {"geo": "DE", "psp": "pixgate", "method": "pix", "brand": "pitwatch"}
    assert r.get_sample_value(c.DEPOSIT_ATTEMPTS.exposed_name, none) is None


def test_deposits_and_callbacks_count_each_outcome_once(platform):
    p, r = platform, platform.metrics.registry
    player = register_player(p, country="DE")

    approved = deposit(p, player, "d1")
    assert sample(r, c.DEPOSIT_ATTEMPTS, **DE_CARD) == 1
    assert deliver(p, approved, "approved", event_id="e1").outcome == "applied"
    assert deliver(p, approved, "approved", event_id="e1").outcome == "duplicate"
    declined = deposit(p, player, "d2")
    deliver(p, declined, "declined")
    with pytest.raises(Unauthorized):
        deliver(p, declined, "approved", secret="not-the-secret")
    p.psp.fail_with = PspTimeout
    deposit(p, player, "d3")

    assert sample(r, c.DEPOSIT_ATTEMPTS, **DE_CARD) == 3
    assert sample(r, c.DEPOSIT_OUTCOMES, **DE_CARD, outcome="approved") == 1
    assert sample(r, c.DEPOSIT_OUTCOMES, **DE_CARD, outcome="declined") == 1
    assert sample(r, c.DEPOSIT_OUTCOMES, **DE_CARD, outcome="timed_out") == 1
    assert sample(r, c.DEPOSIT_OUTCOMES, **DE_CARD, outcome="failed") == 0
    assert sample(r, c.DEPOSITS_APPROVED_AMOUNT, currency="EUR") == 25.0
    assert sample(r, c.DEPOSIT_APPROVAL, "_count", psp="paybridge") == 1
    assert sample(r, c.PSP_CALLBACKS, psp="paybridge", outcome="applied") == 2
    assert sample(r, c.PSP_CALLBACKS, psp="paybridge", outcome="duplicate") == 1
    assert sample(r, c.PSP_CALLBACKS, psp="paybridge", outcome="bad_signature") == 1
    assert sample(r, c.PSP_CALLBACK_DELAY, "_count", psp="paybridge") >= 2


def test_stakes_count_failures_and_replays_not_successes(platform):
    p, r = platform, platform.metrics.registry
    player = register_player(p)
    deliver(p, deposit(p, player, "d1", amount=1_000), "approved")

    place_stake(p, player.id, product="casino", amount=400, currency="EUR", idempotency_key="s1")
    place_stake(p, player.id, product="casino", amount=400, currency="EUR", idempotency_key="s1")
    with pytest.raises(InsufficientFunds):
        place_stake(
            p, player.id, product="casino", amount=5_000, currency="EUR", idempotency_key="s2"
        )

    assert sample(r, c.WALLET_REPLAYS, tx_type="bet") == 1
    assert sample(r, c.WALLET_FAILURES, tx_type="bet", reason="insufficient_funds") == 1
    assert sample(r, c.WALLET_FAILURES, tx_type="bet", reason="invalid") == 0


def test_an_affiliate_registration_opens_its_funnel_at_zero_and_counts_one(platform):
    p, r = platform, platform.metrics.registry
    labels = {"affiliate": "aff17", "campaign": "spring-de"}
    assert r.get_sample_value(c.AFFILIATE_REGISTRATIONS.exposed_name, labels) is None

    register_player(p, affiliate="aff17", campaign="spring-de", click_id="clk-zz-1")
    register_player(p)  # not referred: no affiliate series moves

    assert sample(r, c.AFFILIATE_REGISTRATIONS, **labels) == 1
    assert sample(r, c.AFFILIATE_FTDS, **labels) == 0
    assert sample(r, c.POSTBACKS, affiliate="aff17", outcome="delivered") == 0


def test_open_labels_keep_n_values_and_fold_the_rest_into_other(platform):
    p, r = platform, platform.metrics.registry
    top = p.metrics.top(c.AFFILIATE_REGISTRATIONS.labels[0])
    top.limit = 1
    register_player(p, affiliate="aff1", campaign="c1")
    register_player(p, affiliate="aff2", campaign="c1")
    register_player(p, affiliate="someone@example.com", campaign="c1")
    assert sample(r, c.AFFILIATE_REGISTRATIONS, affiliate="aff1", campaign="c1") == 1
    assert sample(r, c.AFFILIATE_REGISTRATIONS, affiliate="other", campaign="c1") == 2


def test_each_platform_has_its_own_registry(engine):
    a, b = make_platform(engine), make_platform(engine)
    assert a.metrics.registry is not b.metrics.registry
    register_player(a, affiliate="aff9")
    assert b.metrics.registry.get_sample_value(
        c.AFFILIATE_REGISTRATIONS.exposed_name, {"affiliate": "aff9", "campaign": "other"}
    ) is None  # fmt: skip


def test_queries_are_timed_and_the_pool_is_read_per_scrape(platform):
    r = platform.metrics.registry
    before = sample(r, c.DB_QUERY_DURATION, "_count", statement="insert")
    register_player(platform)
    assert sample(r, c.DB_QUERY_DURATION, "_count", statement="insert") > before
    assert sample(r, c.DB_POOL_SIZE) >= 1
    assert sample(r, c.DB_POOL_CHECKED_OUT) == 0


def test_an_injected_database_slowdown_shows_in_the_statement_durations(platform):
    # The fault's wait must fall inside the span the statement timer measures, whichever
    # was installed first (the platform installs the fault before it is instrumented).
    r = platform.metrics.registry
    platform.faults.replace(Faults(db_delay_ms=30))
    count = sample(r, c.DB_QUERY_DURATION, "_count", statement="insert")
    fast = sample(r, c.DB_QUERY_DURATION, "_bucket", statement="insert", le="0.025")
    register_player(platform)
    slowed = sample(r, c.DB_QUERY_DURATION, "_count", statement="insert") - count
    assert slowed >= 1
    # every insert of the registration took longer than 25 ms
    assert sample(r, c.DB_QUERY_DURATION, "_bucket", statement="insert", le="0.025") == fast


def test_build_info_and_deploy_time(platform, monkeypatch):
    r = platform.metrics.registry
    assert r.get_sample_value(c.BUILD_INFO.exposed_name, {"version": "0.1.0"}) == 1
    assert sample(r, c.DEPLOY_TIMESTAMP) == PROCESS_STARTED
    assert deploy_timestamp({DEPLOYED_AT_ENV: "1700000000"}) == 1_700_000_000
    assert deploy_timestamp({DEPLOYED_AT_ENV: "2026-11-03T10:00:00+00:00"}) == 1_793_700_000
    assert deploy_timestamp({DEPLOYED_AT_ENV: "last tuesday"}) == PROCESS_STARTED


def test_amounts_are_exported_in_major_units():
    assert major_units(2_550, "EUR") == 25.5
    assert major_units(500, "JPY") == 500.0
    assert major_units(1_234, "KWD") == 1.234


def test_deposit_series_follow_the_routing_table():
    combos = routed_combinations(RoutingTable.default())
    assert ("BR", "pixgate", "pix") in combos and ("other", "paybridge", "card") in combos
    assert ("DE", "pixgate", "pix") not in combos
    assert len(combos) == 44


def test_the_default_brand_is_the_one_a_registration_gets():
    brand = Registration.__dataclass_fields__["brand"].default
    assert DEFAULT_BRAND == brand == DE_CARD["brand"]


def test_a_brand_unseen_at_start_up_has_every_outcome_at_zero_from_its_first_attempt(platform):
    # Otherwise its first failure creates the series at 1 and rate()/increase() never
    # count it: the deposit-drop alerts would miss the first error of every new scope.
    p, r = platform, platform.metrics.registry
    scope = {**DE_CARD, "brand": "luckybay"}
    assert r.get_sample_value(c.DEPOSIT_ATTEMPTS.exposed_name, scope) is None
    player = register_player(p, country="DE", brand="luckybay")
    deposit(p, player, "lb-1")
    assert sample(r, c.DEPOSIT_ATTEMPTS, **scope) == 1
    for outcome in c.DEPOSIT_OUTCOME.values:
        assert sample(r, c.DEPOSIT_OUTCOMES, **scope, outcome=outcome) == 0
