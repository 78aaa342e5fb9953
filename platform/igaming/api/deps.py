"""Request dependencies: the platform, the authenticated player or operator."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from igaming.accounts.service import authenticate
from igaming.admin import OperatorIdentity, authenticate_operator
from igaming.bootstrap import Platform
from igaming.errors import Unauthorized


def get_platform(request: Request) -> Platform:
    return request.app.state.platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def current_player(p: PlatformDep, authorization: Annotated[str | None, Header()] = None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized("a bearer token is required (Authorization: Bearer <token>)")
    return authenticate(p, authorization.split(" ", 1)[1].strip())


def current_operator(
    p: PlatformDep, x_api_key: Annotated[str | None, Header()] = None
) -> OperatorIdentity:
    return authenticate_operator(p, x_api_key)


PlayerDep = Annotated[str, Depends(current_player)]
OperatorDep = Annotated[OperatorIdentity, Depends(current_operator)]
IdempotencyKey = Annotated[str, Header(min_length=1, max_length=100, alias="Idempotency-Key")]
