"""Bonus amounts granted, converted and forfeited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from collectors.catalog import platform as c
from collectors.catalog.labels import CURRENCY
from collectors.instrumentation.registry import PlatformMetrics
from collectors.instrumentation.subscribers.base import major_units, zero
from igaming.bonus import events as bonus
from igaming.bus import MessageBus


def subscribe(bus: MessageBus, m: PlatformMetrics) -> None:
    currency, forfeit_reason = m.binder(CURRENCY), m.binder(c.FORFEIT_REASON)
    granted, converted = m[c.BONUS_GRANTED_AMOUNT], m[c.BONUS_CONVERTED_AMOUNT]
    forfeited = m[c.BONUS_FORFEITED_AMOUNT]
    zero(granted, CURRENCY.values)
    zero(converted, CURRENCY.values)
    zero(forfeited, CURRENCY.values, c.FORFEIT_REASON.values)

    def amount(metric: Any) -> Callable[[bonus.BonusEvent], None]:
        def handle(e: bonus.BonusEvent) -> None:
            metric.labels(currency(e.currency)).inc(major_units(e.amount, e.currency))

        return handle

    def bonus_forfeited(e: bonus.BonusForfeited) -> None:
        forfeited.labels(currency(e.currency), forfeit_reason(e.reason)).inc(
            major_units(e.amount, e.currency)
        )

    bus.subscribe(bonus.BonusGranted, amount(granted))
    bus.subscribe(bonus.BonusConverted, amount(converted))
    bus.subscribe(bonus.BonusForfeited, bonus_forfeited)
