"""The seamless-wallet API the game providers call: balance, bet, win, rollback.

Every request is signed (``X-Signature: t=<unix>,v1=<hex>``, HMAC-SHA256 over
``t.POST /casino/seamless/<provider>/<action>.body`` with the provider's secret, 300 s
window; ``casino.signing``). Answers use the aggregator vocabulary
(docs/casino-seamless-wallet.md), never a 500. A transaction id is answered once: a
retry with the same body gets the first answer, another body with the same id is
DUPLICATE_TRANSACTION and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError
from sqlalchemy import Row, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from ground.money import MAX_AMOUNT_MINOR
from igaming.casino import rounds
from igaming.casino.events import SeamlessRequestRefused, SeamlessRequestReplayed
from igaming.casino.launch import token_hash
from igaming.casino.models import CasinoGame, CasinoSession, CasinoTransaction
from igaming.casino.sessions import may_stake
from igaming.errors import IdempotencyConflict, InsufficientFunds
from igaming.fastsql import execute
from igaming.models import Account, Player
from igaming.partners.pseudonyms import GAME_PROVIDER_REF_HEX_CHARS, player_ref
from igaming.partners.request_signing import (
    SIGNATURE_HEADER as SIGNATURE_HEADER,  # the callers' name
)
from igaming.partners.request_signing import verify_request
from igaming.partners.signing import SignatureError

if TYPE_CHECKING:
    from igaming.bootstrap import Platform

log = logging.getLogger(__name__)

ACTIONS = ("balance", "bet", "win", "rollback")
HTTP_STATUS: dict[str, int] = {
    "INVALID_REQUEST": 400,
    "INVALID_SIGNATURE": 401,
    "INVALID_SESSION": 403,
    "TRANSACTION_NOT_FOUND": 404,
    "DUPLICATE_TRANSACTION": 409,
    "ROUND_CLOSED": 409,
    "INSUFFICIENT_FUNDS": 422,
}

Id = Annotated[str, Field(min_length=1, max_length=100)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    session_token: Annotated[str, Field(min_length=1, max_length=200)]


class BalanceIn(_Body):
    pass


class BetIn(_Body):
    transaction_id: Id
    round_id: Id
    amount: Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT_MINOR)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class WinIn(BetIn):
    amount: Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT_MINOR)]
    round_closed: StrictBool = True


class RollbackIn(_Body):
    transaction_id: Id
    round_id: Id
    reference_transaction_id: Id


MODELS: dict[str, type[_Body]] = {
    "balance": BalanceIn,
    "bet": BetIn,
    "win": WinIn,
    "rollback": RollbackIn,
}


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: dict[str, Any]


def ok(balance: int, currency: str, transaction_id: str | None = None) -> Answer:
    body: dict[str, Any] = {"status": "OK", "balance": balance, "currency": currency}
    if transaction_id is not None:
        body["transaction_id"] = transaction_id
    return Answer(200, body)


def error(code: str, message: str, **extra: Any) -> Answer:
    body = {"status": "ERROR", "code": code, "message": message}
    return Answer(HTTP_STATUS[code], body | {k: v for k, v in extra.items() if v is not None})


def handle(p: Platform, provider: str, action: str, body: bytes, signature: str | None) -> Answer:
    """Verify, parse and apply one wallet request; the answer is always 2xx or 4xx."""
    now = p.clock.now()
    secret = p.settings.game_provider_secrets.get(provider)
    # Labels stay bounded: a provider or action nobody configured is "unknown".
    label = provider if secret is not None else "unknown"
    act = action if action in ACTIONS else "unknown"
    if act == "unknown":
        # Before the signature, which covers the action: the URL's text is the caller's,
        # so it is neither logged nor echoed, only counted as "unknown".
        return _refused(p, label, act, now, error("INVALID_REQUEST", "unknown action"))
    if secret is None:
        return _refused(p, label, act, now, error("INVALID_SIGNATURE", "unknown provider"))
    try:
        verify_request(secret, signature, provider, action, body, now.timestamp())
    except SignatureError as exc:
        log.info("seamless %s/%s: signature refused: %s", provider, action, exc)
        return _refused(p, provider, act, now, error("INVALID_SIGNATURE", str(exc)))
    try:
        req = MODELS[action].model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ()))
        message = f"{where}: {first['msg']}" if where else str(first["msg"])
        return _refused(p, provider, act, now, error("INVALID_REQUEST", message))
    try:
        return _apply(p, provider, action, req, now)
    except InsufficientFunds:
        # Only if another product debited between our balance check and the posting.
        return _refused(p, provider, act, now, error("INSUFFICIENT_FUNDS", "balance too low"))
    except (IntegrityError, IdempotencyConflict):
        # Another player's request took this transaction id in the same instant; a second
        # pass finds its answer and refuses this one as a duplicate.
        return _apply(p, provider, action, req, now)


def _refused(p: Platform, provider: str, action: str, now: datetime, answer: Answer) -> Answer:
    # Counted (the event's metric), not written: most of these come before the caller is
    # authenticated, and an outbox row each let anyone grow the database.
    p.bus.publish([_refused_event(provider, action, now, answer)])
    return answer


def _refused_event(
    provider: str, action: str, now: datetime, answer: Answer
) -> SeamlessRequestRefused:
    return SeamlessRequestRefused(
        occurred_at=now, provider=provider, action=action, code=answer.body["code"]
    )


# Built once and run as Core on the session's connection: building the select and the
# ORM's per-statement work (with an autoflush) were a seventh of a bet's cost. The balance
# moves only through the ledger's Core UPDATE, so no pending ORM change can affect it.
_CASH = (
    select(Account.balance)
    .where(
        Account.owner == bindparam("owner"),
        Account.kind == "cash",
        Account.currency == bindparam("currency"),
    )
    .with_for_update()
)


# Built once, as _CASH above, and run as Core (these are on every request): the session,
# its game's type and its player's currency in one statement that also takes the player's
# row lock (FOR UPDATE OF players; SQLite's writers are serialised by BEGIN IMMEDIATE).
_SESSION_BY_TOKEN = (
    select(
        CasinoSession.provider,
        CasinoSession.status,
        CasinoSession.expires_at,
        CasinoSession.player_id,
        CasinoSession.game_id,
        CasinoGame.type.label("game_type"),
        Player.currency,
        # Checked on every stake, not only at launch: an exclusion or a block applies to
        # the sessions already open (casino.sessions).
        Player.status.label("player_status"),
        Player.self_excluded_until,
    )
    .join(Player, Player.id == CasinoSession.player_id)
    .join(CasinoGame, CasinoGame.id == CasinoSession.game_id)
    .where(CasinoSession.token_hash == bindparam("h"))
    .with_for_update(of=Player)
)
_INSERT_LOG = insert(CasinoTransaction)


def _cash(session: Any, caller: rounds.Caller) -> int:
    params = {"owner": caller.player_id, "currency": caller.currency}
    return execute(session.connection(), _CASH, params).scalar_one()


def _fingerprint(action: str, player_id: str, req: _Body) -> str:
    fields = req.model_dump(exclude={"session_token", "transaction_id"})
    canonical = json.dumps({"kind": action, "player": player_id, **fields}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _apply(p: Platform, provider: str, action: str, req: _Body, now: datetime) -> Answer:
    with p.uow() as uow:
        s = uow.session
        # The player's row lock serialises all of this player's wallet requests, so a
        # rollback and its bet (or two retries) are decided one after the other.
        conn = s.connection()
        session = execute(conn, _SESSION_BY_TOKEN, {"h": token_hash(req.session_token)}).first()
        # Results and rollbacks of a round must be accepted after the session expired or
        # the player was excluded: that money is the player's. Only new stakes stop.
        if (
            session is None
            or session.provider != provider
            or session.status == "failed"
            or (action == "balance" and not _may_stake(session, now))
        ):
            answer = error("INVALID_SESSION", "unknown or expired session")
            uow.emit(_refused_event(provider, action, now, answer))
            uow.commit()
            return answer
        player = rounds.Caller(
            session.player_id, session.currency, session.game_id, session.game_type
        )
        if action == "balance":
            balance = _cash(s, player)
            uow.commit()
            return ok(balance, player.currency)

        tx_id: str = req.transaction_id  # type: ignore[attr-defined]
        key = rounds.answer_key(provider, tx_id)
        fingerprint = _fingerprint(action, player.player_id, req)
        first = execute(conn, rounds.ANSWER, {"key": key}).first()
        if first is not None:
            if first.fingerprint == fingerprint and first.kind == action:
                row = _log(provider, action, req, player, now, "replayed", fingerprint, first)
                _keep(uow, row)
                uow.emit(SeamlessRequestReplayed(occurred_at=now, provider=provider, action=action))
                uow.commit()
                return Answer(first.http_status, first.response)
            answer = error(
                "DUPLICATE_TRANSACTION",
                f"transaction {tx_id} was already used for another request",
            )
            _keep(
                uow,
                _log(
                    provider,
                    action,
                    req,
                    player,
                    now,
                    "duplicate_transaction",
                    fingerprint,
                    answer=answer,
                ),
            )
            uow.emit(_refused_event(provider, action, now, answer))
            uow.commit()
            return answer
        if action == "bet" and not _may_stake(session, now):
            # After the answer lookup: a retry of a bet taken before the exclusion gets
            # its first answer, not a refusal the provider would read as "nothing moved".
            answer = error("INVALID_SESSION", "unknown or expired session")
            uow.emit(_refused_event(provider, action, now, answer))
            uow.commit()
            return answer

        ctx = rounds.Context(p, uow, provider, now, player, _cash(s, player))
        decision = _decide(ctx, action, req)
        if decision.code is None:
            answer = ok(_cash(s, player), player.currency, decision.platform_tx_id)
        else:
            answer = error(decision.code, decision.message, **decision.extra)
            uow.emit(_refused_event(provider, action, now, answer))
        row = _log(
            provider,
            action,
            req,
            player,
            now,
            decision.outcome,
            fingerprint,
            answer=answer,
            decision=decision,
            # what the provider was given at launch: its reports name the player by it
            ref=player_ref(
                p.settings.player_ref_key, player.player_id, GAME_PROVIDER_REF_HEX_CHARS
            ),
        )
        if decision.code is None and decision.platform_tx_id is None:
            # A zero win moves no money; the provider still gets an id to reconcile by.
            answer.body["transaction_id"] = row["id"]
            row["response"] = dict(answer.body)
        _keep(uow, row)
        uow.commit()
        return answer


def _may_stake(session: Row[Any], now: datetime) -> bool:
    """An unexpired session of a player who may play now (ended sessions are expired)."""
    return session.expires_at > now and may_stake(
        session.player_status, session.self_excluded_until, now
    )


def _decide(ctx: rounds.Context, action: str, req: Any) -> rounds.Decision:
    if action == "bet":
        return rounds.bet(ctx, req.transaction_id, req.round_id, req.amount, req.currency)
    if action == "win":
        return rounds.win(
            ctx, req.transaction_id, req.round_id, req.amount, req.currency, req.round_closed
        )
    return rounds.rollback(ctx, req.transaction_id, req.round_id, req.reference_transaction_id)


def _log(
    provider: str,
    action: str,
    req: Any,
    player: rounds.Caller,
    now: datetime,
    outcome: str,
    fingerprint: str,
    first: Row[Any] | None = None,
    *,
    answer: Answer | None = None,
    decision: rounds.Decision | None = None,
    ref: str | None = None,
) -> dict[str, Any]:
    """The request's log row (CasinoTransaction's columns); the row of a final decision
    is the answer for its id."""
    if first is not None:
        answer = Answer(first.http_status, first.response)
    assert answer is not None
    final = decision is not None and decision.final
    amount = getattr(req, "amount", None)
    if action == "rollback":
        amount = decision.amount if decision is not None else first.amount_minor if first else None
    rnd = decision.round if decision is not None else None
    return {
        "id": str(uuid.uuid4()),
        "answer_key": rounds.answer_key(provider, req.transaction_id) if final else None,
        "provider": provider,
        "provider_tx_id": req.transaction_id,
        "kind": action,
        "outcome": outcome,
        "fingerprint": fingerprint,
        "player_id": player.player_id,
        "player_ref": ref,
        "round_id": rnd.id if rnd is not None else (first.round_id if first else None),
        "provider_round_id": req.round_id,
        "reference_tx_id": getattr(req, "reference_transaction_id", None),
        "amount_minor": amount,
        "currency": getattr(req, "currency", None) or player.currency,
        "platform_tx_id": decision.platform_tx_id if decision else None,
        "http_status": answer.status_code,
        "response": dict(answer.body),
        "created_at": now,
    }


def _keep(uow: Any, row: dict[str, Any]) -> None:
    """Write the request's log row: a Core insert built once, on the unit of work's
    connection (the ORM's add and flush were a large share of a request's cost). A clash
    on answer_key raises IntegrityError here, inside _apply, as handle expects."""
    execute(uow.session.connection(), _INSERT_LOG, row)
