"""Affiliates and their deals: created by operators, looked up per affiliate and campaign."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from ground.money import check_amount, check_currency
from igaming.affiliates.models import Affiliate, Deal
from igaming.affiliates.postbacks import check_template
from igaming.bootstrap import Platform
from igaming.errors import NotFound, ValidationFailed

DEAL_KINDS = ("cpa", "revshare", "hybrid")


def upsert_affiliate(
    p: Platform,
    affiliate: str,
    *,
    postback_url_template: str | None,
    secret: str | None = None,
    active: bool = True,
) -> Affiliate:
    """Create or update an affiliate; a new one without a secret gets a random one."""
    if not affiliate or len(affiliate) > 64:
        raise ValidationFailed("an affiliate id has 1 to 64 characters")
    if postback_url_template:
        check_template(postback_url_template, allow_private=bool(p.settings.postback_allow_private))
    now = p.clock.now()
    with p.uow() as uow:
        row = uow.session.get(Affiliate, affiliate, with_for_update=True)
        if row is None:
            row = Affiliate(id=affiliate, created_at=now, secret=secret or secrets.token_hex(24))
            uow.session.add(row)
        elif secret:
            row.secret = secret
        row.postback_url_template = postback_url_template
        row.active = active
        row.updated_at = now
        uow.commit()
    return row


def create_deal(
    p: Platform,
    affiliate: str,
    *,
    kind: str,
    currency: str,
    campaign: str | None = None,
    cpa_amount: int = 0,
    revshare_bps: int = 0,
    min_ftd_amount: int = 0,
    allowed_geos: list[str] | None = None,
    require_kyc: bool = False,
) -> Deal:
    """Add a deal; the newest deal of an (affiliate, campaign) is the one in force."""
    if kind not in DEAL_KINDS:
        raise ValidationFailed(f"deal kind must be one of {', '.join(DEAL_KINDS)}")
    check_currency(currency)
    check_amount(cpa_amount, allow_zero=True)
    check_amount(min_ftd_amount, allow_zero=True)
    if not 0 <= revshare_bps <= 10_000:
        raise ValidationFailed("revshare_bps is between 0 and 10000")
    if kind in ("cpa", "hybrid") and cpa_amount <= 0:
        raise ValidationFailed(f"a {kind} deal needs a positive cpa_amount")
    if kind in ("revshare", "hybrid") and revshare_bps <= 0:
        raise ValidationFailed(f"a {kind} deal needs a positive revshare_bps")
    with p.uow() as uow:
        if uow.session.get(Affiliate, affiliate) is None:
            raise NotFound(f"affiliate {affiliate!r} not found")
        deal = Deal(
            affiliate=affiliate,
            campaign=campaign,
            kind=kind,
            currency=currency,
            cpa_amount=cpa_amount,
            revshare_bps=revshare_bps,
            min_ftd_amount=min_ftd_amount,
            allowed_geos=sorted({g.upper() for g in allowed_geos or []}),
            require_kyc=require_kyc,
            created_at=p.clock.now(),
        )
        uow.session.add(deal)
        uow.commit()
    return deal


def find_deal(session: Session, affiliate: str, campaign: str | None) -> Deal | None:
    """The deal in force: the newest for the campaign, else the newest affiliate-wide one."""
    for wanted in ([campaign] if campaign else []) + [None]:
        clause = Deal.campaign == wanted if wanted is not None else Deal.campaign.is_(None)
        deal = (
            session.execute(
                select(Deal)
                .where(Deal.affiliate == affiliate, clause)
                .order_by(Deal.created_at.desc(), Deal.id.desc())
            )
            .scalars()
            .first()
        )
        if deal is not None:
            return deal
    return None
