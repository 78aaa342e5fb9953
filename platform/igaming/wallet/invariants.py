"""The ledger invariants, as one function the tests, collectors and reconcilers call.

1. every transaction's entries sum to zero per currency;
2. all entries of a currency sum to zero;
3. every player account's stored balance equals the sum of its entries;
4. no player account is negative, except cash left negative by a flagged chargeback or a
   flagged settlement rollback (a debt the operator must collect; the flag says so).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from igaming.models import Account, LedgerEntry, WalletTransaction
from igaming.wallet.accounts import HOUSE


@dataclass
class InvariantReport:
    unbalanced_transactions: list[tuple[str, str, int]] = field(default_factory=list)
    unbalanced_currencies: dict[str, int] = field(default_factory=dict)
    balance_mismatches: list[tuple[int, int, int]] = field(default_factory=list)
    negative_balances: list[tuple[int, str, int]] = field(default_factory=list)
    accounts_checked: int = 0
    entries_checked: int = 0

    @property
    def ok(self) -> bool:
        return not (
            self.unbalanced_transactions
            or self.unbalanced_currencies
            or self.balance_mismatches
            or self.negative_balances
        )

    def violations(self) -> list[str]:
        out = [f"transaction {t} {c} sums to {s}" for t, c, s in self.unbalanced_transactions]
        out += [f"currency {c} entries sum to {s}" for c, s in self.unbalanced_currencies.items()]
        out += [f"account {a} balance {b} != entries {s}" for a, b, s in self.balance_mismatches]
        out += [f"account {a} ({k}) negative: {b}" for a, k, b in self.negative_balances]
        return out


def check_invariants(session: Session) -> InvariantReport:
    report = InvariantReport()
    report.unbalanced_transactions = [
        (r.transaction_id, r.currency, r.total)
        for r in session.execute(
            select(
                LedgerEntry.transaction_id,
                LedgerEntry.currency,
                func.sum(LedgerEntry.amount).label("total"),
            )
            .group_by(LedgerEntry.transaction_id, LedgerEntry.currency)
            .having(func.sum(LedgerEntry.amount) != 0)
        )
    ]
    for r in session.execute(
        select(
            LedgerEntry.currency,
            func.sum(LedgerEntry.amount).label("total"),
            func.count().label("n"),
        ).group_by(LedgerEntry.currency)
    ):
        report.entries_checked += r.n
        if r.total != 0:
            report.unbalanced_currencies[r.currency] = r.total

    sums = (
        select(LedgerEntry.account_id, func.sum(LedgerEntry.amount).label("total"))
        .group_by(LedgerEntry.account_id)
        .subquery()
    )
    rows = session.execute(
        select(Account.id, Account.kind, Account.balance, func.coalesce(sums.c.total, 0))
        .outerjoin(sums, sums.c.account_id == Account.id)
        .where(Account.owner != HOUSE)
    ).all()
    report.accounts_checked = len(rows)
    report.balance_mismatches = [(i, b, s) for i, _k, b, s in rows if b != s]

    # Cash may be negative only where a flagged chargeback or rollback left it so.
    charged_back = select(WalletTransaction.player_id).where(
        and_(
            WalletTransaction.type.in_(("chargeback", "rollback")),
            WalletTransaction.flagged.is_(True),
        )
    )
    negatives = session.execute(
        select(Account.id, Account.kind, Account.balance, Account.owner).where(
            Account.owner != HOUSE, Account.balance < 0
        )
    ).all()
    flagged_players = set(session.execute(charged_back).scalars()) if negatives else set()
    report.negative_balances = [
        (i, k, b) for i, k, b, owner in negatives if not (k == "cash" and owner in flagged_players)
    ]
    return report
