"""Deposits, PSP callbacks and withdrawals, derived from pw_deposits, pw_callbacks and
pw_withdrawals (views mode; docs/metrics.md).

Each counter reads the rows by a time that marks its own event, so that no row is counted
twice and none is skipped when it changes again before it is read:

* an attempt (a request) by ``created_at``, which never changes: ``(created_at, id)``;
* an approval by ``completed_at``, set once when the deposit is approved (a deposit
  charged back or refunded since is still counted approved, once);
* the other outcomes (declined, failed, timed_out; a withdrawal completed or failed) and
  chargebacks by ``updated_at``, which moves when the status changes: each time a row is
  read in one of those statuses it counts (a deposit that times out and is approved later
  counts timed_out then approved, as the platform's instrumentation does, unless both
  happen between two scrapes).

Index-backed: ``deposits (created_at, id)``, ``(completed_at, id)``, ``(updated_at, id)``
and ``withdrawals (created_at, id)``, ``(updated_at, id)`` (migration 0013), the callbacks'
primary key.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from collectors.catalog import platform as c
from collectors.catalog.labels import BRAND, CURRENCY, GEO, METHOD, PSP
from collectors.state.base import as_utc
from collectors.views.base import (
    FirstSeen,
    Once,
    ViewsCollector,
    once_statement,
    seconds_between,
)
from ground.money import CURRENCY_EXPONENTS

# Read in one of these statuses (updated_at moved), a deposit counts as that outcome.
DEPOSIT_OUTCOMES = {s: s for s in ("declined", "failed", "timed_out")}
# Approved, then maybe charged back, refunded or reversed: approved once, by completed_at.
APPROVED_ONCE = ("approved", "chargeback", "refunded", "chargeback_reversed")
WITHDRAWAL_OUTCOMES = {"completed": "completed", "failed": "failed"}


def by_time(view: str, id_col: str, time_col: str, columns: str) -> Any:
    """Rows of ``view`` past the watermark in (time_col, id) order, settled (Once)."""
    return once_statement(
        f"""SELECT {id_col} AS row_id, {time_col} AS row_at, {columns} FROM {view}
            WHERE {time_col} >= :t AND ({time_col}, {id_col}) > (:t, :id)
              AND {time_col} <= :cutoff
            ORDER BY {time_col}, {id_col} LIMIT :n"""
    )


DEPOSIT_COLUMNS = "geo, psp, method, brand, currency, amount_minor, status, created_at"
DEPOSITS_CREATED = by_time("pw_deposits", "deposit_id", "created_at", DEPOSIT_COLUMNS)
DEPOSITS_COMPLETED = by_time(
    "pw_deposits", "deposit_id", "completed_at", DEPOSIT_COLUMNS + ", completed_at"
)
DEPOSITS_UPDATED = by_time("pw_deposits", "deposit_id", "updated_at", DEPOSIT_COLUMNS)
WITHDRAWALS_CREATED = by_time("pw_withdrawals", "withdrawal_id", "created_at", "psp, status")
WITHDRAWALS_UPDATED = by_time("pw_withdrawals", "withdrawal_id", "updated_at", "psp, status")
CALLBACKS = text(
    """SELECT callback_id, psp, outcome, occurred_at, received_at FROM pw_callbacks
       WHERE callback_id > :id ORDER BY callback_id LIMIT :n"""
)
LAST_CALLBACK = text("SELECT MAX(callback_id) AS last FROM pw_callbacks")


def major_units(amount_minor: int, currency: str) -> float:
    return amount_minor / 10 ** CURRENCY_EXPONENTS.get(currency, 2)


class DepositsView(ViewsCollector):
    name = "views_deposits"
    metrics = (
        c.DEPOSIT_ATTEMPTS,
        c.DEPOSIT_OUTCOMES,
        c.DEPOSITS_APPROVED_AMOUNT,
        c.DEPOSIT_APPROVAL,
        c.DEPOSIT_CHARGEBACKS,
    )

    def zero_init(self) -> None:
        self.brand = FirstSeen(BRAND, self.n_for(BRAND))
        self.scopes: set[tuple[str, ...]] = set()
        for currency in CURRENCY.values:
            self.counters.zero(c.DEPOSITS_APPROVED_AMOUNT, (currency,))
        for psp in PSP.values:
            self.counters.zero(c.DEPOSIT_APPROVAL, (psp,))
            self.counters.zero(c.DEPOSIT_CHARGEBACKS, (psp,))

    def start(self, conn: Connection, now: datetime) -> None:
        self.created = Once(DEPOSITS_CREATED, self.cutoff(now))
        self.completed = Once(DEPOSITS_COMPLETED, self.cutoff(now))
        self.updated = Once(DEPOSITS_UPDATED, self.cutoff(now))

    def scope(self, row: Any) -> tuple[str, ...]:
        labels = (GEO.bound(row.geo), PSP.bound(row.psp), METHOD.bound(row.method),
                  self.brand(row.brand))  # fmt: skip
        if labels not in self.scopes:  # a scope's series appear together
            self.scopes.add(labels)
            self.counters.zero(c.DEPOSIT_ATTEMPTS, labels)
            for outcome in c.DEPOSIT_OUTCOME.values:
                self.counters.zero(c.DEPOSIT_OUTCOMES, (*labels, outcome))
        return labels

    def advance(self, conn: Connection, now: datetime) -> None:
        cutoff, n, count = self.cutoff(now), self.batch_rows, self.counters
        created = self.created.read(conn, cutoff, n)
        for row in created:
            count.inc(c.DEPOSIT_ATTEMPTS, self.scope(row))
        completed = self.completed.read(conn, cutoff, n)
        for row in completed:
            if row.status not in APPROVED_ONCE:
                continue
            labels = self.scope(row)
            count.inc(c.DEPOSIT_OUTCOMES, (*labels, "approved"))
            amount = major_units(int(row.amount_minor), row.currency)
            count.inc(c.DEPOSITS_APPROVED_AMOUNT, (CURRENCY.bound(row.currency),), amount)
            seconds = seconds_between(row.created_at, row.completed_at)
            if seconds is not None:
                count.observe(c.DEPOSIT_APPROVAL, (labels[1],), seconds)
        updated = self.updated.read(conn, cutoff, n)
        for row in updated:
            outcome = DEPOSIT_OUTCOMES.get(row.status)
            if outcome is not None:
                count.inc(c.DEPOSIT_OUTCOMES, (*self.scope(row), outcome))
            elif row.status == "chargeback":
                count.inc(c.DEPOSIT_CHARGEBACKS, (self.scope(row)[1],))
        self.rows_read += len(created) + len(completed) + len(updated)


class WithdrawalsView(ViewsCollector):
    name = "views_withdrawals"
    metrics = (c.WITHDRAWAL_REQUESTS, c.WITHDRAWAL_OUTCOMES)

    def zero_init(self) -> None:
        for psp in PSP.values:
            self.counters.zero(c.WITHDRAWAL_REQUESTS, (psp,))
            for outcome in c.WITHDRAWAL_OUTCOME.values:
                self.counters.zero(c.WITHDRAWAL_OUTCOMES, (psp, outcome))

    def start(self, conn: Connection, now: datetime) -> None:
        self.created = Once(WITHDRAWALS_CREATED, self.cutoff(now))
        self.updated = Once(WITHDRAWALS_UPDATED, self.cutoff(now))

    def advance(self, conn: Connection, now: datetime) -> None:
        cutoff, n = self.cutoff(now), self.batch_rows
        created: Sequence[Any] = self.created.read(conn, cutoff, n)
        for row in created:
            self.counters.inc(c.WITHDRAWAL_REQUESTS, (PSP.bound(row.psp),))
        updated = self.updated.read(conn, cutoff, n)
        for row in updated:
            outcome = WITHDRAWAL_OUTCOMES.get(row.status)
            if outcome is not None:
                self.counters.inc(c.WITHDRAWAL_OUTCOMES, (PSP.bound(row.psp), outcome))
        self.rows_read += len(created) + len(updated)


class CallbacksView(ViewsCollector):
    """pw_callbacks is append-only: read by callback_id, stopping at the first row received
    less than ``settle_seconds`` ago (an id allocated earlier may still commit)."""

    name = "views_callbacks"
    metrics = (c.PSP_CALLBACKS, c.PSP_CALLBACK_DELAY)

    def zero_init(self) -> None:
        for psp in PSP.values:
            self.counters.zero(c.PSP_CALLBACK_DELAY, (psp,))
            for outcome in c.CALLBACK_OUTCOME.values:
                self.counters.zero(c.PSP_CALLBACKS, (psp, outcome))

    def start(self, conn: Connection, now: datetime) -> None:
        self.last_id = conn.execute(LAST_CALLBACK).scalar() or 0

    def advance(self, conn: Connection, now: datetime) -> None:
        cutoff = self.cutoff(now)
        rows = conn.execute(CALLBACKS, {"id": self.last_id, "n": self.batch_rows}).all()
        for row in rows:
            received = as_utc(row.received_at)
            if received is None or received > cutoff:
                break
            psp = PSP.bound(row.psp)
            self.counters.inc(c.PSP_CALLBACKS, (psp, c.CALLBACK_OUTCOME.bound(row.outcome)))
            delay = seconds_between(row.occurred_at, received)
            if delay is not None:
                self.counters.observe(c.PSP_CALLBACK_DELAY, (psp,), delay)
            self.last_id = row.callback_id
            self.rows_read += 1
