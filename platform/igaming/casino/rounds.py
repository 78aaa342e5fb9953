"""What a bet, a win and a rollback do to a round and to the wallet.

Called by ``casino.seamless`` inside one unit of work, under the player's row lock, after
the request's transaction id was found to be new. Each returns a Decision; only decisions
marked ``final`` become the answer every retry of the same transaction id gets.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached

from igaming.bonus import service as bonus_service
from igaming.casino.events import (
    CasinoBetApplied,
    CasinoRollbackApplied,
    CasinoWinApplied,
    RoundCancelled,
    RoundCompleted,
)
from igaming.casino.models import CasinoGame, CasinoRound, CasinoSession, CasinoTransaction
from igaming.models import Player, WalletTransaction
from igaming.uow import UnitOfWork
from igaming.wallet.service import post_product_move, post_stake

if TYPE_CHECKING:
    from igaming.bootstrap import Platform


@dataclass
class Context:
    p: Platform
    uow: UnitOfWork
    provider: str
    now: datetime
    session: CasinoSession
    player: Player
    cash_balance: int


@dataclass
class Decision:
    outcome: str  # applied | already_rolled_back | the refusal code in lower case
    code: str | None = None  # the wire error code, None when the answer is OK
    message: str = ""
    final: bool = True
    platform_tx_id: str | None = None
    round: CasinoRound | None = None
    amount: int | None = None  # what a rollback gave back
    extra: dict[str, Any] = field(default_factory=dict)


def refuse(
    code: str, message: str, *, final: bool, outcome: str | None = None, **extra: Any
) -> Decision:
    return Decision(outcome or code.lower(), code, message, final=final, extra=extra)


# The hot path's statements, built once (as the ledger's are): building a statement and
# its cache key on every request was a large part of a seamless-wallet bet's cost.
_LOCKED_ROUND = (
    select(CasinoRound)
    .where(
        CasinoRound.provider == bindparam("provider"),
        CasinoRound.provider_round_id == bindparam("round"),
    )
    .with_for_update()
)
_TOMBSTONE = select(CasinoTransaction.id).where(
    CasinoTransaction.provider == bindparam("provider"),
    CasinoTransaction.reference_tx_id == bindparam("tx"),
    CasinoTransaction.kind == "rollback",
    CasinoTransaction.answer_key.is_not(None),
)


@cache
def _insert_round(dialect_name: str):  # type: ignore[no-untyped-def]
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return (
        dialect.insert(CasinoRound)
        .on_conflict_do_nothing(index_elements=["provider", "provider_round_id"])
        .returning(CasinoRound.id)
    )


def _locked_round(ctx: Context, provider_round_id: str) -> CasinoRound | None:
    return ctx.uow.session.execute(
        _LOCKED_ROUND, {"provider": ctx.provider, "round": provider_round_id}
    ).scalar_one_or_none()


def _open_round(ctx: Context, provider_round_id: str) -> CasinoRound:
    """The round, created at its first bet; concurrent first bets create it once."""
    s = ctx.uow.session
    game = s.get(CasinoGame, ctx.session.game_id)
    assert game is not None
    # Core on the session's connection: nothing is pending in the session before a round's
    # first bet (only reads so far), so skipping the ORM's autoflush changes nothing.
    conn = s.connection()
    values = {
        "id": str(uuid.uuid4()),
        "provider": ctx.provider,
        "provider_round_id": provider_round_id,
        "game_id": game.id,
        "game_type": game.type,
        "player_id": ctx.player.id,
        "currency": ctx.player.currency,
        "stake_minor": 0,
        "win_minor": 0,
        "open_bets": 0,
        "wins": 0,
        "status": "open",
        "started_at": ctx.now,
        "updated_at": ctx.now,
    }
    if conn.execute(_insert_round(conn.dialect.name), values).first() is not None:
        # Ours, and locked by our insert until the commit: attached to the session from
        # the values just written (as the ledger does with its transactions) instead of
        # read back, one statement fewer per round.
        rnd = CasinoRound(**values, ended_at=None, result_delay_seconds=None)
        make_transient_to_detached(rnd)
        s.add(rnd)
        return rnd
    rnd = _locked_round(ctx, provider_round_id)  # a concurrent first bet created it
    assert rnd is not None
    return rnd


def tombstoned(ctx: Context, provider_tx_id: str) -> bool:
    """A rollback for this id arrived before it (aggregators then refuse the late bet)."""
    # Core: called first thing in a bet, when the session has nothing pending to flush.
    conn = ctx.uow.session.connection()
    return (
        conn.execute(_TOMBSTONE, {"provider": ctx.provider, "tx": provider_tx_id}).first()
        is not None
    )


def _move(ctx: Context, tx_type: str, key: str, amount: int, rnd: CasinoRound, to_player: bool):  # type: ignore[no-untyped-def]
    move = dict(
        product="casino",
        idempotency_key=f"{tx_type}:casino:{ctx.provider}:{key}",
        player_id=ctx.player.id,
        amount=amount,
        currency=rnd.currency,
        now=ctx.now,
        # The round belongs to the request: the same provider id for another round is a
        # DUPLICATE_TRANSACTION (IdempotencyConflict).
        request={"player": ctx.player.id, "amount": amount, "round": rnd.provider_round_id},
        details={"provider": ctx.provider, "round_id": rnd.id},
        reference=rnd.id,
    )
    if to_player:
        started = post_product_move(ctx.p, ctx.uow.session, tx_type=tx_type, to_player=True, **move)
    else:
        started = post_stake(ctx.p, ctx.uow, **move)
    return started.transaction


def _money_event(cls, ctx: Context, rnd: CasinoRound, amount: int, tx_id: str | None, **kw):  # type: ignore[no-untyped-def]
    return cls(
        occurred_at=ctx.now,
        provider=ctx.provider,
        game_type=rnd.game_type,
        round_id=rnd.id,
        player_id=rnd.player_id,
        currency=rnd.currency,
        amount=amount,
        transaction_id=tx_id,
        **kw,
    )


def _end(ctx: Context, rnd: CasinoRound, status: str) -> None:
    rnd.status, rnd.ended_at, rnd.updated_at = status, ctx.now, ctx.now
    rnd.result_delay_seconds = max(0.0, (ctx.now - rnd.started_at).total_seconds())
    cls = RoundCompleted if status == "completed" else RoundCancelled
    ctx.uow.emit(
        cls(
            occurred_at=ctx.now,
            provider=ctx.provider,
            game_type=rnd.game_type,
            round_id=rnd.id,
            currency=rnd.currency,
            stake=rnd.stake_minor,
            win=rnd.win_minor,
            result_delay_seconds=rnd.result_delay_seconds,
        )
    )


def bet(ctx: Context, tx_id: str, round_id: str, amount: int, currency: str) -> Decision:
    if tombstoned(ctx, tx_id):
        return refuse(
            "DUPLICATE_TRANSACTION",
            f"transaction {tx_id} was rolled back before it arrived",
            final=True,
            outcome="tombstoned",
        )
    if currency != ctx.player.currency:
        return refuse("INVALID_REQUEST", f"this player plays in {ctx.player.currency}", final=False)
    rnd = _locked_round(ctx, round_id)
    if rnd is not None:
        if rnd.player_id != ctx.player.id or rnd.game_id != ctx.session.game_id:
            return refuse("INVALID_REQUEST", f"round {round_id} is another game's", final=False)
        if rnd.status != "open":
            return refuse("ROUND_CLOSED", f"round {round_id} is {rnd.status}", final=True)
    if ctx.cash_balance < amount:
        # Checked before the round exists: a refused first bet leaves no open round behind.
        return refuse(
            "INSUFFICIENT_FUNDS",
            "balance too low for this bet",
            final=True,
            balance=ctx.cash_balance,
            currency=ctx.player.currency,
        )
    if rnd is None:
        rnd = _open_round(ctx, round_id)
        if rnd.player_id != ctx.player.id:  # another player's bet opened it meanwhile
            return refuse("INVALID_REQUEST", f"round {round_id} is another game's", final=False)
    tx = _move(ctx, "bet", tx_id, amount, rnd, to_player=False)
    rnd.stake_minor += amount
    rnd.open_bets += 1
    rnd.updated_at = ctx.now
    ctx.uow.emit(_money_event(CasinoBetApplied, ctx, rnd, amount, tx.id))
    return Decision("applied", platform_tx_id=tx.id, round=rnd)


def win(
    ctx: Context, tx_id: str, round_id: str, amount: int, currency: str, round_closed: bool
) -> Decision:
    rnd = _locked_round(ctx, round_id)
    if rnd is None:
        # The bet may still be on its way (out-of-order delivery): the provider retries.
        return refuse("TRANSACTION_NOT_FOUND", f"no bet in round {round_id}", final=False)
    if rnd.player_id != ctx.player.id:
        return refuse("INVALID_REQUEST", f"round {round_id} belongs to another player", final=False)
    if currency != rnd.currency:
        return refuse(
            "INVALID_REQUEST", f"round {round_id} is played in {rnd.currency}", final=False
        )
    if rnd.status != "open":
        return refuse("ROUND_CLOSED", f"round {round_id} is {rnd.status}", final=True)
    platform_tx_id = None
    if amount > 0:
        platform_tx_id = _move(ctx, "win", tx_id, amount, rnd, to_player=True).id
    rnd.win_minor += amount
    rnd.wins += 1
    rnd.updated_at = ctx.now
    ctx.uow.emit(
        _money_event(CasinoWinApplied, ctx, rnd, amount, platform_tx_id, round_closed=round_closed)
    )
    if round_closed:
        _end(ctx, rnd, "completed")
    return Decision("applied", platform_tx_id=platform_tx_id, round=rnd)


def rollback(ctx: Context, tx_id: str, round_id: str, reference_tx_id: str) -> Decision:
    s = ctx.uow.session
    original = s.execute(
        select(CasinoTransaction).where(
            CasinoTransaction.answer_key == answer_key(ctx.provider, reference_tx_id)
        )
    ).scalar_one_or_none()
    if original is None:
        # Recorded as final: it is the tombstone that refuses the bet if it arrives later.
        return refuse(
            "TRANSACTION_NOT_FOUND", f"no transaction {reference_tx_id} to roll back", final=True
        )
    if original.kind != "bet":
        return refuse("INVALID_REQUEST", "only bets can be rolled back", final=False)
    if original.player_id != ctx.player.id or original.provider_round_id != round_id:
        return refuse(
            "INVALID_REQUEST", f"{reference_tx_id} is not a bet of this round", final=False
        )
    if original.outcome != "applied" or original.platform_tx_id is None:
        return refuse(
            "TRANSACTION_NOT_FOUND", f"bet {reference_tx_id} was refused: nothing moved", final=True
        )
    rnd = _locked_round(ctx, round_id)
    assert rnd is not None
    wallet_tx = s.get(WalletTransaction, original.platform_tx_id, with_for_update=True)
    assert wallet_tx is not None
    if wallet_tx.status == "reversed":
        earlier = s.execute(
            select(WalletTransaction.id).where(
                WalletTransaction.reference == wallet_tx.id, WalletTransaction.type == "rollback"
            )
        ).scalar_one_or_none()
        return Decision("already_rolled_back", platform_tx_id=earlier, round=rnd, amount=0)
    if rnd.status != "open" or rnd.wins:
        return refuse(
            "ROUND_CLOSED", f"round {round_id} has its result: too late to roll back", final=True
        )
    reversal = ctx.p.ledger.reverse(
        s,
        wallet_tx.id,
        now=ctx.now,
        idempotency_key=f"rollback:casino:{ctx.provider}:{tx_id}",
        reason="provider_rollback",
        tx_type="rollback",
    ).transaction
    amount = original.amount_minor or 0
    bonus_service.stake_refunded(ctx.uow, ctx.player.id, amount, wallet_tx.created_at)
    rnd.stake_minor -= amount
    rnd.open_bets -= 1
    rnd.updated_at = ctx.now
    ctx.uow.emit(_money_event(CasinoRollbackApplied, ctx, rnd, amount, reversal.id))
    if rnd.open_bets == 0:
        _end(ctx, rnd, "cancelled")
    return Decision("applied", platform_tx_id=reversal.id, round=rnd, amount=amount)


def answer_key(provider: str, provider_tx_id: str) -> str:
    return f"{provider}:{provider_tx_id}"
