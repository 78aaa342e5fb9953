"""The seamless wallet the game providers call: every answer of its vocabulary, money
moved at most once per provider transaction id, rounds opened, completed and cancelled."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from igaming.api.app import create_app
from igaming.casino import seamless
from igaming.casino.events import SeamlessRequestRefused
from igaming.casino.models import CasinoRound, CasinoTransaction
from igaming.models import OutboxEvent, WalletTransaction
from igaming.partners.request_signing import sign_request
from tests.platform.casino_helpers import (
    GAME,
    Provider,
    cash,
    funded_player,
    ledger_ok,
    open_game,
    the_round,
)


@pytest.fixture
def game(platform):
    player = funded_player(platform)
    return open_game(platform, player), player


def test_bet_then_win_debits_credits_and_completes_the_round(platform, game):
    provider, player = game
    bet = provider.bet("b1", amount=300)
    assert bet.status_code == 200
    assert bet.body["status"] == "OK" and bet.body["balance"] == 9_700
    assert bet.body["currency"] == "EUR"
    platform.clock.advance(3)
    win = provider.win("w1", amount=700)
    assert (win.status_code, win.body["balance"]) == (200, 10_400)
    assert cash(platform, player) == 10_400
    rnd = the_round(platform)
    assert (rnd.status, rnd.stake_minor, rnd.win_minor, rnd.game_type) == (
        "completed",
        300,
        700,
        "slots",
    )
    with platform.session_factory() as s:
        bet_tx = s.get(WalletTransaction, bet.body["transaction_id"])
        assert (bet_tx.type, bet_tx.amount, bet_tx.status) == ("bet", 300, "completed")
    ledger_ok(platform)


def test_balance_answers_the_cash_balance_in_the_players_currency(platform, game):
    provider, _ = game
    answer = provider.call("balance")
    assert answer == seamless.Answer(200, {"status": "OK", "balance": 10_000, "currency": "EUR"})


def test_a_retried_bet_gets_the_first_answer_and_debits_once(platform, game):
    provider, player = game
    first = provider.bet("b1")
    platform.clock.advance(1)
    again = provider.bet("b1")
    assert again == first
    assert cash(platform, player) == 9_700
    with platform.session_factory() as s:
        outcomes = (
            s.execute(select(CasinoTransaction.outcome).order_by(CasinoTransaction.created_at))
            .scalars()
            .all()
        )
        bets = s.execute(
            select(func.count())
            .select_from(WalletTransaction)
            .where(WalletTransaction.type == "bet")
        ).scalar_one()
    assert outcomes == ["applied", "replayed"] and bets == 1


@pytest.mark.parametrize(
    "change", [{"amount": 301}, {"round_id": "r2"}, {"currency": "USD"}], ids=str
)
def test_same_transaction_id_with_another_body_is_duplicate_and_changes_nothing(
    platform, game, change
):
    provider, player = game
    provider.bet("b1")
    answer = provider.bet("b1", **change)
    assert answer.status_code == 409
    assert (answer.body["status"], answer.body["code"]) == ("ERROR", "DUPLICATE_TRANSACTION")
    assert cash(platform, player) == 9_700
    assert the_round(platform).stake_minor == 300


def test_same_transaction_id_from_another_player_is_duplicate_and_changes_nothing(platform, game):
    provider, player = game
    other = funded_player(platform)
    provider.bet("b1")
    answer = open_game(platform, other).bet("b1", round_id="r9")
    assert answer.body["code"] == "DUPLICATE_TRANSACTION"
    assert (cash(platform, player), cash(platform, other)) == (9_700, 10_000)


def test_a_win_reusing_a_bet_id_is_duplicate(platform, game):
    provider, player = game
    provider.bet("b1")
    assert provider.win("b1").body["code"] == "DUPLICATE_TRANSACTION"
    assert cash(platform, player) == 9_700


def test_bet_over_the_balance_is_insufficient_funds_with_the_balance(platform, game):
    provider, player = game
    answer = provider.bet("b1", amount=10_001)
    assert answer.status_code == 422
    assert answer.body["code"] == "INSUFFICIENT_FUNDS" and answer.body["balance"] == 10_000
    assert cash(platform, player) == 10_000
    with platform.session_factory() as s:
        assert s.execute(select(CasinoRound)).first() is None  # no round left open
    assert provider.bet("b1", amount=10_001) == answer  # the first answer again
    ledger_ok(platform)


def test_rollback_of_a_bet_refunds_it_and_cancels_the_round(platform, game):
    provider, player = game
    bet = provider.bet("b1")
    platform.clock.advance(30)
    rollback = provider.rollback("x1", "b1")
    assert rollback.status_code == 200 and rollback.body["balance"] == 10_000
    assert cash(platform, player) == 10_000
    rnd = the_round(platform)
    assert (rnd.status, rnd.stake_minor, rnd.result_delay_seconds) == ("cancelled", 0, 30.0)
    with platform.session_factory() as s:
        reversal = s.get(WalletTransaction, rollback.body["transaction_id"])
        assert (reversal.type, reversal.reference) == ("rollback", bet.body["transaction_id"])
        assert s.get(WalletTransaction, bet.body["transaction_id"]).status == "reversed"
    ledger_ok(platform)


def test_a_bet_rolled_back_twice_is_refunded_once(platform, game):
    provider, player = game
    provider.bet("b1")
    first = provider.rollback("x1", "b1")
    assert provider.rollback("x1", "b1") == first  # retry
    other = provider.rollback("x2", "b1")  # another rollback id for the same bet
    assert other.body["status"] == "OK"
    assert other.body["transaction_id"] == first.body["transaction_id"]
    assert cash(platform, player) == 10_000
    ledger_ok(platform)


def test_rollback_of_an_unknown_bet_is_not_found_and_refuses_the_bet_later(platform, game):
    provider, player = game
    answer = provider.rollback("x1", "b1")
    assert (answer.status_code, answer.body["code"]) == (404, "TRANSACTION_NOT_FOUND")
    assert cash(platform, player) == 10_000
    late_bet = provider.bet("b1")
    assert (late_bet.status_code, late_bet.body["code"]) == (409, "DUPLICATE_TRANSACTION")
    assert cash(platform, player) == 10_000
    with platform.session_factory() as s:
        outcomes = dict(s.execute(select(CasinoTransaction.kind, CasinoTransaction.outcome)).all())
    assert outcomes == {"rollback": "transaction_not_found", "bet": "tombstoned"}


def test_rollback_after_the_rounds_win_is_round_closed(platform, game):
    provider, player = game
    provider.bet("b1")
    provider.win("w1", amount=0)
    answer = provider.rollback("x1", "b1")
    assert (answer.status_code, answer.body["code"]) == (409, "ROUND_CLOSED")
    assert cash(platform, player) == 9_700
    assert the_round(platform).status == "completed"


def test_rollback_after_a_partial_win_of_an_open_round_is_round_closed(platform, game):
    provider, _ = game
    provider.bet("b1")
    provider.win("w1", amount=100, closed=False)
    assert provider.rollback("x1", "b1").body["code"] == "ROUND_CLOSED"


def test_win_before_its_bet_is_not_found_then_applies_once_the_bet_arrives(platform, game):
    provider, player = game
    early = provider.win("w1", amount=500)
    assert (early.status_code, early.body["code"]) == (404, "TRANSACTION_NOT_FOUND")
    assert cash(platform, player) == 10_000
    provider.bet("b1")
    retried = provider.win("w1", amount=500)
    assert retried.body["status"] == "OK" and retried.body["balance"] == 10_200
    assert provider.win("w1", amount=500) == retried
    assert cash(platform, player) == 10_200
    ledger_ok(platform)


def test_win_or_bet_on_a_completed_round_is_round_closed(platform, game):
    provider, player = game
    provider.bet("b1")
    provider.win("w1", amount=600)
    assert provider.win("w2", amount=600).body["code"] == "ROUND_CLOSED"
    assert provider.bet("b2").body["code"] == "ROUND_CLOSED"
    assert cash(platform, player) == 10_300


def test_a_zero_win_closes_the_round_without_moving_money(platform, game):
    provider, player = game
    provider.bet("b1")
    answer = provider.win("w1", amount=0)
    assert answer.body["status"] == "OK" and answer.body["transaction_id"]
    assert cash(platform, player) == 9_700
    assert the_round(platform).status == "completed"


def test_unknown_session_is_invalid_session(platform, game):
    provider, player = game
    stranger = Provider(platform, "no-such-token")
    assert stranger.call("balance").body["code"] == "INVALID_SESSION"
    answer = stranger.bet("b1")
    assert (answer.status_code, answer.body["code"]) == (403, "INVALID_SESSION")
    assert Provider(platform, provider.token, "lucky_labs").bet("b1").body["code"] == (
        "INVALID_SESSION"
    )
    assert cash(platform, player) == 10_000


def test_expired_session_refuses_bets_but_still_takes_the_rounds_result(platform, game):
    provider, player = game
    provider.bet("b1")
    platform.clock.advance(hours=5)
    assert provider.bet("b2", round_id="r2").body["code"] == "INVALID_SESSION"
    assert provider.win("w1", amount=400).body["status"] == "OK"
    assert cash(platform, player) == 10_100


@pytest.mark.parametrize("fault", ["wrong_secret", "stale", "missing", "unknown_provider"])
def test_bad_signature_is_invalid_signature_and_changes_nothing(platform, game, fault):
    provider, player = game
    raw = json.dumps(
        {
            "session_token": provider.token,
            "transaction_id": "b1",
            "round_id": "r1",
            "amount": 300,
            "currency": "EUR",
        }
    ).encode()
    now = int(platform.clock.now().timestamp())
    header = {
        "wrong_secret": sign_request("dev-secret-lucky_labs", now, "spinworks", "bet", raw),
        "stale": sign_request("dev-secret-spinworks", now - 301, "spinworks", "bet", raw),
        "missing": None,
        "unknown_provider": sign_request("dev-secret-spinworks", now, "nowhere", "bet", raw),
    }[fault]
    name = "nowhere" if fault == "unknown_provider" else "spinworks"
    published: list[SeamlessRequestRefused] = []
    platform.bus.subscribe(SeamlessRequestRefused, published.append)
    answer = seamless.handle(platform, name, "bet", raw, header)
    assert (answer.status_code, answer.body["code"]) == (401, "INVALID_SIGNATURE")
    assert cash(platform, player) == 10_000
    with platform.session_factory() as s:
        assert s.execute(select(func.count()).select_from(CasinoTransaction)).scalar_one() == 0
        # Counted on the bus (its metric), not written: an unauthenticated request leaves
        # no outbox row.
        refused_rows = select(func.count()).where(
            OutboxEvent.event_type == "casino.seamless_refused"
        )
        assert s.execute(refused_rows).scalar_one() == 0
    expected = "unknown" if fault == "unknown_provider" else "spinworks"
    assert [(e.provider, e.code) for e in published] == [(expected, "INVALID_SIGNATURE")]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps({"transaction_id": "b1"}).encode(),
        json.dumps(
            {
                "session_token": "t",
                "transaction_id": "b1",
                "round_id": "r1",
                "amount": 2.5,
                "currency": "EUR",
            }
        ).encode(),
        json.dumps(
            {
                "session_token": "t",
                "transaction_id": "b1",
                "round_id": "r1",
                "amount": -5,
                "currency": "EUR",
            }
        ).encode(),
    ],
    ids=["not-json", "array", "missing-fields", "float-amount", "negative-amount"],
)
def test_malformed_request_is_invalid_request(platform, game, body):
    _, player = game
    now = int(platform.clock.now().timestamp())
    sig = sign_request("dev-secret-spinworks", now, "spinworks", "bet", body)
    answer = seamless.handle(platform, "spinworks", "bet", body, sig)
    assert (answer.status_code, answer.body["code"]) == (400, "INVALID_REQUEST")
    assert cash(platform, player) == 10_000


def test_unknown_action_is_invalid_request(platform, game):
    provider, _ = game
    assert provider.call("refund").body["code"] == "INVALID_REQUEST"


def test_round_result_delay_is_recorded_from_first_bet_to_result(platform, game):
    provider, _ = game
    provider.bet("b1")
    platform.clock.advance(4)
    provider.bet("b2")
    platform.clock.advance(3.5)
    provider.win("w1", amount=0)
    rnd = the_round(platform)
    assert rnd.result_delay_seconds == 7.5
    assert rnd.ended_at - rnd.started_at == timedelta(seconds=7.5)
    with platform.session_factory() as s:
        event = s.execute(
            select(OutboxEvent.payload).where(OutboxEvent.event_type == "casino.round_completed")
        ).scalar_one()
    assert (event["provider"], event["result_delay_seconds"], event["stake"]) == (
        "spinworks",
        7.5,
        600,
    )


def test_contract_views_show_rounds_transactions_and_launches(platform, game):
    provider, player = game
    bet = provider.bet("b1")
    provider.win("w1", amount=900)
    provider.rollback("x1", "b1")  # too late: refused, and kept
    with platform.session_factory() as s:
        rounds = s.execute(text("SELECT * FROM pw_casino_rounds")).mappings().all()
        txs = (
            s.execute(text("SELECT * FROM pw_casino_transactions ORDER BY created_at, kind"))
            .mappings()
            .all()
        )
        launches = s.execute(text("SELECT * FROM pw_game_launches")).mappings().all()
    assert [
        (r["provider"], r["game_id"], r["player_id"], r["stake_minor"], r["win_minor"], r["status"])
        for r in rounds
    ] == [("spinworks", GAME, player.id, 300, 900, "completed")]
    assert {(t["provider_tx_id"], t["kind"], t["outcome"], t["amount_minor"]) for t in txs} == {
        ("b1", "bet", "applied", 300),
        ("w1", "win", "applied", 900),
        ("x1", "rollback", "round_closed", None),
    }
    assert {t["platform_tx_id"] for t in txs if t["kind"] == "bet"} == {bet.body["transaction_id"]}
    assert [(x["provider"], x["game"], x["game_type"], x["outcome"]) for x in launches] == [
        ("spinworks", GAME, "slots", "launched")
    ]


def test_money_events_are_written_to_the_outbox(platform, game):
    provider, _ = game
    provider.bet("b1")
    provider.bet("b2", round_id="r2")
    provider.rollback("x2", "b2", round_id="r2")
    provider.win("w1")
    provider.bet("b3", amount=10**6)
    with platform.session_factory() as s:
        types = s.execute(select(OutboxEvent.event_type)).scalars().all()
    casino = [t for t in types if t.startswith("casino.")]
    assert sorted(casino) == sorted(
        [
            "casino.game_launched",
            "casino.bet_applied",
            "casino.bet_applied",
            "casino.rollback_applied",
            "casino.round_cancelled",
            "casino.win_applied",
            "casino.round_completed",
            "casino.seamless_refused",
        ]
    )


def test_seamless_route_answers_in_the_wallet_vocabulary_over_http(platform, game):
    provider, player = game
    client = TestClient(create_app(platform))
    raw = json.dumps(
        {
            "session_token": provider.token,
            "transaction_id": "b1",
            "round_id": "r1",
            "amount": 250,
            "currency": "EUR",
        }
    ).encode()
    now = int(platform.clock.now().timestamp())
    url = "/casino/seamless/spinworks/bet"
    good = client.post(
        url,
        content=raw,
        headers={"X-Signature": sign_request("dev-secret-spinworks", now, "spinworks", "bet", raw)},
    )
    bad = client.post(url, content=raw, headers={"X-Signature": f"t={now},v1=00"})
    assert good.status_code == 200 and good.json()["balance"] == 9_750
    assert bad.status_code == 401 and bad.json()["code"] == "INVALID_SIGNATURE"
    assert cash(platform, player) == 9_750


def test_two_players_racing_for_one_transaction_id_get_one_ok_and_one_duplicate(platform):
    players = [funded_player(platform), funded_player(platform)]
    providers = [open_game(platform, pl) for pl in players]
    barrier = threading.Barrier(2)
    answers: list = []

    def bet(provider: Provider, round_id: str) -> None:
        barrier.wait()
        answers.append(provider.bet("b1", round_id=round_id))

    threads = [threading.Thread(target=bet, args=(pr, f"r{i}")) for i, pr in enumerate(providers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.body.get("code", "OK") for a in answers) == ["DUPLICATE_TRANSACTION", "OK"]
    assert sorted(cash(platform, pl) for pl in players) == [9_700, 10_000]
    ledger_ok(platform)


@pytest.mark.slow
@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    action=st.sampled_from(["balance", "bet", "win", "rollback", "x"]),
    body=st.dictionaries(
        st.sampled_from(
            [
                "session_token",
                "transaction_id",
                "round_id",
                "amount",
                "currency",
                "round_closed",
                "reference_transaction_id",
            ]
        ),
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.text(max_size=120),
        max_size=7,
    ),
)
def test_signed_arbitrary_bodies_get_a_4xx_or_2xx_never_an_exception(sqlite_platform, action, body):
    raw = json.dumps(body).encode()
    now = int(sqlite_platform.clock.now().timestamp())
    sig = sign_request("dev-secret-spinworks", now, "spinworks", action, raw)
    answer = seamless.handle(sqlite_platform, "spinworks", action, raw, sig)
    assert 200 <= answer.status_code < 500
    assert answer.body["status"] in ("OK", "ERROR")
