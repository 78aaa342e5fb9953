"""Helpers shared by the affiliate tests (no tests here): a platform wired to the affiliate
network simulator in-process, and the platform services that produce outbox rows."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy import select

from ground.clock import FakeClock
from igaming.affiliates import deals
from igaming.affiliates.dispatcher import dispatch_due
from igaming.affiliates.models import Conversion, PostbackJob
from igaming.affiliates.outbox_consumer import consume_all
from igaming.bootstrap import Platform
from igaming.cashier import deposits
from igaming.cashier.callbacks import handle_callback
from igaming.sim.affiliate_network import AffiliateNetworkConfig, Network, create_app
from tests.conftest import make_platform, register_player
from tests.fakes import callback_body, signature

AFFILIATE = "aff17"
SECRET = "dev-secret-aff17"
TEMPLATE = (
    "http://network.test/postback/aff17?event={event}&click_id={click_id}&amount={amount}"
    "&currency={currency}&conversion_id={conversion_id}&player_ref={player_ref}"
    "&occurred_at={occurred_at}&campaign={campaign}"
)


@dataclass
class World:
    p: Platform
    clock: FakeClock
    network: Network
    client: TestClient

    def pump(self) -> list:
        """Consume the outbox, then deliver what is due."""
        consume_all(self.p)
        return dispatch_due(self.p, self.client)


def make_world(engine, *, kyc=None, deal: dict | None = None) -> World:
    clock = FakeClock()
    p = make_platform(engine, clock=clock, kyc=kyc)
    app = create_app(AffiliateNetworkConfig(seed=3), clock)
    deals.upsert_affiliate(p, AFFILIATE, postback_url_template=TEMPLATE, secret=SECRET)
    if deal is not None:
        deals.create_deal(p, AFFILIATE, **deal)
    return World(p, clock, app.state.network, TestClient(app))


def referred_player(p: Platform, click_id: str | None = "clk-1", **kw):
    kw.setdefault("affiliate", AFFILIATE)
    kw.setdefault("campaign", "spring-de")
    return register_player(p, click_id=click_id, **kw)


def approved_deposit(p: Platform, player, amount: int = 2_500, key: str = "d1"):
    d = deposits.request_deposit(
        p, player.id, amount=amount, currency=player.currency, method="card", idempotency_key=key
    )
    deliver_callback(p, d, "approved")
    return d


def deliver_callback(p: Platform, d, status: str) -> None:
    body = callback_body(
        merchant_reference=d.id,
        status=status,
        amount=d.amount,
        currency=d.currency,
        psp=d.psp,
        occurred_at=p.clock.now(),
    )
    handle_callback(p, d.psp, body, signature(body, p.clock.now(), d.psp))


def conversions(p: Platform, type_: str | None = None) -> list[Conversion]:
    query = select(Conversion).order_by(Conversion.created_at, Conversion.id)
    if type_:
        query = query.where(Conversion.type == type_)
    with p.session_factory() as s:
        return list(s.execute(query).scalars())


def jobs(p: Platform) -> list[PostbackJob]:
    with p.session_factory() as s:
        return list(s.execute(select(PostbackJob).order_by(PostbackJob.id)).scalars())
