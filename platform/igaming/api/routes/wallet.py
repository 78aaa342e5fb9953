"""The player's wallet: balances and transaction history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from igaming.api.deps import PlatformDep, PlayerDep
from igaming.api.schemas import BalanceOut, TransactionOut
from igaming.models import Account, WalletTransaction

router = APIRouter(prefix="/wallet", tags=["wallet"])


@router.get("/balance", response_model=list[BalanceOut])
def balance(p: PlatformDep, player_id: PlayerDep) -> list[BalanceOut]:
    with p.session_factory() as session:
        rows = session.execute(
            select(Account.currency, Account.kind, Account.balance).where(
                Account.owner == player_id
            )
        ).all()
    by_currency: dict[str, dict[str, int]] = {}
    for currency, kind, amount in rows:
        by_currency.setdefault(currency, {})[kind] = amount
    return [
        BalanceOut(
            currency=c,
            cash=k.get("cash", 0),
            bonus=k.get("bonus", 0),
            withdrawal_pending=k.get("withdrawal_pending", 0),
        )
        for c, k in sorted(by_currency.items())
    ]


@router.get("/transactions", response_model=list[TransactionOut])
def transactions(
    p: PlatformDep, player_id: PlayerDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[TransactionOut]:
    with p.session_factory() as session:
        rows = session.execute(
            select(WalletTransaction)
            .where(WalletTransaction.player_id == player_id)
            .order_by(WalletTransaction.created_at.desc())
            .limit(limit)
        ).scalars()
        return [TransactionOut.model_validate(r) for r in rows]
