"""Attribution, conversions and FTD qualification, fed by the platform's outbox."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, text

from igaming.affiliates.clicks import record_click
from igaming.affiliates.conversions import FtdTerms, decide_ftd
from igaming.affiliates.models import Attribution, Click, Conversion, OutboxCursor, PostbackJob
from igaming.affiliates.outbox_consumer import GAP_GRACE, consume_all, reset_cursor
from igaming.kyc.service import request_verification, retry_due
from igaming.models import OutboxEvent
from igaming.partners.pseudonyms import AFFILIATE_REF_HEX_CHARS, player_ref
from tests.fakes import FakeKyc
from tests.platform.affiliate_helpers import (
    AFFILIATE,
    approved_deposit,
    conversions,
    deliver_callback,
    jobs,
    make_world,
    referred_player,
)

KYC_DEAL = {
    "kind": "cpa",
    "currency": "EUR",
    "cpa_amount": 5_000,
    "min_ftd_amount": 2_000,
    "allowed_geos": ["DE", "SE"],
    "require_kyc": True,
}


def test_registration_is_linked_to_its_click_and_converts(engine):
    w = make_world(engine)
    record_click(w.p, affiliate=AFFILIATE, campaign="spring-de", click_id="clk-1", geo="de")
    player = referred_player(w.p, click_id="clk-1", campaign="ignored-by-click")
    consume_all(w.p)
    with w.p.session_factory() as s:
        click = s.get(Click, "clk-1")
        a = s.get(Attribution, player.id)
    assert click.player_id == player.id and click.geo == "DE"
    assert (a.source, a.campaign, a.flagged) == ("click", "spring-de", False)
    [reg] = conversions(w.p, "registration")
    assert (reg.state, reg.click_id, reg.campaign) == ("approved", "clk-1", "spring-de")


def test_unknown_click_keeps_registration_attribution_flagged(engine):
    w = make_world(engine)
    player = referred_player(w.p, click_id="never-clicked", campaign="autumn")
    consume_all(w.p)
    with w.p.session_factory() as s:
        a = s.get(Attribution, player.id)
    assert (a.affiliate, a.campaign, a.flagged, a.flag_reason) == (
        AFFILIATE,
        "autumn",
        True,
        "unknown_click",
    )
    assert conversions(w.p, "registration")[0].attribution_flagged


def test_organic_player_makes_no_conversion(engine):
    w = make_world(engine)
    from tests.conftest import register_player

    approved_deposit(w.p, register_player(w.p))
    consume_all(w.p)
    assert conversions(w.p) == []


def test_ftd_without_kyc_waits_and_qualifies_when_kyc_is_approved_later(engine):
    w = make_world(engine, kyc=FakeKyc(script=["unavailable", "approved"]), deal=KYC_DEAL)
    player = referred_player(w.p)
    approved_deposit(w.p, player, amount=2_500)
    request_verification(w.p, player.id)  # vendor down: no decision yet
    consume_all(w.p)
    [ftd] = conversions(w.p, "ftd")
    assert (ftd.state, ftd.reason) == ("pending", "awaiting_kyc")
    assert [j.event for j in jobs(w.p)] == ["registration", "deposit"]
    w.clock.advance(31)
    assert retry_due(w.p) == 1
    consume_all(w.p)
    [ftd] = conversions(w.p, "ftd")
    assert ftd.state == "approved" and ftd.qualified_at == w.clock.now()
    assert [j.event for j in jobs(w.p)] == ["registration", "deposit", "ftd"]


def test_ftd_below_the_minimum_is_rejected(engine):
    w = make_world(engine, deal={**KYC_DEAL, "require_kyc": False})
    approved_deposit(w.p, referred_player(w.p), amount=1_999)
    consume_all(w.p)
    [ftd] = conversions(w.p, "ftd")
    assert (ftd.state, ftd.reason) == ("rejected", "below_minimum")
    assert "ftd" not in [j.event for j in jobs(w.p)]


def test_ftd_from_a_geo_outside_the_deal_is_rejected(engine):
    w = make_world(engine, deal={**KYC_DEAL, "require_kyc": False})
    approved_deposit(w.p, referred_player(w.p, country="GB", currency="GBP"), amount=5_000)
    consume_all(w.p)
    assert [(c.state, c.reason) for c in conversions(w.p, "ftd")] == [
        ("rejected", "geo_not_allowed")
    ]


def test_campaign_deal_overrides_the_affiliate_wide_deal(engine):
    w = make_world(engine, deal={**KYC_DEAL, "require_kyc": False})
    from igaming.affiliates.deals import create_deal

    create_deal(w.p, AFFILIATE, campaign="spring-de", kind="cpa", currency="EUR", cpa_amount=1)
    approved_deposit(w.p, referred_player(w.p), amount=100)  # under the wide deal's minimum
    consume_all(w.p)
    assert conversions(w.p, "ftd")[0].state == "approved"


def test_decide_ftd_rejects_fraud_and_kyc_rejection_first():
    terms = FtdTerms(min_amount=100, require_kyc=True)
    assert decide_ftd(terms, amount=500, geo="DE", kyc_status="approved", fraud=True).reason == (
        "fraud"
    )
    assert decide_ftd(terms, amount=500, geo="DE", kyc_status="rejected", fraud=False).state == (
        "rejected"
    )
    assert decide_ftd(FtdTerms(), amount=1, geo="XX", kyc_status="none", fraud=False).state == (
        "approved"
    )


def test_chargeback_reverses_the_ftd_and_queues_a_reversal_postback(engine):
    w = make_world(engine, deal={**KYC_DEAL, "require_kyc": False})
    d = approved_deposit(w.p, referred_player(w.p), amount=3_000)
    consume_all(w.p)
    deliver_callback(w.p, d, "chargeback")
    consume_all(w.p)
    states = {c.type: (c.state, c.reason) for c in conversions(w.p)}
    assert states["ftd"] == ("reversed", "charged_back")
    assert states["deposit"] == ("reversed", "charged_back")
    assert sorted(j.event for j in jobs(w.p)) == [
        "deposit",
        "deposit_reversal",
        "ftd",
        "ftd_reversal",
        "registration",
    ]
    with w.p.session_factory() as s:
        events = list(s.execute(select(OutboxEvent.event_type)).scalars())
    assert events.count("affiliate.ftd_reversed") == 1


def test_chargeback_of_a_pending_ftd_rejects_it_without_a_postback(engine):
    w = make_world(engine, deal=KYC_DEAL)
    d = approved_deposit(w.p, referred_player(w.p), amount=3_000)
    deliver_callback(w.p, d, "chargeback")
    consume_all(w.p)
    assert [(c.state, c.reason) for c in conversions(w.p, "ftd")] == [("rejected", "charged_back")]
    assert not any(j.event.startswith("ftd") for j in jobs(w.p))


def test_replaying_the_outbox_changes_nothing(engine):
    w = make_world(engine, deal={**KYC_DEAL, "require_kyc": False})
    d = approved_deposit(w.p, referred_player(w.p), amount=3_000)
    approved_deposit(w.p, referred_player(w.p, click_id="clk-2"), amount=4_000, key="d2")
    deliver_callback(w.p, d, "chargeback")
    consume_all(w.p)

    def snapshot():
        with w.p.session_factory() as s:
            convs = s.execute(select(Conversion.dedupe_key, Conversion.state)).all()
            n_jobs = s.execute(select(func.count(PostbackJob.id))).scalar_one()
            n_events = s.execute(select(func.count(OutboxEvent.id))).scalar_one()
        return sorted(convs), n_jobs, n_events

    before = snapshot()
    reset_cursor(w.p, 0)
    assert consume_all(w.p) > 0
    assert snapshot() == before


def test_consumer_waits_at_an_id_gap_then_steps_over_it(engine):
    w = make_world(engine)
    referred_player(w.p)
    consume_all(w.p)
    with w.p.session_factory() as s:
        last = s.execute(select(func.max(OutboxEvent.id))).scalar_one()
    with w.p.uow() as uow:  # id last+1 is "in flight": last+2 is visible before it
        uow.session.add(
            OutboxEvent(
                id=last + 2,
                event_id="gap-test",
                event_type="test.other",
                payload={},
                occurred_at=datetime(2026, 11, 2, tzinfo=UTC),
            )
        )
        uow.commit()
    assert consume_all(w.p) == 0
    w.clock.advance(GAP_GRACE.total_seconds() - 1)
    assert consume_all(w.p) == 0
    w.clock.advance(2)
    assert consume_all(w.p) == 1
    with w.p.session_factory() as s:
        cursor = s.get(OutboxCursor, "affiliates")
    assert (cursor.last_id, cursor.held_since) == (last + 2, None)


def test_player_ref_never_contains_the_player_id_or_email(engine):
    w = make_world(engine)
    player = referred_player(w.p, email="Jane.Doe@example.com")
    approved_deposit(w.p, player)
    consume_all(w.p)
    ref = player_ref(w.p.settings.player_ref_key, player.id, AFFILIATE_REF_HEX_CHARS)
    assert ref != player_ref("another-key", player.id, AFFILIATE_REF_HEX_CHARS)
    assert len(ref) == AFFILIATE_REF_HEX_CHARS == 24  # docs/affiliates.md
    for conv in conversions(w.p):
        assert conv.player_ref == ref
    for job in jobs(w.p):
        assert player.id not in job.url and "jane" not in job.url.lower()
        assert player.id.replace("-", "") not in job.url
        assert f"player_ref={ref}" in job.url
    with w.p.session_factory() as s:
        rows = s.execute(text("SELECT * FROM pw_postbacks")).mappings().all()
    assert rows and all(player.id not in str(dict(r)) for r in rows)


def test_bonus_cost_in_ngr_is_granted_less_forfeited(engine):
    from igaming.affiliates.revenue import daily_figures
    from igaming.bonus import service as bonus_service
    from igaming.wallet.service import place_stake

    world = make_world(engine)
    p = world.p
    player = referred_player(p)
    with p.uow() as uow:
        bonus_service.claim(uow, player.id, "WELCOME100", p.clock.now())
        uow.commit()
    approved_deposit(p, player, amount=5_000)
    place_stake(p, player.id, product="casino", amount=1_000, currency="EUR", idempotency_key="s")
    granted_on = p.clock.now().date()
    p.clock.advance(days=30, seconds=1)
    assert bonus_service.expire_due(p) == 1  # the 150,000 wagering was not met
    world.pump()  # attributions come from the outbox
    by_day = {
        day: {row[0]: row[2:] for row in daily_figures(p, day)}
        for day in (granted_on, p.clock.now().date())
    }
    # (GGR, bonus cost, chargebacks): the grant is a cost on its day, the forfeit gives it back.
    assert by_day[granted_on][player.id] == (1_000, 5_000, 0)
    assert by_day[p.clock.now().date()][player.id] == (0, -5_000, 0)
