"""State collectors: gauges computed from the pw_* contract views on each scrape."""

from __future__ import annotations

from collectors.state.affiliates import AffiliatesCollector
from collectors.state.base import Health, HealthCollector, StateCollector, StateConfig
from collectors.state.kyc import KycCollector
from collectors.state.ledger import LedgerCollector
from collectors.state.outbox import OutboxCollector
from collectors.state.payments import PaymentsCollector
from collectors.state.sportsbook import SportsbookCollector

COLLECTORS: tuple[type[StateCollector], ...] = (
    PaymentsCollector,
    AffiliatesCollector,
    SportsbookCollector,
    KycCollector,
    OutboxCollector,
    LedgerCollector,
)

__all__ = ["COLLECTORS", "Health", "HealthCollector", "StateCollector", "StateConfig"]
