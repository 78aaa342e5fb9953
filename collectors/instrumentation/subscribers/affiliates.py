"""The affiliate funnel and postbacks (open domains: series appear as affiliates are seen)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from collectors.catalog import platform as c
from collectors.catalog.labels import AFFILIATE, CAMPAIGN
from collectors.instrumentation.registry import PlatformMetrics
from collectors.instrumentation.subscribers.base import zero
from igaming import events as core
from igaming.affiliates import events as aff
from igaming.bus import MessageBus


def subscribe(bus: MessageBus, m: PlatformMetrics) -> None:
    # A click names only affiliates already known; a registration or a conversion (rows
    # the contract views list) admits one (TopN: configured, "database" or first seen).
    affiliate, campaign = m.binder(AFFILIATE), m.binder(CAMPAIGN)
    admit_affiliate, admit_campaign = m.binder(AFFILIATE, True), m.binder(CAMPAIGN, True)
    clicks, registrations = m[c.AFFILIATE_CLICKS], m[c.AFFILIATE_REGISTRATIONS]
    ftds, qualified = m[c.AFFILIATE_FTDS], m[c.AFFILIATE_QUALIFIED_FTDS]
    postbacks, postback_delay = m[c.POSTBACKS], m[c.POSTBACK_DELAY]
    ftd_rejections, ftd_reversals = m[c.AFFILIATE_FTD_REJECTIONS], m[c.AFFILIATE_FTD_REVERSALS]
    funnel = (clicks, registrations, ftds, qualified, ftd_reversals)
    ftd_reject_reason = m.binder(c.FTD_REJECT_REASON)
    started: set[tuple[str, str]] = set()

    def pair(a: str | None, cp: str | None, admit: bool = True) -> tuple[str, str]:
        # A new (affiliate, campaign) gets its whole funnel and its postbacks at zero, so
        # that "FTDs stopped for affiliate X" works from its first click.
        name_a, name_c = (admit_affiliate, admit_campaign) if admit else (affiliate, campaign)
        labels = (name_a(a), name_c(cp))
        if labels not in started:
            started.add(labels)
            for metric in funnel:
                metric.labels(*labels)
            zero(ftd_rejections, (labels[0],), (labels[1],), c.FTD_REJECT_REASON.values)
            zero(postbacks, (labels[0],), c.POSTBACK_OUTCOME.values)
            postback_delay.labels(labels[0])
        return labels

    def registered(e: core.PlayerRegistered) -> None:
        if e.affiliate:
            registrations.labels(*pair(e.affiliate, e.campaign)).inc()

    def conversion(e: aff.ConversionCreated) -> None:
        if e.conversion_type == "ftd":
            ftds.labels(*pair(e.affiliate, e.campaign)).inc()

    def postback(outcome: str) -> Callable[[Any], None]:
        def handle(e: Any) -> None:
            a, _ = pair(e.affiliate, e.campaign)
            postbacks.labels(a, outcome).inc()
            if outcome == "delivered":
                postback_delay.labels(a).observe(max(0.0, e.delay_seconds))

        return handle

    bus.subscribe(
        aff.ClickRecorded, lambda e: clicks.labels(*pair(e.affiliate, e.campaign, False)).inc()
    )
    bus.subscribe(core.PlayerRegistered, registered)
    bus.subscribe(aff.ConversionCreated, conversion)
    bus.subscribe(
        aff.FtdQualified, lambda e: qualified.labels(*pair(e.affiliate, e.campaign)).inc()
    )
    bus.subscribe(
        aff.FtdRejected,
        lambda e: ftd_rejections.labels(
            *pair(e.affiliate, e.campaign), ftd_reject_reason(e.reason)
        ).inc(),
    )
    bus.subscribe(
        aff.FtdReversed, lambda e: ftd_reversals.labels(*pair(e.affiliate, e.campaign)).inc()
    )
    bus.subscribe(aff.PostbackDelivered, postback("delivered"))
    bus.subscribe(aff.PostbackFailed, postback("failed"))
    bus.subscribe(aff.PostbackDeadLettered, postback("dead_lettered"))
    last_pass = m[c.POSTBACK_DISPATCHER_LAST_PASS]
    bus.subscribe(aff.PostbackDispatcherPassed, lambda e: last_pass.set(e.occurred_at.timestamp()))
