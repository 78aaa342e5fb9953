"""Views mode: the platform's business counters derived from the contract views
(``pitwatch collect serve --views-mode``; docs/metrics.md)."""

from __future__ import annotations

from collectors.state.base import StateCollector
from collectors.views.affiliates import AffiliatesView
from collectors.views.casino import CasinoView
from collectors.views.payments import CallbacksView, DepositsView, WithdrawalsView
from collectors.views.sportsbook import BetsView, FeedView, SettlementsView

VIEWS_COLLECTORS: tuple[type[StateCollector], ...] = (
    DepositsView,
    CallbacksView,
    WithdrawalsView,
    BetsView,
    SettlementsView,
    FeedView,
    AffiliatesView,
    CasinoView,
)

__all__ = ["DERIVED", "VIEWS_COLLECTORS"]

# The platform metrics views mode derives (what the platform's instrumentation also emits).
DERIVED: frozenset[str] = frozenset(m.name for cls in VIEWS_COLLECTORS for m in cls.metrics)
