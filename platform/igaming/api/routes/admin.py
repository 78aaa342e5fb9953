"""The back office: adjustments, KYC reviews, audit log, ledger invariants, faults."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import Field
from starlette.exceptions import HTTPException

from igaming import admin
from igaming.api.deps import IdempotencyKey, OperatorDep, PlatformDep
from igaming.api.schemas import (
    AdjustmentIn,
    AuditOut,
    KycDecisionIn,
    KycOut,
    PlayerOut,
    PlayerStatusIn,
    Strict,
    TransactionOut,
)
from igaming.fault_injection import apply_faults
from igaming.faults import Faults
from igaming.wallet.invariants import check_invariants

router = APIRouter(prefix="/admin", tags=["admin"])


class KycRetryIn(Strict):
    reason: str = Field(min_length=5, max_length=1000)


@router.post("/adjustments", status_code=201, response_model=TransactionOut)
def adjustment(
    body: AdjustmentIn, p: PlatformDep, op: OperatorDep, key: IdempotencyKey
) -> TransactionOut:
    tx = admin.adjust(p, op, idempotency_key=key, **body.model_dump())
    return TransactionOut.model_validate(tx)


@router.post("/kyc/{check_id}/decision", response_model=KycOut)
def kyc_decision(check_id: str, body: KycDecisionIn, p: PlatformDep, op: OperatorDep) -> KycOut:
    return KycOut.model_validate(admin.review_kyc(p, op, check_id, body.status, body.reason))


@router.post("/players/{player_id}/kyc/allow-retry", response_model=PlayerOut)
def kyc_allow_retry(player_id: str, body: KycRetryIn, p: PlatformDep, op: OperatorDep) -> PlayerOut:
    """Compliance lets a player whose verification was rejected open one new check."""
    return PlayerOut.model_validate(admin.allow_kyc_retry(p, op, player_id, body.reason))


@router.put("/players/{player_id}/status", response_model=PlayerOut)
def player_status(
    player_id: str, body: PlayerStatusIn, p: PlatformDep, op: OperatorDep
) -> PlayerOut:
    return PlayerOut.model_validate(
        admin.set_player_status(p, op, player_id, body.status, body.reason)
    )


@router.get("/audit-log", response_model=list[AuditOut])
def audit_log(
    p: PlatformDep, op: OperatorDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[AuditOut]:
    return [AuditOut.model_validate(a) for a in admin.audit_log(p, op, limit)]


@router.get("/invariants")
def invariants(p: PlatformDep, op: OperatorDep) -> dict:
    admin.require(op, "check_invariants")
    with p.session_factory() as session:
        report = check_invariants(session)
    return {
        "ok": report.ok,
        "violations": report.violations()[:100],
        "accounts_checked": report.accounts_checked,
        "entries_checked": report.entries_checked,
    }


def _faults_enabled(p: PlatformDep) -> None:
    # Checked before the key: where faults are off the routes answer exactly as a path that
    # does not exist (404 problem+json), to anyone.
    if not p.settings.faults_enabled:
        raise HTTPException(status_code=404, detail="Not Found")


@router.get("/faults", response_model=Faults, dependencies=[Depends(_faults_enabled)])
def faults(p: PlatformDep, op: OperatorDep) -> Faults:
    admin.require(op, "read_faults")
    return p.faults.current


@router.put("/faults", response_model=Faults, dependencies=[Depends(_faults_enabled)])
def replace_faults(body: Faults, p: PlatformDep, op: OperatorDep) -> Faults:
    """Put these faults in force (audited; a new version is recorded as a deploy). Only
    where settings.faults_enabled (development, test, demo, simulations), by the faults
    role."""
    admin.require(op, "inject_faults")
    return apply_faults(p, body, op.name, role=op.role)
