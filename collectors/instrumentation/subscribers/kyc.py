"""KYC outcomes and vendor errors."""

from __future__ import annotations

from collectors.catalog import platform as c
from collectors.catalog.labels import GEO, KYC_STATUS
from collectors.instrumentation.registry import PlatformMetrics
from collectors.instrumentation.subscribers.base import zero
from igaming import events as core
from igaming.bus import MessageBus


def subscribe(bus: MessageBus, m: PlatformMetrics) -> None:
    geo, kyc_status = m.binder(GEO), m.binder(KYC_STATUS)
    outcomes, vendor_errors = m[c.KYC_OUTCOMES], m[c.KYC_VENDOR_ERRORS]
    zero(outcomes, KYC_STATUS.values, GEO.values)
    zero(vendor_errors, GEO.values)

    def kyc_outcome(e: core.KycOutcome) -> None:
        g = geo(e.country)
        outcomes.labels(kyc_status(e.status), g).inc()
        if e.vendor_error is not None:  # free text: counted, never a label
            vendor_errors.labels(g).inc()

    bus.subscribe(core.KycOutcome, kyc_outcome)
