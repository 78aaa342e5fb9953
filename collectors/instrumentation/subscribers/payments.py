"""Deposits, PSP callbacks and withdrawals."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from collectors.catalog import platform as c
from collectors.catalog.labels import BRAND, CURRENCY, GEO, METHOD, PSP
from collectors.instrumentation.registry import PlatformMetrics
from collectors.instrumentation.subscribers.base import major_units, zero
from igaming import events as core
from igaming.bus import MessageBus
from igaming.cashier.routing import RoutingTable


def routed_combinations(routing: RoutingTable) -> list[tuple[str, str, str]]:
    """(geo, psp, method) the routing table can produce: the deposit series to pre-create."""
    out = []
    for geo, method in itertools.product(GEO.values, METHOD.values):
        psp = routing.routes.get((geo, method)) or routing.routes.get(("*", method))
        if psp is not None:
            out.append((geo, PSP.bound(psp), method))
    return out


def subscribe(bus: MessageBus, m: PlatformMetrics, routing: RoutingTable) -> None:
    """Deposit series at zero for every routed (geo, psp, method) and every brand seen."""
    subscribe_deposits(bus, m, routing)
    subscribe_callbacks(bus, m)
    subscribe_withdrawals(bus, m)


def subscribe_deposits(bus: MessageBus, m: PlatformMetrics, routing: RoutingTable) -> None:
    geo, psp, method = m.binder(GEO), m.binder(PSP), m.binder(METHOD)
    brand, currency = m.binder(BRAND), m.binder(CURRENCY)
    attempts, outcomes = m[c.DEPOSIT_ATTEMPTS], m[c.DEPOSIT_OUTCOMES]
    approved_amount, approval = m[c.DEPOSITS_APPROVED_AMOUNT], m[c.DEPOSIT_APPROVAL]
    chargebacks = m[c.DEPOSIT_CHARGEBACKS]
    for (g, p, mt), b in itertools.product(routed_combinations(routing), m.top(BRAND).seen):
        attempts.labels(g, p, mt, b)
        for o in c.DEPOSIT_OUTCOME.values:
            outcomes.labels(g, p, mt, b, o)
    zero(approved_amount, CURRENCY.values)
    zero(approval, PSP.values)
    zero(chargebacks, PSP.values)

    def deposit_labels(e: core.DepositEvent) -> tuple[str, str, str, str]:
        return geo(e.geo), psp(e.psp), method(e.method), brand(e.brand)

    def deposit_outcome(outcome: str) -> Callable[[core.DepositEvent], None]:
        def handle(e: core.DepositEvent) -> None:
            outcomes.labels(*deposit_labels(e), outcome).inc()

        return handle

    def deposit_approved(e: core.DepositApproved) -> None:
        outcomes.labels(*deposit_labels(e), "approved").inc()
        approved_amount.labels(currency(e.currency)).inc(major_units(e.amount, e.currency))
        approval.labels(psp(e.psp)).observe(max(0.0, e.seconds_to_approval))

    def deposit_failed(e: core.DepositFailed) -> None:
        outcome = "timed_out" if e.reason == "timed_out" else "failed"
        outcomes.labels(*deposit_labels(e), outcome).inc()

    seen: set[tuple[str, str, str, str]] = set()

    def deposit_requested(e: core.DepositRequested) -> None:
        labels = deposit_labels(e)
        attempts.labels(*labels).inc()
        if labels not in seen:
            # A scope's outcome series exist from its first attempt, at zero: otherwise
            # the first failure of a brand or route nobody saw at start-up creates its
            # series at 1, and rate() and increase() never count that failure.
            seen.add(labels)
            for o in c.DEPOSIT_OUTCOME.values:
                outcomes.labels(*labels, o)

    bus.subscribe(core.DepositRequested, deposit_requested)
    bus.subscribe(core.DepositApproved, deposit_approved)
    bus.subscribe(core.DepositDeclined, deposit_outcome("declined"))
    bus.subscribe(core.DepositFailed, deposit_failed)
    bus.subscribe(core.DepositChargedBack, lambda e: chargebacks.labels(psp(e.psp)).inc())


def subscribe_callbacks(bus: MessageBus, m: PlatformMetrics) -> None:
    psp, callback_outcome = m.binder(PSP), m.binder(c.CALLBACK_OUTCOME)
    callbacks, callback_delay = m[c.PSP_CALLBACKS], m[c.PSP_CALLBACK_DELAY]
    zero(callbacks, PSP.values, c.CALLBACK_OUTCOME.values)
    zero(callback_delay, PSP.values)

    def callback(e: core.CallbackReceived) -> None:
        p = psp(e.psp)
        callbacks.labels(p, callback_outcome(e.outcome)).inc()
        if e.delay_seconds is not None:
            callback_delay.labels(p).observe(max(0.0, e.delay_seconds))

    bus.subscribe(core.CallbackReceived, callback)


def subscribe_withdrawals(bus: MessageBus, m: PlatformMetrics) -> None:
    psp = m.binder(PSP)
    requests, outcomes = m[c.WITHDRAWAL_REQUESTS], m[c.WITHDRAWAL_OUTCOMES]
    zero(requests, PSP.values)
    zero(outcomes, PSP.values, c.WITHDRAWAL_OUTCOME.values)
    bus.subscribe(core.WithdrawalRequested, lambda e: requests.labels(psp(e.psp)).inc())
    bus.subscribe(
        core.WithdrawalCompleted, lambda e: outcomes.labels(psp(e.psp), "completed").inc()
    )
    bus.subscribe(core.WithdrawalFailed, lambda e: outcomes.labels(psp(e.psp), "failed").inc())
