"""Casino launches (pw_game_launches), rounds ended and their result delay
(pw_casino_rounds) and provider rollbacks (pw_casino_transactions), derived from the views
(views mode; docs/metrics.md).

Each is read once: launches by ``(at, session_id)``, rounds by ``(ended_at, round_id)``
(a round is counted when it ends; open rounds have no ``ended_at``), transactions by
``(created_at, casino_transaction_id)`` (every kind is read, rollbacks counted, so that the
watermark moves past bets and wins too). Index-backed: ``casino_sessions (created_at, id)``,
``casino_rounds (ended_at, id)``, ``casino_transactions (created_at, id)`` (migration 0013).
A launch still pending when read (older than the settle time) is not counted.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from collectors.catalog import platform as c
from collectors.catalog.labels import PROVIDER
from collectors.views.base import Once, ViewsCollector, once_statement

LAUNCHES = once_statement(
    """SELECT session_id AS row_id, at AS row_at, provider, outcome, reason
       FROM pw_game_launches
       WHERE (at, session_id) > (:t, :id) AND at <= :cutoff
       ORDER BY at, session_id LIMIT :n"""
)
ROUNDS = once_statement(
    """SELECT round_id AS row_id, ended_at AS row_at, provider, status, result_delay_seconds
       FROM pw_casino_rounds
       WHERE (ended_at, round_id) > (:t, :id) AND ended_at <= :cutoff
       ORDER BY ended_at, round_id LIMIT :n"""
)
TRANSACTIONS = once_statement(
    """SELECT casino_transaction_id AS row_id, created_at AS row_at, provider, kind, outcome
       FROM pw_casino_transactions
       WHERE (created_at, casino_transaction_id) > (:t, :id) AND created_at <= :cutoff
       ORDER BY created_at, casino_transaction_id LIMIT :n"""
)
ROUND_OUTCOMES = {"completed": "completed", "cancelled": "cancelled"}


class CasinoView(ViewsCollector):
    name = "views_casino"
    metrics = (
        c.CASINO_LAUNCHES,
        c.CASINO_LAUNCH_FAILURES,
        c.CASINO_ROUNDS,
        c.CASINO_ROUND_RESULT_DELAY,
        c.CASINO_ROLLBACKS,
    )
    optional_views = ("pw_game_launches", "pw_casino_rounds", "pw_casino_transactions")

    def zero_init(self) -> None:
        for provider in PROVIDER.values:
            self.counters.zero(c.CASINO_LAUNCHES, (provider,))
            self.counters.zero(c.CASINO_ROLLBACKS, (provider,))
            self.counters.zero(c.CASINO_ROUND_RESULT_DELAY, (provider,))
            for reason in c.LAUNCH_FAILURE_REASON.values:
                self.counters.zero(c.CASINO_LAUNCH_FAILURES, (provider, reason))
            for outcome in c.ROUND_OUTCOME.values:
                self.counters.zero(c.CASINO_ROUNDS, (provider, outcome))

    def start(self, conn: Connection, now: datetime) -> None:
        self.launches = Once(LAUNCHES, self.cutoff(now))
        self.rounds = Once(ROUNDS, self.cutoff(now))
        self.transactions = Once(TRANSACTIONS, self.cutoff(now))

    def advance(self, conn: Connection, now: datetime) -> None:
        cutoff, n, count = self.cutoff(now), self.batch_rows, self.counters
        launches = self.launches.read(conn, cutoff, n)
        for row in launches:
            provider = PROVIDER.bound(row.provider)
            if row.outcome == "launched":
                count.inc(c.CASINO_LAUNCHES, (provider,))
            elif row.outcome == "failed":
                reason = c.LAUNCH_FAILURE_REASON.bound(row.reason or "unavailable")
                count.inc(c.CASINO_LAUNCH_FAILURES, (provider, reason))
        rounds = self.rounds.read(conn, cutoff, n)
        for row in rounds:
            outcome = ROUND_OUTCOMES.get(row.status)
            if outcome is None:
                continue
            provider = PROVIDER.bound(row.provider)
            count.inc(c.CASINO_ROUNDS, (provider, outcome))
            if row.result_delay_seconds is not None:
                delay = max(0.0, float(row.result_delay_seconds))
                count.observe(c.CASINO_ROUND_RESULT_DELAY, (provider,), delay)
        transactions = self.transactions.read(conn, cutoff, n)
        for row in transactions:
            if row.kind == "rollback" and row.outcome == "applied":
                count.inc(c.CASINO_ROLLBACKS, (PROVIDER.bound(row.provider),))
        self.rows_read += len(launches) + len(rounds) + len(transactions)
