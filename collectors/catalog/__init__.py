"""The metric catalog: every metric pitwatch exports, declared once.

``METRICS`` is validated at import: a clash, a bad name, an unbounded or a forbidden label
fails loudly, before anything is exported. ``EXPORTER_METRICS`` are the third-party
exporters' series the rules and dashboards read (``collectors.catalog.exporters``): declared,
never exported by pitwatch.
"""

from __future__ import annotations

from collectors.catalog import backup, exporters, platform, reconciliation, state
from collectors.catalog.base import CatalogError, LabelDomain, Metric, validate

METRICS: tuple[Metric, ...] = (
    *platform.METRICS,
    *state.METRICS,
    *reconciliation.METRICS,
    *backup.METRICS,
)
validate(METRICS)
BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}
EXPORTER_METRICS = exporters.METRICS

__all__ = [
    "BY_NAME",
    "EXPORTER_METRICS",
    "METRICS",
    "CatalogError",
    "LabelDomain",
    "Metric",
    "validate",
]
