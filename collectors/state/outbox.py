"""Outbox backlog per consumer: events past the consumer's cursor, and the oldest's age.

Read through the views ``pw_outbox`` and ``pw_outbox_cursors`` (migration 0007). The
outbox has no "published" step in the reference platform (``published_at`` stays NULL),
so a backlog is measured against each consumer's durable cursor: rows with an id above
``last_id``. A primary-key range; the count stops at ``outbox_count_cap`` so that a
consumer stuck for days costs a bounded scan (the age still tells how bad it is).
A platform without an outbox (no such views) switches this collector off.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from prometheus_client.core import Metric
from sqlalchemy import Connection, text

from collectors.catalog import state as m
from collectors.catalog.labels import OUTBOX_CONSUMER
from collectors.state.base import StateCollector, age, gauge

CURSORS = text("SELECT consumer, last_id FROM pw_outbox_cursors")
COUNT = text(
    """SELECT COUNT(*) FROM (SELECT 1 FROM pw_outbox WHERE outbox_id > :last_id
       ORDER BY outbox_id LIMIT :cap) AS backlog"""
)
OLDEST = text(
    "SELECT occurred_at FROM pw_outbox WHERE outbox_id > :last_id ORDER BY outbox_id LIMIT 1"
)


class OutboxCollector(StateCollector):
    name = "outbox"
    metrics = (m.OUTBOX_BACKLOG, m.OUTBOX_BACKLOG_OLDEST)
    optional_views = ("pw_outbox", "pw_outbox_cursors")  # a platform may have no outbox

    def query(self, conn: Connection, now: datetime) -> Iterable[Metric]:
        cursors = {r.consumer: r.last_id for r in conn.execute(CURSORS)}
        backlog, oldest = gauge(m.OUTBOX_BACKLOG), gauge(m.OUTBOX_BACKLOG_OLDEST)
        for consumer in self.config.outbox_consumers:
            last_id = cursors.get(consumer, 0)  # a consumer that never ran owes everything
            params = {"last_id": last_id, "cap": self.config.outbox_count_cap}
            n = conn.execute(COUNT, params).scalar_one()
            first = conn.execute(OLDEST, params).scalar()
            label = OUTBOX_CONSUMER.bound(consumer)
            backlog.add_metric([label], n)
            oldest.add_metric([label], age(now, first))
        return [backlog, oldest]
