"""How much of a cash stake counts towards a bonus's wagering requirement (docs/bonus.md).

The weights are the offer's terms (``BonusOffer.wagering_weights_bps``): a stake counts
``stake × weight_bps // 10_000``. They are keyed by the casino game's catalogue ``type``
(``slots``, ``table``, ``live``) or by ``sportsbook``; a key the terms do not name counts
nothing. A sportsbook stake counts only at decimal odds of at least
``BonusOffer.min_odds_milli`` (a short price is nearly a sure thing: wagering it clears the
requirement at almost no risk).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

SPORTSBOOK = "sportsbook"


@dataclass(frozen=True)
class Wager:
    """What a stake was placed on, as far as wagering is concerned."""

    product: str  # casino | sportsbook
    game_type: str | None = None  # the casino game's catalogue type
    odds_milli: int | None = None  # the sportsbook bet's accepted odds × 1000


def counted(amount: int, wager: Wager, weights_bps: Mapping[str, int], min_odds_milli: int) -> int:
    """The part of ``amount`` that counts, in minor units (rounded down)."""
    if wager.product == SPORTSBOOK:
        if wager.odds_milli is None or wager.odds_milli < min_odds_milli:
            return 0
        key: str | None = SPORTSBOOK
    else:
        key = wager.game_type
    weight = int(weights_bps.get(key, 0)) if key is not None else 0
    return amount * weight // 10_000
