"""Identity verification."""

from __future__ import annotations

from fastapi import APIRouter

from igaming.api.deps import PlatformDep, PlayerDep
from igaming.api.schemas import KycOut
from igaming.errors import NotFound
from igaming.kyc import service

router = APIRouter(prefix="/kyc", tags=["kyc"])


@router.post("/verifications", status_code=202, response_model=KycOut)
def request_verification(p: PlatformDep, player_id: PlayerDep) -> KycOut:
    return KycOut.model_validate(service.request_verification(p, player_id))


@router.get("/verifications/latest", response_model=KycOut)
def latest(p: PlatformDep, player_id: PlayerDep) -> KycOut:
    check = service.latest_check(p, player_id)
    if check is None:
        raise NotFound("no verification requested yet")
    return KycOut.model_validate(check)
