"""The ledger invariants, checked incrementally so that it fits in every scrape.

``igaming.wallet.invariants.check_invariants`` reads every entry: right for the nightly
reconciliation, far too slow for a 15 s scrape on a ledger of millions of entries. This
collector keeps a watermark (the last entry id it verified) and, per scrape, checks:

1. every transaction that has an entry above ``watermark - overlap`` sums to zero per
   currency, over all its entries (the overlap re-reads the last entries: on PostgreSQL a
   lower id can become visible after a higher one, see the outbox consumer's note);
2. every player account touched by the new entries, plus a rotating sample of player
   accounts (``ledger_accounts_per_scrape``, round-robin over account ids, so a balance
   tampered without any new entry is found within accounts / sample scrapes): stored
   balance equals the sum of its entries, and it is not negative unless a flagged
   chargeback or rollback left its cash so.

Invariant 2 of check_invariants (all entries of a currency sum to zero) follows from 1.
Entries are append-only, so a violation does not heal: the violations found are kept and
re-verified each scrape, and ``pitwatch_ledger_invariant_ok`` stays 0 while one remains.
The state kept across scrapes is the watermark, the account cursor, the open violations
and the checked-entries counter; it is rebuilt (from ``max - ledger_initial_entries``)
when the exporter restarts.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client.core import Metric
from sqlalchemy import Connection, bindparam, text

from collectors.catalog import state as m
from collectors.catalog.labels import LEDGER_VIOLATION
from collectors.state.base import Health, StateCollector, StateConfig, counter, gauge

HOUSE = "house"

LAST_ENTRY = text("SELECT entry_id FROM pw_ledger_entries ORDER BY entry_id DESC LIMIT 1")
NEW_ENTRIES = text(
    """SELECT COUNT(*) AS n FROM pw_ledger_entries WHERE entry_id > :lo AND entry_id <= :hi"""
)
UNBALANCED_IN_RANGE = text(
    """SELECT transaction_id, currency, SUM(amount_minor) AS total FROM pw_ledger_entries
       WHERE transaction_id IN (SELECT transaction_id FROM pw_ledger_entries
                                WHERE entry_id > :lo AND entry_id <= :hi)
       GROUP BY transaction_id, currency HAVING SUM(amount_minor) <> 0"""
)
UNBALANCED_OF = text(
    """SELECT transaction_id, currency, SUM(amount_minor) AS total FROM pw_ledger_entries
       WHERE transaction_id IN :ids
       GROUP BY transaction_id, currency HAVING SUM(amount_minor) <> 0"""
).bindparams(bindparam("ids", expanding=True))
TOUCHED_ACCOUNTS = text(
    """SELECT DISTINCT account_id FROM pw_ledger_entries
       WHERE entry_id > :lo AND entry_id <= :hi AND account_owner <> 'house'"""
)
SAMPLE_ACCOUNTS = text(
    """SELECT account_id FROM pw_balances WHERE account_id > :after AND account_owner <> 'house'
       ORDER BY account_id LIMIT :n"""
)
BALANCES = text(
    """SELECT account_id, account_owner, account_kind, balance_minor FROM pw_balances
       WHERE account_id IN :ids AND account_owner <> 'house'"""
).bindparams(bindparam("ids", expanding=True))
SUMS = text(
    """SELECT account_id, SUM(amount_minor) AS total FROM pw_ledger_entries
       WHERE account_id IN :ids GROUP BY account_id"""
).bindparams(bindparam("ids", expanding=True))
FLAGGED_DEBTORS = text(
    """SELECT DISTINCT player_id FROM pw_wallet_transactions
       WHERE player_id IN :ids AND type IN ('chargeback', 'rollback') AND flagged"""
).bindparams(bindparam("ids", expanding=True))

Violation = tuple[str, str]  # (kind, what: a transaction/currency or an account id)


@dataclass
class LedgerState:
    watermark: int | None = None
    account_cursor: int = 0
    violations: set[Violation] = field(default_factory=set)
    entries_checked: int = 0


class LedgerCollector(StateCollector):
    name = "ledger"
    metrics = (m.LEDGER_INVARIANT_OK, m.LEDGER_INVARIANT_VIOLATIONS, m.LEDGER_ENTRIES_CHECKED)

    def __init__(self, engine, clock, config: StateConfig, health: Health):
        super().__init__(engine, clock, config, health)
        self.state = LedgerState()
        self._lock = threading.Lock()  # one scrape at a time moves the watermark

    def query(self, conn: Connection, now: datetime) -> Iterable[Metric]:
        with self._lock:
            self.state = self._check(conn, self.state)
            return self._families(self.state)

    def _check(self, conn: Connection, old: LedgerState) -> LedgerState:
        """The state after one incremental pass; ``old`` is untouched if a query fails."""
        cfg = self.config
        last = conn.execute(LAST_ENTRY).scalar() or 0
        watermark = old.watermark
        if watermark is None or watermark > last:  # first scrape, or a database reset
            watermark = max(0, last - cfg.ledger_initial_entries)
        hi = min(last, watermark + cfg.ledger_max_entries_per_scrape)
        lo = max(0, watermark - cfg.ledger_overlap_entries)
        new_entries = conn.execute(NEW_ENTRIES, {"lo": watermark, "hi": hi}).scalar_one()

        found: set[Violation] = set()
        for r in conn.execute(UNBALANCED_IN_RANGE, {"lo": lo, "hi": hi}):
            found.add(("unbalanced_transaction", f"{r.transaction_id}/{r.currency}"))
        known_tx = sorted(
            {w.split("/")[0] for k, w in old.violations if k == "unbalanced_transaction"}
        )
        if known_tx:
            for r in conn.execute(UNBALANCED_OF, {"ids": known_tx}):
                found.add(("unbalanced_transaction", f"{r.transaction_id}/{r.currency}"))

        accounts = {
            r.account_id for r in conn.execute(TOUCHED_ACCOUNTS, {"lo": watermark, "hi": hi})
        }
        sample = list(
            conn.execute(
                SAMPLE_ACCOUNTS,
                {"after": old.account_cursor, "n": cfg.ledger_accounts_per_scrape},
            ).scalars()
        )
        cursor = sample[-1] if len(sample) == cfg.ledger_accounts_per_scrape else 0
        accounts.update(sample)
        accounts.update(int(w) for k, w in old.violations if k != "unbalanced_transaction")
        found |= self._account_violations(conn, sorted(accounts))

        if len(found) > cfg.ledger_max_tracked_violations:  # ok is 0 either way
            found = set(sorted(found)[: cfg.ledger_max_tracked_violations])
        return LedgerState(hi, cursor, found, old.entries_checked + new_entries)

    def _account_violations(self, conn: Connection, ids: list[int]) -> set[Violation]:
        if not ids:
            return set()
        sums = {r.account_id: r.total for r in conn.execute(SUMS, {"ids": ids})}
        found: set[Violation] = set()
        negatives = []
        for r in conn.execute(BALANCES, {"ids": ids}):
            if r.balance_minor != (sums.get(r.account_id) or 0):
                found.add(("balance_mismatch", str(r.account_id)))
            if r.balance_minor < 0:
                negatives.append(r)
        if negatives:
            owners = sorted({r.account_owner for r in negatives})
            debtors = set(conn.execute(FLAGGED_DEBTORS, {"ids": owners}).scalars())
            for r in negatives:
                if not (r.account_kind == "cash" and r.account_owner in debtors):
                    found.add(("negative_balance", str(r.account_id)))
        return found

    def _families(self, state: LedgerState) -> list[Metric]:
        ok, violations = gauge(m.LEDGER_INVARIANT_OK), gauge(m.LEDGER_INVARIANT_VIOLATIONS)
        ok.add_metric([], 0.0 if state.violations else 1.0)
        for kind in LEDGER_VIOLATION.values:
            violations.add_metric([kind], sum(1 for k, _ in state.violations if k == kind))
        checked = counter(m.LEDGER_ENTRIES_CHECKED)
        checked.add_metric([], state.entries_checked)
        return [ok, violations, checked]
