"""Request dependencies: the platform, the authenticated player or operator, rate limits."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Header, Request

from igaming.accounts.ratelimit import RateLimiter
from igaming.accounts.service import authenticate
from igaming.admin import OperatorIdentity, authenticate_operator
from igaming.bootstrap import Platform
from igaming.errors import Unauthorized

_LIMITER_LOCK = threading.Lock()


def get_platform(request: Request) -> Platform:
    return request.app.state.platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def bearer_token(authorization: Annotated[str | None, Header()] = None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized("a bearer token is required (Authorization: Bearer <token>)")
    return authorization.split(" ", 1)[1].strip()


BearerToken = Annotated[str, Depends(bearer_token)]


def current_player(p: PlatformDep, token: BearerToken) -> str:
    return authenticate(p, token)


def current_operator(
    p: PlatformDep, x_api_key: Annotated[str | None, Header()] = None
) -> OperatorIdentity:
    return authenticate_operator(p, x_api_key)


def rate_limiter(request: Request, p: PlatformDep) -> RateLimiter:
    """The app's one limiter (its windows live as long as the app), on the platform's clock."""
    state = request.app.state
    with _LIMITER_LOCK:
        if getattr(state, "rate_limiter", None) is None:
            state.rate_limiter = RateLimiter(p.clock)
        return state.rate_limiter


def client_ip(request: Request) -> str:
    # The peer address; behind a proxy, run uvicorn with --proxy-headers and
    # --forwarded-allow-ips so that it is the client's (docs/accounts.md).
    return request.client.host if request.client else "unknown"


PlayerDep = Annotated[str, Depends(current_player)]
OperatorDep = Annotated[OperatorIdentity, Depends(current_operator)]
IdempotencyKey = Annotated[str, Header(min_length=1, max_length=100, alias="Idempotency-Key")]
RateLimiterDep = Annotated[RateLimiter, Depends(rate_limiter)]
ClientIp = Annotated[str, Depends(client_ip)]
