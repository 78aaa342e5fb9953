"""FTD postback gap, pending and dead-lettered postbacks, by affiliate (and campaign), top-N.

The gap: FTDs qualified between ``now - lookback`` and ``now - grace`` with no delivered
``ftd`` postback. Index-backed: ``affiliate_conversions (type, qualified_at)`` (migration
0007) bounds the FTDs, ``postback_jobs (conversion_id)`` answers the NOT EXISTS. Every
affiliate/campaign with an FTD in the window gets a series (0 when all its postbacks were
delivered), so that a gap that closes reads 0, not absent. A gap older than the look-back
leaves this metric; its postback then shows as dead-lettered or pending for good.

Pending postbacks: every job not delivered nor dead-lettered, and the age of the oldest
(``postback_jobs (status, next_attempt_at)`` bounds them). A healthy dispatcher sends a
postback within seconds and retries a failed one after 30 s, 1, 2, 4 ... minutes; an
oldest pending postback many minutes old means it is not sent (our dispatcher stalled) or
keeps failing (their endpoint), whatever the event and however few conversions there are.
Only affiliates with a pending postback have a series: an affiliate whose queue empties
loses its series (the alert on it resolves).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from prometheus_client.core import Metric
from sqlalchemy import Connection, text

from collectors.catalog import state as m
from collectors.catalog.labels import AFFILIATE, CAMPAIGN
from collectors.state.base import StateCollector, age, at, configured, gauge, top_n

FTD_GAP = text(
    """SELECT c.affiliate, c.campaign, COUNT(*) AS ftds,
              SUM(CASE WHEN p.postback_id IS NULL THEN 1 ELSE 0 END) AS gap,
              MIN(CASE WHEN p.postback_id IS NULL THEN c.qualified_at END) AS oldest
       FROM pw_conversions c
       LEFT JOIN pw_postbacks p
         ON p.conversion_id = c.conversion_id AND p.event = 'ftd' AND p.status = 'delivered'
       WHERE c.conversion_type = 'ftd' AND c.qualified_at >= :since
         AND c.qualified_at < :cutoff
       GROUP BY c.affiliate, c.campaign"""
).bindparams(at("since"), at("cutoff"))
PENDING = text(
    """SELECT affiliate, COUNT(*) AS n, MIN(created_at) AS oldest FROM pw_postbacks
       WHERE status = 'pending' GROUP BY affiliate"""
)
DEAD_LETTERS = text(
    """SELECT affiliate, COUNT(*) AS n FROM pw_postbacks WHERE status = 'dead_letter'
       GROUP BY affiliate"""
)


class AffiliatesCollector(StateCollector):
    name = "affiliates"
    metrics = (
        m.FTD_POSTBACK_GAP,
        m.FTD_POSTBACK_GAP_OLDEST,
        m.POSTBACKS_DEAD_LETTER,
        m.POSTBACKS_PENDING,
        m.POSTBACKS_PENDING_OLDEST,
    )

    def query(self, conn: Connection, now: datetime) -> Iterable[Metric]:
        cfg = self.config
        params = {
            "since": now - timedelta(seconds=cfg.ftd_lookback_seconds),
            "cutoff": now - timedelta(seconds=cfg.ftd_postback_grace_seconds),
        }
        rows = [
            (
                (r.affiliate or "other", r.campaign or "other"),
                r.ftds,
                r.gap or 0,
                age(now, r.oldest),
            )
            for r in conn.execute(FTD_GAP, params)
        ]
        # One N for the pair: the top affiliate/campaign pairs by FTDs in the window.
        # The operator's configured affiliates (docs/operator-config.md) win: no other
        # affiliate, however active, takes a slot.
        slots = min(self.n_for(AFFILIATE), self.n_for(CAMPAIGN))
        folded = top_n(rows, slots, configured(AFFILIATE, CAMPAIGN))
        gap, oldest = gauge(m.FTD_POSTBACK_GAP), gauge(m.FTD_POSTBACK_GAP_OLDEST)
        for key, (n, old) in sorted(folded.items()):
            gap.add_metric(list(key), n)
            oldest.add_metric(list(key), old)
        dead = gauge(m.POSTBACKS_DEAD_LETTER)
        dead_rows = [((r.affiliate or "other",), r.n, r.n, 0.0) for r in conn.execute(DEAD_LETTERS)]
        for (affiliate,), (n, _old) in sorted(
            top_n(dead_rows, self.n_for(AFFILIATE), configured(AFFILIATE)).items()
        ):
            dead.add_metric([affiliate], n)
        pending = gauge(m.POSTBACKS_PENDING)
        pending_oldest = gauge(m.POSTBACKS_PENDING_OLDEST)
        pending_rows = [
            ((r.affiliate or "other",), r.n, r.n, age(now, r.oldest)) for r in conn.execute(PENDING)
        ]
        for (affiliate,), (n, old) in sorted(
            top_n(pending_rows, self.n_for(AFFILIATE), configured(AFFILIATE)).items()
        ):
            pending.add_metric([affiliate], n)
            pending_oldest.add_metric([affiliate], old)
        return [gap, oldest, dead, pending, pending_oldest]
