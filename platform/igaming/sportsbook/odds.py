"""Decimal odds as integers (odds × 1000) and the payout arithmetic; no floats."""

from __future__ import annotations

import re
from decimal import Decimal

ODDS_SCALE = 1000
MIN_ODDS_MILLI = 1001  # 1.001: odds of 1.000 or less pay nothing back
MAX_ODDS_MILLI = 1_000_000  # 1000.0
# ASCII digits only: \d would also take other scripts' digits, which int() reads.
_ODDS_SHAPE = re.compile(r"([0-9]{1,4})(?:\.([0-9]{1,3}))?")


class OddsError(ValueError):
    """Odds the sportsbook cannot accept."""


def parse_odds(text: str) -> int:
    """'2.15' → 2150. Accepts only plain decimals: 1 to 4 ASCII digits, optionally a point
    and 1 to 3 more ('2', '2.1', '2.15', '1000.000'; surrounding blanks are ignored), within
    1.001..1000. Anything else ('1e3', 'NaN', '-2', '+2', '2.', '.5', '2.1234') is refused
    by its shape, before any arithmetic: Decimal would read '1e500000' and turning that into
    an int holds the GIL for seconds to minutes, '1e1000000' overflows its context."""
    match = _ODDS_SHAPE.fullmatch(str(text).strip())
    if match is None:
        raise OddsError(
            f"not decimal odds: {str(text)[:24]!r}: decimal odds are 1 to 4 digits, "
            "optionally a point and at most three decimals, e.g. '2.15'"
        )
    whole, decimals = match.group(1), match.group(2) or ""
    milli = int(whole) * ODDS_SCALE + int(decimals.ljust(3, "0"))
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
