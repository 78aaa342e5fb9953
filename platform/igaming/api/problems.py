"""RFC 7807 problem+json for every error the API returns."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ground.money import MoneyError
from igaming.errors import DomainError

log = logging.getLogger(__name__)
PROBLEM_BASE = "https://pitwatch.dev/problems/"


def problem(
    status: int, type_: str, title: str, detail: str, instance: str, **extra: Any
) -> JSONResponse:
    body = {
        "type": PROBLEM_BASE + type_,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    body |= {k: v for k, v in extra.items() if v is not None}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _describe(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors[:5]:
        loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return "; ".join(parts)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        log.info("refused %s %s: %s", request.method, request.url.path, exc.detail)
        response = problem(
            exc.status, exc.type, exc.title, exc.detail, request.url.path, **exc.extra
        )
        response.headers.update(getattr(exc, "headers", {}))  # e.g. a 429's Retry-After
        return response

    @app.exception_handler(MoneyError)
    async def _money(request: Request, exc: MoneyError) -> JSONResponse:
        return problem(422, "validation-error", "Request is not valid", str(exc), request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        log.info("invalid request %s %s: %s", request.method, request.url.path, _describe(errors))
        return problem(
            422,
            "validation-error",
            "Request is not valid",
            _describe(errors),
            request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(
            exc.status_code,
            f"http-{exc.status_code}",
            str(exc.detail),
            str(exc.detail),
            request.url.path,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(
            500,
            "internal-error",
            "Internal error",
            "an unexpected error occurred",
            request.url.path,
        )
