"""In-process event bus. It delivers committed events to subscribers (instrumentation).

Money never moves through the bus: handlers that change balances are called directly by
the service layer inside a unit of work. The outbox row of every committed event is the
durable record; a subscriber that fails is logged and counted, and the event can be
replayed from the outbox.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TypeVar, cast

from igaming.events import Event

log = logging.getLogger(__name__)

Subscriber = Callable[[Event], None]
E = TypeVar("E", bound=Event)


class MessageBus:
    def __init__(self, *, strict: bool = False) -> None:
        self._subscribers: dict[type[Event], list[Subscriber]] = defaultdict(list)
        self.strict = strict  # tests: a failing subscriber fails the test
        self.failures = 0

    def subscribe(self, event_type: type[E], subscriber: Callable[[E], None]) -> None:
        """Subscribe to an event type and all its subclasses (the subscriber is typed by the
        event it takes: publish delivers it only events of that type)."""
        self._subscribers[event_type].append(cast(Subscriber, subscriber))

    def has_subscribers(self, event_type: type[Event]) -> bool:
        """Whether an event of this type would reach any subscriber."""
        return any(self._subscribers.get(t) for t in event_type.__mro__)

    def publish(self, events: Iterable[Event]) -> None:
        for event in events:
            for event_type in type(event).__mro__:
                for subscriber in self._subscribers.get(event_type, ()):
                    try:
                        subscriber(event)
                    except Exception:
                        self.failures += 1
                        if self.strict:
                            raise
                        log.exception("subscriber %r failed on %s", subscriber, event.name)
