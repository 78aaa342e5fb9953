"""The platform's background jobs: one pass consumes the outbox, delivers postbacks,
retries KYC and expires bonuses; a failing job does not stop the others."""

from __future__ import annotations

from igaming.kyc import service as kyc_service
from igaming.worker import BackgroundJobs
from tests.fakes import FakeKyc
from tests.platform.affiliate_helpers import approved_deposit, make_world, referred_player


def test_one_pass_delivers_the_registration_and_ftd_postbacks(engine):
    world = make_world(engine)
    player = referred_player(world.p)
    approved_deposit(world.p, player)
    BackgroundJobs(world.p, world.client).run_once()
    events = sorted(c.event for c in world.network.conversions(world.clock.now().date()))
    assert "registration" in events and "ftd" in events


def test_one_pass_retries_kyc_whose_vendor_was_down(engine):
    world = make_world(engine, kyc=FakeKyc(script=["unavailable", "approved"]))
    player = referred_player(world.p)
    assert kyc_service.request_verification(world.p, player.id).status == "provider_unavailable"
    world.clock.advance(31)
    BackgroundJobs(world.p, world.client).run_once()
    assert kyc_service.latest_check(world.p, player.id).status == "approved"


def test_a_failing_job_does_not_stop_the_others(engine, monkeypatch):
    world = make_world(engine, kyc=FakeKyc(script=["unavailable", "approved"]))
    player = referred_player(world.p)
    kyc_service.request_verification(world.p, player.id)
    world.clock.advance(31)
    import igaming.affiliates.outbox_consumer as consumer

    def broken(*_a, **_k):
        raise RuntimeError("outbox unreadable")

    monkeypatch.setattr(consumer, "consume_all", broken)
    BackgroundJobs(world.p, world.client).run_once()
    assert kyc_service.latest_check(world.p, player.id).status == "approved"
