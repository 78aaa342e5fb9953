"""Builds a Platform from settings (database, clock, bus, ledger and gateways) and starts it.

No instrumentation here: igaming does not import the collectors. ``pitwatch.compose``
builds through this and attaches it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Engine

from ground.clock import Clock, SystemClock
from igaming.bonus.service import seed_offers
from igaming.bootstrap import Platform
from igaming.bus import MessageBus
from igaming.cashier.gateway import HttpPspGateway, PspGateway
from igaming.casino.catalogue import seed_catalogue
from igaming.casino.gateway import GameProviderGateway, HttpGameProviderGateway
from igaming.db import make_engine, make_session_factory
from igaming.faults import install_db_delay
from igaming.kyc.vendor import HttpKycVendor, KycVendor
from igaming.wallet.house import bootstrap_house_accounts

if TYPE_CHECKING:
    from pitwatch.settings import Settings


def build_platform(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    bus: MessageBus | None = None,
    psp: PspGateway | None = None,
    kyc: KycVendor | None = None,
    games: GameProviderGateway | None = None,
) -> Platform:
    """A platform on ``settings``' database and partners; any part given is used instead."""
    engine = engine or make_engine(settings.database_url)
    platform = Platform(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        clock=clock or SystemClock(),
        bus=bus or MessageBus(),
        psp=psp or HttpPspGateway(settings.psp_base_url, settings.psp_timeout_seconds),
        kyc=kyc or HttpKycVendor(settings.kyc_base_url, settings.kyc_timeout_seconds),
        games=games
        or HttpGameProviderGateway(settings.games_base_url, settings.games_timeout_seconds),
    )
    install_db_delay(engine, platform.faults)
    return platform


def start_platform(p: Platform) -> None:
    """Create the house accounts and default offers, cache account ids (idempotent)."""
    with p.uow() as uow:
        bootstrap_house_accounts(uow.session, p.settings.psp_secrets, p.clock.now())
        seed_offers(uow.session)
        uow.commit()
    with p.session_factory() as session:
        p.ledger.cache_house_accounts(session)
    seed_catalogue(p)
