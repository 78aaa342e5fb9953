"""The platform's /metrics for the flows the first set left out: odds feed messages and
their delay, market suspensions, cash-outs, seamless-wallet refusals and replays, FTD
rejections and reversals, registration refusals, and the bus's own subscriber failures.

Each flow is driven through the real services on SQLite and PostgreSQL; the samples are
read by catalog declaration.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from collectors.catalog import platform as c
from collectors.catalog.labels import GEO, SPORT
from collectors.instrumentation.events import BusFailuresCollector
from ground.vocabulary import SPORTS
from igaming.accounts.service import Registration, register
from igaming.affiliates.outbox_consumer import consume_all
from igaming.bus import MessageBus
from igaming.casino import seamless
from igaming.errors import RegistrationRefused
from igaming.events import PlayerRegistered
from igaming.partners.request_signing import sign_request
from igaming.sportsbook import cashout
from igaming.sportsbook.protocol import MESSAGE_TYPES
from tests.collectors.metrics_helpers import sample
from tests.conftest import register_player
from tests.platform.affiliate_helpers import (
    approved_deposit,
    deliver_callback,
    make_world,
    referred_player,
)
from tests.platform.casino_helpers import funded_player as casino_player
from tests.platform.casino_helpers import open_game
from tests.platform.sportsbook_helpers import bet, funded_player, message, open_fixture, push

DEAL = {
    "kind": "cpa",
    "currency": "EUR",
    "cpa_amount": 5_000,
    "min_ftd_amount": 2_000,
    "allowed_geos": ["DE", "SE"],
    "require_kyc": False,
}


def test_the_new_fixed_domains_are_at_zero_from_start_up(platform):
    r = platform.metrics.registry
    for t in c.FEED_MESSAGE_TYPE.values:
        assert sample(r, c.ODDS_FEED_DELAY, "_count", message_type=t) == 0
        for o in c.FEED_OUTCOME.values:
            assert sample(r, c.ODDS_FEED_MESSAGES, message_type=t, outcome=o, sport="tennis") == 0
    assert sample(r, c.MARKET_SUSPENSIONS, sport="darts", reason="bet_stop") == 0
    assert sample(r, c.BETS_CASHED_OUT, sport="football") == 0
    assert sample(r, c.CASHED_OUT_AMOUNT, currency="GBP") == 0
    for code in c.SEAMLESS_CODE.values:
        lt = {"provider": "livetable", "action": "win", "code": code}
        assert sample(r, c.CASINO_SEAMLESS_REFUSALS, **lt) == 0
    assert sample(r, c.CASINO_SEAMLESS_REPLAYS, provider="lucky_labs") == 0
    for g in GEO.values:
        assert sample(r, c.REGISTRATION_REFUSALS, geo=g, reason="under_age") == 0
    assert sample(r, c.BUS_SUBSCRIBER_FAILURES) == 0
    # open domains: no FTD rejection series before an affiliate is seen
    labels = {"affiliate": "aff17", "campaign": "spring-de", "reason": "fraud"}
    assert r.get_sample_value(c.AFFILIATE_FTD_REJECTIONS.exposed_name, labels) is None


def test_the_label_domains_cover_the_platforms_vocabularies():
    assert set(c.FEED_MESSAGE_TYPE.values) == {*MESSAGE_TYPES, "other"}
    assert set(SPORT.values) == {*SPORTS, "other"}
    assert set(c.SEAMLESS_ACTION.values) == {*seamless.ACTIONS, "other"}
    assert set(c.SEAMLESS_CODE.values) == {*seamless.HTTP_STATUS, "other"}


def test_feed_messages_count_by_type_outcome_and_sport_with_their_delay(platform):
    p, r = platform, platform.metrics.registry
    feed = c.ODDS_FEED_MESSAGES
    open_fixture(p)  # football
    assert sample(r, feed, message_type="fixture", outcome="applied", sport="football") == 1

    body = message(p, "odds_change", market_id="f1-1x2", odds={"f1-h": "2.40"})
    p.clock.advance(2)  # sent 2 s before it is received
    assert [push(p, body) for _ in range(3)] == ["applied", "duplicate", "duplicate"]
    assert push(p, body, secret="forged") == "bad_signature"
    assert push(p, b"not json") == "invalid"

    assert sample(r, feed, message_type="odds_change", outcome="applied", sport="football") == 1
    assert sample(r, feed, message_type="odds_change", outcome="duplicate", sport="football") == 2
    # a refused message is counted before its market is looked up: sport other
    assert sample(r, feed, message_type="odds_change", outcome="bad_signature", sport="other") == 1
    assert sample(r, feed, message_type="other", outcome="invalid", sport="other") == 1
    assert sample(r, feed, message_type="odds_change", outcome="stale", sport="football") == 0
    # delay: the three parsed deliveries (2 s each), not the refused ones
    delay = c.ODDS_FEED_DELAY
    assert sample(r, delay, "_count", message_type="odds_change") == 3
    assert sample(r, delay, "_sum", message_type="odds_change") == 6.0
    assert sample(r, delay, "_bucket", message_type="odds_change", le="1.0") == 0
    assert sample(r, delay, "_bucket", message_type="odds_change", le="2.5") == 3


def test_market_suspensions_count_by_sport_and_reason(platform):
    p, r = platform, platform.metrics.registry
    open_fixture(p)
    open_fixture(p, "t1", sport="tennis")
    body = message(p, "odds_change", market_id="f1-1x2", odds={"f1-h": "2.2"}, status="suspended")
    assert push(p, body) == "applied"
    assert push(p, message(p, "bet_stop", fixture_id="t1")) == "applied"  # both its markets
    push(p, message(p, "bet_stop", fixture_id="t1"))  # nothing active left: no suspension

    assert sample(r, c.MARKET_SUSPENSIONS, sport="football", reason="odds_change") == 1
    assert sample(r, c.MARKET_SUSPENSIONS, sport="football", reason="bet_stop") == 0
    assert sample(r, c.MARKET_SUSPENSIONS, sport="tennis", reason="bet_stop") == 2


def test_a_cash_out_counts_once_with_its_amount_in_major_units(platform):
    p, r = platform, platform.metrics.registry
    open_fixture(p)
    player = funded_player(p, 10_000)
    b = bet(p, player, stake=1_000)  # at 2.00
    push(p, message(p, "odds_change", market_id="f1-1x2", odds={"f1-h": "1.50"}))
    assert cashout.cash_out(p, player.id, b.id).payout == 1_266
    cashout.cash_out(p, player.id, b.id)  # answered from the closed bet: no second event

    assert sample(r, c.BETS_CASHED_OUT, sport="football") == 1
    assert sample(r, c.BETS_CASHED_OUT, sport="tennis") == 0
    assert sample(r, c.CASHED_OUT_AMOUNT, currency="EUR") == pytest.approx(12.66)


def test_seamless_refusals_by_provider_action_and_code_and_replays(platform):
    p, r = platform, platform.metrics.registry
    provider = open_game(p, casino_player(p))
    first = provider.bet("b1")
    p.clock.advance(1)
    assert provider.bet("b1") == first  # a retry: the first answer, replayed
    assert provider.bet("b1", amount=301).body["code"] == "DUPLICATE_TRANSACTION"
    assert provider.call("refund").body["code"] == "INVALID_REQUEST"
    forged = provider.call(
        "bet", secret="forged", transaction_id="b2", round_id="r1", amount=300, currency="EUR"
    )
    assert forged.body["code"] == "INVALID_SIGNATURE"
    raw = json.dumps({"session_token": "x"}).encode()
    sig = sign_request("whatever", int(p.clock.now().timestamp()), "nobody", "balance", raw)
    assert seamless.handle(p, "nobody", "balance", raw, sig).body["code"] == "INVALID_SIGNATURE"

    refusals = c.CASINO_SEAMLESS_REFUSALS
    sw = {"provider": "spinworks"}
    assert sample(r, refusals, **sw, action="bet", code="DUPLICATE_TRANSACTION") == 1
    assert sample(r, refusals, **sw, action="other", code="INVALID_REQUEST") == 1
    assert sample(r, refusals, **sw, action="bet", code="INVALID_SIGNATURE") == 1
    assert sample(r, refusals, provider="other", action="balance", code="INVALID_SIGNATURE") == 1
    assert sample(r, refusals, **sw, action="bet", code="INSUFFICIENT_FUNDS") == 0
    assert sample(r, c.CASINO_SEAMLESS_REPLAYS, provider="spinworks") == 1
    assert sample(r, c.CASINO_SEAMLESS_REPLAYS, provider="livetable") == 0


def test_ftd_rejections_and_reversals_by_affiliate_and_campaign(engine):
    w = make_world(engine, deal=DEAL)
    r = w.p.metrics.registry
    approved_deposit(w.p, referred_player(w.p), amount=1_999)  # below the deal's minimum
    d = approved_deposit(w.p, referred_player(w.p, click_id="clk-2"), amount=3_000, key="d2")
    consume_all(w.p)
    deliver_callback(w.p, d, "chargeback")
    consume_all(w.p)

    pair = {"affiliate": "aff17", "campaign": "spring-de"}
    rejections = c.AFFILIATE_FTD_REJECTIONS
    assert sample(r, rejections, **pair, reason="below_minimum") == 1
    for reason in ("geo_not_allowed", "kyc_rejected", "fraud", "charged_back", "other"):
        assert sample(r, rejections, **pair, reason=reason) == 0  # opened with the pair
    assert sample(r, c.AFFILIATE_QUALIFIED_FTDS, **pair) == 1
    assert sample(r, c.AFFILIATE_FTD_REVERSALS, **pair) == 1


def test_registration_refusals_by_geo_and_reason(platform):
    p, r = platform, platform.metrics.registry
    with pytest.raises(RegistrationRefused):
        register_player(p, country="US")  # blocked; US is not a served GEO
    with pytest.raises(RegistrationRefused):
        register(
            p,
            Registration(
                email="young@example.com",
                password="correct horse battery",
                country="SE",
                currency="EUR",
                date_of_birth=date(p.clock.now().year - 10, 1, 1),
            ),
        )
    register_player(p, country="SE")

    assert sample(r, c.REGISTRATION_REFUSALS, geo="other", reason="blocked_country") == 1
    assert sample(r, c.REGISTRATION_REFUSALS, geo="SE", reason="under_age") == 1
    assert sample(r, c.REGISTRATION_REFUSALS, geo="SE", reason="blocked_country") == 0


def test_bus_subscriber_failures_are_read_from_the_bus_per_scrape(platform):
    p, r = platform, platform.metrics.registry
    p.bus.strict = False  # a production bus: log, count, carry on

    def broken(event: object) -> None:
        raise RuntimeError("subscriber bug")

    p.bus.subscribe(PlayerRegistered, broken)
    register_player(p)
    register_player(p)
    assert p.bus.failures == 2
    assert sample(r, c.BUS_SUBSCRIBER_FAILURES) == 2
    assert f"{c.BUS_SUBSCRIBER_FAILURES.exposed_name} 2.0" in generate_latest(r).decode()


def test_registering_the_bus_collector_reads_nothing():
    class Untouchable(MessageBus):
        @property
        def failures(self) -> int:
            raise AssertionError("read at registration")

        @failures.setter
        def failures(self, value: int) -> None:
            pass

    registry = CollectorRegistry()
    registry.register(BusFailuresCollector(Untouchable()))
    with pytest.raises(AssertionError, match="read at registration"):
        generate_latest(registry)  # a scrape does read it
