"""The full ledger check as a reconciliation: nightly on the scheduler (job
``ledger-check-daily``) and by hand (``pitwatch reconcile ledger``).

It runs ``reconcilers.ledger_check.check_ledger`` on the platform's views (a read-only,
repeatable-read transaction: both invariants from one snapshot) and records a run of the
pair ``ledger`` in pitwatch's own database, each violation a break:

- ``unbalanced_transaction``: key ``ledger|unbalanced_transaction|<transaction id>|<currency>``;
  reference the transaction id, ``wallet_amount_minor`` what its entries sum to (0 when
  balanced), the amount at risk its absolute value;
- ``balance_mismatch``: key ``ledger|balance_mismatch|<account id>``; the stored balance
  beside the sum of the entries. The reconciliation's ``wallet_internal`` pair reports the
  same account under its own key (``wallet_internal|balance_mismatch|<psp>|<account>``)
  and scope, so the two never resolve each other's break; the amount at risk is counted
  there only (here it is left empty), so that a mismatch is not at risk twice.

The check covers the whole ledger, so its scope is the pair on every day: a break the next
check no longer finds is resolved, whichever day first saw it. When a kind has more
violations than ``limit``, the breaks beyond it are not written and nothing is resolved
(the list is incomplete); the run's log line and the counts say how many there are.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import Connection, Engine

from reconcilers.frames import BREAKS, conform
from reconcilers.ledger_check import LedgerCheck, check_ledger

log = logging.getLogger(__name__)

PAIR = "ledger"
JOB_ID = "ledger-check-daily"  # reconcilers.schedule.LEDGER_JOB
DEFAULT_LIMIT = 100_000  # violations of each kind kept as breaks
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the run's period: the whole ledger up to now


@dataclass(frozen=True)
class LedgerJobResult:
    run_id: int
    check: LedgerCheck
    new: int
    resolved: int
    complete: bool  # every violation is a break (none beyond the limit)


def breaks_of(check: LedgerCheck, now: datetime) -> pd.DataFrame:
    """The check's violations as BREAKS rows of the pair ``ledger``."""
    rows = [
        {
            "break_key": f"{PAIR}|unbalanced_transaction|{u.transaction_id}|{u.currency}",
            "pair": PAIR,
            "type": "unbalanced_transaction",
            "psp": "none",
            "reference": u.transaction_id,
            "currency": u.currency,
            "wallet_amount_minor": u.total_minor,
            "other_amount_minor": 0,
            "amount_at_risk_minor": abs(u.total_minor),
            "details": f"transaction {u.transaction_id}: its {u.currency} entries sum to "
            f"{u.total_minor} minor units, not 0",
        }
        for u in check.unbalanced
    ] + [
        {
            "break_key": f"{PAIR}|balance_mismatch|{m.account_id}",
            "pair": PAIR,
            "type": "balance_mismatch",
            "psp": "none",
            "reference": str(m.account_id),
            "currency": m.currency,
            "wallet_amount_minor": m.balance_minor,
            "other_amount_minor": m.entries_minor,
            "details": f"account {m.account_id}: stored balance {m.balance_minor}, ledger "
            f"entries sum to {m.entries_minor} minor units ({m.currency})",
        }
        for m in check.mismatches
    ]
    frame = pd.DataFrame(rows, columns=list(BREAKS))
    return conform(frame, BREAKS, "ledger breaks")


def read_check(platform: Engine, limit: int) -> LedgerCheck:
    """check_ledger in one read-only snapshot of the platform's database."""
    with platform.connect() as conn:
        _snapshot(conn)
        return check_ledger(conn, limit=limit)


def _snapshot(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    # SQLite: one read transaction is a snapshot already (WAL).


def run_ledger_job(
    platform: Engine,
    state: Engine,
    *,
    now: datetime,
    kind: str = "manual",
    limit: int = DEFAULT_LIMIT,
    progress: Callable[[str], None] = lambda _msg: None,
) -> LedgerJobResult:
    """Check the whole ledger of ``platform`` and record the run and its breaks in
    ``state`` (pitwatch's own database; it may be the same). A check that fails is
    recorded as a failed run, then raised."""
    from reconcilers import ledger

    started = time.monotonic()
    with state.begin() as conn:
        run_id = ledger.start_run(
            conn, kind=kind, period_start=EPOCH, period_end=now, pairs=[PAIR], now=now
        )
    progress(f"ledger check (run {run_id}): reading every entry of pw_ledger_entries")
    try:
        check = read_check(platform, limit)
    except Exception as exc:
        with state.begin() as conn:
            ledger.finish_run(
                conn,
                run_id,
                outcome="failed",
                now=now + timedelta(seconds=time.monotonic() - started),
                rows={},
                matched=0,
                in_flight=0,
                error=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            )
        raise
    progress(f"ledger check: {check.summary()}")
    complete = check.unbalanced_count <= limit and check.mismatch_count <= limit
    if not complete:
        log.warning(
            "ledger check: more violations than the limit (%d): %s; breaks beyond it are "
            "not written and none is resolved",
            limit,
            check.summary(),
        )
    with state.begin() as conn:
        change = ledger.apply_breaks(
            conn,
            breaks_of(check, now),
            run_id=run_id,
            scope_day=now.date(),
            pairs=[PAIR],
            psps=None,
            now=now,
            every_day=True,
            resolve=complete,
        )
        ledger.finish_run(
            conn,
            run_id,
            outcome="success",
            now=now + timedelta(seconds=time.monotonic() - started),
            rows={},
            matched=check.entries,
            in_flight=0,
        )
    progress(
        f"ledger check: {change.new} new breaks, {change.resolved} resolved "
        f"({check.unbalanced_count} unbalanced transactions, "
        f"{check.mismatch_count} balance mismatches)"
    )
    return LedgerJobResult(run_id, check, change.new, change.resolved, complete)


def run_ledger_check() -> None:
    """The scheduler's job: the full check of the settings' platform database, recorded in
    pitwatch's own database (``reconcilers.schedule`` sets up the context)."""
    from reconcilers import schedule

    context = schedule._context
    if context is None:
        raise RuntimeError("reconcilers.schedule.serve() sets up the jobs' context first")
    settings = context.settings
    with schedule._one_at_a_time:
        platform = context.make_engine(settings.database_url)
        state = (context.make_state_engine or context.make_engine)(settings.state_url)
        try:
            result = run_ledger_job(
                platform,
                state,
                now=datetime.now(UTC),
                kind="daily",
                progress=lambda msg: log.info("%s", msg),
            )
            log.info("ledger check: %s", result.check.summary())
        except Exception as exc:  # recorded as a failed run; the staleness alert follows
            log.error("ledger check failed: %s", str(exc).splitlines()[0] if str(exc) else exc)
        finally:
            platform.dispose()
            state.dispose()
