"""Seamless-wallet calls as properties: whatever the order and repetition of a round's
bets, wins and rollbacks, money moves at most once per transaction id, the player's
balance is what the applied answers say, and the ledger balances."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from igaming.casino.models import CasinoRound, CasinoTransaction
from igaming.models import WalletTransaction
from igaming.wallet.invariants import check_invariants
from tests.platform.casino_helpers import cash, funded_player, open_game

# The calls a provider can make in one round, as (action, transaction id, arguments).
# b1 is also sent with another amount (a conflicting reuse of its id).
CALLS = [
    ("bet", "b1", {"amount": 300}),
    ("bet", "b1", {"amount": 400}),
    ("bet", "b2", {"amount": 200}),
    ("win", "w1", {"amount": 900, "closed": True}),
    ("win", "w0", {"amount": 0, "closed": True}),
    ("win", "wp", {"amount": 100, "closed": False}),
    ("rollback", "x1", {"reference": "b1"}),
    ("rollback", "x1b", {"reference": "b1"}),
    ("rollback", "x2", {"reference": "b2"}),
]


@pytest.mark.slow
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(calls=st.lists(st.sampled_from(CALLS), min_size=1, max_size=12))
def test_interleaved_duplicated_calls_never_move_money_twice(platform, calls):
    player = funded_player(platform)
    provider = open_game(platform, player)
    first_ok: dict[str, dict] = {}
    for action, tx, args in calls:
        if action == "bet":
            answer = provider.bet(tx, amount=args["amount"])
        elif action == "win":
            answer = provider.win(tx, amount=args["amount"], closed=args["closed"])
        else:
            answer = provider.rollback(tx, args["reference"])
        assert 200 <= answer.status_code < 500
        if answer.body["status"] == "OK":
            # Once an id has been answered OK, every later answer for it is that one.
            assert first_ok.setdefault(tx, answer.body) == answer.body
        elif tx in first_ok:
            assert answer.body["code"] == "DUPLICATE_TRANSACTION"
        platform.clock.advance(1)

    with platform.session_factory() as s:
        applied = (
            s.execute(
                select(CasinoTransaction).where(
                    CasinoTransaction.answer_key.is_not(None),
                    CasinoTransaction.outcome == "applied",
                    CasinoTransaction.player_id == player.id,
                )
            )
            .scalars()
            .all()
        )
        wallet_txs = s.execute(
            select(WalletTransaction.type, func.count())
            .where(WalletTransaction.player_id == player.id)
            .group_by(WalletTransaction.type)
        ).all()
        rnd = s.execute(
            select(CasinoRound).where(CasinoRound.player_id == player.id)
        ).scalar_one_or_none()
        report = check_invariants(s)
    assert report.ok, report.violations()
    bets = sum(t.amount_minor for t in applied if t.kind == "bet")
    wins = sum(t.amount_minor for t in applied if t.kind == "win")
    refunds = sum(t.amount_minor for t in applied if t.kind == "rollback")
    assert cash(platform, player) == 10_000 - bets + wins - refunds
    counts = dict(wallet_txs)
    assert counts.get("bet", 0) == sum(1 for t in applied if t.kind == "bet")
    assert counts.get("rollback", 0) == sum(1 for t in applied if t.kind == "rollback") <= 2
    if rnd is not None:
        assert (rnd.stake_minor, rnd.win_minor) == (bets - refunds, wins)
        if rnd.status == "cancelled":
            assert rnd.stake_minor == 0 and wins == 0
