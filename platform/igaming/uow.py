"""Unit of work: one database transaction. It rolls back unless the code commits, and it
writes the events emitted inside it to the outbox in the same commit."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from igaming.bus import MessageBus
from igaming.events import Event
from igaming.fastsql import execute
from igaming.models import OutboxEvent

# Core on the session's connection, built once: the ORM's bulk-insert path (statement
# coercion, an autoflush, per-call cache-key generation) cost about 0.6 ms a commit, a
# tenth of a seamless-wallet bet. The session's pending objects are flushed by the commit
# that follows, in the same transaction, so the order of rows within each table is kept.
_INSERT_OUTBOX = insert(OutboxEvent.__table__)


class UnitOfWork:
    def __init__(self, session_factory: sessionmaker, bus: MessageBus) -> None:
        self._session_factory = session_factory
        self.bus = bus
        self.session: Session
        self._events: list[Event] = []

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        self._events = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.session.rollback()
        self.session.close()

    def emit(self, event: Event) -> None:
        self._events.append(event)

    def commit(self) -> None:
        events, self._events = self._events, []
        if events:
            execute(
                self.session.connection(),
                _INSERT_OUTBOX,
                [
                    {
                        "event_id": e.event_id,
                        "event_type": e.name,
                        "payload": e.payload(),
                        "occurred_at": e.occurred_at,
                    }
                    for e in events
                ],
            )
        self.session.commit()
        self.bus.publish(events)

    def rollback(self) -> None:
        self._events = []
        self.session.rollback()
