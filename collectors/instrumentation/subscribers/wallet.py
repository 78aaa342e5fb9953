"""Wallet transactions refused and idempotent replays."""

from __future__ import annotations

from collectors.catalog import platform as c
from collectors.catalog.labels import TX_TYPE
from collectors.instrumentation.registry import PlatformMetrics
from collectors.instrumentation.subscribers.base import zero
from igaming import events as core
from igaming.bus import MessageBus


def subscribe(bus: MessageBus, m: PlatformMetrics) -> None:
    tx_type, failure_reason = m.binder(TX_TYPE), m.binder(c.WALLET_FAILURE_REASON)
    failures, replays = m[c.WALLET_FAILURES], m[c.WALLET_REPLAYS]
    zero(failures, TX_TYPE.values, c.WALLET_FAILURE_REASON.values)
    zero(replays, TX_TYPE.values)
    bus.subscribe(
        core.WalletTransactionFailed,
        lambda e: failures.labels(tx_type(e.tx_type), failure_reason(e.reason)).inc(),
    )
    bus.subscribe(core.IdempotentReplay, lambda e: replays.labels(tx_type(e.tx_type)).inc())
