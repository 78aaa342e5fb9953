"""Errors of the sportsbook (RFC 7807 through igaming.errors.DomainError)."""

from __future__ import annotations

from igaming.errors import DomainError

# HTTP status of a refused bet, by reason: the player may not bet (403), the market or
# price moved under the request (409), the request itself is out of limits (422).
REJECTION_STATUS = {
    "self_excluded": 403,
    "player_restricted": 403,
    "odds_changed": 409,
    "market_suspended": 409,
    "market_closed": 409,
    "stake_too_low": 422,
    "stake_too_high": 422,
    "max_payout_exceeded": 422,
    "insufficient_funds": 422,
}


class BetRefused(DomainError):
    """A bet recorded as rejected; ``reason`` and ``bet_id`` travel in the problem body."""

    type, title = "bet-rejected", "Bet rejected"

    def __init__(self, detail: str, *, reason: str, bet_id: str) -> None:
        super().__init__(detail, reason=reason, bet_id=bet_id)
        self.status = REJECTION_STATUS.get(reason, 422)


class CashoutUnavailable(DomainError):
    status, type, title = 409, "cashout-unavailable", "Cash-out not available"
