"""Hardening of what players and partners send: odds text refused by its shape before any
arithmetic, partner bodies bounded (amounts, sequences, aware datetimes), signature headers
of any characters, unknown PSP statuses recorded and ignored, bodies capped in size and
refusals kept as counts plus a bounded sample."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from igaming.api.app import create_app
from igaming.sportsbook import odds as odds_module
from igaming.sportsbook.odds import OddsError, parse_odds
from tests.platform.test_sportsbook import funded_player, message, open_fixture, push

BAD_ODDS = ["1e500000", "1e1000000", "NaN", "-2", "2.1234", "1000.001"]


@pytest.fixture
def client(platform):  # type: ignore[no-untyped-def]
    return TestClient(create_app(platform))


def login(client, player) -> dict[str, str]:  # type: ignore[no-untyped-def]
    token = client.post(
        "/sessions", json={"email": player.email, "password": "correct horse battery"}
    ).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def is_problem(r, status: int) -> bool:  # type: ignore[no-untyped-def]
    return r.status_code == status and r.headers["content-type"] == "application/problem+json"


# -- item 1: odds text ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [*(t for t in BAD_ODDS if t != "1000.001"), "inf", "+2", "2.", ".5", "0x10", "2,15", "١.٥",
     "1_000", "2.15e0", "12345", ""],
)  # fmt: skip
def test_parse_odds_refuses_by_shape_before_any_arithmetic(text, monkeypatch):  # type: ignore[no-untyped-def]
    def no_decimal(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("parse_odds did arithmetic on text it had not checked")

    monkeypatch.setattr(odds_module, "Decimal", no_decimal, raising=False)
    with pytest.raises(OddsError, match="decimal odds are 1 to 4 digits"):
        parse_odds(text)


@pytest.mark.parametrize("text", ["1.000", "0.5", "0", "1000.5", "9999", "1000.001"])
def test_parse_odds_refuses_well_shaped_odds_out_of_range(text):  # type: ignore[no-untyped-def]
    with pytest.raises(OddsError, match=r"outside 1\.001\.\.1000"):
        parse_odds(text)


@pytest.mark.parametrize(
    ("text", "milli"),
    [("2.15", 2150), ("2", 2000), ("1.001", 1001), ("1000", 1_000_000), ("1000.000", 1_000_000),
     (" 3.4 ", 3400), ("0002.5", 2500)],
)  # fmt: skip
def test_parse_odds_accepts_plain_decimals(text, milli):  # type: ignore[no-untyped-def]
    assert parse_odds(text) == milli


def test_bet_with_odds_of_a_bad_shape_is_a_422_problem_and_good_odds_still_work(platform, client):  # type: ignore[no-untyped-def]
    open_fixture(platform, home_odds="2.15")
    headers = login(client, funded_player(platform))
    for i, text in enumerate(BAD_ODDS):
        body = {"selection_id": "f1-h", "stake": 1_000, "currency": "EUR", "odds": text}
        key = {"Idempotency-Key": f"k{i}"}
        r = client.post("/sportsbook/bets", json=body, headers=headers | key)
        assert is_problem(r, 422), (text, r.status_code, r.text)
    body = {"selection_id": "f1-h", "stake": 1_000, "currency": "EUR", "odds": "2.15"}
    r = client.post("/sportsbook/bets", json=body, headers=headers | {"Idempotency-Key": "ok"})
    assert r.status_code == 201 and r.json()["status"] == "accepted"


@pytest.mark.parametrize("text", BAD_ODDS)
def test_feed_odds_of_a_bad_shape_are_invalid_not_a_500(platform, text):  # type: ignore[no-untyped-def]
    open_fixture(platform)
    change = message(platform, "odds_change", market_id="f1-1x2", odds={"f1-h": text})
    assert push(platform, change) == "invalid"
    fixture = json.loads(message(platform, "fixture", fixture_id="f2"))
    fixture |= {
        "sport": "football",
        "competition": "C",
        "home": "H",
        "away": "A",
        "starts_at": (platform.clock.now() + timedelta(hours=1)).isoformat(),
        "markets": [
            {
                "market_id": "f2-m",
                "type": "match_result",
                "selections": [{"selection_id": "f2-h", "name": "H", "odds": text}],
            }
        ],
    }
    assert push(platform, json.dumps(fixture).encode()) == "invalid"


def test_feed_odds_over_http_of_a_bad_shape_answer_422_invalid(platform, client):  # type: ignore[no-untyped-def]
    from igaming.cashier.signing import sign

    open_fixture(platform)
    body = message(platform, "odds_change", market_id="f1-1x2", odds={"f1-h": "1e1000000"})
    sig = sign(platform.settings.odds_feed_secret, int(platform.clock.now().timestamp()), body)
    r = client.post("/sportsbook/feed", content=body, headers={"X-Feed-Signature": sig})
    assert (r.status_code, r.json()["outcome"]) == (422, "invalid")
