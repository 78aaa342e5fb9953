"""Decimal odds as integers (odds × 1000) and the payout arithmetic; no floats."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

ODDS_SCALE = 1000
MIN_ODDS_MILLI = 1001  # 1.001: odds of 1.000 or less pay nothing back
MAX_ODDS_MILLI = 1_000_000  # 1000.0


class OddsError(ValueError):
    """Odds the sportsbook cannot accept."""


def parse_odds(text: str) -> int:
    """'2.15' → 2150. Refuses more than three decimals and odds outside (1, 1000]."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation as exc:
        raise OddsError(f"not decimal odds: {text!r}") from exc
    if not value.is_finite():
        raise OddsError(f"not decimal odds: {text!r}")
    scaled = value * ODDS_SCALE
    if scaled != scaled.to_integral_value():
        raise OddsError(f"odds {text!r} have more than three decimals")
    milli = int(scaled)
    if not MIN_ODDS_MILLI <= milli <= MAX_ODDS_MILLI:
        raise OddsError(f"odds {text!r} are outside 1.001..1000")
    return milli


def format_odds(milli: int) -> str:
    """2150 → '2.150'."""
    return f"{Decimal(milli).scaleb(-3):.3f}"


def payout(stake: int, odds_milli: int) -> int:
    """Stake × odds, rounded down to the minor unit."""
    return stake * odds_milli // ODDS_SCALE


def cashout_amount(stake: int, placed_milli: int, current_milli: int, margin_bps: int) -> int:
    """Stake × placed odds / current odds, less the margin, rounded down to the minor unit.

    This is the bet's fair value at the current price: backing the same selection now
    for ``stake × placed / current`` would return the same potential payout.
    """
    return stake * placed_milli * (10_000 - margin_bps) // (current_milli * 10_000)


def within_tolerance(requested_milli: int, current_milli: int, tolerance_bps: int) -> bool:
    """Current odds are at least the requested odds, or worse by at most the tolerance."""
    return current_milli * 10_000 >= requested_milli * (10_000 - tolerance_bps)
