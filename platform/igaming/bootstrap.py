"""The platform as plain data: what every service is handed (settings, database, clock,
bus, ledger, gateways, faults in force).

It imports no service, so every service can import it. ``igaming.assembly`` builds and
starts one; the entry points (``pitwatch.compose``: CLI, tests, benchmarks) attach the
instrumentation, which igaming does not know.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from ground.clock import Clock
from igaming.bus import MessageBus
from igaming.cashier.gateway import PspGateway
from igaming.cashier.routing import RoutingTable
from igaming.casino.gateway import GameProviderGateway
from igaming.faults import FaultSwitch
from igaming.kyc.vendor import KycVendor
from igaming.uow import UnitOfWork
from igaming.wallet.ledger import Ledger

if TYPE_CHECKING:
    from pitwatch.settings import Settings

# Applied to the API app by igaming.api.app.create_app once its routes are in.
AppHook = Callable[[Any], None]


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
    # The platform's own /metrics (collectors.instrumentation.PlatformMetrics), when the
    # entry point attached instrumentation; None otherwise.
    metrics: Any = None
    faults: FaultSwitch = field(default_factory=FaultSwitch)  # injected incidents (igaming.faults)
    app_hooks: list[AppHook] = field(default_factory=list)  # the HTTP instrumentation, if any

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory, self.bus)
