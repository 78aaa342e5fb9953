"""Settlement backlog (open bets of resulted markets) and stale markets, by sport.

Index-backed: open bets come from ``sb_bets (status, placed_at)`` (a few thousand rows at
most), their markets by primary key; stale markets from ``sb_markets (status,
odds_updated_at)`` (migration 0003).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from prometheus_client.core import Metric
from sqlalchemy import Connection, text

from collectors.catalog import state as m
from collectors.catalog.labels import SPORT
from collectors.state.base import StateCollector, age, at, gauge

BACKLOG = text(
    """SELECT mk.sport, COUNT(*) AS n, MIN(mk.result_at) AS oldest
       FROM pw_bets b JOIN pw_markets mk ON mk.market_id = b.market_id
       WHERE b.status IN ('placed', 'accepted') AND mk.result_at IS NOT NULL
       GROUP BY mk.sport"""
)
STALE = text(
    """SELECT sport, COUNT(*) AS n FROM pw_markets
       WHERE status = 'active' AND odds_updated_at < :cutoff AND starts_at <= :now
       GROUP BY sport"""
).bindparams(at("cutoff"), at("now"))


class SportsbookCollector(StateCollector):
    name = "sportsbook"
    optional_views = ("pw_bets", "pw_markets")  # a casino-only platform has no sportsbook
    metrics = (m.SETTLEMENT_BACKLOG, m.SETTLEMENT_BACKLOG_OLDEST, m.MARKETS_STALE_ODDS)

    def query(self, conn: Connection, now: datetime) -> Iterable[Metric]:
        backlog = {s: (0.0, 0.0) for s in SPORT.values}
        for r in conn.execute(BACKLOG):
            n, old = backlog[SPORT.bound(r.sport)]
            backlog[SPORT.bound(r.sport)] = (n + r.n, max(old, age(now, r.oldest)))
        stale = dict.fromkeys(SPORT.values, 0.0)
        cutoff = now - timedelta(seconds=self.config.odds_stale_seconds)
        for r in conn.execute(STALE, {"cutoff": cutoff, "now": now}):
            stale[SPORT.bound(r.sport)] += r.n
        count, oldest = gauge(m.SETTLEMENT_BACKLOG), gauge(m.SETTLEMENT_BACKLOG_OLDEST)
        markets = gauge(m.MARKETS_STALE_ODDS)
        for sport in SPORT.values:
            count.add_metric([sport], backlog[sport][0])
            oldest.add_metric([sport], backlog[sport][1])
            markets.add_metric([sport], stale[sport])
        return [count, oldest, markets]
