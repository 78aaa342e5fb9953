"""Delivery of feed messages to the platform: signed pushes, sent when due by the injected
clock, in due order, retried on a non-2xx answer (except 422: invalid stays invalid)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx

from ground.clock import Clock
from igaming.partners.signing import sign
from igaming.sim.odds.config import OddsSimConfig
from igaming.sim.psp.dispatcher import encode_body
from igaming.sportsbook.protocol import FEED_SIGNATURE_HEADER
from igaming.tracing import client_span, record_status

log = logging.getLogger(__name__)

Outcome = Literal["delivered", "retry", "gave_up"]


@dataclass(order=True)
class ScheduledMessage:
    due: datetime
    seq: int
    payload: dict[str, Any] = field(compare=False)
    attempt: int = field(default=1, compare=False)
    copy: bool = field(default=False, compare=False)  # a duplicate we inject


@dataclass(frozen=True)
class Delivery:
    message_id: str
    message_type: str
    attempt: int
    at: datetime
    outcome: Outcome
    status_code: int | None
    feed_outcome: str | None  # what the platform said: applied, duplicate, stale, ...


class FeedDispatcher:
    def __init__(
        self,
        clock: Clock,
        config: OddsSimConfig,
        rng: random.Random,
        http_client: httpx.AsyncClient | None = None,
        *,
        history: int = 10_000,
    ) -> None:
        self.clock = clock
        self.config = config
        self.rng = rng
        self.http_client = http_client
        self._lock = threading.Lock()
        self._heap: list[ScheduledMessage] = []
        self._seq = itertools.count()
        self.records: deque[Delivery] = deque(maxlen=history)
        self.counts: Counter[str] = Counter()

    def schedule(self, payload: dict[str, Any], produced_at: datetime) -> None:
        """Queue a message to leave after the configured lag (and jitter)."""
        cfg = self.config
        lag = cfg.lag_seconds + self.rng.uniform(0, cfg.lag_jitter_seconds)
        self._push(ScheduledMessage(produced_at + timedelta(seconds=lag), next(self._seq), payload))

    def _push(self, item: ScheduledMessage) -> None:
        with self._lock:
            heapq.heappush(self._heap, item)

    def pending(self) -> int:
        with self._lock:
            return len(self._heap)

    def _pop_due(self, now: datetime) -> list[ScheduledMessage]:
        with self._lock:
            due = []
            while self._heap and self._heap[0].due <= now:
                due.append(heapq.heappop(self._heap))
            return due

    async def deliver_due(self) -> list[Delivery]:
        """Send every message due now, one by one in due order; nothing during an outage."""
        if self.config.down:
            return []
        if self.http_client is None:
            raise RuntimeError("FeedDispatcher has no http_client")
        return [await self._send(item) for item in self._pop_due(self.clock.now())]

    async def _send(self, item: ScheduledMessage) -> Delivery:
        assert self.http_client is not None
        cfg = self.config
        body = encode_body(item.payload)
        secret = cfg.secret
        if self.rng.random() < cfg.bad_signature_rate:
            secret = "not-the-" + secret  # a fault of ours: the retry signs correctly
        headers = {
            "Content-Type": "application/json",
            FEED_SIGNATURE_HEADER: sign(secret, int(self.clock.now().timestamp()), body),
        }
        status: int | None = None
        feed_outcome: str | None = None
        message_type = str(item.payload.get("type"))
        with client_span("odds.feed_push", message_type=message_type) as trace:
            headers.update(trace)
            try:
                response = await self.http_client.post(cfg.feed_url, content=body, headers=headers)
                status = response.status_code
                record_status(status)
                try:
                    feed_outcome = response.json().get("outcome")
                except ValueError:
                    feed_outcome = None
            except httpx.HTTPError as exc:
                log.info("feed push %s failed: %s", item.payload.get("message_id"), exc)
        now = self.clock.now()
        if status is not None and 200 <= status < 300:
            outcome: Outcome = "delivered"
            if not item.copy and self.rng.random() < cfg.duplicate_rate:
                self._push(ScheduledMessage(now, next(self._seq), item.payload, copy=True))
        elif status != 422 and item.attempt < cfg.retry_max_attempts:
            outcome = "retry"
            wait = cfg.retry_backoff_seconds * 2 ** (item.attempt - 1)
            self._push(
                ScheduledMessage(
                    now + timedelta(seconds=wait),
                    next(self._seq),
                    item.payload,
                    item.attempt + 1,
                    item.copy,
                )
            )
        else:
            outcome = "gave_up"
            log.warning("feed message %s given up (%s)", item.payload.get("message_id"), status)
        record = Delivery(
            message_id=str(item.payload.get("message_id")),
            message_type=str(item.payload.get("type")),
            attempt=item.attempt,
            at=now,
            outcome=outcome,
            status_code=status,
            feed_outcome=feed_outcome,
        )
        with self._lock:
            self.records.append(record)
            self.counts[outcome] += 1
        return record

    async def run(self, produce: Any, interval_seconds: float = 0.1) -> None:
        """Live loop: produce what is due, deliver what is due, until cancelled."""
        while True:
            try:
                produce()
                await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must outlive one bad pass
                log.exception("odds feed dispatch pass failed")
            await asyncio.sleep(interval_seconds)
