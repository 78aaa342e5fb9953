"""The collectors' own health (``pitwatch_collector_*``); see collectors.state.base."""

from __future__ import annotations

from collectors.state.base import Health, HealthCollector

__all__ = ["Health", "HealthCollector"]
