"""Trading limits of the sportsbook, in minor units of the bet's currency."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class SportsbookLimits:
    min_stake: int = 10
    max_stake: int = 1_000_000
    # Sum of the potential payouts of a market's open bets, per currency.
    max_market_liability: int = 5_000_000
    # How much worse than requested the current odds may be and the bet still accepted.
    odds_tolerance_bps: int = 0
    cashout_margin_bps: int = 500

    @classmethod
    def from_settings(cls, settings: Any) -> SportsbookLimits:
        """Read ``sportsbook_<field>`` from the settings where present, else the defaults."""
        values = {
            f.name: getattr(settings, f"sportsbook_{f.name}")
            for f in fields(cls)
            if getattr(settings, f"sportsbook_{f.name}", None) is not None
        }
        return cls(**values)
