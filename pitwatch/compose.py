"""The composition root: a platform built from settings, with the instrumentation the
entry points (CLI, tests, benchmarks) attach. igaming knows nothing of the collectors;
this is the one place where the two meet.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from sqlalchemy import Engine

from collectors.instrumentation import (
    ENABLE_ENV,
    PlatformMetrics,
    instrument_app,
    instrument_platform,
)
from ground.clock import Clock
from igaming import assembly
from igaming.assembly import start_platform
from igaming.bootstrap import Platform
from igaming.bus import MessageBus
from igaming.cashier.gateway import PspGateway
from igaming.casino.gateway import GameProviderGateway
from igaming.kyc.vendor import KycVendor
from pitwatch.settings import Settings


def instrumentation_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """On unless PITWATCH_INSTRUMENTATION=0 (the switch the overhead benchmark uses)."""
    return environ.get(ENABLE_ENV, "1") != "0"


def attach_instrumentation(platform: Platform) -> PlatformMetrics:
    """A metrics registry fed by the platform's bus and engine; the API app the platform
    creates gets the RED middleware (``igaming.api.app.create_app`` applies the hook)."""
    metrics = instrument_platform(platform)
    platform.metrics = metrics
    platform.app_hooks.append(lambda app: instrument_app(app, metrics))
    return metrics


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
    """``igaming.assembly.build_platform``, instrumented when ``instrument`` says so
    (default: ``instrumentation_enabled()``)."""
    platform = assembly.build_platform(
        settings, engine=engine, clock=clock, bus=bus, psp=psp, kyc=kyc, games=games
    )
    if instrument is None:
        instrument = instrumentation_enabled()
    if instrument:
        attach_instrumentation(platform)
    return platform


__all__ = [
    "attach_instrumentation",
    "build_platform",
    "instrumentation_enabled",
    "start_platform",
]


def simulation_settings(database_url: str) -> Settings:
    """The settings of an accelerated simulation's platform: development, so that the
    simulated partners sign with the placeholder secrets."""
    return Settings(environment="development", database_url=database_url)
