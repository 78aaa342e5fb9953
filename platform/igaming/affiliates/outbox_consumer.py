"""The affiliates' outbox consumer: a durable cursor, rows in id order, idempotent.

Conversions and postback jobs are written in the same transaction that advances the
cursor, so a crash re-reads the batch and the dedupe keys make the second pass a no-op.

Gaps. On PostgreSQL an outbox id is taken from a sequence when the row is inserted, but
becomes visible only at commit: id 11 can be visible while id 10 is still in flight.
Jumping the cursor past 10 would lose it for good. So the cursor only advances through
consecutive ids; at a gap it stops and remembers since when (``held_since``). Ids can
also be missing for ever (a transaction that rolled back after taking its id), so a gap
that is still there after ``GAP_GRACE`` is stepped over. The outbox row is the last
statement before COMMIT in the unit of work, so an in-flight id becomes visible within
milliseconds, far inside the grace. We chose this over a time lag on ``occurred_at``
because that timestamp is the business clock (fake in simulations), not commit time.
SQLite serialises writers, so its ids are never seen out of order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from igaming.affiliates import conversions
from igaming.affiliates.models import OutboxCursor
from igaming.bootstrap import Platform
from igaming.models import OutboxEvent
from igaming.uow import UnitOfWork

log = logging.getLogger(__name__)

CONSUMER = "affiliates"
GAP_GRACE = timedelta(seconds=10)

Handler = Callable[[Platform, UnitOfWork, dict, datetime, datetime], None]


def _registered(p: Platform, uow: UnitOfWork, payload: dict, at: datetime, now: datetime) -> None:
    conversions.on_registered(p, uow, payload["player_id"], at, now)


def _approved(p: Platform, uow: UnitOfWork, payload: dict, at: datetime, now: datetime) -> None:
    conversions.on_deposit_approved(uow, payload, at, now)


def _charged_back(p: Platform, uow: UnitOfWork, payload: dict, at: datetime, now: datetime) -> None:
    conversions.on_charged_back(uow, payload["deposit_id"], now)


def _kyc(p: Platform, uow: UnitOfWork, payload: dict, at: datetime, now: datetime) -> None:
    if payload.get("status") in ("approved", "rejected"):
        conversions.on_kyc_outcome(uow, payload["player_id"], now)


HANDLERS: dict[str, Handler] = {
    "player.registered": _registered,
    "deposit.approved": _approved,
    "deposit.charged_back": _charged_back,
    "kyc.outcome": _kyc,
}


def _lock_cursor(uow: UnitOfWork, consumer: str, now: datetime) -> OutboxCursor:
    s = uow.session
    dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
    s.execute(
        dialect.insert(OutboxCursor)
        .values(consumer=consumer, last_id=0, updated_at=now)
        .on_conflict_do_nothing(index_elements=["consumer"])
    )
    cursor = s.get(OutboxCursor, consumer, with_for_update=True)
    assert cursor is not None
    return cursor


def consume_batch(p: Platform, *, batch_size: int = 200, consumer: str = CONSUMER) -> int:
    """Handle the next batch of outbox rows; returns how far the cursor moved (rows)."""
    now = p.clock.now()
    with p.uow() as uow:
        cursor = _lock_cursor(uow, consumer, now)
        rows = uow.session.execute(
            select(
                OutboxEvent.id, OutboxEvent.event_type, OutboxEvent.payload, OutboxEvent.occurred_at
            )
            .where(OutboxEvent.id > cursor.last_id)
            .order_by(OutboxEvent.id)
            .limit(batch_size)
        ).all()
        moved = 0
        # Kept in locals and written once: set on the row after each event, every handler's
        # query autoflushed an UPDATE of the cursor (one a row, a fifth of the statements of
        # a simulated warm-up). Same transaction, same final row.
        last_id, held_since = cursor.last_id, cursor.held_since
        for row in rows:
            if row.id != last_id + 1:
                if held_since is None:
                    held_since = now
                if now - held_since < GAP_GRACE:
                    break
                log.warning(
                    "outbox consumer %s: ids %d..%d never appeared, stepping over",
                    consumer,
                    last_id + 1,
                    row.id - 1,
                )
            handler = HANDLERS.get(row.event_type)
            if handler is not None:
                handler(p, uow, row.payload, row.occurred_at, now)
            last_id, held_since = row.id, None
            moved += 1
        cursor.last_id, cursor.held_since, cursor.updated_at = last_id, held_since, now
        uow.commit()
    return moved


def consume_all(p: Platform, *, batch_size: int = 200, consumer: str = CONSUMER) -> int:
    """Consume until caught up (or held at a gap); returns the rows passed."""
    total = 0
    while moved := consume_batch(p, batch_size=batch_size, consumer=consumer):
        total += moved
    return total


def reset_cursor(p: Platform, last_id: int = 0, consumer: str = CONSUMER) -> None:
    """Move the cursor back (replay); the handlers' dedupe keys make a replay harmless."""
    now = p.clock.now()
    with p.uow() as uow:
        cursor = _lock_cursor(uow, consumer, now)
        cursor.last_id, cursor.held_since, cursor.updated_at = last_id, None, now
        uow.commit()
