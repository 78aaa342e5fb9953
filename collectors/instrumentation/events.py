"""Domain events -> metric updates: every domain's subscriber on one bus, and the bus's own
failure count. The domains live in ``collectors.instrumentation.subscribers``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client.metrics_core import CounterMetricFamily
from prometheus_client.registry import Collector

from collectors.catalog import platform as c
from collectors.catalog.labels import BRAND
from collectors.instrumentation.registry import PlatformMetrics
from collectors.instrumentation.subscribers import (
    affiliates,
    bonus,
    casino,
    kyc,
    payments,
    registration,
    sportsbook,
    wallet,
)
from ground.vocabulary import DEFAULT_BRAND
from igaming.bus import MessageBus
from igaming.cashier.routing import RoutingTable


class BusFailuresCollector(Collector):
    """``pitwatch_bus_subscriber_failures``: the bus's own failure count, read per scrape
    (the bus counts, it has no hook; describe() reads nothing)."""

    def __init__(self, bus: MessageBus) -> None:
        self._bus = bus

    def describe(self) -> list[CounterMetricFamily]:
        return [self._family(0)]

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield self._family(self._bus.failures)

    @staticmethod
    def _family(value: float) -> CounterMetricFamily:
        metric = c.BUS_SUBSCRIBER_FAILURES
        return CounterMetricFamily(metric.name, metric.help, value=value)


def subscribe(
    bus: MessageBus,
    m: PlatformMetrics,
    routing: RoutingTable,
    brands: Iterable[str] = (DEFAULT_BRAND,),
) -> None:
    """Subscribe the business metrics to the bus and create their series at zero."""
    brand = m.binder(BRAND)
    for b in brands:  # the brands known at start-up get their deposit series at zero
        brand(b)
    m.registry.register(BusFailuresCollector(bus))
    payments.subscribe(bus, m, routing)
    wallet.subscribe(bus, m)
    sportsbook.subscribe(bus, m)
    casino.subscribe(bus, m)
    kyc.subscribe(bus, m)
    registration.subscribe(bus, m)
    affiliates.subscribe(bus, m)
    bonus.subscribe(bus, m)


__all__ = ["DEFAULT_BRAND", "BusFailuresCollector", "subscribe"]
