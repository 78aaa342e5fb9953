"""The odds feed simulator: a seeded world producing messages and a dispatcher pushing them."""

from __future__ import annotations

import random
import threading
from datetime import datetime
from typing import Any

from ground.clock import Clock
from igaming.sim.odds.config import OddsSimConfig
from igaming.sim.odds.dispatcher import Delivery, FeedDispatcher
from igaming.sim.odds.world import FeedWorld


class OddsFeedSimulator:
    def __init__(self, config: OddsSimConfig, clock: Clock, dispatcher: FeedDispatcher) -> None:
        self.clock = clock
        self.dispatcher = dispatcher
        self.world = FeedWorld(config, random.Random(config.seed))
        self._config = config
        self._lock = threading.Lock()
        self.produced = 0

    @property
    def config(self) -> OddsSimConfig:
        return self._config

    def patch_config(self, changes: dict[str, Any]) -> OddsSimConfig:
        """Merge knob changes (validated); the seed only matters at start."""
        with self._lock:
            merged = {**self._config.model_dump(), **changes}
            config = OddsSimConfig.model_validate(merged)
            self._config = self.world.config = self.dispatcher.config = config
            return config

    def produce(self) -> int:
        """Queue every message the world has produced up to now; returns how many."""
        with self._lock:
            messages = self.world.due(self.clock.now())
            for msg in messages:
                self.dispatcher.schedule(msg, _sent_at(msg))
            self.produced += len(messages)
            return len(messages)

    async def pump(self) -> list[Delivery]:
        """Produce, then deliver what is due (tests drive the feed with this)."""
        self.produce()
        return await self.dispatcher.deliver_due()


def _sent_at(msg: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(msg["sent_at"])
