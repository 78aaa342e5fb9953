"""Deposits, withdrawals and the PSPs' callbacks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from igaming.api.deps import IdempotencyKey, PlatformDep, PlayerDep
from igaming.api.schemas import DepositOut, MoneyIn, WithdrawalOut
from igaming.cashier import callbacks, deposits, withdrawals
from igaming.errors import NotFound
from igaming.models import Withdrawal

router = APIRouter(prefix="/cashier", tags=["cashier"])


@router.post("/deposits", status_code=201, response_model=DepositOut)
def create_deposit(
    body: MoneyIn, p: PlatformDep, player_id: PlayerDep, key: IdempotencyKey
) -> DepositOut:
    deposit = deposits.request_deposit(
        p,
        player_id,
        amount=body.amount,
        currency=body.currency,
        method=body.method,
        idempotency_key=key,
    )
    return DepositOut.model_validate(deposit)


@router.get("/deposits/{deposit_id}", response_model=DepositOut)
def get_deposit(deposit_id: str, p: PlatformDep, player_id: PlayerDep) -> DepositOut:
    with p.session_factory() as session:
        return DepositOut.model_validate(deposits.get_deposit(session, player_id, deposit_id))


@router.post("/withdrawals", status_code=201, response_model=WithdrawalOut)
def create_withdrawal(
    body: MoneyIn, p: PlatformDep, player_id: PlayerDep, key: IdempotencyKey
) -> WithdrawalOut:
    withdrawal = withdrawals.request_withdrawal(
        p,
        player_id,
        amount=body.amount,
        currency=body.currency,
        method=body.method,
        idempotency_key=key,
    )
    return WithdrawalOut.model_validate(withdrawal)


@router.get("/withdrawals/{withdrawal_id}", response_model=WithdrawalOut)
def get_withdrawal(withdrawal_id: str, p: PlatformDep, player_id: PlayerDep) -> WithdrawalOut:
    with p.session_factory() as session:
        w = session.get(Withdrawal, withdrawal_id)
        if w is None or w.player_id != player_id:
            raise NotFound(f"withdrawal {withdrawal_id} not found")
        return WithdrawalOut.model_validate(w)


@router.post("/callbacks/{psp}", tags=["psp"])
async def psp_callback(
    psp: str,
    request: Request,
    p: PlatformDep,
    x_psp_signature: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    body = await request.body()
    result = await run_in_threadpool(callbacks.handle_callback, p, psp, body, x_psp_signature)
    return JSONResponse({"outcome": result.outcome, "status": result.status})
