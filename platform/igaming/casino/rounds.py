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
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from igaming.bonus import service as bonus_service
from igaming.bonus.wagering import Wager
from igaming.casino.events import (
    CasinoBetApplied,
    CasinoRollbackApplied,
    CasinoWinApplied,
    RoundCancelled,
    RoundCompleted,
)
from igaming.casino.models import CasinoRound, CasinoTransaction
from igaming.fastsql import execute
from igaming.models import WalletTransaction
from igaming.uow import UnitOfWork
from igaming.wallet.service import post_product_move, post_stake

if TYPE_CHECKING:
    from igaming.bootstrap import Platform


class Caller(NamedTuple):
    """Whose request it is: read with the session, under the player's row lock."""

    player_id: str
    currency: str  # the player's
    game_id: str  # the session's game
    game_type: str


@dataclass
class Context:
    p: Platform
    uow: UnitOfWork
    provider: str
    now: datetime
    caller: Caller
    cash_balance: int


_ROUND_COLUMNS = tuple(c.name for c in CasinoRound.__table__.c)
RoundStatus = Literal["open", "completed", "cancelled"]


class Round:
    """A casino round's row, read and written in Core on the request's connection (the
    ORM's identity map, attribute events and flush were a large share of a request's
    cost); ``save`` writes what a decision changed."""

    __slots__ = _ROUND_COLUMNS
    # CasinoRound's columns, as the type checker sees them (slots hold no annotations).
    id: str
    provider: str
    provider_round_id: str
    game_id: str
    game_type: str
    player_id: str
    currency: str
    stake_minor: int
    win_minor: int
    open_bets: int
    wins: int
    status: RoundStatus
    started_at: datetime
    ended_at: datetime | None
    result_delay_seconds: float | None
    updated_at: datetime

    def __init__(self, **values: Any) -> None:
        for name in _ROUND_COLUMNS:
            setattr(self, name, values[name])

    def save(self, ctx: Context) -> None:
        values = {f"new_{name}": getattr(self, name) for name in _SAVED}
        execute(ctx.uow.session.connection(), _SAVE_ROUND, {"round_id": self.id, **values})


@dataclass
class Decision:
    outcome: str  # applied | already_rolled_back | the refusal code in lower case
    code: str | None = None  # the wire error code, None when the answer is OK
    message: str = ""
    final: bool = True
    platform_tx_id: str | None = None
    round: Round | None = None
    amount: int | None = None  # what a rollback gave back
    extra: dict[str, Any] = field(default_factory=dict)


def refuse(
    code: str, message: str, *, final: bool, outcome: str | None = None, **extra: Any
) -> Decision:
    return Decision(outcome or code.lower(), code, message, final=final, extra=extra)


# The hot path's statements, built once (as the ledger's are): building a statement and
# its cache key on every request was a large part of a seamless-wallet bet's cost.
_LOCKED_ROUND = (
    select(*CasinoRound.__table__.c)
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
# What a decision changes in a round (the rest is fixed when the round opens).
_SAVED = (
    "stake_minor",
    "win_minor",
    "open_bets",
    "wins",
    "status",
    "ended_at",
    "result_delay_seconds",
    "updated_at",
)
_rounds = CasinoRound.__table__
_SAVE_ROUND = (
    update(_rounds)
    .where(_rounds.c.id == bindparam("round_id"))
    .values({name: bindparam(f"new_{name}") for name in _SAVED})
)
# The first, final answer for a transaction id (CasinoTransaction's row, as Core).
ANSWER = select(*CasinoTransaction.__table__.c).where(
    CasinoTransaction.answer_key == bindparam("key")
)


@cache
def _insert_round(dialect_name: str):
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return (
        dialect.insert(CasinoRound)
        .on_conflict_do_nothing(index_elements=["provider", "provider_round_id"])
        .returning(CasinoRound.id)
    )


def _locked_round(ctx: Context, provider_round_id: str) -> Round | None:
    conn = ctx.uow.session.connection()
    params = {"provider": ctx.provider, "round": provider_round_id}
    row = execute(conn, _LOCKED_ROUND, params).first()
    return None if row is None else Round(**row._asdict())


def _open_round(ctx: Context, provider_round_id: str, stake: int) -> tuple[Round, bool]:
    """The round, created at its first bet with that bet's stake (the caller's unit of
    work rolls back if the bet then fails); concurrent first bets create it once. True
    if this call created it."""
    values = {
        "id": str(uuid.uuid4()),
        "provider": ctx.provider,
        "provider_round_id": provider_round_id,
        "game_id": ctx.caller.game_id,
        "game_type": ctx.caller.game_type,
        "player_id": ctx.caller.player_id,
        "currency": ctx.caller.currency,
        "stake_minor": stake,
        "win_minor": 0,
        "open_bets": 1,
        "wins": 0,
        "status": "open",
        "started_at": ctx.now,
        "updated_at": ctx.now,
    }
    conn = ctx.uow.session.connection()
    if execute(conn, _insert_round(conn.dialect.name), values).first() is not None:
        # Ours, and locked by our insert until the commit: nothing to read back.
        return Round(**values, ended_at=None, result_delay_seconds=None), True
    rnd = _locked_round(ctx, provider_round_id)  # a concurrent first bet created it
    assert rnd is not None
    return rnd, False


def tombstoned(ctx: Context, provider_tx_id: str) -> bool:
    """A rollback for this id arrived before it (aggregators then refuse the late bet)."""
    # Core: called first thing in a bet, when the session has nothing pending to flush.
    conn = ctx.uow.session.connection()
    return (
        execute(conn, _TOMBSTONE, {"provider": ctx.provider, "tx": provider_tx_id}).first()
        is not None
    )


def _move(ctx: Context, tx_type: str, key: str, amount: int, rnd: Round, to_player: bool):
    move: dict[str, Any] = dict(
        product="casino",
        idempotency_key=f"{tx_type}:casino:{ctx.provider}:{key}",
        player_id=ctx.caller.player_id,
        amount=amount,
        currency=rnd.currency,
        now=ctx.now,
        # The round belongs to the request: the same provider id for another round is a
        # DUPLICATE_TRANSACTION (IdempotencyConflict).
        request={"player": ctx.caller.player_id, "amount": amount, "round": rnd.provider_round_id},
        details={"provider": ctx.provider, "round_id": rnd.id},
        reference=rnd.id,
    )
    if to_player:
        started = post_product_move(ctx.p, ctx.uow.session, tx_type=tx_type, to_player=True, **move)
    else:
        started = post_stake(ctx.p, ctx.uow, wager=Wager("casino", rnd.game_type), **move)
    return started.transaction


def _money_event(cls, ctx: Context, rnd: Round, amount: int, tx_id: str | None, **kw):
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


def _end(ctx: Context, rnd: Round, status: RoundStatus) -> None:
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
    caller = ctx.caller
    if currency != caller.currency:
        return refuse("INVALID_REQUEST", f"this player plays in {caller.currency}", final=False)
    rnd = _locked_round(ctx, round_id)
    if rnd is not None:
        if rnd.player_id != caller.player_id or rnd.game_id != caller.game_id:
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
            currency=caller.currency,
        )
    opened = False
    if rnd is None:
        rnd, opened = _open_round(ctx, round_id, amount)
        if rnd.player_id != caller.player_id:  # another player's bet opened it meanwhile
            return refuse("INVALID_REQUEST", f"round {round_id} is another game's", final=False)
    tx = _move(ctx, "bet", tx_id, amount, rnd, to_player=False)
    if not opened:  # a round we opened holds this stake already
        rnd.stake_minor += amount
        rnd.open_bets += 1
        rnd.updated_at = ctx.now
        rnd.save(ctx)
    ctx.uow.emit(_money_event(CasinoBetApplied, ctx, rnd, amount, tx.id))
    return Decision("applied", platform_tx_id=tx.id, round=rnd)


def win(
    ctx: Context, tx_id: str, round_id: str, amount: int, currency: str, round_closed: bool
) -> Decision:
    rnd = _locked_round(ctx, round_id)
    if rnd is None:
        # The bet may still be on its way (out-of-order delivery): the provider retries.
        return refuse("TRANSACTION_NOT_FOUND", f"no bet in round {round_id}", final=False)
    if rnd.player_id != ctx.caller.player_id:
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
    rnd.save(ctx)
    return Decision("applied", platform_tx_id=platform_tx_id, round=rnd)


def rollback(ctx: Context, tx_id: str, round_id: str, reference_tx_id: str) -> Decision:
    s = ctx.uow.session
    key = answer_key(ctx.provider, reference_tx_id)
    original = execute(s.connection(), ANSWER, {"key": key}).first()
    if original is None:
        # Recorded as final: it is the tombstone that refuses the bet if it arrives later.
        return refuse(
            "TRANSACTION_NOT_FOUND", f"no transaction {reference_tx_id} to roll back", final=True
        )
    if original.kind != "bet":
        return refuse("INVALID_REQUEST", "only bets can be rolled back", final=False)
    if original.player_id != ctx.caller.player_id or original.provider_round_id != round_id:
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
    bonus_service.stake_refunded(
        ctx.uow,
        ctx.caller.player_id,
        amount,
        wallet_tx.created_at,
        wager=Wager("casino", rnd.game_type),
    )
    rnd.stake_minor -= amount
    rnd.open_bets -= 1
    rnd.updated_at = ctx.now
    ctx.uow.emit(_money_event(CasinoRollbackApplied, ctx, rnd, amount, reversal.id))
    if rnd.open_bets == 0:
        _end(ctx, rnd, "cancelled")
    rnd.save(ctx)
    return Decision("applied", platform_tx_id=reversal.id, round=rnd, amount=amount)


def answer_key(provider: str, provider_tx_id: str) -> str:
    return f"{provider}:{provider_tx_id}"
