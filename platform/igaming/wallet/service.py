"""Wallet operations the products call: stakes, wins and balances.

Products (sportsbook, casino) move money only through these, each idempotent by the
product's own id (bet id, provider transaction id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ground.money import check_amount, check_currency
from igaming.bonus import service as bonus_service
from igaming.bonus.wagering import Wager
from igaming.bootstrap import Platform
from igaming.errors import InsufficientFunds, ValidationFailed
from igaming.events import IdempotentReplay, WalletTransactionFailed
from igaming.models import Account, WalletTransaction
from igaming.tracing import annotate, traced
from igaming.uow import UnitOfWork
from igaming.wallet.accounts import house_account, player_account
from igaming.wallet.ledger import Posting, PostResult

PRODUCTS = ("sportsbook", "casino")


@dataclass(frozen=True)
class Balances:
    currency: str
    cash: int
    bonus: int
    withdrawal_pending: int


@traced("wallet.product_move")
def post_product_move(
    p: Platform,
    session: Session,
    *,
    product: str,
    tx_type: str,
    idempotency_key: str,
    player_id: str,
    amount: int,
    currency: str,
    to_player: bool,
    now: datetime,
    reference: str | None = None,
    request: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> PostResult:
    """Move ``amount`` between the player's cash and the product's house account inside
    the caller's transaction (so a bet's state and its money commit together).

    Raises InsufficientFunds or IdempotencyConflict; the caller's unit of work must then
    roll back, which it does unless it commits.
    """
    if product not in PRODUCTS:
        raise ValidationFailed(f"unknown product {product!r}")
    annotate(tx_type=tx_type, product=product)
    started = p.ledger.begin(
        session,
        now=now,
        tx_type=tx_type,
        idempotency_key=idempotency_key,
        currency=currency,
        amount=amount,
        player_id=player_id,
        request=request or {"player": player_id, "amount": amount, "currency": currency},
        reference=reference,
        details={"product": product, **(details or {})},
        status="completed",  # entries follow in this same database transaction
    )
    if started.replayed:
        annotate(replayed=True)
        return started
    sign = 1 if to_player else -1
    p.ledger.post(
        session,
        started.transaction,
        [
            Posting(player_account(player_id, "cash", currency), sign * amount),
            Posting(house_account(product, currency), -sign * amount),
        ],
        now=now,
    )
    return started


def post_stake(p: Platform, uow: UnitOfWork, *, wager: Wager, **kwargs: Any) -> PostResult:
    """A cash stake inside the caller's unit of work; it counts towards bonus wagering as
    much as the offer's terms weigh ``wager`` (the game's type, the bet's odds)."""
    started = post_product_move(p, uow.session, tx_type="bet", to_player=False, **kwargs)
    if not started.replayed:  # lock order: accounts, then the bonus row (bonus.service)
        bonus = bonus_service.open_bonus_for_update(uow.session, kwargs["player_id"])
        bonus_service.on_stake(p.ledger, uow, bonus, kwargs["amount"], kwargs["now"], wager=wager)
    return started


def _move(
    p: Platform,
    *,
    tx_type: str,
    player_id: str,
    product: str,
    amount: int,
    currency: str,
    idempotency_key: str,
    to_player: bool,
    reference: str | None = None,
    wager: Wager | None = None,
) -> WalletTransaction:
    check_amount(amount)
    check_currency(currency)
    now = p.clock.now()
    move: dict[str, Any] = dict(
        product=product,
        idempotency_key=f"{tx_type}:{product}:{idempotency_key}",
        player_id=player_id,
        amount=amount,
        currency=currency,
        now=now,
    )
    try:
        with p.uow() as uow:
            if to_player:
                started = post_product_move(
                    p, uow.session, tx_type=tx_type, to_player=True, reference=reference, **move
                )
            else:
                started = post_stake(p, uow, wager=wager or Wager(product), **move)
            if started.replayed:
                uow.emit(IdempotentReplay(occurred_at=now, tx_type=tx_type))
            uow.commit()
            return started.transaction
    except (InsufficientFunds, ValidationFailed) as exc:
        reason = "insufficient_funds" if isinstance(exc, InsufficientFunds) else "invalid"
        p.bus.publish([WalletTransactionFailed(occurred_at=now, tx_type=tx_type, reason=reason)])
        raise


def place_stake(
    p: Platform,
    player_id: str,
    *,
    product: str,
    amount: int,
    currency: str,
    idempotency_key: str,
    game_type: str | None = None,
    odds_milli: int | None = None,
) -> WalletTransaction:
    """Debit a stake from the player's cash to the product's house account. Without the
    game's type (casino) or the bet's odds (sportsbook) it counts nothing towards a bonus."""
    return _move(
        p,
        tx_type="bet",
        player_id=player_id,
        product=product,
        amount=amount,
        currency=currency,
        idempotency_key=idempotency_key,
        to_player=False,
        wager=Wager(product, game_type, odds_milli),
    )


def pay_win(
    p: Platform,
    player_id: str,
    *,
    product: str,
    amount: int,
    currency: str,
    idempotency_key: str,
    bet_transaction_id: str | None = None,
) -> WalletTransaction:
    """Credit a win from the product's house account to the player's cash."""
    return _move(
        p,
        tx_type="win",
        player_id=player_id,
        product=product,
        amount=amount,
        currency=currency,
        idempotency_key=idempotency_key,
        to_player=True,
        reference=bet_transaction_id,
    )


def balances(p: Platform, player_id: str) -> list[Balances]:
    with p.session_factory() as session:
        rows = session.execute(
            select(Account.currency, Account.kind, Account.balance).where(
                Account.owner == player_id
            )
        ).all()
    by_currency: dict[str, dict[str, int]] = {}
    for currency, kind, amount in rows:
        by_currency.setdefault(currency, {})[kind] = amount
    return [
        Balances(c, k.get("cash", 0), k.get("bonus", 0), k.get("withdrawal_pending", 0))
        for c, k in sorted(by_currency.items())
    ]
