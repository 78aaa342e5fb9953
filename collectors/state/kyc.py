"""KYC manual-review backlog and its oldest age.

pw_players has no time of the KYC check (the check's ``requested_at`` is not in any
contract view), so the age is measured from ``registered_at``: an upper bound of the time
in review, exact for the usual check-at-registration flow (docs/state-metrics.md).
Index-backed: ``players (kyc_status, created_at)`` (migration 0007).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from prometheus_client.core import Metric
from sqlalchemy import Connection, text

from collectors.catalog import state as m
from collectors.state.base import StateCollector, age, gauge

BACKLOG = text(
    """SELECT COUNT(*) AS n, MIN(registered_at) AS oldest FROM pw_players
       WHERE kyc_status = 'manual_review'"""
)


class KycCollector(StateCollector):
    name = "kyc"
    metrics = (m.KYC_MANUAL_REVIEW, m.KYC_MANUAL_REVIEW_OLDEST)

    def query(self, conn: Connection, now: datetime) -> Iterable[Metric]:
        row = conn.execute(BACKLOG).one()
        count, oldest = gauge(m.KYC_MANUAL_REVIEW), gauge(m.KYC_MANUAL_REVIEW_OLDEST)
        count.add_metric([], row.n or 0)
        oldest.add_metric([], age(now, row.oldest))
        return [count, oldest]
