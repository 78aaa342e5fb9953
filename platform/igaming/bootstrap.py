"""Wires the platform together: settings, database, clock, bus, ledger and gateways."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from ground.clock import Clock, SystemClock
from igaming.bus import MessageBus
from igaming.cashier.gateway import HttpPspGateway, PspGateway
from igaming.cashier.routing import RoutingTable
from igaming.db import make_engine, make_session_factory
from igaming.faults import FaultSwitch, install_db_delay
from igaming.kyc.vendor import HttpKycVendor, KycVendor
from igaming.uow import UnitOfWork
from igaming.wallet.house import bootstrap_house_accounts
from igaming.wallet.ledger import Ledger

if TYPE_CHECKING:
    from collectors.instrumentation import PlatformMetrics
    from igaming.casino.launch import GameProviderGateway
    from pitwatch.settings import Settings


@dataclass
class Platform:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker
    clock: Clock
    bus: MessageBus
    psp: PspGateway
    kyc: KycVendor
    games: GameProviderGateway
    routing: RoutingTable = field(default_factory=RoutingTable.default)
    ledger: Ledger = field(default_factory=Ledger)
    metrics: PlatformMetrics | None = None  # the platform's own /metrics (its registry)
    faults: FaultSwitch = field(default_factory=FaultSwitch)  # injected incidents (igaming.faults)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory, self.bus)

    def start(self) -> None:
        """Create the house accounts and default offers, cache account ids (idempotent)."""
        from igaming.bonus.service import seed_offers
        from igaming.casino.catalogue import seed_catalogue

        with self.uow() as uow:
            bootstrap_house_accounts(uow.session, self.settings.psp_secrets, self.clock.now())
            seed_offers(uow.session)
            uow.commit()
        with self.session_factory() as session:
            self.ledger.cache_house_accounts(session)
        seed_catalogue(self)


def build_platform(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    bus: MessageBus | None = None,
    psp: PspGateway | None = None,
    kyc: KycVendor | None = None,
    games: GameProviderGateway | None = None,
    instrument: bool | None = None,
) -> Platform:
    """``instrument`` (default: on unless PITWATCH_INSTRUMENTATION=0) gives the platform a
    metrics registry fed by its bus and engine."""
    from igaming.casino.launch import HttpGameProviderGateway

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
    if instrument is None:
        instrument = os.environ.get("PITWATCH_INSTRUMENTATION", "1") != "0"
    if instrument:
        from collectors.instrumentation import instrument_platform

        platform.metrics = instrument_platform(platform)
    return platform
