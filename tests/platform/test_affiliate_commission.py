"""Commission (CPA, RevShare with negative carry-over, hybrid) and daily revenue from the ledger."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from igaming.affiliates.commission import DealTerms, commission_for_period, compute_commission
from igaming.affiliates.outbox_consumer import consume_all
from igaming.affiliates.revenue import record_daily_revenue
from igaming.errors import ValidationFailed
from igaming.wallet.accounts import house_account, player_account
from igaming.wallet.ledger import Posting
from igaming.wallet.service import pay_win, place_stake
from tests.platform.affiliate_helpers import (
    AFFILIATE,
    approved_deposit,
    conversions,
    deliver_callback,
    jobs,
    make_world,
    referred_player,
)

CPA = DealTerms("cpa", "EUR", cpa_amount=5_000)
REVSHARE = DealTerms("revshare", "EUR", revshare_bps=3_000)
HYBRID = DealTerms("hybrid", "EUR", cpa_amount=2_000, revshare_bps=1_000)


def test_cpa_pays_per_qualified_ftd_and_ignores_ngr():
    c = compute_commission(CPA, qualified_ftds=3, ngr=-50_000)
    assert (c.cpa, c.revshare, c.total, c.carry_out) == (15_000, 0, 15_000, 0)


def test_revshare_pays_a_share_of_positive_ngr_rounded_down():
    c = compute_commission(REVSHARE, qualified_ftds=9, ngr=10_001)
    assert (c.cpa, c.revshare, c.total) == (0, 3_000, 3_000)


def test_negative_ngr_pays_nothing_and_is_carried_into_the_next_period():
    first = compute_commission(REVSHARE, qualified_ftds=0, ngr=-40_000)
    assert (first.total, first.carry_out) == (0, -40_000)
    second = compute_commission(REVSHARE, qualified_ftds=0, ngr=30_000, carry_in=first.carry_out)
    assert (second.total, second.carry_out) == (0, -10_000)
    third = compute_commission(REVSHARE, qualified_ftds=0, ngr=20_000, carry_in=second.carry_out)
    assert (third.revshare, third.carry_out) == (3_000, 0)


def test_hybrid_pays_cpa_and_revshare_and_carries_only_the_revshare_part():
    c = compute_commission(HYBRID, qualified_ftds=2, ngr=-5_000)
    assert (c.cpa, c.revshare, c.total, c.carry_out) == (4_000, 0, 4_000, -5_000)
    c = compute_commission(HYBRID, qualified_ftds=1, ngr=50_000, carry_in=-10_000)
    assert (c.cpa, c.revshare, c.total) == (2_000, 4_000, 6_000)


def test_positive_carry_in_is_refused():
    with pytest.raises(ValidationFailed):
        compute_commission(REVSHARE, qualified_ftds=0, ngr=0, carry_in=1)


def _grant_bonus(p, player_id: str, amount: int) -> None:
    now = p.clock.now()
    with p.uow() as uow:
        tx = p.ledger.begin(
            uow.session,
            now=now,
            tx_type="bonus_grant",
            idempotency_key=f"bonus:{player_id}",
            currency="EUR",
            amount=amount,
            player_id=player_id,
            request={"amount": amount},
        ).transaction
        p.ledger.post(
            uow.session,
            tx,
            [
                Posting(player_account(player_id, "bonus", "EUR"), amount),
                Posting(house_account("bonus_pool", "EUR"), -amount),
            ],
            now=now,
            status="completed",
        )
        uow.commit()


def test_daily_revenue_is_ggr_minus_bonus_and_chargebacks_per_player(engine):
    w = make_world(
        engine,
        deal={"kind": "hybrid", "currency": "EUR", "cpa_amount": 5_000, "revshare_bps": 2_500},
    )
    player = referred_player(w.p)
    d = approved_deposit(w.p, player, amount=10_000)
    stake = dict(product="casino", currency="EUR")
    place_stake(w.p, player.id, amount=6_000, idempotency_key="b1", **stake)
    pay_win(w.p, player.id, amount=1_000, idempotency_key="w1", **stake)
    _grant_bonus(w.p, player.id, 500)
    approved_deposit(w.p, referred_player(w.p, click_id="c2"), key="d2")  # no play: no revenue
    day = w.clock.now().date()
    assert record_daily_revenue(w.p, day) == 1
    assert record_daily_revenue(w.p, day) == 0  # idempotent
    [rev] = conversions(w.p, "revenue")
    assert (rev.ggr, rev.ngr, rev.amount, rev.period) == (5_000, 4_500, 4_500, day)
    assert "revenue" in [j.event for j in jobs(w.p)]

    w.clock.advance(86_400)
    deliver_callback(w.p, d, "chargeback")
    assert record_daily_revenue(w.p, day + timedelta(days=1)) == 1
    consume_all(w.p)
    rev2 = conversions(w.p, "revenue")[1]
    assert (rev2.ggr, rev2.ngr) == (0, -10_000)

    c = commission_for_period(w.p, AFFILIATE, day, day + timedelta(days=2))
    # Two FTDs qualified, one since reversed by the chargeback: one CPA. NGR 4500-10000.
    assert (c.qualified_ftds, c.cpa, c.ngr, c.revshare, c.carry_out) == (
        1,
        5_000,
        -5_500,
        0,
        -5_500,
    )


def test_commission_for_an_affiliate_without_deal_is_not_found(engine):
    w = make_world(engine)
    from igaming.errors import NotFound

    with pytest.raises(NotFound):
        commission_for_period(w.p, AFFILIATE, date(2026, 11, 1), date(2026, 12, 1))
