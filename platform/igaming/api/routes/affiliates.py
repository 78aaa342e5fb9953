"""Affiliate tracking: the public click endpoint and the operators' affiliate admin."""

from __future__ import annotations

import logging
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from igaming.admin import PERMISSIONS, OperatorIdentity
from igaming.affiliates import clicks, commission, deals
from igaming.affiliates.models import PostbackJob, as_dict
from igaming.api.deps import OperatorDep, PlatformDep
from igaming.bootstrap import Platform
from igaming.errors import Forbidden

log = logging.getLogger(__name__)
router = APIRouter(tags=["affiliates"])
MANAGERS = ("finance", "admin")


def _require_manager(op: OperatorIdentity) -> None:
    if op.role not in MANAGERS:
        raise Forbidden(f"role {op.role} may not manage affiliates")


def _require_stager(p: Platform, op: OperatorIdentity) -> None:
    """Managers, or a simulation's faults operator where faults are enabled (the traffic
    simulator sets up its scenario's affiliates and deals with no money-moving key)."""
    staging = p.settings.faults_enabled and op.role in PERMISSIONS["stage_affiliates"]
    if not staging:
        _require_manager(op)


class ClickIn(BaseModel):
    affiliate: str = Field(min_length=1, max_length=64)
    campaign: str | None = Field(None, max_length=64)
    btag: str | None = Field(None, max_length=200)
    sub_id: str | None = Field(None, max_length=100)
    geo: str | None = Field(None, min_length=2, max_length=2)
    click_id: str | None = Field(None, max_length=100)


class ClickOut(BaseModel):
    click_id: str
    affiliate: str
    campaign: str | None


class AffiliateIn(BaseModel):
    postback_url_template: str | None = None
    secret: str | None = Field(None, min_length=16, max_length=200)
    active: bool = True


class DealIn(BaseModel):
    kind: str
    currency: str
    campaign: str | None = None
    cpa_amount: int = 0
    revshare_bps: int = 0
    min_ftd_amount: int = 0
    allowed_geos: list[str] = Field(default_factory=list)
    require_kyc: bool = False


def _limiter(request: Request, p: Platform) -> clicks.ClickLimiter:
    """The app's click limiter (one per app, from the platform's settings)."""
    limiter = getattr(request.app.state, "click_limiter", None)
    if limiter is None:
        limiter = clicks.ClickLimiter(p.settings.click_rate_per_second, p.settings.click_burst)
        request.app.state.click_limiter = limiter
    return limiter


def _click(p: Platform, body: ClickIn, request: Request) -> ClickOut:
    address = request.client.host if request.client is not None else "unknown"
    if not _limiter(request, p).allow(address, p.clock.now().timestamp()):
        log.info("click refused: rate limit of %s", address)
        raise clicks.ClickRateLimited("too many clicks from this address; try again later")
    c = clicks.record_click(p, **body.model_dump())
    return ClickOut(click_id=c.click_id, affiliate=c.affiliate, campaign=c.campaign)


@router.get("/track/click", response_model=ClickOut)
def track_click(p: PlatformDep, q: Annotated[ClickIn, Query()], request: Request) -> ClickOut:
    """Record a click from an affiliate link; hand the click_id to registration."""
    return _click(p, q, request)


@router.post("/affiliates/clicks", status_code=201, response_model=ClickOut)
def post_click(p: PlatformDep, body: ClickIn, request: Request) -> ClickOut:
    return _click(p, body, request)


@router.put("/affiliates/{affiliate}")
def put_affiliate(affiliate: str, body: AffiliateIn, p: PlatformDep, op: OperatorDep) -> dict:
    _require_stager(p, op)
    row = deals.upsert_affiliate(p, affiliate, **body.model_dump())
    return {k: v for k, v in as_dict(row).items() if k != "secret"}


@router.post("/affiliates/{affiliate}/deals", status_code=201)
def post_deal(affiliate: str, body: DealIn, p: PlatformDep, op: OperatorDep) -> dict:
    _require_stager(p, op)
    return as_dict(deals.create_deal(p, affiliate, **body.model_dump()))


@router.get("/affiliates/{affiliate}/commission")
def get_commission(
    affiliate: str,
    p: PlatformDep,
    op: OperatorDep,
    start: date,
    end: date,
    campaign: str | None = None,
    carry_in: Annotated[int, Query(le=0)] = 0,
) -> dict:
    _require_manager(op)
    result = commission.commission_for_period(
        p, affiliate, start, end, campaign=campaign, carry_in=carry_in
    )
    return result.__dict__


@router.get("/affiliates/{affiliate}/postbacks")
def list_postbacks(
    affiliate: str,
    p: PlatformDep,
    op: OperatorDep,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict]:
    _require_manager(op)
    query = select(PostbackJob).where(PostbackJob.affiliate == affiliate)
    if status:
        query = query.where(PostbackJob.status == status)
    with p.session_factory() as s:
        jobs = s.execute(query.order_by(PostbackJob.id.desc()).limit(limit)).scalars()
        return [as_dict(j) for j in jobs]
