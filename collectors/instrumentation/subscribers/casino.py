"""Game launches, rounds, rollbacks and the seamless wallet's refusals and replays."""

from __future__ import annotations

from collections.abc import Callable

from collectors.catalog import platform as c
from collectors.catalog.labels import PROVIDER
from collectors.instrumentation.registry import PlatformMetrics
from collectors.instrumentation.subscribers.base import zero
from igaming.bus import MessageBus
from igaming.casino import events as casino


def subscribe(bus: MessageBus, m: PlatformMetrics) -> None:
    subscribe_rounds(bus, m)
    subscribe_seamless(bus, m)


def subscribe_rounds(bus: MessageBus, m: PlatformMetrics) -> None:
    provider, launch_reason = m.binder(PROVIDER), m.binder(c.LAUNCH_FAILURE_REASON)
    launches, launch_failures = m[c.CASINO_LAUNCHES], m[c.CASINO_LAUNCH_FAILURES]
    rounds, rollbacks = m[c.CASINO_ROUNDS], m[c.CASINO_ROLLBACKS]
    round_delay = m[c.CASINO_ROUND_RESULT_DELAY]
    zero(launches, PROVIDER.values)
    zero(launch_failures, PROVIDER.values, c.LAUNCH_FAILURE_REASON.values)
    zero(rounds, PROVIDER.values, c.ROUND_OUTCOME.values)
    zero(rollbacks, PROVIDER.values)
    zero(round_delay, PROVIDER.values)

    def round_ended(outcome: str) -> Callable[[casino.RoundEnded], None]:
        def handle(e: casino.RoundEnded) -> None:
            pr = provider(e.provider)
            rounds.labels(pr, outcome).inc()
            round_delay.labels(pr).observe(max(0.0, e.result_delay_seconds))

        return handle

    bus.subscribe(casino.GameLaunched, lambda e: launches.labels(provider(e.provider)).inc())
    bus.subscribe(
        casino.GameLaunchFailed,
        lambda e: launch_failures.labels(provider(e.provider), launch_reason(e.reason)).inc(),
    )
    bus.subscribe(casino.RoundCompleted, round_ended("completed"))
    bus.subscribe(casino.RoundCancelled, round_ended("cancelled"))
    bus.subscribe(
        casino.CasinoRollbackApplied, lambda e: rollbacks.labels(provider(e.provider)).inc()
    )


def subscribe_seamless(bus: MessageBus, m: PlatformMetrics) -> None:
    provider = m.binder(PROVIDER)
    refusals, replays = m[c.CASINO_SEAMLESS_REFUSALS], m[c.CASINO_SEAMLESS_REPLAYS]
    zero(refusals, PROVIDER.values, c.SEAMLESS_ACTION.values, c.SEAMLESS_CODE.values)
    zero(replays, PROVIDER.values)
    action, code = m.binder(c.SEAMLESS_ACTION), m.binder(c.SEAMLESS_CODE)
    bus.subscribe(
        casino.SeamlessRequestRefused,
        lambda e: refusals.labels(provider(e.provider), action(e.action), code(e.code)).inc(),
    )
    bus.subscribe(
        casino.SeamlessRequestReplayed, lambda e: replays.labels(provider(e.provider)).inc()
    )
