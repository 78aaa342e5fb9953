"""The full ledger check on the contract views: every entry read, nothing sampled.

The state exporter's ledger collector checks the newest entries and a rotating sample of
accounts on each scrape (collectors/state/ledger.py); an unbalanced transaction older than
its window is never seen there. This check reads the whole of ``pw_ledger_entries`` and
``pw_balances`` and finds:

- ``unbalanced_transaction``: a transaction whose entries do not sum to zero in a currency;
- ``balance_mismatch``: a player account whose stored balance is not the sum of its entries.

The work is done by the database (two grouped scans); Python holds only the violations, at
most ``limit`` of each kind (the counts are exact either way). Read-only: SELECTs on the
views, so it runs on an operator's replica, and on a restored backup to prove it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

UNBALANCED = text(
    """SELECT transaction_id, currency, SUM(amount_minor) AS total FROM pw_ledger_entries
       GROUP BY transaction_id, currency HAVING SUM(amount_minor) <> 0
       ORDER BY transaction_id, currency"""
)
ENTRIES = text("SELECT COUNT(*) FROM pw_ledger_entries")
MISMATCHED = text(
    """SELECT b.account_id, b.currency, b.balance_minor, COALESCE(s.total, 0) AS entries_total
       FROM pw_balances b
       LEFT JOIN (SELECT account_id, SUM(amount_minor) AS total FROM pw_ledger_entries
                  GROUP BY account_id) s ON s.account_id = b.account_id
       WHERE b.account_owner <> 'house' AND b.balance_minor <> COALESCE(s.total, 0)
       ORDER BY b.account_id"""
)
ACCOUNTS = text("SELECT COUNT(*) FROM pw_balances WHERE account_owner <> 'house'")


@dataclass(frozen=True)
class Unbalanced:
    transaction_id: str
    currency: str
    total_minor: int  # what the entries sum to (zero when balanced)


@dataclass(frozen=True)
class Mismatch:
    account_id: int
    currency: str
    balance_minor: int  # the stored balance
    entries_minor: int  # the sum of the account's entries


@dataclass
class LedgerCheck:
    entries: int = 0
    accounts: int = 0
    unbalanced_count: int = 0
    mismatch_count: int = 0
    unbalanced: list[Unbalanced] = field(default_factory=list)  # at most ``limit``
    mismatches: list[Mismatch] = field(default_factory=list)  # at most ``limit``
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.unbalanced_count == 0 and self.mismatch_count == 0

    def summary(self) -> str:
        return (
            f"{self.entries} entries, {self.accounts} player accounts: "
            f"{self.unbalanced_count} unbalanced transactions, "
            f"{self.mismatch_count} balance mismatches ({self.seconds:.1f} s)"
        )


def check_ledger(conn: Connection, limit: int = 1_000) -> LedgerCheck:
    """Both invariants over every entry of the views ``conn`` reads."""
    started = time.monotonic()
    check = LedgerCheck()
    check.entries = int(conn.execute(ENTRIES).scalar_one())
    check.accounts = int(conn.execute(ACCOUNTS).scalar_one())
    for r in conn.execute(UNBALANCED):
        check.unbalanced_count += 1
        if len(check.unbalanced) < limit:
            check.unbalanced.append(Unbalanced(str(r.transaction_id), r.currency, int(r.total)))
    for r in conn.execute(MISMATCHED):
        check.mismatch_count += 1
        if len(check.mismatches) < limit:
            check.mismatches.append(
                Mismatch(int(r.account_id), r.currency, int(r.balance_minor), int(r.entries_total))
            )
    check.seconds = time.monotonic() - started
    return check
