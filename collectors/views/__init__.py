"""Views mode: the platform's business counters derived from the contract views
(``pitwatch collect serve --views-mode``; docs/metrics.md)."""

from __future__ import annotations

from collectors.state.base import StateCollector
from collectors.views.payments import CallbacksView, DepositsView, WithdrawalsView

VIEWS_COLLECTORS: tuple[type[StateCollector], ...] = (
    DepositsView,
    CallbacksView,
    WithdrawalsView,
)

__all__ = ["VIEWS_COLLECTORS"]
