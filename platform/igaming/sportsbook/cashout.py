"""Cash-out: an accepted, unsettled bet on an active market is closed at its current value."""

from __future__ import annotations

from dataclasses import dataclass

from igaming.bootstrap import Platform
from igaming.errors import NotFound
from igaming.sportsbook.bets import bet_event
from igaming.sportsbook.errors import CashoutUnavailable
from igaming.sportsbook.events import BetCashedOut
from igaming.sportsbook.limits import SportsbookLimits
from igaming.sportsbook.models import Bet, Market, Selection, Settlement
from igaming.sportsbook.odds import cashout_amount
from igaming.sportsbook.postings import credit


@dataclass(frozen=True)
class CashoutQuote:
    bet_id: str
    amount: int
    currency: str
    current_odds_milli: int


def _check(bet: Bet, market: Market) -> None:
    if bet.status != "accepted":
        raise CashoutUnavailable(f"bet is {bet.status}", reason="bet_not_open")
    if market.status != "active":
        raise CashoutUnavailable(f"market is {market.status}", reason=f"market_{market.status}")


def quote(p: Platform, player_id: str, bet_id: str, limits: SportsbookLimits | None = None):
    """What a cash-out would pay now."""
    limits = limits or SportsbookLimits.from_settings(p.settings)
    with p.session_factory() as session:
        bet = session.get(Bet, bet_id)
        if bet is None or bet.player_id != player_id:
            raise NotFound(f"bet {bet_id} not found")
        market = session.get(Market, bet.market_id)
        selection = session.get(Selection, bet.selection_id)
        assert market is not None and selection is not None
        _check(bet, market)
        amount = cashout_amount(
            bet.stake, bet.odds_milli, selection.odds_milli, limits.cashout_margin_bps
        )
        return CashoutQuote(bet.id, amount, bet.currency, selection.odds_milli)


def cash_out(
    p: Platform,
    player_id: str,
    bet_id: str,
    *,
    minimum_amount: int | None = None,
    limits: SportsbookLimits | None = None,
) -> Bet:
    """Close the bet at stake × placed odds / current odds less the margin (rounded down).
    ``minimum_amount`` (the quote the player accepted) refuses a lower value. Repeating a
    completed cash-out returns the bet."""
    limits = limits or SportsbookLimits.from_settings(p.settings)
    now = p.clock.now()
    with p.uow() as uow:
        s = uow.session
        found = s.get(Bet, bet_id)
        if found is None or found.player_id != player_id:
            raise NotFound(f"bet {bet_id} not found")
        # Lock order market → bet, as settlement takes them.
        market = s.get(Market, found.market_id, with_for_update=True)
        bet = s.get(Bet, bet_id, with_for_update=True, populate_existing=True)
        assert market is not None and bet is not None
        if bet.status == "cashed_out":
            uow.commit()  # nothing to write; keeps the loaded bet readable after the session
            return bet
        _check(bet, market)
        selection = s.get(Selection, bet.selection_id)
        assert selection is not None
        amount = cashout_amount(
            bet.stake, bet.odds_milli, selection.odds_milli, limits.cashout_margin_bps
        )
        if minimum_amount is not None and amount < minimum_amount:
            raise CashoutUnavailable(
                f"cash-out value is now {amount}, below {minimum_amount}",
                reason="value_changed",
                amount=amount,
            )
        if amount <= 0:
            raise CashoutUnavailable("cash-out value is zero", reason="no_value")
        tx = credit(
            p,
            s,
            tx_type="win",
            key=f"win:sportsbook:{bet.id}:cashout",
            player_id=player_id,
            amount=amount,
            currency=bet.currency,
            now=now,
            reference=bet.stake_transaction_id,
        )
        bet.status, bet.payout, bet.settled_at, bet.updated_at = "cashed_out", amount, now, now
        s.add(
            Settlement(
                bet_id=bet.id,
                market_id=market.id,
                generation=market.generation,
                action="cashout",
                amount=amount,
                currency=bet.currency,
                transaction_id=tx.id,
                result_at=None,
                settled_at=now,
                settlement_lag_seconds=None,
            )
        )
        uow.emit(
            bet_event(
                BetCashedOut,
                bet,
                market.type,
                now,
                amount=amount,
                current_odds_milli=selection.odds_milli,
            )
        )
        uow.commit()
        return bet
