"""The sportsbook's wallet movements, posted inside the caller's unit of work so that a
bet's state and its money change in one commit. Keys and postings are those of
``igaming.wallet.service`` (``bet:sportsbook:<bet id>``, house account ``sportsbook``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from igaming.bonus.wagering import Wager
from igaming.bootstrap import Platform
from igaming.errors import NotFound
from igaming.models import WalletTransaction
from igaming.uow import UnitOfWork
from igaming.wallet.accounts import player_account
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
    odds_milli: int,
) -> WalletTransaction:
    """Debit the stake (raises InsufficientFunds); idempotent by bet id. ``odds_milli``, the
    bet's accepted odds, decides whether it counts towards a bonus's wagering."""
    return post_stake(
        p,
        uow,
        wager=Wager(PRODUCT, odds_milli=odds_milli),
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
    """Reverse a credit (``rollback``). The feed's correction is not optional: a player who
    already spent the credit goes negative, and the debt is posted, flagged, to collect.
    The posting decides under the cash row lock; reading the balance first would race
    another debit and lose the rollback."""
    original = session.get(WalletTransaction, original_id)
    if original is None:
        raise NotFound(f"transaction {original_id} not found")
    cash = player_account(original.player_id or "", "cash", original.currency)
    return p.ledger.reverse(
        session,
        original_id,
        now=now,
        idempotency_key=key,
        reason="settlement rollback",
        tx_type="rollback",
        allow_negative=frozenset({cash}),
    ).transaction
