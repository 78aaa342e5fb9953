"""The scenario's affiliates as the platform must know them before traffic starts: each with
a postback URL at the affiliate network simulator (signed with the secret the network
expects) and a hybrid deal per campaign (CPA 50 in the campaign's currency + 25 % revenue
share, the network's own default terms), so FTDs turn into postbacks the network records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from igaming.traffic.scenario import Scenario

if TYPE_CHECKING:
    from igaming.bootstrap import Platform

POSTBACK_QUERY = (
    "event={event}&conversion_id={conversion_id}&click_id={click_id}&amount={amount}"
    "&currency={currency}&occurred_at={occurred_at}&campaign={campaign}&player_ref={player_ref}"
)
CPA_MAJOR = 50
REVSHARE_BPS = 2500


@dataclass(frozen=True)
class AffiliateSetup:
    affiliate: str
    postback_url_template: str
    secret: str


@dataclass(frozen=True)
class DealSetup:
    affiliate: str
    campaign: str
    currency: str
    cpa_amount: int  # minor units
    revshare_bps: int


def affiliate_setups(scenario: Scenario, network_url: str) -> list[AffiliateSetup]:
    base = network_url.rstrip("/")
    names = sorted({c.affiliate for c in scenario.campaigns})
    return [
        AffiliateSetup(a, f"{base}/postback/{a}?{POSTBACK_QUERY}", f"dev-secret-{a}") for a in names
    ]


def deal_setups(scenario: Scenario) -> list[DealSetup]:
    from ground.money import CURRENCY_EXPONENTS

    out = []
    for c in scenario.campaigns:
        currency = scenario.geos[c.geos[0]].currency
        cpa = CPA_MAJOR * 10 ** CURRENCY_EXPONENTS.get(currency, 2)
        out.append(DealSetup(c.affiliate, c.campaign, currency, cpa, REVSHARE_BPS))
    return out


def setup_in_process(p: Platform, scenario: Scenario, network_url: str) -> None:
    """Create the affiliates and deals through the platform's service layer."""
    from igaming.affiliates import deals

    for a in affiliate_setups(scenario, network_url):
        deals.upsert_affiliate(
            p,
            a.affiliate,
            postback_url_template=a.postback_url_template,
            secret=a.secret,
        )
    for d in deal_setups(scenario):
        deals.create_deal(
            p,
            d.affiliate,
            kind="hybrid",
            currency=d.currency,
            campaign=d.campaign,
            cpa_amount=d.cpa_amount,
            revshare_bps=d.revshare_bps,
        )
