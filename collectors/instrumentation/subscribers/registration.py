"""Registrations refused (published on the bus only: a refusal commits nothing)."""

from __future__ import annotations

from collectors.catalog import platform as c
from collectors.catalog.labels import GEO
from collectors.instrumentation.registry import PlatformMetrics
from collectors.instrumentation.subscribers.base import zero
from igaming import events as core
from igaming.bus import MessageBus


def subscribe(bus: MessageBus, m: PlatformMetrics) -> None:
    geo, reason = m.binder(GEO), m.binder(c.REGISTRATION_REFUSAL_REASON)
    refusals = m[c.REGISTRATION_REFUSALS]
    zero(refusals, GEO.values, c.REGISTRATION_REFUSAL_REASON.values)
    bus.subscribe(
        core.RegistrationRefused,
        lambda e: refusals.labels(geo(e.country), reason(e.reason)).inc(),
    )
