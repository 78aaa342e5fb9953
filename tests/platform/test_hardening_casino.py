"""Security review of the casino: open sessions and account changes, the signature's
scope (body and action), and what an unknown action leaves in the logs."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from igaming import admin
from igaming.accounts.service import self_exclude
from igaming.api.app import create_app
from igaming.bootstrap import Platform
from igaming.casino import seamless
from igaming.casino.launch import OpenedSession, OpenSession, launch_game
from igaming.casino.models import CasinoSession, CasinoTransaction
from igaming.casino.sessions import end_player_sessions
from igaming.errors import ResponsibleGamblingBlock
from igaming.models import Player
from igaming.partners.request_signing import sign_request
from tests.platform.casino_helpers import (
    FakeProvider,
    cash,
    funded_player,
    ledger_ok,
    open_game,
)

COMPLIANCE = admin.OperatorIdentity("carla", "compliance")
SECRET = "dev-secret-spinworks"


@pytest.fixture
def game(platform):
    player = funded_player(platform)
    return open_game(platform, player), player


def _signed(p: Platform, action: str, fields: dict, provider: str = "spinworks"):
    raw = json.dumps(fields).encode()
    ts = int(p.clock.now().timestamp())
    return raw, sign_request(SECRET, ts, provider, action, raw)


# -- 3: open sessions and account changes ---------------------------------------------------


def test_self_exclusion_refuses_the_open_sessions_bets_and_still_pays_its_rounds(platform, game):
    provider, player = game
    assert provider.bet("b1", round_id="r1").body["status"] == "OK"  # 9 700
    self_exclude(platform, player.id, days=30)

    refused = provider.bet("b2", round_id="r2")
    assert (refused.status_code, refused.body["code"]) == (403, "INVALID_SESSION")
    assert provider.call("balance").body["code"] == "INVALID_SESSION"
    assert cash(platform, player) == 9_700  # no stake taken
    # The round played before the exclusion still gets its result.
    assert provider.win("w1", round_id="r1", amount=500).body["status"] == "OK"
    assert cash(platform, player) == 10_200
    ledger_ok(platform)


@pytest.mark.parametrize("status", ["blocked", "fraud", "closed"])
def test_a_blocked_flagged_or_closed_player_cannot_stake_but_gets_rollbacks(platform, game, status):
    provider, player = game
    provider.bet("b1", round_id="r1")
    admin.set_player_status(platform, COMPLIANCE, player.id, status, "security review")

    assert provider.bet("b2", round_id="r1").body["code"] == "INVALID_SESSION"
    assert provider.rollback("x1", "b1", round_id="r1").body["status"] == "OK"
    assert cash(platform, player) == 10_000
    ledger_ok(platform)


def test_an_account_change_ends_the_sessions_for_good(platform, game):
    provider, player = game
    admin.set_player_status(platform, COMPLIANCE, player.id, "blocked", "chargeback spree")
    admin.set_player_status(platform, COMPLIANCE, player.id, "active", "resolved with bank")

    # Reactivated, the player may launch again, but the session opened before is over.
    assert provider.bet("b1").body["code"] == "INVALID_SESSION"
    assert cash(platform, player) == 10_000
    fresh = open_game(platform, player)
    assert fresh.bet("b2", round_id="r2").body["status"] == "OK"


def test_end_player_sessions_ends_only_that_players_open_sessions(platform):
    alice, bob = funded_player(platform), funded_player(platform)
    a1, a2, b1 = open_game(platform, alice), open_game(platform, alice), open_game(platform, bob)
    now = platform.clock.now()
    with platform.uow() as uow:
        assert end_player_sessions(uow.session, alice.id, now) == 2
        assert end_player_sessions(uow.session, alice.id, now) == 0  # nothing left open
        uow.commit()
    assert a1.call("balance").body["code"] == "INVALID_SESSION"
    assert a2.call("balance").body["code"] == "INVALID_SESSION"
    assert b1.call("balance").body["status"] == "OK"


def test_every_bet_checks_the_player_even_if_the_sessions_were_not_ended(platform, game):
    # Any path that changes the account (a migration, a script, a future endpoint) is
    # covered by the per-bet check, not only the two that end the sessions.
    provider, player = game
    with platform.uow() as uow:
        uow.session.execute(
            update(Player)
            .where(Player.id == player.id)
            .values(self_excluded_until=platform.clock.now() + timedelta(days=1))
        )
        uow.commit()
    assert provider.bet("b1").body["code"] == "INVALID_SESSION"
    assert cash(platform, player) == 10_000
    platform.clock.advance(hours=3)  # still within the session's 4 h, exclusion running
    assert provider.bet("b2").body["code"] == "INVALID_SESSION"


def test_a_retried_bet_accepted_before_the_exclusion_gets_its_first_answer(platform, game):
    provider, player = game
    first = provider.bet("b1")
    self_exclude(platform, player.id, days=7)
    # The provider never saw the answer and retries: the stake is already taken, so the
    # answer is the first one, not a refusal the provider could take as "nothing moved".
    assert provider.bet("b1") == first
    assert cash(platform, player) == 9_700
    with platform.session_factory() as s:
        assert s.execute(select(func.count()).select_from(CasinoTransaction)).scalar_one() == 2


def test_a_session_ended_while_its_launch_is_in_flight_is_not_handed_out(platform):
    player = funded_player(platform)

    class ExcludingProvider(FakeProvider):
        def open_session(self, request: OpenSession) -> OpenedSession:
            self_exclude(platform, player.id, days=1)  # the player excludes meanwhile
            return super().open_session(request)

    open_game(platform, player)  # seeds the catalogue
    platform.games = ExcludingProvider()
    with pytest.raises(ResponsibleGamblingBlock):
        launch_game(platform, player.id, "spinworks:pit-of-gold")
    with platform.session_factory() as s:
        live = s.execute(
            select(func.count())
            .select_from(CasinoSession)
            .where(
                CasinoSession.player_id == player.id,
                CasinoSession.expires_at > platform.clock.now(),
            )
        ).scalar_one()
    assert live == 0


# -- 5: the signature covers the action ------------------------------------------------------


def test_a_signed_bet_replayed_to_win_is_invalid_signature_and_credits_nothing(platform, game):
    provider, player = game
    assert provider.bet("b1", round_id="r1").body["status"] == "OK"  # the round is open
    bet = {
        "session_token": provider.token,
        "transaction_id": "b2",
        "round_id": "r1",
        "amount": 5_000,
        "currency": "EUR",
    }
    raw, sig = _signed(platform, "bet", bet)

    replayed = seamless.handle(platform, "spinworks", "win", raw, sig)
    assert (replayed.status_code, replayed.body["code"]) == (401, "INVALID_SIGNATURE")
    assert cash(platform, player) == 9_700

    original = seamless.handle(platform, "spinworks", "bet", raw, sig)
    assert original.body["status"] == "OK" and original.body["balance"] == 4_700
    ledger_ok(platform)


def test_the_signature_binds_the_path_over_http(platform, game):
    provider, player = game
    provider.bet("b1", round_id="r1")
    client = TestClient(create_app(platform))
    raw, sig = _signed(
        platform,
        "bet",
        {
            "session_token": provider.token,
            "transaction_id": "b2",
            "round_id": "r1",
            "amount": 1_000,
            "currency": "EUR",
        },
    )
    for action in ("win", "rollback"):
        answer = client.post(
            f"/casino/seamless/spinworks/{action}", content=raw, headers={"X-Signature": sig}
        )
        assert (answer.status_code, answer.json()["code"]) == (401, "INVALID_SIGNATURE")
    assert cash(platform, player) == 9_700
    good = client.post("/casino/seamless/spinworks/bet", content=raw, headers={"X-Signature": sig})
    assert good.status_code == 200 and good.json()["balance"] == 8_700


def test_a_body_only_signature_no_longer_verifies(platform, game):
    from igaming.partners.signing import sign

    provider, _ = game
    raw = json.dumps({"session_token": provider.token}).encode()
    legacy = sign(SECRET, int(platform.clock.now().timestamp()), raw)
    assert seamless.handle(platform, "spinworks", "balance", raw, legacy).body["code"] == (
        "INVALID_SIGNATURE"
    )


# -- 17: an unknown action is refused without its text in the logs ---------------------------


@pytest.mark.parametrize("signed", [True, False])
def test_an_unknown_action_is_invalid_request_and_not_logged_raw(platform, game, caplog, signed):
    provider, _ = game
    action = "bet\n2024-01-01 INFO igaming: forged admin login ok\x1b[2J"
    raw, sig = _signed(platform, action, {"session_token": provider.token})
    caplog.set_level(logging.DEBUG)
    answer = seamless.handle(platform, "spinworks", action, raw, sig if signed else "t=1,v1=00")
    assert (answer.status_code, answer.body["code"]) == (400, "INVALID_REQUEST")
    assert "forged" not in answer.body["message"]
    for record in caplog.records:
        assert "forged" not in record.getMessage()


def test_an_unknown_action_over_http_answers_in_the_wallet_vocabulary(platform, game, caplog):
    provider, _ = game
    client = TestClient(create_app(platform))
    raw, sig = _signed(platform, "refund", {"session_token": provider.token})
    caplog.set_level(logging.DEBUG)
    answer = client.post(
        "/casino/seamless/spinworks/refund%0Aforged", content=raw, headers={"X-Signature": sig}
    )
    assert (answer.status_code, answer.json()["code"]) == (400, "INVALID_REQUEST")
    server_side = [r for r in caplog.records if not r.name.startswith("httpx")]  # the client's
    assert not [r for r in server_side if "forged" in r.getMessage()]


def test_the_documented_signature_verifies(platform, game):
    # What docs/casino-seamless-wallet.md tells a provider to compute, by hand.
    import hashlib
    import hmac

    provider, _ = game
    raw = json.dumps({"session_token": provider.token}).encode()
    t = int(platform.clock.now().timestamp())
    message = f"{t}.POST /casino/seamless/spinworks/balance.".encode() + raw
    digest = hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
    answer = seamless.handle(platform, "spinworks", "balance", raw, f"t={t},v1={digest}")
    assert answer.body["status"] == "OK"
