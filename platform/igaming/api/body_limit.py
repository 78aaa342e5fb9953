"""A cap on request bodies (settings.max_request_body_bytes, default 64 KiB; documented in
docs/psp-protocol.md): the platform's public and partner endpoints read bodies whole,
unauthenticated, before any check, so a 20 MB body was 20 MB of memory (and more as text).

A request that declares a larger Content-Length is answered 413 before anything reads it; a
body without one (chunked) is counted as it streams and refused once it passes the limit,
so the platform never holds more than the limit plus one chunk of it."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from igaming.api.problems import problem

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 64 * 1024


class BodyTooLarge(HTTPException):
    """Raised from the request's receive channel, so that whoever is reading the body (a
    route's request.body() or FastAPI's parsing, which lets HTTPException through) stops."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")
        self.limit = limit


def _too_large(path: str, limit: int) -> JSONResponse:
    return problem(
        413,
        "payload-too-large",
        "Request body too large",
        f"request body larger than {limit} bytes",
        path,
        limit=limit,
    )


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            log.info("refused %s %s: Content-Length %d", scope["method"], scope["path"], declared)
            await _too_large(scope["path"], self.max_bytes)(scope, receive, send)
            return
        await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        return counted


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            # A malformed length is left to the server (h11 refuses it); not ours to judge.
            return int(value) if value.isdigit() and len(value) <= 18 else None
    return None


def install(app: FastAPI, max_bytes: int) -> None:
    """Add the cap (outermost of the app's own middleware) and the answer of a streamed
    body that passed it, as problem+json like every other refusal."""

    async def _streamed_too_large(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BodyTooLarge)
        log.info("refused %s %s: body past %d bytes", request.method, request.url.path, exc.limit)
        return _too_large(request.url.path, exc.limit)

    app.add_exception_handler(BodyTooLarge, _streamed_too_large)
    app.add_middleware(BodySizeLimit, max_bytes=max_bytes)
