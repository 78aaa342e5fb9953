"""Sportsbook over HTTP: the book, bets (rejections as problem+json with their reason),
cash-out, and the feed endpoint answering in the feed's vocabulary."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from igaming.api.app import create_app
from igaming.partners.signing import sign
from tests.conftest import bearer
from tests.platform.sportsbook_helpers import funded_player, message, open_fixture


@pytest.fixture
def client(platform):
    return TestClient(create_app(platform))


def test_open_fixtures_list_markets_with_decimal_string_odds(platform, client):
    open_fixture(platform, home_odds="2.15")
    fixtures = client.get("/sportsbook/fixtures", params={"sport": "football"}).json()
    assert [f["id"] for f in fixtures] == ["f1"]
    market = next(m for m in fixtures[0]["markets"] if m["id"] == "f1-1x2")
    assert market["status"] == "active"
    assert {s["id"]: s["odds"] for s in market["selections"]}["f1-h"] == "2.150"
    assert client.get("/sportsbook/fixtures", params={"sport": "tennis"}).json() == []
    assert client.get("/sportsbook/markets/nope").status_code == 404


def test_bet_is_placed_replayed_and_listed(platform, client):
    open_fixture(platform)
    player = funded_player(platform)
    headers = bearer(client, player) | {"Idempotency-Key": "b-1"}
    body = {"selection_id": "f1-h", "stake": 1_000, "currency": "EUR", "odds": "2.00"}
    first = client.post("/sportsbook/bets", json=body, headers=headers)
    again = client.post("/sportsbook/bets", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert (first.json()["status"], first.json()["potential_payout"]) == ("accepted", 2_000)
    listed = client.get("/sportsbook/bets", headers=headers).json()
    assert [b["id"] for b in listed] == [first.json()["id"]]


def test_rejected_bet_is_a_problem_with_its_reason_and_bet_id(platform, client):
    open_fixture(platform)
    player = funded_player(platform)
    headers = bearer(client, player) | {"Idempotency-Key": "b-2"}
    body = {"selection_id": "f1-h", "stake": 1_000, "currency": "EUR", "odds": "2.50"}
    r = client.post("/sportsbook/bets", json=body, headers=headers)
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["reason"] == "odds_changed" and problem["type"].endswith("/bet-rejected")
    stored = client.get(f"/sportsbook/bets/{problem['bet_id']}", headers=headers).json()
    assert (stored["status"], stored["reason"]) == ("rejected", "odds_changed")


def test_bet_with_float_like_garbage_odds_is_a_422(platform, client):
    open_fixture(platform)
    player = funded_player(platform)
    headers = bearer(client, player) | {"Idempotency-Key": "b-3"}
    body = {"selection_id": "f1-h", "stake": 1_000, "currency": "EUR", "odds": "2.0001"}
    r = client.post("/sportsbook/bets", json=body, headers=headers)
    assert r.status_code == 422 and "three decimals" in r.json()["detail"]


def test_cash_out_quote_then_cash_out(platform, client):
    open_fixture(platform)
    player = funded_player(platform)
    headers = bearer(client, player)
    bet = client.post(
        "/sportsbook/bets",
        json={"selection_id": "f1-h", "stake": 1_000, "currency": "EUR", "odds": "2.00"},
        headers=headers | {"Idempotency-Key": "b-4"},
    ).json()
    quote = client.get(f"/sportsbook/bets/{bet['id']}/cashout", headers=headers).json()
    assert (quote["amount"], quote["current_odds"]) == (950, "2.000")
    too_much = client.post(
        f"/sportsbook/bets/{bet['id']}/cashout", json={"minimum_amount": 951}, headers=headers
    )
    assert too_much.status_code == 409 and too_much.json()["reason"] == "value_changed"
    done = client.post(
        f"/sportsbook/bets/{bet['id']}/cashout", json={"minimum_amount": 950}, headers=headers
    )
    assert (done.json()["status"], done.json()["payout"]) == ("cashed_out", 950)


def test_feed_endpoint_answers_in_the_feeds_vocabulary(platform, client):
    body = message(platform, "odds_change", market_id="m-unknown", odds={"s": "2.0"})
    now = int(platform.clock.now().timestamp())
    good = {"X-Feed-Signature": sign(platform.settings.odds_feed_secret, now, body)}
    forged = {"X-Feed-Signature": sign("forged", now, body)}
    r = client.post("/sportsbook/feed", content=body, headers=forged)
    assert (r.status_code, r.json()["outcome"]) == (401, "bad_signature")
    r = client.post("/sportsbook/feed", content=body, headers=good)
    assert (r.status_code, r.json()["outcome"]) == (409, "orphan")
    r = client.post(
        "/sportsbook/feed",
        content=b"{}",
        headers={"X-Feed-Signature": sign(platform.settings.odds_feed_secret, now, b"{}")},
    )
    assert (r.status_code, r.json()["outcome"]) == (422, "invalid")
    assert client.post("/sportsbook/feed", content=body).status_code == 401
    open_fixture(platform, "m")
    fixture_body = message(platform, "odds_change", market_id="m-1x2", odds={"m-h": "2.0"})
    sig = {"X-Feed-Signature": sign(platform.settings.odds_feed_secret, now, fixture_body)}
    r = client.post("/sportsbook/feed", content=fixture_body, headers=sig)
    assert (r.status_code, r.json()["outcome"]) == (200, "applied")
