"""Commission of a deal for a period: CPA per qualified FTD, RevShare of NGR with negative
carry-over, or both (hybrid). ``compute_commission`` is pure; ``commission_for_period``
gathers its inputs from the conversions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import func, select

from igaming.affiliates.deals import find_deal
from igaming.affiliates.models import Conversion
from igaming.bootstrap import Platform
from igaming.errors import NotFound, ValidationFailed


@dataclass(frozen=True)
class DealTerms:
    kind: str  # cpa | revshare | hybrid
    currency: str
    cpa_amount: int = 0
    revshare_bps: int = 0


@dataclass(frozen=True)
class Commission:
    currency: str
    qualified_ftds: int
    ngr: int
    cpa: int
    revshare: int
    total: int
    carry_out: int  # negative NGR carried into the next period (0 or less)


def compute_commission(
    terms: DealTerms, *, qualified_ftds: int, ngr: int, carry_in: int = 0
) -> Commission:
    """Commission in minor units of the deal's currency.

    RevShare is paid on NGR + carry_in (carry_in <= 0, the negative NGR of earlier
    periods); a negative result pays nothing and is carried over. RevShare is rounded
    down to the minor unit.
    """
    if carry_in > 0:
        raise ValidationFailed("carry_in is the negative NGR carried over (0 or less)")
    if qualified_ftds < 0:
        raise ValidationFailed("qualified_ftds cannot be negative")
    cpa = qualified_ftds * terms.cpa_amount if terms.kind in ("cpa", "hybrid") else 0
    revshare, carry_out = 0, 0
    if terms.kind in ("revshare", "hybrid"):
        base = ngr + carry_in
        if base > 0:
            revshare = base * terms.revshare_bps // 10_000
        else:
            carry_out = base
    return Commission(terms.currency, qualified_ftds, ngr, cpa, revshare, cpa + revshare, carry_out)


def commission_for_period(
    p: Platform,
    affiliate: str,
    start: date,
    end: date,
    *,
    campaign: str | None = None,
    carry_in: int = 0,
) -> Commission:
    """Commission of [start, end) under the deal in force: FTDs qualified in the period
    and still approved, NGR of the period's revenue conversions in the deal's currency."""
    if end <= start:
        raise ValidationFailed("end must be after start")
    lo = datetime.combine(start, time(), tzinfo=UTC)
    hi = datetime.combine(end, time(), tzinfo=UTC)
    with p.session_factory() as s:
        deal = find_deal(s, affiliate, campaign)
        if deal is None:
            raise NotFound(f"no deal for affiliate {affiliate!r}")
        scope = [Conversion.affiliate == affiliate, Conversion.currency == deal.currency]
        if campaign is not None:
            scope.append(Conversion.campaign == campaign)
        ftds = s.execute(
            select(func.count(Conversion.id)).where(
                *scope,
                Conversion.type == "ftd",
                Conversion.state == "approved",
                Conversion.qualified_at >= lo,
                Conversion.qualified_at < hi,
            )
        ).scalar_one()
        ngr = s.execute(
            select(func.coalesce(func.sum(Conversion.ngr), 0)).where(
                *scope,
                Conversion.type == "revenue",
                Conversion.state == "approved",
                Conversion.period >= start,
                Conversion.period < end,
            )
        ).scalar_one()
    terms = DealTerms(deal.kind, deal.currency, deal.cpa_amount, deal.revshare_bps)
    return compute_commission(terms, qualified_ftds=int(ftds), ngr=int(ngr), carry_in=carry_in)
