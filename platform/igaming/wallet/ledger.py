"""The double-entry ledger: idempotent, atomic postings under ordered row locks.

A transaction's entries sum to zero per currency. Entries are append-only; a correction
is a reversal. Player balances change in the same database transaction as their entries,
via ``UPDATE ... RETURNING`` issued in (owner, kind, currency) order, so concurrent writers
on the same player queue on the row lock instead of deadlocking or losing an update.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached

from ground.vocabulary import TX_TYPES
from igaming.errors import IdempotencyConflict, InsufficientFunds, NotFound, ValidationFailed
from igaming.fastsql import execute
from igaming.models import Account, LedgerEntry, WalletTransaction
from igaming.wallet.accounts import HOUSE, AccountRef, account_ids, ensure_accounts

TX_STATUSES = frozenset({"pending", "completed", "failed", "reversed", "cancelled"})


@dataclass(frozen=True)
class Posting:
    account: AccountRef
    amount: int  # signed minor units: positive raises the account's balance


@dataclass(frozen=True)
class PostResult:
    transaction: WalletTransaction
    replayed: bool


def request_hash(request: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


# The hot path's statements, built once.
_MOVE_BALANCE = (
    update(Account)
    .where(
        Account.owner == bindparam("o"),
        Account.kind == bindparam("k"),
        Account.currency == bindparam("c"),
        Account.psp == bindparam("p"),
    )
    .values(balance=Account.balance + bindparam("d"))
    .returning(Account.id, Account.balance)
)
_INSERT_ENTRY = insert(LedgerEntry)


@cache
def _insert_transaction(dialect_name: str):
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return (
        dialect.insert(WalletTransaction)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(WalletTransaction.id)
    )


class Ledger:
    """Posting and reading of wallet transactions. One per platform (it caches the ids of
    house accounts, which are created once and never deleted)."""

    def __init__(self) -> None:
        self._house_ids: dict[AccountRef, int] = {}
        self._lock = threading.Lock()

    # -- transactions -------------------------------------------------------------------

    def begin(
        self,
        session: Session,
        *,
        now: datetime,
        tx_type: str,
        idempotency_key: str,
        currency: str,
        amount: int,
        player_id: str | None,
        request: dict[str, Any],
        status: str = "pending",
        reference: str | None = None,
        details: dict[str, Any] | None = None,
        tx_id: str | None = None,
    ) -> PostResult:
        """Create a transaction row, or return the existing one for the same key.

        The same key with the same request returns the first result (``replayed``); with a
        different request it is an IdempotencyConflict. Concurrent first requests with one
        key are safe: the loser's insert waits for the winner and then does nothing.
        """
        if tx_type not in TX_TYPES or status not in TX_STATUSES:
            raise ValidationFailed(f"unknown transaction type or status {tx_type}/{status}")
        digest = request_hash({"type": tx_type, **request})
        values = {
            "id": tx_id or str(uuid.uuid4()),
            "type": tx_type,
            "status": status,
            "player_id": player_id,
            "currency": currency,
            "amount": amount,
            "idempotency_key": idempotency_key,
            "request_hash": digest,
            "reference": reference,
            "flagged": False,
            "created_at": now,
            "updated_at": now,
            "details": details or {},
        }
        conn = session.connection()
        # Core on the session's connection, with statements built once (building and
        # caching a statement per call, and the ORM's per-statement work, were most of a
        # posting's cost); the row is attached to the session without another query.
        inserted = execute(conn, _insert_transaction(conn.dialect.name), values).first()
        if inserted is not None:
            tx = WalletTransaction(**values)
            make_transient_to_detached(tx)
            session.add(tx)
            return PostResult(tx, replayed=False)
        existing = session.execute(
            select(WalletTransaction).where(WalletTransaction.idempotency_key == idempotency_key)
        ).scalar_one()
        if existing.request_hash != digest:
            raise IdempotencyConflict(
                f"idempotency key {idempotency_key!r} was used for a different request",
                transaction_id=existing.id,
            )
        return PostResult(existing, replayed=True)

    def post(
        self,
        session: Session,
        tx: WalletTransaction,
        postings: Iterable[Posting],
        *,
        now: datetime,
        status: str | None = None,
        allow_negative: frozenset[AccountRef] = frozenset(),
    ) -> list[AccountRef]:
        """Append balanced entries to ``tx`` and move balances; returns accounts left
        negative (only ever those in ``allow_negative``, e.g. cash after a chargeback)."""
        postings = [p for p in postings if p.amount != 0]
        totals: dict[str, int] = defaultdict(int)
        for p in postings:
            if isinstance(p.amount, bool) or not isinstance(p.amount, int):
                raise ValidationFailed("ledger amounts are integers in minor units")
            totals[p.account.currency] += p.amount
        if any(totals.values()):
            raise ValidationFailed(f"entries do not balance: {dict(totals)}")

        # Player balances: one UPDATE ... RETURNING per account, found by its natural key
        # and issued in (owner, kind, currency) order: one total lock order for every
        # writer, so concurrent postings on a player queue instead of deadlocking.
        deltas: dict[AccountRef, int] = defaultdict(int)
        for p in postings:
            if not p.account.is_house:
                deltas[p.account] += p.amount
        houses = [p.account for p in postings if p.account.is_house]
        ids = self._house_account_ids(session, houses, now)
        negative: list[AccountRef] = []
        conn = session.connection()
        for ref in sorted(deltas):
            row = execute(
                conn,
                _MOVE_BALANCE,
                {"o": ref.owner, "k": ref.kind, "c": ref.currency, "p": ref.psp, "d": deltas[ref]},
            ).one_or_none()
            if row is None:
                raise ValidationFailed(f"player has no {ref.kind} account in {ref.currency}")
            ids[ref] = row.id
            if row.balance < 0:
                if ref not in allow_negative:
                    raise InsufficientFunds(
                        f"{ref.kind} balance too low for this {tx.type}",
                        balance=row.balance - deltas[ref],
                        currency=ref.currency,
                    )
                negative.append(ref)
        execute(
            conn,
            _INSERT_ENTRY,
            [
                {
                    "transaction_id": tx.id,
                    "account_id": ids[p.account],
                    "amount": p.amount,
                    "currency": p.account.currency,
                    "created_at": now,
                }
                for p in postings
            ],
        )
        if status is not None and status != tx.status:
            tx.status, tx.updated_at = status, now
        if negative:
            tx.flagged = True
            tx.flag_reason = "negative balance: " + ", ".join(r.kind for r in negative)
        return negative

    @staticmethod
    def transaction(session: Session, tx_id: str) -> WalletTransaction:
        tx = session.get(WalletTransaction, tx_id)
        if tx is None:
            raise NotFound(f"transaction {tx_id} not found")
        return tx

    def set_status(self, tx: WalletTransaction, status: str, now: datetime) -> None:
        if status not in TX_STATUSES:
            raise ValidationFailed(f"unknown transaction status {status}")
        tx.status = status
        tx.updated_at = now

    def reverse(
        self,
        session: Session,
        original_id: str,
        *,
        now: datetime,
        idempotency_key: str,
        reason: str,
        tx_type: str = "reversal",
        allow_negative: frozenset[AccountRef] = frozenset(),
    ) -> PostResult:
        """Post the exact negation of a completed transaction's entries; accounts in
        ``allow_negative`` may go below zero (the transaction is then flagged)."""
        # populate_existing: an already-loaded row must be re-read under the lock.
        original = session.get(
            WalletTransaction, original_id, with_for_update=True, populate_existing=True
        )
        if original is None:
            raise NotFound(f"transaction {original_id} not found")
        result = self.begin(
            session,
            now=now,
            tx_type=tx_type,
            idempotency_key=idempotency_key,
            currency=original.currency,
            amount=original.amount,
            player_id=original.player_id,
            request={"reverses": original_id, "reason": reason},
            reference=original_id,
            details={"reason": reason},
        )
        if result.replayed:
            return result
        if original.status != "completed":
            raise ValidationFailed(
                f"only completed transactions can be reversed ({original.status})"
            )
        entries = session.execute(
            select(LedgerEntry.account_id, LedgerEntry.amount).where(
                LedgerEntry.transaction_id == original_id
            )
        ).all()
        refs = self._refs_by_id(session, [e.account_id for e in entries])
        self.post(
            session,
            result.transaction,
            [Posting(refs[e.account_id], -e.amount) for e in entries],
            now=now,
            status="completed",
            allow_negative=allow_negative,
        )
        self.set_status(original, "reversed", now)
        return result

    # -- accounts -----------------------------------------------------------------------

    def _house_account_ids(
        self, session: Session, refs: list[AccountRef], now: datetime
    ) -> dict[AccountRef, int]:
        if not refs:
            return {}
        with self._lock:
            ids = {r: self._house_ids[r] for r in refs if r in self._house_ids}
        missing = [r for r in refs if r not in ids]
        if missing:
            ensure_accounts(session, missing, now)
            # Not cached: a row created in this transaction vanishes on rollback. The
            # platform creates all house accounts at start (bootstrap_house_accounts).
            ids |= account_ids(session, missing)
        return ids

    def cache_house_accounts(self, session: Session) -> None:
        """Remember the ids of committed house accounts (call after they are created)."""
        rows = session.execute(
            select(Account.id, Account.owner, Account.kind, Account.currency, Account.psp).where(
                Account.owner == HOUSE
            )
        ).all()
        with self._lock:
            for row in rows:
                self._house_ids[AccountRef(row.owner, row.kind, row.currency, row.psp)] = row.id

    @staticmethod
    def _refs_by_id(session: Session, ids: list[int]) -> dict[int, AccountRef]:
        rows = session.execute(
            select(Account.id, Account.owner, Account.kind, Account.currency, Account.psp).where(
                Account.id.in_(set(ids))
            )
        ).all()
        return {row.id: AccountRef(row.owner, row.kind, row.currency, row.psp) for row in rows}
