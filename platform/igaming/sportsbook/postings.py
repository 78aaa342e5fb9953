"""The sportsbook's wallet movements, posted inside the caller's unit of work so that a
bet's state and its money change in one commit. Keys and postings are those of
``igaming.wallet.service`` (``bet:sportsbook:<bet id>``, house account ``sportsbook``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from igaming.bootstrap import Platform
from igaming.errors import NotFound
from igaming.models import Account, WalletTransaction
from igaming.uow import UnitOfWork
from igaming.wallet.accounts import house_account, player_account
from igaming.wallet.ledger import Posting
from igaming.wallet.service import post_product_move, post_stake

PRODUCT = "sportsbook"


def take_stake(
    p: Platform,
    uow: UnitOfWork,
    *,
    bet_id: str,
    player_id: str,
    amount: int,
    currency: str,
    now: datetime,
) -> WalletTransaction:
    """Debit the stake (raises InsufficientFunds); idempotent by bet id."""
    return post_stake(
        p,
        uow,
        product=PRODUCT,
        idempotency_key=f"bet:{PRODUCT}:{bet_id}",
        player_id=player_id,
        amount=amount,
        currency=currency,
        now=now,
    ).transaction


def credit(
    p: Platform,
    session: Session,
    *,
    tx_type: str,
    key: str,
    player_id: str,
    amount: int,
    currency: str,
    now: datetime,
    reference: str | None,
) -> WalletTransaction:
    """Credit a win, a cash-out (``win``) or a void refund (``reversal``) to cash."""
    return post_product_move(
        p,
        session,
        product=PRODUCT,
        tx_type=tx_type,
        idempotency_key=key,
        player_id=player_id,
        amount=amount,
        currency=currency,
        to_player=True,
        now=now,
        reference=reference,
    ).transaction


def take_back(
    p: Platform, session: Session, original_id: str, *, key: str, now: datetime
) -> WalletTransaction:
    """Reverse a credit (``rollback``). A player who already spent it goes negative: the
    feed's correction is not optional, so the debt is posted, flagged, and left to collect."""
    original = session.get(WalletTransaction, original_id)
    if original is None:
        raise NotFound(f"transaction {original_id} not found")
    cash = player_account(original.player_id or "", "cash", original.currency)
    balance = session.execute(
        select(Account.balance).where(
            Account.owner == cash.owner, Account.kind == "cash", Account.currency == cash.currency
        )
    ).scalar_one()
    reason = "settlement rollback"
    if balance >= original.amount:
        return p.ledger.reverse(
            session, original_id, now=now, idempotency_key=key, reason=reason, tx_type="rollback"
        ).transaction
    started = p.ledger.begin(
        session,
        now=now,
        tx_type="rollback",
        idempotency_key=key,
        currency=original.currency,
        amount=original.amount,
        player_id=original.player_id,
        request={"reverses": original_id, "reason": reason},
        reference=original_id,
        details={"reason": reason},
    )
    if started.replayed:
        return started.transaction
    # Every sportsbook credit moved ``amount`` from the house account to the player's cash.
    p.ledger.post(
        session,
        started.transaction,
        [
            Posting(cash, -original.amount),
            Posting(house_account(PRODUCT, cash.currency), original.amount),
        ],
        now=now,
        status="completed",
        allow_negative=frozenset({cash}),
    )
    p.ledger.set_status(original, "reversed", now)
    return started.transaction
