"""Metrics the platform's own /metrics exports (instrumentation fed by domain events)."""

from __future__ import annotations

from collectors.catalog.base import Metric

METRICS: tuple[Metric, ...] = ()
