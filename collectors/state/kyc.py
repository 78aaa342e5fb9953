"""KYC manual-review backlog and its oldest age, from the checks themselves (pw_kyc_checks;
the age counts from the check's request, not the player's registration).
Index-backed: ``kyc_checks (status, requested_at)`` (migration 0008).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from prometheus_client.core import Metric
from sqlalchemy import Connection, text

from collectors.catalog import state as m
from collectors.state.base import StateCollector, age, gauge

BACKLOG = text(
    """SELECT COUNT(*) AS n, MIN(requested_at) AS oldest FROM pw_kyc_checks
       WHERE status = 'manual_review'"""
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
