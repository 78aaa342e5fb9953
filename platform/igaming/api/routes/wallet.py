"""The player's wallet: balances and transaction history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from igaming.api.deps import PlatformDep, PlayerDep
from igaming.api.schemas import BalanceOut, TransactionOut
from igaming.models import WalletTransaction
from igaming.wallet import service

router = APIRouter(prefix="/wallet", tags=["wallet"])


@router.get("/balance", response_model=list[BalanceOut])
def balance(p: PlatformDep, player_id: PlayerDep) -> list[BalanceOut]:
    return [BalanceOut(**vars(b)) for b in service.balances(p, player_id)]


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
