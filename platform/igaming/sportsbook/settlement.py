"""Settlement of a market's bets when its result arrives, voids, and settlement rollbacks.

Each runs in the caller's unit of work, under the market's row lock, so a market's result
and all its bets' money move in one commit. Wallet keys carry the market's settlement
generation: a rollback starts the next generation, and the re-settlement pays again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from igaming.bonus import service as bonus_service
from igaming.bonus.wagering import Wager
from igaming.bootstrap import Platform
from igaming.sportsbook.bets import bet_event
from igaming.sportsbook.events import BetSettled, BetVoided, SettlementRolledBack
from igaming.sportsbook.models import Bet, Market, Selection, Settlement
from igaming.sportsbook.postings import credit, take_back
from igaming.uow import UnitOfWork

SETTLED_STATUSES = ("settled_won", "settled_lost", "void")


def _wager(bet: Bet) -> Wager:
    """What the stake counted towards wagering as, to take back or count again the same."""
    return Wager("sportsbook", odds_milli=bet.odds_milli)


def _bets(uow: UnitOfWork, market_id: str, statuses: tuple[str, ...]) -> list[Bet]:
    return list(
        uow.session.execute(
            select(Bet)
            .where(Bet.market_id == market_id, Bet.status.in_(statuses))
            .order_by(Bet.id)
            .with_for_update()
        ).scalars()
    )


def settle_market(
    p: Platform,
    uow: UnitOfWork,
    market: Market,
    results: dict[str, str],
    *,
    result_at: datetime,
    now: datetime,
    cancelled: bool = False,
) -> int:
    """Record the result and settle every accepted bet; selections not named lose.
    ``cancelled`` voids the whole market. Returns the number of bets settled."""
    gen, results = market.generation, dict(results)
    selections = uow.session.execute(
        select(Selection).where(Selection.market_id == market.id)
    ).scalars()
    for sel in selections:
        sel.result = "void" if cancelled else results.get(sel.id, "lost")
        sel.updated_at = now
        results[sel.id] = sel.result
    market.status = "cancelled" if cancelled else "settled"
    market.result_at, market.settled_at, market.updated_at = result_at, now, now
    bets = _bets(uow, market.id, ("accepted",))
    lag = max(0.0, (now - result_at).total_seconds())
    for bet in bets:
        outcome = results.get(bet.selection_id, "lost")
        tx_id: str | None = None
        if outcome in ("won", "void"):
            # A win pays the payout; a void refunds the stake. Both are credits to cash.
            won = outcome == "won"
            amount = bet.potential_payout if won else bet.stake
            tx_id = credit(
                p,
                uow.session,
                tx_type="win" if won else "reversal",
                key=f"{'win' if won else 'void'}:sportsbook:{bet.id}:g{gen}",
                player_id=bet.player_id,
                amount=amount,
                currency=bet.currency,
                now=now,
                reference=bet.stake_transaction_id,
            ).id
            if not won:
                bonus_service.stake_refunded(
                    uow, bet.player_id, bet.stake, bet.placed_at, wager=_wager(bet)
                )
            bet.status = "settled_won" if won else "void"
        else:
            amount = 0
            bet.status = "settled_lost"
        bet.payout, bet.generation = amount, gen
        bet.result_at, bet.settled_at, bet.settlement_lag_seconds = result_at, now, lag
        bet.updated_at = now
        uow.session.add(
            Settlement(
                bet_id=bet.id,
                market_id=market.id,
                generation=gen,
                action=outcome,
                amount=amount,
                currency=bet.currency,
                transaction_id=tx_id,
                result_at=result_at,
                settled_at=now,
                settlement_lag_seconds=lag,
            )
        )
        if outcome == "void":
            reason = "market_cancelled" if cancelled else "selection_void"
            uow.emit(
                bet_event(
                    BetVoided, bet, market.type, now, reason=reason, generation=gen, lag_seconds=lag
                )
            )
        else:
            uow.emit(
                bet_event(
                    BetSettled,
                    bet,
                    market.type,
                    now,
                    outcome=outcome,
                    payout=amount,
                    generation=gen,
                    lag_seconds=lag,
                )
            )
    return len(bets)


def rollback_market(p: Platform, uow: UnitOfWork, market: Market, *, now: datetime) -> int:
    """Undo the current settlement: take back wins and refunds, reopen the bets (accepted)
    and suspend the market until the feed prices it again. Returns the bets reopened."""
    gen = market.generation
    bets = _bets(uow, market.id, SETTLED_STATUSES)
    for bet in bets:
        credited = uow.session.execute(
            select(Settlement.transaction_id).where(
                Settlement.bet_id == bet.id,
                Settlement.generation == gen,
                Settlement.transaction_id.is_not(None),
                Settlement.action.in_(("won", "void")),
            )
        ).scalar_one_or_none()
        reversed_amount = 0
        tx_id: str | None = None
        if credited is not None:
            tx = take_back(
                p, uow.session, credited, key=f"rollback:sportsbook:{bet.id}:g{gen}", now=now
            )
            tx_id, reversed_amount = tx.id, tx.amount
            if bet.status == "void":  # the refund is undone: the stake is at risk again
                bonus_service.stake_retaken(
                    p.ledger, uow, bet.player_id, bet.stake, bet.placed_at, now, wager=_wager(bet)
                )
        uow.session.add(
            Settlement(
                bet_id=bet.id,
                market_id=market.id,
                generation=gen,
                action="rollback",
                amount=-reversed_amount,
                currency=bet.currency,
                transaction_id=tx_id,
                result_at=bet.result_at,
                settled_at=now,
                settlement_lag_seconds=None,
            )
        )
        bet.status, bet.payout, bet.generation = "accepted", None, None
        bet.result_at = bet.settled_at = bet.settlement_lag_seconds = None
        bet.updated_at = now
        uow.emit(
            bet_event(
                SettlementRolledBack,
                bet,
                market.type,
                now,
                reversed_amount=reversed_amount,
                generation=gen,
            )
        )
    for sel in uow.session.execute(
        select(Selection).where(Selection.market_id == market.id)
    ).scalars():
        sel.result, sel.updated_at = None, now
    market.status, market.generation = "suspended", gen + 1
    market.result_at = market.settled_at = None
    market.updated_at = now
    return len(bets)
