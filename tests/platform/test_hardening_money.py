"""Security review, money items: bonus abuse (re-claims, unweighted wagering) and voided
stakes in affiliate GGR."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from igaming.affiliates.commission import commission_for_period
from igaming.affiliates.revenue import daily_figures, record_daily_revenue
from igaming.api.app import create_app
from igaming.bonus import service
from igaming.bonus.models import BonusOffer, PlayerBonus
from igaming.casino.catalogue import DEFAULT_CATALOGUE
from igaming.errors import Conflict
from igaming.wallet.invariants import check_invariants
from igaming.wallet.service import balances
from tests.conftest import register_player
from tests.platform.affiliate_helpers import (
    AFFILIATE,
    approved_deposit,
    conversions,
    deliver_callback,
    make_world,
    referred_player,
)
from tests.platform.cashier_helpers import deliver, deposit
from tests.platform.casino_helpers import open_game
from tests.platform.sportsbook_helpers import bet, message, open_fixture, push

SLOT = "spinworks:pit-of-gold"
TABLE = "lucky_labs:blackjack-classic"  # RTP 99.5 %: the game of the review's +85 EUR
LIVE = "livetable:live-baccarat"


def claim(p, player, code: str = "WELCOME100"):
    with p.uow() as uow:
        bonus = service.claim(uow, player.id, code, p.clock.now())
        uow.commit()
    return bonus


def bonuses(p, player) -> list[PlayerBonus]:
    with p.session_factory() as s:
        return list(
            s.execute(
                select(PlayerBonus)
                .where(PlayerBonus.player_id == player.id)
                .order_by(PlayerBonus.claimed_at, PlayerBonus.id)
            ).scalars()
        )


def wagered(p, player) -> int:
    return bonuses(p, player)[-1].wagered_minor


def wallet(p, player) -> tuple[int, int]:
    b = balances(p, player.id)[0]
    return b.cash, b.bonus


def active_bonus_player(p, code: str = "WELCOME100", amount: int = 5_000):
    player = register_player(p)
    claim(p, player, code)
    deliver(p, deposit(p, player, amount=amount), "approved")
    assert bonuses(p, player)[-1].status == "active"
    return player


def convert_now(p, player) -> None:
    """Meet the rest of the wagering with one slot stake (the requirement made small)."""
    with p.session_factory() as s:
        s.execute(
            update(PlayerBonus)
            .where(PlayerBonus.player_id == player.id, PlayerBonus.status == "active")
            .values(wagering_required_minor=100)
        )
        s.commit()
    open_game(p, player, SLOT).bet("convert", round_id="convert", amount=100)
    assert bonuses(p, player)[-1].status == "converted"


# -- item 10: one claim per offer per player; the welcome offer on the first deposit only --


def test_welcome_offer_cannot_be_claimed_again_after_its_conversion(platform):
    player = active_bonus_player(platform)
    convert_now(platform, player)
    with pytest.raises(Conflict, match="one claim per offer"):
        claim(platform, player)
    assert len(bonuses(platform, player)) == 1


def test_any_offer_is_claimed_once_per_player(platform):
    player = register_player(platform)
    deliver(platform, deposit(platform, player, amount=2_000, key="first"), "approved")
    claim(platform, player, "RELOAD50")
    deliver(platform, deposit(platform, player, amount=4_000, key="second"), "approved")
    convert_now(platform, player)
    with pytest.raises(Conflict, match="one claim per offer"):
        claim(platform, player, "RELOAD50")


def test_welcome_offer_is_refused_once_a_deposit_was_approved(platform):
    player = register_player(platform)
    d = deposit(platform, player, amount=5_000)
    deliver(platform, d, "approved")
    deliver(platform, d, "chargeback")  # approved once, even if since charged back
    with pytest.raises(Conflict, match="first deposit"):
        claim(platform, player)
    assert claim(platform, player, "RELOAD50").status == "claimed"  # other offers stay open


def test_welcome_claim_is_cancelled_when_the_first_deposit_does_not_qualify(platform):
    player = register_player(platform)
    claim(platform, player)
    deliver(platform, deposit(platform, player, amount=999, key="small"), "approved")
    [b] = bonuses(platform, player)
    assert (b.status, b.close_reason) == ("cancelled", "first_deposit_below_minimum")
    deliver(platform, deposit(platform, player, amount=4_000, key="big"), "approved")
    assert wallet(platform, player) == (4_999, 0)  # a second deposit is no first deposit
    assert claim(platform, player, "RELOAD50").status == "claimed"


def test_the_database_refuses_a_second_claim_of_an_offer(platform):
    player = active_bonus_player(platform)
    convert_now(platform, player)
    [first] = bonuses(platform, player)
    with platform.session_factory() as s, pytest.raises(IntegrityError):
        s.add(
            PlayerBonus(
                id="00000000-0000-0000-0000-000000000002",
                player_id=player.id,
                offer_code="WELCOME100",
                status="claimed",
                currency="EUR",
                amount_minor=0,
                wagering_required_minor=0,
                wagered_minor=0,
                converted_minor=0,
                claimed_at=first.claimed_at,
            )
        )
        s.commit()


def test_a_claim_that_loses_the_race_at_the_constraint_is_a_conflict(platform, monkeypatch):
    """Two claims that both passed the checks: the unique constraint refuses the second,
    and the caller gets a Conflict, not a database error."""
    player = active_bonus_player(platform, "RELOAD50")
    convert_now(platform, player)
    monkeypatch.setattr(service, "_claimed_before", lambda *a, **k: False)
    with pytest.raises(Conflict, match="one claim per offer"):
        claim(platform, player, "RELOAD50")
    assert len(bonuses(platform, player)) == 1


def test_claiming_twice_over_http_is_a_409_problem(platform):
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        player = {
            "email": "bo@example.com",
            "password": "correct horse battery",
            "country": "DE",
            "currency": "EUR",
            "date_of_birth": "1990-05-17",
        }
        assert client.post("/players", json=player).status_code == 201
        login = {"email": player["email"], "password": player["password"]}
        token = client.post("/sessions", json=login).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        first = client.post("/bonus/claims", json={"offer_code": "WELCOME100"}, headers=headers)
        assert first.status_code == 201
        # Close the claim as if its bonus had converted: only the per-offer rule refuses.
        with platform.session_factory() as s:
            s.execute(update(PlayerBonus).values(status="converted"))
            s.commit()
        again = client.post("/bonus/claims", json={"offer_code": "WELCOME100"}, headers=headers)
        assert again.status_code == 409
        assert again.headers["content-type"].startswith("application/problem+json")
        assert "one claim per offer" in again.json()["detail"]
        offers = {o["code"]: o for o in client.get("/bonus/offers").json()}
        assert offers["WELCOME100"]["first_deposit_only"] is True
        assert offers["WELCOME100"]["wagering_weights_bps"]["table"] == 1_000


@pytest.mark.postgres
def test_concurrent_claims_of_one_offer_give_one_claim(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks and concurrent writers: PostgreSQL")
    from tests.conftest import make_platform

    p = make_platform(engine)
    player = register_player(p)
    barrier, outcomes = threading.Barrier(4), []

    def attempt() -> None:
        barrier.wait()
        try:
            claim(p, player)
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "ok"]
    assert len(bonuses(p, player)) == 1


# -- item 10: wagering weighted by game, sportsbook stakes from a minimum price -------------


def test_table_and_live_stakes_count_a_tenth_and_slots_in_full(platform):
    player = active_bonus_player(platform)
    open_game(platform, player, TABLE).bet("t1", round_id="t1", amount=1_000)
    assert wagered(platform, player) == 100
    open_game(platform, player, LIVE).bet("l1", round_id="l1", amount=1_000)
    assert wagered(platform, player) == 200
    open_game(platform, player, SLOT).bet("s1", round_id="s1", amount=1_000)
    assert wagered(platform, player) == 1_200


def test_a_rolled_back_table_stake_takes_back_only_its_weighted_part(platform):
    player = active_bonus_player(platform)
    open_game(platform, player, SLOT).bet("s1", round_id="s1", amount=1_000)
    table = open_game(platform, player, TABLE)
    table.bet("t1", round_id="t1", amount=1_000)
    assert wagered(platform, player) == 1_100
    table.rollback("rb1", "t1", round_id="t1")
    assert wagered(platform, player) == 1_000


def test_sportsbook_stakes_count_from_odds_of_one_fifty(platform):
    player = active_bonus_player(platform)
    open_fixture(platform, home_odds="1.49")
    assert bet(platform, player, "f1-h", stake=1_000, odds="1.49").status == "accepted"
    assert wagered(platform, player) == 0
    assert bet(platform, player, "f1-o", stake=1_000, odds="1.90").status == "accepted"
    assert wagered(platform, player) == 1_000
    open_fixture(platform, "f2", home_odds="1.50")
    assert bet(platform, player, "f2-h", stake=700, odds="1.50").status == "accepted"
    assert wagered(platform, player) == 1_700


def test_a_voided_short_priced_bet_takes_nothing_back(platform):
    player = active_bonus_player(platform)
    open_fixture(platform, home_odds="1.20")
    bet(platform, player, "f1-h", stake=1_000, odds="1.20")  # counted 0
    bet(platform, player, "f1-o", stake=1_000, odds="1.90")  # counted 1000, other market
    cancel = message(
        platform, "cancel", market_id="f1-1x2", result_at=platform.clock.now().isoformat()
    )
    assert push(platform, cancel) == "applied"
    assert wagered(platform, player) == 1_000
    assert push(platform, message(platform, "rollback", market_id="f1-1x2")) == "applied"
    assert wagered(platform, player) == 1_000


def test_the_weights_are_the_offers_terms(platform):
    player = active_bonus_player(platform)
    with platform.session_factory() as s:
        offer = s.get(BonusOffer, "WELCOME100")
        assert offer is not None
        offer.wagering_weights_bps = {**offer.wagering_weights_bps, "table": 2_000}
        offer.min_odds_milli = 2_000
        s.commit()
    open_game(platform, player, TABLE).bet("t1", round_id="t1", amount=1_000)
    assert wagered(platform, player) == 200
    open_fixture(platform)
    bet(platform, player, "f1-o", stake=1_000, odds="1.90")
    assert wagered(platform, player) == 200


def test_a_generic_stake_without_its_game_counts_nothing(platform):
    from igaming.wallet.service import place_stake

    player = active_bonus_player(platform)
    stake = dict(product="casino", amount=1_000, currency="EUR")
    place_stake(platform, player.id, idempotency_key="g", **stake)
    assert wagered(platform, player) == 0
    place_stake(platform, player.id, idempotency_key="s", game_type="slots", **stake)
    assert wagered(platform, player) == 1_000


def test_welcome_wagering_costs_more_than_the_bonus_on_every_catalogue_game():
    """The review's arithmetic, per game: the expected loss while meeting the wagering is at
    least the bonus, so claiming it is no longer a positive-expectation cycle."""
    [welcome] = [o for o in service.DEFAULT_OFFERS if o["code"] == "WELCOME100"]
    bonus = welcome["max_bonus_minor"]
    weights = welcome["wagering_weights_bps"]
    for game in DEFAULT_CATALOGUE:
        weight = weights.get(game.type, 0)
        assert weight > 0, game.type
        staked = bonus * welcome["wagering_multiplier"] * 10_000 // weight
        expected_loss = staked * (10_000 - game.rtp_bps) // 10_000
        assert expected_loss >= bonus, (game.id, expected_loss)


# -- item 11: voided and rolled-back stakes net out of GGR ----------------------------------

REVSHARE = {"kind": "revshare", "currency": "EUR", "revshare_bps": 3_000}


def test_a_voided_bet_is_no_ggr_and_earns_no_revshare(engine):
    w = make_world(engine, deal=REVSHARE)
    player = referred_player(w.p)
    approved_deposit(w.p, player, amount=10_000)
    open_fixture(w.p)
    assert bet(w.p, player, "f1-h", stake=4_000).status == "accepted"
    cancel = message(w.p, "cancel", market_id="f1-1x2", result_at=w.clock.now().isoformat())
    assert push(w.p, cancel) == "applied"
    day = w.clock.now().date()
    w.pump()
    assert [row[2:] for row in daily_figures(w.p, day)] == [(0, 0, 0)]
    record_daily_revenue(w.p, day)
    [rev] = conversions(w.p, "revenue")
    assert (rev.ggr, rev.ngr) == (0, 0)
    c = commission_for_period(w.p, AFFILIATE, day, day + timedelta(days=1))
    assert (c.ngr, c.revshare, c.total) == (0, 0, 0)


def test_a_void_rolled_back_puts_the_stake_back_into_ggr(engine):
    w = make_world(engine, deal=REVSHARE)
    player = referred_player(w.p)
    approved_deposit(w.p, player, amount=10_000)
    open_fixture(w.p)
    bet(w.p, player, "f1-h", stake=4_000)
    cancel = message(w.p, "cancel", market_id="f1-1x2", result_at=w.clock.now().isoformat())
    assert push(w.p, cancel) == "applied"
    assert push(w.p, message(w.p, "rollback", market_id="f1-1x2")) == "applied"
    w.pump()
    assert [row[2] for row in daily_figures(w.p, w.clock.now().date())] == [4_000]


def test_a_rolled_back_casino_stake_is_no_ggr(engine):
    w = make_world(engine, deal=REVSHARE)
    player = referred_player(w.p)
    approved_deposit(w.p, player, amount=10_000)
    game = open_game(w.p, player, SLOT)
    game.bet("b1", amount=1_000)
    game.rollback("rb1", "b1")
    game.bet("b2", round_id="r2", amount=300)  # lost: the only GGR
    w.pump()
    assert [row[2] for row in daily_figures(w.p, w.clock.now().date())] == [300]


def test_a_deposit_refund_is_no_gaming_revenue(engine):
    """Refunds are ``reversal`` transactions too, against the PSP's clearing account: they
    must not be taken for voided stakes."""
    w = make_world(engine, deal=REVSHARE)
    player = referred_player(w.p)
    approved_deposit(w.p, player, amount=10_000)
    other = approved_deposit(w.p, player, amount=2_000, key="d2")
    open_fixture(w.p)
    bet(w.p, player, "f1-h", stake=1_000)  # open: the stake is GGR until settled
    deliver_callback(w.p, other, "refunded")
    w.pump()
    assert [row[2:] for row in daily_figures(w.p, w.clock.now().date())] == [(1_000, 0, 0)]
    with w.p.session_factory() as s:
        assert check_invariants(s).ok


def test_the_migration_gives_existing_offers_their_terms(tmp_path):
    from sqlalchemy import text

    from igaming.db import make_engine
    from igaming.migrate import upgrade_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade_engine(engine, "0009_reconciliation")
    with engine.begin() as conn:
        for code in ("WELCOME100", "RELOAD50"):
            conn.execute(
                text("INSERT INTO bonus_offers VALUES (:code, 10000, 10000, 1000, 30, 30, true)"),
                {"code": code},
            )
    upgrade_engine(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            select(BonusOffer.code, BonusOffer.first_deposit_only, BonusOffer.min_odds_milli)
            .add_columns(BonusOffer.wagering_weights_bps)
            .order_by(BonusOffer.code)
        ).all()
    engine.dispose()
    weights = service.WAGERING_WEIGHTS_BPS
    assert [tuple(r) for r in rows] == [
        ("RELOAD50", False, 1_500, weights),
        ("WELCOME100", True, 1_500, weights),
    ]
