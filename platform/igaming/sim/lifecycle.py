"""The lifespan every simulator app shares: an HTTP client of its own when none was given,
and its background loop running while the app serves."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import httpx


def background_lifespan(
    holder: Any,
    loop: Callable[[], Coroutine[Any, Any, None]] | None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Callable[[Any], contextlib.AbstractAsyncContextManager[None]]:
    """A FastAPI lifespan: gives ``holder.http_client`` an owned client if it has none, runs
    ``loop()`` as a task (tests pass None and drive the simulator themselves), and on
    shutdown cancels the task and closes the client it created."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        owned: httpx.AsyncClient | None = None
        if holder.http_client is None:
            owned = httpx.AsyncClient(timeout=httpx.Timeout(10.0), transport=transport)
            holder.http_client = owned
        task = asyncio.create_task(loop()) if loop is not None else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if owned is not None:
                await owned.aclose()
                holder.http_client = None

    return lifespan
