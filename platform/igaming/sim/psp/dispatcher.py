"""Scheduled PSP → platform callbacks: signed, sent when due by the injected clock, retried."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx

from ground.clock import Clock
from igaming.partners.signing import SIGNATURE_HEADER, sign
from igaming.tracing import client_span, record_status, trace_headers

log = logging.getLogger(__name__)

Outcome = Literal["delivered", "retry", "gave_up"]


@dataclass(order=True)
class ScheduledCallback:
    """One copy of one callback event waiting to be sent (or re-sent)."""

    due: datetime
    seq: int
    url: str = field(compare=False)
    payload: dict[str, Any] = field(compare=False)
    secret: str = field(compare=False)
    attempt: int = field(default=1, compare=False)
    max_attempts: int = field(default=5, compare=False)
    backoff_seconds: float = field(default=5.0, compare=False)
    # The trace of the request that caused the callback: its delivery continues it.
    trace_context: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def event_id(self) -> str:
        return str(self.payload.get("event_id", ""))


@dataclass(frozen=True)
class DeliveryRecord:
    """What happened to one attempt."""

    event_id: str
    url: str
    attempt: int
    at: datetime
    outcome: Outcome
    status_code: int | None = None
    error: str | None = None


def encode_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


class CallbackDispatcher:
    """Holds callbacks with due times and sends the due ones through an httpx client.

    Retries a non-2xx answer or a transport error after ``backoff * 2^(attempt-1)``
    seconds, up to ``max_attempts`` attempts in all, then gives up (as real PSPs do).
    """

    def __init__(
        self,
        clock: Clock,
        http_client: httpx.AsyncClient | None = None,
        *,
        history: int = 10_000,
    ) -> None:
        self.clock = clock
        self.http_client = http_client
        self._lock = threading.Lock()
        self._heap: list[ScheduledCallback] = []
        self._seq = itertools.count()
        self.records: deque[DeliveryRecord] = deque(maxlen=history)
        self.counts: dict[Outcome, int] = {"delivered": 0, "retry": 0, "gave_up": 0}

    def schedule(
        self,
        url: str,
        payload: dict[str, Any],
        secret: str,
        due: datetime,
        *,
        max_attempts: int = 5,
        backoff_seconds: float = 5.0,
    ) -> ScheduledCallback:
        item = ScheduledCallback(
            due=due,
            seq=next(self._seq),
            url=url,
            payload=payload,
            secret=secret,
            max_attempts=max_attempts,
            backoff_seconds=backoff_seconds,
            trace_context=trace_headers(),
        )
        self._push(item)
        return item

    def _push(self, item: ScheduledCallback) -> None:
        with self._lock:
            heapq.heappush(self._heap, item)

    def pending(self) -> list[ScheduledCallback]:
        """Callbacks not yet sent (or awaiting a retry), earliest first."""
        with self._lock:
            return sorted(self._heap)

    def next_due(self) -> datetime | None:
        with self._lock:
            return self._heap[0].due if self._heap else None

    def _pop_due(self, now: datetime) -> list[ScheduledCallback]:
        with self._lock:
            due: list[ScheduledCallback] = []
            while self._heap and self._heap[0].due <= now:
                due.append(heapq.heappop(self._heap))
            return due

    async def deliver_due(self, *, concurrency: int = 1) -> list[DeliveryRecord]:
        """Send every callback due now; returns what happened to each attempt.

        With ``concurrency`` 1 (the default) callbacks go out one by one in due order,
        which keeps the order of a transaction's callbacks exactly as planned.
        """
        if self.http_client is None:
            raise RuntimeError("CallbackDispatcher has no http_client")
        batch = self._pop_due(self.clock.now())
        if not batch:
            return []
        if concurrency <= 1:
            return [await self._send(item) for item in batch]
        gate = asyncio.Semaphore(concurrency)

        async def bounded(item: ScheduledCallback) -> DeliveryRecord:
            async with gate:
                return await self._send(item)

        return list(await asyncio.gather(*(bounded(item) for item in batch)))

    async def _send(self, item: ScheduledCallback) -> DeliveryRecord:
        assert self.http_client is not None
        body = encode_body(item.payload)
        timestamp = int(self.clock.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(item.secret, timestamp, body),
        }
        status_code: int | None = None
        error: str | None = None
        attrs: dict[str, str | int] = {
            "kind": str(item.payload.get("kind", "")),
            "attempt": item.attempt,
        }
        with client_span("psp.callback.send", parent=item.trace_context, **attrs) as trace:
            headers.update(trace)
            try:
                response = await self.http_client.post(item.url, content=body, headers=headers)
                status_code = response.status_code
                record_status(status_code)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
        now = self.clock.now()
        if status_code is not None and 200 <= status_code < 300:
            outcome: Outcome = "delivered"
        elif item.attempt < item.max_attempts:
            outcome = "retry"
            wait = item.backoff_seconds * 2 ** (item.attempt - 1)
            item.attempt += 1
            item.due = now + timedelta(seconds=wait)
            item.seq = next(self._seq)
            self._push(item)
        else:
            outcome = "gave_up"
            log.warning(
                "psp callback %s to %s given up after %d attempts (last: %s)",
                item.event_id,
                item.url,
                item.max_attempts,
                status_code if status_code is not None else error,
            )
        record = DeliveryRecord(
            event_id=item.event_id,
            url=item.url,
            attempt=item.attempt - 1 if outcome == "retry" else item.attempt,
            at=now,
            outcome=outcome,
            status_code=status_code,
            error=error,
        )
        with self._lock:
            self.records.append(record)
            self.counts[outcome] += 1
        return record

    async def run(self, interval_seconds: float = 0.1, *, concurrency: int = 16) -> None:
        """Live loop: deliver what is due every ``interval_seconds`` until cancelled."""
        while True:
            try:
                await self.deliver_due(concurrency=concurrency)
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must outlive one bad pass
                log.exception("psp callback dispatch pass failed")
            await asyncio.sleep(interval_seconds)
