"""Deposits waiting for their final callback, withdrawals past their SLA; by PSP.

Index-backed: ``deposits (status, created_at)`` and ``withdrawals (status, created_at)``
(migration 0001): a range scan over the open rows older than the threshold.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from prometheus_client.core import Metric
from sqlalchemy import Connection, text

from collectors.catalog import state as m
from collectors.catalog.labels import PSP
from collectors.state.base import StateCollector, age, at, gauge

# Deposits the PSP has not answered for good: not yet sent, pending, or timed out (a late
# callback still applies). Withdrawals: funds locked, or the payout is with the PSP.
DEPOSIT_OPEN = ("initiated", "pending", "timed_out")
WITHDRAWAL_OPEN = ("requested", "processing")

DEPOSITS = text(
    """SELECT psp, COUNT(*) AS n, MIN(created_at) AS oldest FROM pw_deposits
       WHERE status IN ('initiated', 'pending', 'timed_out') AND created_at < :cutoff
       GROUP BY psp"""
).bindparams(at("cutoff"))
WITHDRAWALS = text(
    """SELECT psp, COUNT(*) AS n, MIN(created_at) AS oldest FROM pw_withdrawals
       WHERE status IN ('requested', 'processing') AND created_at < :cutoff
       GROUP BY psp"""
).bindparams(at("cutoff"))


class PaymentsCollector(StateCollector):
    name = "payments"
    metrics = (
        m.DEPOSITS_PENDING_STALE,
        m.DEPOSITS_PENDING_OLDEST,
        m.WITHDRAWALS_STUCK,
        m.WITHDRAWALS_STUCK_OLDEST,
    )

    def query(self, conn: Connection, now: datetime) -> Iterable[Metric]:
        cfg = self.config
        for statement, seconds, count_metric, oldest_metric in (
            (DEPOSITS, cfg.deposit_pending_seconds, m.DEPOSITS_PENDING_STALE,
             m.DEPOSITS_PENDING_OLDEST),
            (WITHDRAWALS, cfg.withdrawal_sla_seconds, m.WITHDRAWALS_STUCK,
             m.WITHDRAWALS_STUCK_OLDEST),
        ):  # fmt: skip
            cutoff = now - timedelta(seconds=seconds)
            by_psp = {psp: (0.0, 0.0) for psp in PSP.values}
            for row in conn.execute(statement, {"cutoff": cutoff}):
                psp = PSP.bound(row.psp)
                n, first = by_psp[psp]
                by_psp[psp] = (n + row.n, max(first, age(now, row.oldest)))
            count, oldest = gauge(count_metric), gauge(oldest_metric)
            for psp, (n, old) in by_psp.items():
                count.add_metric([psp], n)
                oldest.add_metric([psp], old)
            yield count
            yield oldest
