"""Ledger accounts: which exist, who owns them, and how they are found or created."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from igaming.models import Account

HOUSE = "house"

# Per player and currency. They hold a running balance, updated under a row lock in the
# same transaction as the entries, and may never go negative (except cash, by chargeback).
PLAYER_KINDS = ("cash", "bonus", "withdrawal_pending")

# House accounts have no running balance: their balance is the sum of their entries.
# Every deposit touches its PSP's clearing account, so a stored balance there would be a
# row lock that serialises all traffic of a PSP; nothing checks a house balance on the hot
# path, so nothing needs one.
HOUSE_KINDS = ("psp_clearing", "sportsbook", "casino", "bonus_pool", "fees", "adjustments")


class AccountRef(NamedTuple):
    owner: str
    kind: str
    currency: str
    psp: str = ""

    @property
    def is_house(self) -> bool:
        return self.owner == HOUSE


def player_account(player_id: str, kind: str, currency: str) -> AccountRef:
    assert kind in PLAYER_KINDS, kind
    return AccountRef(player_id, kind, currency)


def house_account(kind: str, currency: str, psp: str = "") -> AccountRef:
    assert kind in HOUSE_KINDS, kind
    return AccountRef(HOUSE, kind, currency, psp)


def _insert(session: Session):
    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert


def ensure_accounts(session: Session, refs: list[AccountRef], now: datetime) -> None:
    """Create the accounts that do not exist yet; safe under concurrency."""
    if not refs:
        return
    stmt = _insert(session)(Account).on_conflict_do_nothing(
        index_elements=["owner", "kind", "currency", "psp"]
    )
    session.execute(
        stmt,
        [
            {"owner": r.owner, "kind": r.kind, "currency": r.currency, "psp": r.psp}
            | {"balance": 0, "created_at": now}
            for r in refs
        ],
    )


def open_player_accounts(session: Session, player_id: str, currency: str, now: datetime) -> None:
    ensure_accounts(session, [player_account(player_id, k, currency) for k in PLAYER_KINDS], now)


def account_ids(session: Session, refs: list[AccountRef]) -> dict[AccountRef, int]:
    if not refs:
        return {}
    owners = {r.owner for r in refs}
    rows = session.execute(
        select(Account.id, Account.owner, Account.kind, Account.currency, Account.psp).where(
            Account.owner.in_(owners)
        )
    ).all()
    wanted = set(refs)
    return {
        ref: row.id
        for row in rows
        if (ref := AccountRef(row.owner, row.kind, row.currency, row.psp)) in wanted
    }
