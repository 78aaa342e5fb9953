"""Bets placed and rejected (pw_bets), settlements, settlement lag, rollbacks and
cash-outs (pw_settlements), odds feed messages and delay (pw_feed_messages), derived from
the views (views mode; docs/metrics.md).

A bet is read once, by ``(placed_at, bet_id)`` (``placed_at`` never changes): placed, or
rejected with its reason. Settlements are append-only, read by ``settlement_id`` up to the
first row settled less than the settle time ago. Index-backed: ``sb_bets (placed_at, id)``
(migration 0013), the settlements' primary key. Both views are the sportsbook's: without
them (a casino-only platform) these collectors are switched off.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from collectors.catalog import platform as c
from collectors.catalog.labels import CURRENCY, SPORT
from collectors.state.base import as_utc
from collectors.views.base import Appended, Once, ViewsCollector, once_statement, seconds_between
from collectors.views.payments import major_units

BETS = once_statement(
    """SELECT bet_id AS row_id, placed_at AS row_at, sport, status, reason FROM pw_bets
       WHERE placed_at >= :t AND (placed_at, bet_id) > (:t, :id) AND placed_at <= :cutoff
       ORDER BY placed_at, bet_id LIMIT :n"""
)
SETTLEMENTS = text(
    """SELECT settlement_id, sport, action, amount_minor, currency, settled_at,
              settlement_lag_seconds FROM pw_settlements
       WHERE settlement_id > :id ORDER BY settlement_id LIMIT :n"""
)
LAST_SETTLEMENT = text("SELECT MAX(settlement_id) AS last FROM pw_settlements")
SETTLED = {"won": "won", "lost": "lost", "void": "void"}


class BetsView(ViewsCollector):
    name = "views_bets"
    metrics = (c.BETS_PLACED, c.BETS_REJECTED)
    optional_views = ("pw_bets",)

    def zero_init(self) -> None:
        for sport in SPORT.values:
            self.counters.zero(c.BETS_PLACED, (sport,))
            for reason in c.BET_REJECT_REASON.values:
                self.counters.zero(c.BETS_REJECTED, (sport, reason))

    def start(self, conn: Connection, now: datetime) -> None:
        self.bets = Once(BETS, self.cutoff(now))

    def advance(self, conn: Connection, now: datetime) -> None:
        rows = self.bets.read(conn, self.cutoff(now), self.batch_rows)
        for row in rows:
            sport = SPORT.bound(row.sport)
            if row.status == "rejected":
                reason = c.BET_REJECT_REASON.bound(row.reason)
                self.counters.inc(c.BETS_REJECTED, (sport, reason))
            else:
                self.counters.inc(c.BETS_PLACED, (sport,))
        self.rows_read += len(rows)


class SettlementsView(ViewsCollector):
    name = "views_settlements"
    metrics = (
        c.BETS_SETTLED,
        c.SETTLEMENT_LAG,
        c.SETTLEMENT_ROLLBACKS,
        c.BETS_CASHED_OUT,
        c.CASHED_OUT_AMOUNT,
    )
    optional_views = ("pw_settlements",)

    def zero_init(self) -> None:
        for sport in SPORT.values:
            self.counters.zero(c.SETTLEMENT_LAG, (sport,))
            self.counters.zero(c.SETTLEMENT_ROLLBACKS, (sport,))
            self.counters.zero(c.BETS_CASHED_OUT, (sport,))
            for outcome in c.BET_OUTCOME.values:
                self.counters.zero(c.BETS_SETTLED, (sport, outcome))
        for currency in CURRENCY.values:
            self.counters.zero(c.CASHED_OUT_AMOUNT, (currency,))

    def start(self, conn: Connection, now: datetime) -> None:
        self.last_id = conn.execute(LAST_SETTLEMENT).scalar() or 0

    def advance(self, conn: Connection, now: datetime) -> None:
        cutoff = self.cutoff(now)
        rows = conn.execute(SETTLEMENTS, {"id": self.last_id, "n": self.batch_rows}).all()
        for row in rows:
            settled = as_utc(row.settled_at)
            if settled is None or settled > cutoff:
                break
            self.count(row)
            self.last_id = row.settlement_id
            self.rows_read += 1

    def count(self, row: Any) -> None:
        sport = SPORT.bound(row.sport)
        outcome = SETTLED.get(row.action)
        if outcome is not None:
            self.counters.inc(c.BETS_SETTLED, (sport, outcome))
            if row.settlement_lag_seconds is not None:
                lag = max(0.0, float(row.settlement_lag_seconds))
                self.counters.observe(c.SETTLEMENT_LAG, (sport,), lag)
        elif row.action == "rollback":
            self.counters.inc(c.SETTLEMENT_ROLLBACKS, (sport,))
        elif row.action == "cashout":
            self.counters.inc(c.BETS_CASHED_OUT, (sport,))
            amount = major_units(int(row.amount_minor), row.currency)
            self.counters.inc(c.CASHED_OUT_AMOUNT, (CURRENCY.bound(row.currency),), amount)


FEED = text(
    """SELECT feed_message_id AS row_id, received_at AS row_at, message_type, outcome, sport,
              sent_at FROM pw_feed_messages
       WHERE feed_message_id > :id ORDER BY feed_message_id LIMIT :n"""
)
LAST_FEED = text("SELECT MAX(feed_message_id) AS last FROM pw_feed_messages")


class FeedView(ViewsCollector):
    """Odds feed messages by type, outcome and sport, and their delay (received_at −
    sent_at), from pw_feed_messages (append-only, by ``feed_message_id``). A duplicate
    delivery adds no row (the reference platform counts it on the first one's
    ``duplicates``): duplicates are not derived."""

    name = "views_feed"
    metrics = (c.ODDS_FEED_MESSAGES, c.ODDS_FEED_DELAY)
    optional_views = ("pw_feed_messages",)

    def zero_init(self) -> None:
        for message_type in c.FEED_MESSAGE_TYPE.values:
            self.counters.zero(c.ODDS_FEED_DELAY, (message_type,))
            for outcome in c.FEED_OUTCOME.values:
                for sport in SPORT.values:
                    self.counters.zero(c.ODDS_FEED_MESSAGES, (message_type, outcome, sport))

    def start(self, conn: Connection, now: datetime) -> None:
        self.messages = Appended(FEED, LAST_FEED, conn)

    def advance(self, conn: Connection, now: datetime) -> None:
        rows = self.messages.read(conn, self.cutoff(now), self.batch_rows)
        for row in rows:
            message_type = c.FEED_MESSAGE_TYPE.bound(row.message_type)
            outcome = c.FEED_OUTCOME.bound(row.outcome)
            labels = (message_type, outcome, SPORT.bound(row.sport))
            self.counters.inc(c.ODDS_FEED_MESSAGES, labels)
            delay = seconds_between(row.sent_at, row.row_at)
            if delay is not None:
                self.counters.observe(c.ODDS_FEED_DELAY, (message_type,), delay)
        self.rows_read += len(rows)
