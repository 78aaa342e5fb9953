"""Deposits, PSP callbacks and withdrawals, derived from pw_deposits, pw_callbacks and
pw_withdrawals (views mode; docs/metrics.md).

A deposit is an attempt when it is first read (its ``(created_at, deposit_id)`` is past the
watermark it was read after) and an outcome each time it is read in a final status
(``updated_at`` moved: its status changed). So a deposit that times out and is approved by
a late callback counts timed_out then approved, as the platform's instrumentation does; a
chargeback moves ``updated_at`` again but is no outcome (it counts as a chargeback).
Index-backed: ``deposits (updated_at, id)``, ``withdrawals (updated_at, id)`` (migration
0013), the callbacks' primary key.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, text

from collectors.catalog import platform as c
from collectors.catalog.labels import BRAND, CURRENCY, GEO, METHOD, PSP
from collectors.state.base import as_utc, at
from collectors.views.base import FirstSeen, Mark, ViewsCollector, seconds_between
from ground.money import CURRENCY_EXPONENTS

# Read in one of these statuses, a deposit counts as that outcome; an approval counts once,
# by its own time (completed_at), whatever came after it (a chargeback, a refund).
DEPOSIT_OUTCOMES = {s: s for s in ("declined", "failed", "timed_out")}
APPROVED_ONCE = ("approved", "chargeback", "refunded", "chargeback_reversed")
WITHDRAWAL_OUTCOMES = {"completed": "completed", "failed": "failed"}


def changed_rows(view: str, id_col: str, columns: str) -> Any:
    """Rows of ``view`` whose (updated_at, id) is past the watermark and settled."""
    return text(
        f"""SELECT {id_col} AS row_id, {columns}, created_at, updated_at FROM {view}
            WHERE (updated_at, {id_col}) > (:t, :id) AND updated_at <= :cutoff
            ORDER BY updated_at, {id_col} LIMIT :n"""
    ).bindparams(at("t"), at("cutoff"), bindparam("id"), bindparam("n"))


DEPOSITS = changed_rows(
    "pw_deposits", "deposit_id", "geo, psp, method, brand, currency, amount_minor, status, "
    "completed_at",
)  # fmt: skip
WITHDRAWALS = changed_rows("pw_withdrawals", "withdrawal_id", "psp, status")
CALLBACKS = text(
    """SELECT callback_id, psp, outcome, occurred_at, received_at FROM pw_callbacks
       WHERE callback_id > :id ORDER BY callback_id LIMIT :n"""
)
LAST_CALLBACK = text("SELECT MAX(callback_id) AS last FROM pw_callbacks")


def major_units(amount_minor: int, currency: str) -> float:
    return amount_minor / 10 ** CURRENCY_EXPONENTS.get(currency, 2)


class _ChangingRows(ViewsCollector):
    """A view read by (updated_at, id): ``handle`` gets each row and whether it is new."""

    statement: Any = None

    def start(self, conn: Connection, now: datetime) -> None:
        self.mark = Mark(self.cutoff(now), "")

    def advance(self, conn: Connection, now: datetime) -> None:
        before = self.mark
        rows: Sequence[Any] = conn.execute(
            self.statement,
            {"t": before.at, "id": before.id, "cutoff": self.cutoff(now), "n": self.batch_rows},
        ).all()
        for row in rows:
            self.handle(row, before)
        if rows:
            last = rows[-1]
            updated = as_utc(last.updated_at)
            assert updated is not None
            self.mark = Mark(updated, last.row_id)
            self.rows_read += len(rows)

    def handle(self, row: Any, before: Mark) -> None:
        """Count ``row``, read after the watermark ``before``."""
        raise NotImplementedError


class DepositsView(_ChangingRows):
    name = "views_deposits"
    metrics = (
        c.DEPOSIT_ATTEMPTS,
        c.DEPOSIT_OUTCOMES,
        c.DEPOSITS_APPROVED_AMOUNT,
        c.DEPOSIT_APPROVAL,
        c.DEPOSIT_CHARGEBACKS,
    )
    statement = DEPOSITS

    def zero_init(self) -> None:
        self.brand = FirstSeen(BRAND, self.n_for(BRAND))
        self.scopes: set[tuple[str, ...]] = set()
        for currency in CURRENCY.values:
            self.counters.zero(c.DEPOSITS_APPROVED_AMOUNT, (currency,))
        for psp in PSP.values:
            self.counters.zero(c.DEPOSIT_APPROVAL, (psp,))
            self.counters.zero(c.DEPOSIT_CHARGEBACKS, (psp,))

    def handle(self, row: Any, before: Mark) -> None:
        labels = (GEO.bound(row.geo), PSP.bound(row.psp), METHOD.bound(row.method),
                  self.brand(row.brand))  # fmt: skip
        count = self.counters
        if labels not in self.scopes:
            self.scopes.add(labels)
            count.zero(c.DEPOSIT_ATTEMPTS, labels)  # a scope's series appear together
            for each in c.DEPOSIT_OUTCOME.values:
                count.zero(c.DEPOSIT_OUTCOMES, (*labels, each))
        if before.before(row.created_at, row.row_id):  # first read: an attempt
            count.inc(c.DEPOSIT_ATTEMPTS, labels)
        outcome: str | None = DEPOSIT_OUTCOMES.get(row.status)
        if outcome is not None:
            count.inc(c.DEPOSIT_OUTCOMES, (*labels, outcome))
        elif (
            row.status in APPROVED_ONCE
            and row.completed_at is not None
            and before.before(row.completed_at, row.row_id)
        ):  # approved since the last read (and maybe charged back already)
            outcome = "approved"
            count.inc(c.DEPOSIT_OUTCOMES, (*labels, outcome))
        if outcome == "approved":
            count.inc(c.DEPOSITS_APPROVED_AMOUNT, (CURRENCY.bound(row.currency),),
                      major_units(int(row.amount_minor), row.currency))  # fmt: skip
            seconds = seconds_between(row.created_at, row.completed_at)
            if seconds is not None:
                count.observe(c.DEPOSIT_APPROVAL, (labels[1],), seconds)
        if row.status == "chargeback":
            count.inc(c.DEPOSIT_CHARGEBACKS, (labels[1],))


class WithdrawalsView(_ChangingRows):
    name = "views_withdrawals"
    metrics = (c.WITHDRAWAL_REQUESTS, c.WITHDRAWAL_OUTCOMES)
    statement = WITHDRAWALS

    def zero_init(self) -> None:
        for psp in PSP.values:
            self.counters.zero(c.WITHDRAWAL_REQUESTS, (psp,))
            for outcome in c.WITHDRAWAL_OUTCOME.values:
                self.counters.zero(c.WITHDRAWAL_OUTCOMES, (psp, outcome))

    def handle(self, row: Any, before: Mark) -> None:
        psp = PSP.bound(row.psp)
        if before.before(row.created_at, row.row_id):
            self.counters.inc(c.WITHDRAWAL_REQUESTS, (psp,))
        outcome = WITHDRAWAL_OUTCOMES.get(row.status)
        if outcome is not None:
            self.counters.inc(c.WITHDRAWAL_OUTCOMES, (psp, outcome))


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
