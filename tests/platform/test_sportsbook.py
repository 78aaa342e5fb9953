"""Sportsbook: the feed builds the book, bets are accepted or rejected with a reason,
results settle once per generation, rollbacks reverse, cash-out closes at current value."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update

from igaming.errors import IdempotencyConflict
from igaming.models import Player, WalletTransaction
from igaming.sportsbook import cashout
from igaming.sportsbook.errors import CashoutUnavailable
from igaming.sportsbook.events import FeedMessageReceived
from igaming.sportsbook.limits import SportsbookLimits
from igaming.sportsbook.models import Bet, FeedMessage, Market, Selection
from igaming.wallet.service import place_stake
from tests.platform.sportsbook_helpers import (
    assert_ledger_ok,
    bet,
    cash,
    events,
    funded_player,
    market_status,
    message,
    open_fixture,
    push,
    result,
)

# -- the book ----------------------------------------------------------------------------


def test_fixture_message_creates_active_markets_with_integer_odds(platform):
    open_fixture(platform, home_odds="2.15")
    with platform.session_factory() as s:
        assert s.get(Selection, "f1-h").odds_milli == 2150
        assert {m.status for m in s.execute(select(Market)).scalars()} == {"active"}


def test_stale_odds_change_does_not_overwrite_newer_odds(platform):
    open_fixture(platform)
    newer = message(
        platform, "odds_change", market_id="f1-1x2", sequence=1_000, odds={"f1-h": "2.50"}
    )
    older = message(
        platform, "odds_change", market_id="f1-1x2", sequence=999, odds={"f1-h": "1.10"}
    )
    assert push(platform, newer) == "applied"
    assert push(platform, older) == "stale"
    with platform.session_factory() as s:
        assert s.get(Selection, "f1-h").odds_milli == 2500
        assert s.get(Market, "f1-1x2").feed_sequence == 1_000


def test_bet_stop_suspends_only_active_markets(platform):
    open_fixture(platform)
    other = open_fixture(platform, "f2")
    assert push(platform, result(platform, "f1-ou", "f1-o")) == "applied"
    assert push(platform, message(platform, "bet_stop", fixture_id="f1")) == "applied"
    assert market_status(platform, "f1-1x2") == "suspended"
    assert market_status(platform, "f1-ou") == "settled"
    assert market_status(platform, f"{other}-1x2") == "active"
    suspended = events(platform, "market.suspended")
    assert [(e["market_id"], e["sport"], e["reason"]) for e in suspended] == [
        ("f1-1x2", "football", "bet_stop")
    ]
    # A second bet stop finds nothing active: no new suspension.
    push(platform, message(platform, "bet_stop", fixture_id="f1"))
    assert len(events(platform, "market.suspended")) == 1


def test_odds_change_with_status_active_reopens_a_suspended_market(platform):
    open_fixture(platform)
    push(platform, message(platform, "bet_stop", fixture_id="f1", market_ids=["f1-1x2"]))
    body = message(
        platform, "odds_change", market_id="f1-1x2", odds={"f1-h": "2.2"}, status="active"
    )
    assert push(platform, body) == "applied"
    assert market_status(platform, "f1-1x2") == "active"


def test_stale_bet_stop_does_not_suspend_a_market_reopened_after_it(platform):
    open_fixture(platform)
    stop = message(platform, "bet_stop", fixture_id="f1", market_ids=["f1-1x2"])
    reopen = message(
        platform, "odds_change", market_id="f1-1x2", odds={"f1-h": "2.2"}, status="active"
    )
    push(platform, reopen)
    assert push(platform, stop) == "stale"
    assert market_status(platform, "f1-1x2") == "active"


def test_redelivered_message_id_is_a_counted_duplicate(platform):
    open_fixture(platform)
    body = message(platform, "odds_change", market_id="f1-1x2", odds={"f1-h": "2.40"})
    assert [push(platform, body) for _ in range(3)] == ["applied", "duplicate", "duplicate"]
    with platform.session_factory() as s:
        row = s.execute(select(FeedMessage).where(FeedMessage.type == "odds_change")).scalar_one()
    assert (row.outcome, row.duplicates) == ("applied", 2)
    outcomes = [e["outcome"] for e in events(platform, "odds_feed.message_received")]
    assert outcomes.count("duplicate") == 2


def test_bad_feed_signature_is_refused_recorded_and_changes_nothing(platform):
    open_fixture(platform)
    body = message(platform, "odds_change", market_id="f1-1x2", odds={"f1-h": "9.00"})
    published: list[FeedMessageReceived] = []
    platform.bus.subscribe(FeedMessageReceived, published.append)
    assert push(platform, body, secret="forged") == "bad_signature"
    with platform.session_factory() as s:
        assert s.get(Selection, "f1-h").odds_milli == 2000
        refused = s.execute(
            select(FeedMessage).where(FeedMessage.outcome == "bad_signature")
        ).scalar_one()
    assert (refused.type, refused.dedup_key) == ("odds_change", None)
    # Counted on the bus (its metric), not written to the outbox: anyone can send these.
    received = published[-1]
    assert (received.outcome, received.message_type) == ("bad_signature", "odds_change")
    assert "bad_signature" not in [
        e["outcome"] for e in events(platform, "odds_feed.message_received")
    ]
    # The genuine delivery of the same message still applies.
    assert push(platform, body) == "applied"


def test_message_for_an_unknown_market_is_an_orphan_that_a_redelivery_can_apply(platform):
    body = message(
        platform, "odds_change", market_id="f1-1x2", sequence=10**9, odds={"f1-h": "2.5"}
    )
    assert push(platform, body) == "orphan"
    open_fixture(platform)
    assert push(platform, body) == "applied"


def test_invalid_message_is_refused_and_recorded(platform):
    assert push(platform, message(platform, "odds_change", market_id="m", odds={"s": "0.5"})) == (
        "invalid"
    )
    assert push(platform, b"not json") == "invalid"
    with platform.session_factory() as s:
        rows = s.execute(select(FeedMessage.outcome, FeedMessage.type)).all()
    assert sorted(rows) == [("invalid", "odds_change"), ("invalid", "unknown")]


# -- bet placement -----------------------------------------------------------------------


def test_accepted_bet_debits_the_stake_once_and_replays_by_idempotency_key(platform):
    open_fixture(platform)
    player = funded_player(platform, 10_000)
    first = bet(platform, player, stake=1_000, key="k1")
    again = bet(platform, player, stake=1_000, key="k1")
    assert (first.status, first.odds_milli, first.potential_payout) == ("accepted", 2000, 2_000)
    assert again.id == first.id
    assert cash(platform, player) == 9_000
    with pytest.raises(IdempotencyConflict):
        bet(platform, player, stake=2_000, key="k1")
    placed = events(platform, "bet.placed")
    assert [(e["bet_id"], e["sport"], e["market_type"]) for e in placed] == [
        (first.id, "football", "match_result")
    ]
    assert_ledger_ok(platform)


def test_payout_is_stake_times_odds_rounded_down_to_the_minor_unit(platform):
    open_fixture(platform, home_odds="1.333")
    player = funded_player(platform)
    assert bet(platform, player, stake=1_001, odds="1.333").potential_payout == 1_334  # 1334.333


def test_better_odds_than_requested_are_accepted_at_the_current_price(platform):
    open_fixture(platform, home_odds="2.20")
    player = funded_player(platform)
    b = bet(platform, player, odds="2.00")
    assert (b.status, b.odds_milli, b.requested_odds_milli) == ("accepted", 2200, 2000)


def test_odds_worse_within_the_tolerance_are_accepted(platform):
    open_fixture(platform, home_odds="1.96")
    player = funded_player(platform)
    tolerant = SportsbookLimits(odds_tolerance_bps=250)  # 2.5 %
    assert bet(platform, player, odds="2.00", limits=tolerant).status == "accepted"
    assert bet(platform, player, odds="2.02", limits=tolerant).reason == "odds_changed"


def _suspend(p, player):
    push(p, message(p, "bet_stop", fixture_id="f1"))
    return {}


def _settle(p, player):
    push(p, result(p, "f1-1x2", "f1-a"))
    return {}


def _restrict(p, player):
    with p.session_factory() as s:
        s.execute(update(Player).where(Player.id == player.id).values(status="suspended"))
        s.commit()
    return {}


def _exclude(p, player):
    from igaming.accounts.service import self_exclude

    self_exclude(p, player.id, 30)
    return {}


REJECTIONS = {
    "odds_changed": lambda p, pl: {"odds": "2.10"},
    "market_suspended": _suspend,
    "market_closed": _settle,
    "stake_too_low": lambda p, pl: {"stake": 5},
    "stake_too_high": lambda p, pl: {"stake": 60_000, "limits": SportsbookLimits(max_stake=50_000)},
    "max_payout_exceeded": lambda p, pl: {
        "stake": 3_000,
        "limits": SportsbookLimits(max_market_liability=5_000),
    },
    "player_restricted": _restrict,
    "self_excluded": _exclude,
    "insufficient_funds": lambda p, pl: {"stake": 100_001},
}


@pytest.mark.parametrize("reason", sorted(REJECTIONS))
def test_each_rejection_is_recorded_with_its_reason_and_moves_no_money(platform, reason):
    open_fixture(platform)
    player = funded_player(platform, 100_000)
    kwargs = REJECTIONS[reason](platform, player)
    b = bet(platform, player, **kwargs)
    assert (b.status, b.reason) == ("rejected", reason)
    assert cash(platform, player) == 100_000
    with platform.session_factory() as s:
        assert s.get(Bet, b.id).reason == reason
        stakes = s.execute(select(WalletTransaction).where(WalletTransaction.type == "bet")).all()
    assert stakes == []
    rejected = events(platform, "bet.rejected")
    assert [(e["bet_id"], e["reason"], e["sport"]) for e in rejected] == [
        (b.id, reason, "football")
    ]
    assert_ledger_ok(platform)


def test_market_liability_counts_the_open_bets_already_taken(platform):
    open_fixture(platform)
    player = funded_player(platform)
    limits = SportsbookLimits(max_market_liability=5_000)
    assert bet(platform, player, stake=2_000, limits=limits).status == "accepted"  # 4 000
    assert bet(platform, player, stake=500, limits=limits).status == "accepted"  # 5 000
    assert bet(platform, player, stake=10, limits=limits).reason == "max_payout_exceeded"
    # Another market has its own liability.
    assert bet(platform, player, "f1-o", stake=10, odds="1.9", limits=limits).status == "accepted"


def test_rejected_replay_returns_the_same_rejection(platform):
    open_fixture(platform)
    player = funded_player(platform, 500)
    first = bet(platform, player, stake=1_000, key="k")
    assert bet(platform, player, stake=1_000, key="k").id == first.id
    assert len(events(platform, "bet.rejected")) == 1


# -- settlement --------------------------------------------------------------------------


def test_winning_bet_is_paid_once_even_when_the_result_is_duplicated(platform):
    open_fixture(platform)
    player = funded_player(platform, 10_000)
    winner = bet(platform, player, stake=1_000)
    loser = bet(platform, player, "f1-a", stake=500, odds="3.80")
    body = result(platform, "f1-1x2", "f1-h")
    assert push(platform, body) == "applied"
    assert push(platform, body) == "duplicate"  # same message id
    assert push(platform, result(platform, "f1-1x2", "f1-h")) == "duplicate"  # new id
    assert cash(platform, player) == 10_000 - 1_500 + 2_000
    with platform.session_factory() as s:
        assert (s.get(Bet, winner.id).status, s.get(Bet, winner.id).payout) == (
            "settled_won",
            2_000,
        )
        assert (s.get(Bet, loser.id).status, s.get(Bet, loser.id).payout) == ("settled_lost", 0)
    settled = {e["bet_id"]: e["outcome"] for e in events(platform, "bet.settled")}
    assert settled == {winner.id: "won", loser.id: "lost"}
    assert_ledger_ok(platform)


def test_settlement_lag_is_recorded_per_bet_and_in_the_event(platform):
    open_fixture(platform)
    player = funded_player(platform)
    b = bet(platform, player)
    official = platform.clock.now()
    platform.clock.advance(42.5)
    push(platform, result(platform, "f1-1x2", "f1-h", result_at=official))
    with platform.session_factory() as s:
        settled = s.get(Bet, b.id)
        assert settled.settlement_lag_seconds == pytest.approx(42.5)
        assert settled.result_at == official
        assert settled.settled_at == platform.clock.now()
        lag = s.execute(
            text("SELECT settlement_lag_seconds FROM pw_bets WHERE bet_id = :b"), {"b": b.id}
        ).scalar_one()
    assert lag == pytest.approx(42.5)
    assert events(platform, "bet.settled")[0]["lag_seconds"] == pytest.approx(42.5)


def test_void_selection_refunds_the_stake_and_cancel_voids_the_market(platform):
    open_fixture(platform)
    player = funded_player(platform, 10_000)
    on_void = bet(platform, player, "f1-o", stake=1_000, odds="1.90")
    on_cancelled = bet(platform, player, "f1-h", stake=700)
    push(
        platform,
        message(
            platform,
            "result",
            market_id="f1-ou",
            result_at=platform.clock.now().isoformat(),
            results={"f1-o": "void", "f1-u": "void"},
        ),
    )
    push(
        platform,
        message(platform, "cancel", market_id="f1-1x2", result_at=platform.clock.now().isoformat()),
    )
    assert cash(platform, player) == 10_000
    assert market_status(platform, "f1-1x2") == "cancelled"
    voided = {e["bet_id"]: e["reason"] for e in events(platform, "bet.voided")}
    assert voided == {on_void.id: "selection_void", on_cancelled.id: "market_cancelled"}
    assert_ledger_ok(platform)


def test_rollback_reverses_the_win_and_reopens_the_bet(platform):
    open_fixture(platform)
    player = funded_player(platform, 10_000)
    b = bet(platform, player, stake=1_000)
    push(platform, result(platform, "f1-1x2", "f1-h"))
    assert cash(platform, player) == 11_000
    rollback = message(platform, "rollback", market_id="f1-1x2")
    assert push(platform, rollback) == "applied"
    assert push(platform, rollback) == "duplicate"
    assert push(platform, message(platform, "rollback", market_id="f1-1x2")) == "applied"
    assert cash(platform, player) == 9_000  # a rollback with nothing settled moves nothing
    with platform.session_factory() as s:
        reopened = s.get(Bet, b.id)
        assert (reopened.status, reopened.payout, reopened.settled_at) == ("accepted", None, None)
        market = s.get(Market, "f1-1x2")
        assert (market.status, market.generation) == ("suspended", 2)
        types = s.execute(
            select(WalletTransaction.type, WalletTransaction.status).order_by(
                WalletTransaction.created_at, WalletTransaction.type
            )
        ).all()
    assert ("rollback", "completed") in types and ("win", "reversed") in types
    rolled = events(platform, "bet.settlement_rolled_back")
    assert [(e["bet_id"], e["reversed_amount"], e["generation"]) for e in rolled] == [
        (b.id, 2_000, 1)
    ]
    assert_ledger_ok(platform)


def test_rollback_then_resettlement_pays_once_net(platform):
    open_fixture(platform)
    player = funded_player(platform, 10_000)
    b = bet(platform, player, stake=1_000)
    push(platform, result(platform, "f1-1x2", "f1-h"))
    push(platform, message(platform, "rollback", market_id="f1-1x2"))
    assert push(platform, result(platform, "f1-1x2", "f1-h")) == "applied"
    assert push(platform, result(platform, "f1-1x2", "f1-h")) == "duplicate"
    assert cash(platform, player) == 11_000
    with platform.session_factory() as s:
        assert (s.get(Bet, b.id).status, s.get(Bet, b.id).generation) == ("settled_won", 2)
        rows = s.execute(
            text(
                "SELECT generation, action, amount_minor FROM pw_settlements "
                "WHERE bet_id = :b ORDER BY settlement_id"
            ),
            {"b": b.id},
        ).all()
    assert [tuple(r) for r in rows] == [
        (1, "won", 2_000),
        (1, "rollback", -2_000),
        (2, "won", 2_000),
    ]
    assert_ledger_ok(platform)


def test_rollback_and_corrected_result_turn_a_win_into_a_loss(platform):
    open_fixture(platform)
    player = funded_player(platform, 10_000)
    bet(platform, player, stake=1_000)
    push(platform, result(platform, "f1-1x2", "f1-h"))
    push(platform, message(platform, "rollback", market_id="f1-1x2"))
    push(platform, result(platform, "f1-1x2", "f1-a"))
    assert cash(platform, player) == 9_000
    assert_ledger_ok(platform)


def test_a_corrected_result_that_overtakes_its_rollback_applies_with_the_rollback(platform):
    open_fixture(platform)
    player = funded_player(platform, 10_000)
    b = bet(platform, player, stake=1_000)
    push(platform, result(platform, "f1-1x2", "f1-h"))
    rollback = message(platform, "rollback", market_id="f1-1x2")
    corrected = result(platform, "f1-1x2", "f1-a")  # sent after the rollback
    assert push(platform, corrected) == "duplicate"  # the market is still settled
    assert push(platform, rollback) == "applied"
    assert cash(platform, player) == 9_000
    with platform.session_factory() as s:
        assert (s.get(Bet, b.id).status, s.get(Bet, b.id).generation) == ("settled_lost", 2)
    assert_ledger_ok(platform)


def test_a_result_that_arrives_after_the_rollback_withdrawing_it_is_stale(platform):
    open_fixture(platform)
    player = funded_player(platform, 10_000)
    b = bet(platform, player, stake=1_000)
    wrong = result(platform, "f1-1x2", "f1-h")
    rollback = message(platform, "rollback", market_id="f1-1x2")
    assert push(platform, rollback) == "applied"
    assert push(platform, wrong) == "stale"
    with platform.session_factory() as s:
        assert s.get(Bet, b.id).status == "accepted"
    assert cash(platform, player) == 9_000


def test_rollback_of_a_spent_win_is_posted_flagged_and_leaves_a_debt(platform):
    open_fixture(platform)
    player = funded_player(platform, 1_000)
    bet(platform, player, stake=1_000)
    push(platform, result(platform, "f1-1x2", "f1-h"))
    place_stake(
        platform, player.id, product="casino", amount=2_000, currency="EUR", idempotency_key="c"
    )
    assert push(platform, message(platform, "rollback", market_id="f1-1x2")) == "applied"
    assert cash(platform, player) == -2_000
    with platform.session_factory() as s:
        flagged = s.execute(
            select(WalletTransaction.flagged).where(WalletTransaction.type == "rollback")
        ).scalar_one()
    assert flagged


# -- cash-out ----------------------------------------------------------------------------


def test_cash_out_pays_stake_times_placed_over_current_odds_less_the_margin(platform):
    open_fixture(platform)
    player = funded_player(platform, 10_000)
    b = bet(platform, player, stake=1_000)  # at 2.00
    push(platform, message(platform, "odds_change", market_id="f1-1x2", odds={"f1-h": "1.50"}))
    q = cashout.quote(platform, player.id, b.id)
    assert q.amount == 1_000 * 2000 * 9_500 // (1500 * 10_000) == 1_266
    closed = cashout.cash_out(platform, player.id, b.id, minimum_amount=q.amount)
    again = cashout.cash_out(platform, player.id, b.id)
    assert (closed.status, closed.payout, again.payout) == ("cashed_out", 1_266, 1_266)
    assert cash(platform, player) == 9_000 + 1_266
    push(platform, result(platform, "f1-1x2", "f1-h"))  # the result no longer touches it
    assert cash(platform, player) == 9_000 + 1_266
    assert [e["amount"] for e in events(platform, "bet.cashed_out")] == [1_266]
    assert_ledger_ok(platform)


def test_cash_out_is_refused_on_a_suspended_market_a_settled_bet_or_a_lower_value(platform):
    open_fixture(platform)
    player = funded_player(platform, 10_000)
    b = bet(platform, player, stake=1_000)
    with pytest.raises(CashoutUnavailable):
        cashout.cash_out(platform, player.id, b.id, minimum_amount=10_000)
    push(platform, message(platform, "bet_stop", fixture_id="f1"))
    with pytest.raises(CashoutUnavailable, match="suspended"):
        cashout.cash_out(platform, player.id, b.id)
    push(platform, result(platform, "f1-1x2", "f1-a"))
    with pytest.raises(CashoutUnavailable, match="settled_lost"):
        cashout.cash_out(platform, player.id, b.id)
    assert cash(platform, player) == 9_000


# -- contract views ----------------------------------------------------------------------


def test_contract_views_show_bets_markets_and_feed_messages(platform):
    open_fixture(platform)
    player = funded_player(platform)
    b = bet(platform, player, stake=1_000)
    bet(platform, player, stake=1, key="low")
    platform.clock.advance(30)
    push(platform, message(platform, "odds_change", market_id="f1-1x2", odds={"f1-d": "3.3"}))
    with platform.session_factory() as s:
        rows = s.execute(
            text(
                "SELECT bet_id, sport, competition, market_type, status, reason, stake_minor, "
                "odds_milli, potential_payout_minor FROM pw_bets ORDER BY stake_minor"
            )
        ).all()
        market = s.execute(
            text("SELECT status, sport, odds_updated_at FROM pw_markets WHERE market_id = 'f1-1x2'")
        ).one()
        outcomes = s.execute(text("SELECT message_type, outcome FROM pw_feed_messages")).all()
    assert [tuple(r)[1:] for r in rows] == [
        ("football", "Bundesliga", "match_result", "rejected", "stake_too_low", 1, 2000, 2),
        ("football", "Bundesliga", "match_result", "accepted", None, 1_000, 2000, 2_000),
    ]
    assert rows[1][0] == b.id
    assert (market[0], market[1]) == ("active", "football")
    assert str(market[2])[:19].replace("T", " ") == str(platform.clock.now())[:19]
    assert sorted(tuple(o) for o in outcomes) == [
        ("fixture", "applied"),
        ("odds_change", "applied"),
    ]
