"""Metrics the state exporter (``pitwatch collect serve``) computes from the contract views."""

from __future__ import annotations

from collectors.catalog.base import Metric

METRICS: tuple[Metric, ...] = ()
