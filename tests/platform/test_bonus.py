"""Deposit-match bonus: grant on the qualifying deposit, wagering, conversion, forfeit."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from igaming.bonus import service
from igaming.bonus.models import PlayerBonus
from igaming.cashier import withdrawals
from igaming.errors import Conflict, NotFound
from igaming.models import OutboxEvent, Player
from igaming.wallet.invariants import check_invariants
from igaming.wallet.service import balances, place_stake
from tests.conftest import register_player
from tests.platform.cashier_helpers import deliver, deposit


def claim(p, player, code="WELCOME100"):
    with p.uow() as uow:
        bonus = service.claim(uow, player.id, code, p.clock.now())
        uow.commit()
    return bonus


def bonus_of(p, player) -> PlayerBonus:
    with p.session_factory() as s:
        return s.execute(select(PlayerBonus).where(PlayerBonus.player_id == player.id)).scalar_one()


def wallet(p, player) -> tuple[int, int]:
    b = balances(p, player.id)[0]
    return b.cash, b.bonus


def test_qualifying_deposit_grants_the_match_capped_at_the_maximum(platform):
    player = register_player(platform)
    claim(platform, player)
    deliver(platform, deposit(platform, player, amount=25_000), "approved")
    assert wallet(platform, player) == (25_000, 10_000)  # 100 % match capped at 100.00
    b = bonus_of(platform, player)
    assert (b.status, b.amount_minor, b.wagering_required_minor) == ("active", 10_000, 300_000)


def test_deposit_below_the_minimum_grants_nothing_and_the_claim_waits(platform):
    # A reload offer: a welcome offer's claim has only the first deposit (test_hardening_money).
    player = register_player(platform)
    claim(platform, player, "RELOAD50")
    deliver(platform, deposit(platform, player, amount=1_999, key="small"), "approved")
    assert wallet(platform, player) == (1_999, 0)
    assert bonus_of(platform, player).status == "claimed"
    deliver(platform, deposit(platform, player, amount=4_000, key="big"), "approved")
    assert wallet(platform, player) == (5_999, 2_000)


def test_meeting_the_wagering_converts_the_bonus_to_cash_once(platform):
    player = register_player(platform)
    claim(platform, player, "RELOAD50")
    deliver(platform, deposit(platform, player, amount=10_000), "approved")
    assert wallet(platform, player) == (10_000, 5_000)  # 50 % match, 20× wagering = 100,000
    for i in range(10):
        place_stake(
            platform,
            player.id,
            product="casino",
            amount=9_999,
            currency="EUR",
            idempotency_key=f"s{i}",
            game_type="slots",  # slots count in full
        )
        from igaming.wallet.service import pay_win

        pay_win(
            platform,
            player.id,
            product="casino",
            amount=9_999,
            currency="EUR",
            idempotency_key=f"w{i}",
        )
    assert bonus_of(platform, player).status == "active"  # 99,990 wagered
    place_stake(
        platform,
        player.id,
        product="casino",
        amount=10,
        currency="EUR",
        idempotency_key="last",
        game_type="slots",
    )
    assert wallet(platform, player) == (10_000 - 10 + 5_000, 0)
    b = bonus_of(platform, player)
    assert (b.status, b.converted_minor) == ("converted", 5_000)
    place_stake(
        platform, player.id, product="casino", amount=10, currency="EUR", idempotency_key="x"
    )
    assert wallet(platform, player) == (14_980, 0)
    with platform.session_factory() as s:
        assert check_invariants(s).ok
        events = list(s.execute(select(OutboxEvent.event_type)).scalars())
    assert events.count("bonus.granted") == 1 and events.count("bonus.converted") == 1


def test_withdrawal_forfeits_an_active_bonus_to_the_pool(platform):
    player = register_player(platform)
    claim(platform, player)
    deliver(platform, deposit(platform, player, amount=5_000), "approved")
    with platform.session_factory() as s:
        s.execute(update(Player).where(Player.id == player.id).values(kyc_status="approved"))
        s.commit()
    withdrawals.request_withdrawal(
        platform, player.id, amount=1_000, currency="EUR", method="card", idempotency_key="w"
    )
    assert wallet(platform, player) == (4_000, 0)
    b = bonus_of(platform, player)
    assert (b.status, b.close_reason) == ("forfeited", "withdrawal")
    with platform.session_factory() as s:
        assert check_invariants(s).ok


def test_an_expired_bonus_is_forfeited(platform):
    player = register_player(platform)
    claim(platform, player)
    deliver(platform, deposit(platform, player, amount=5_000), "approved")
    assert service.expire_due(platform) == 0
    platform.clock.advance(days=30, seconds=1)
    assert service.expire_due(platform) == 1
    assert wallet(platform, player) == (5_000, 0)
    assert bonus_of(platform, player).status == "expired"


def test_one_open_bonus_at_a_time_and_unknown_offers_refused(platform):
    player = register_player(platform)
    claim(platform, player)
    with pytest.raises(Conflict):
        claim(platform, player, "RELOAD50")
    other = register_player(platform)
    with pytest.raises(NotFound):
        claim(platform, other, "NOPE")


def test_a_chargeback_of_the_qualifying_deposit_forfeits_the_bonus(platform):
    player = register_player(platform)
    claim(platform, player)
    d = deposit(platform, player, amount=5_000)
    deliver(platform, d, "approved")
    assert wallet(platform, player) == (5_000, 5_000)
    deliver(platform, d, "chargeback")
    assert wallet(platform, player) == (0, 0)
    b = bonus_of(platform, player)
    assert (b.status, b.close_reason) == ("forfeited", "chargeback")
    with platform.session_factory() as s:
        assert check_invariants(s).ok


def _active_bonus_player(platform):
    player = register_player(platform)
    claim(platform, player)
    deliver(platform, deposit(platform, player, amount=5_000), "approved")
    return player


def test_a_casino_stake_rolled_back_no_longer_counts_towards_wagering(platform):
    from tests.platform.casino_helpers import open_game

    player = _active_bonus_player(platform)
    provider = open_game(platform, player)
    provider.bet("b1", amount=1_000)
    assert bonus_of(platform, player).wagered_minor == 1_000
    provider.rollback("rb1", "b1")
    assert bonus_of(platform, player).wagered_minor == 0
    assert wallet(platform, player) == (5_000, 5_000)


def test_a_voided_bet_no_longer_counts_and_a_rollback_of_the_void_counts_it_again(platform):
    from tests.platform.sportsbook_helpers import bet, message, open_fixture, push

    player = _active_bonus_player(platform)
    open_fixture(platform)
    placed = bet(platform, player, "f1-h", stake=1_000)
    assert placed.status == "accepted"
    assert bonus_of(platform, player).wagered_minor == 1_000
    voiding = message(
        platform, "cancel", market_id="f1-1x2", result_at=platform.clock.now().isoformat()
    )
    assert push(platform, voiding) == "applied"
    assert bonus_of(platform, player).wagered_minor == 0
    assert push(platform, message(platform, "rollback", market_id="f1-1x2")) == "applied"
    assert bonus_of(platform, player).wagered_minor == 1_000


def test_a_stake_placed_before_the_grant_never_counted_and_its_refund_takes_nothing(platform):
    from tests.platform.casino_helpers import open_game

    player = register_player(platform)
    deliver(platform, deposit(platform, player, amount=5_000, key="first"), "approved")
    provider = open_game(platform, player)
    provider.bet("b1", amount=1_000)  # no bonus yet
    platform.clock.advance(60)
    claim(platform, player, "RELOAD50")  # the welcome offer is for the first deposit
    deliver(platform, deposit(platform, player, amount=5_000, key="second"), "approved")
    provider.bet("b2", round_id="r2", amount=500)
    provider.rollback("rb1", "b1")
    assert bonus_of(platform, player).wagered_minor == 500
