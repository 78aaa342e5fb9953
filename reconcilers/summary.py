"""What one reconciliation run found, as the reports and the Slack message present it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    period_start: datetime  # the reconciled period [start, end), UTC
    period_end: datetime
    started_at: datetime
    finished_at: datetime
    outcome: str  # success, failed
    rows: Mapping[str, int] = field(default_factory=dict)  # per source: wallet, psp_report, ...
    matched: Mapping[str, int] = field(default_factory=dict)  # per pair
    in_flight: Mapping[str, int] = field(default_factory=dict)  # per pair
    new_breaks: int = 0
    resolved_breaks: int = 0
    open_breaks: int = 0
    open_by_type: Mapping[str, int] = field(default_factory=dict)
    amount_at_risk_minor: Mapping[str, int] = field(default_factory=dict)  # per currency
    error: str | None = None

    @property
    def duration_seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()
