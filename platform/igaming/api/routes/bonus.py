"""Bonus offers and the player's bonus."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from igaming.api.deps import PlatformDep, PlayerDep
from igaming.api.schemas import Strict
from igaming.bonus import service
from igaming.bonus.models import BonusOffer, PlayerBonus

router = APIRouter(prefix="/bonus", tags=["bonus"])


class OfferOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    match_bps: int
    max_bonus_minor: int
    min_deposit_minor: int
    wagering_multiplier: int
    valid_days: int
    first_deposit_only: bool  # a welcome offer: granted on the first approved deposit only
    wagering_weights_bps: dict[str, int]  # by casino game type or "sportsbook"; else 0
    min_odds_milli: int  # sportsbook stakes count from these odds × 1000


class ClaimIn(Strict):
    offer_code: str = Field(min_length=1, max_length=40)


class BonusOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    offer_code: str
    status: str
    currency: str
    amount_minor: int
    wagering_required_minor: int
    wagered_minor: int
    claimed_at: datetime
    expires_at: datetime | None
    close_reason: str | None


@router.get("/offers", response_model=list[OfferOut])
def offers(p: PlatformDep) -> list[OfferOut]:
    with p.session_factory() as session:
        rows = session.execute(select(BonusOffer).where(BonusOffer.active.is_(True))).scalars()
        return [OfferOut.model_validate(o) for o in rows]


@router.post("/claims", status_code=201, response_model=BonusOut)
def claim(body: ClaimIn, p: PlatformDep, player_id: PlayerDep) -> BonusOut:
    with p.uow() as uow:
        bonus = service.claim(uow, player_id, body.offer_code, p.clock.now())
        uow.commit()
    return BonusOut.model_validate(bonus)


@router.get("/me", response_model=list[BonusOut])
def mine(p: PlatformDep, player_id: PlayerDep) -> list[BonusOut]:
    with p.session_factory() as session:
        rows = session.execute(
            select(PlayerBonus)
            .where(PlayerBonus.player_id == player_id)
            .order_by(PlayerBonus.claimed_at.desc())
        ).scalars()
        return [BonusOut.model_validate(b) for b in rows]
