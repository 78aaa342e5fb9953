"""Player accounts: registration, log-in and log-out, responsible-gambling controls."""

from __future__ import annotations

from fastapi import APIRouter, Response

from igaming.accounts import service
from igaming.accounts.ratelimit import login_checks, registration_checks
from igaming.api.deps import BearerToken, ClientIp, PlatformDep, PlayerDep, RateLimiterDep
from igaming.api.schemas import (
    DepositLimitIn,
    LoginIn,
    PlayerOut,
    RegisterIn,
    SelfExclusionIn,
    TokenOut,
)

router = APIRouter(tags=["players"])


@router.post("/players", status_code=201, response_model=PlayerOut)
def register(body: RegisterIn, p: PlatformDep, limiter: RateLimiterDep, ip: ClientIp) -> PlayerOut:
    limiter.hit(registration_checks(p.settings, ip))  # before the scrypt it would cost
    player = service.register(p, service.Registration(**body.model_dump()))
    return PlayerOut.model_validate(player)


@router.post("/sessions", response_model=TokenOut)
def login(body: LoginIn, p: PlatformDep, limiter: RateLimiterDep, ip: ClientIp) -> TokenOut:
    limiter.hit(login_checks(p.settings, ip, body.email))
    return TokenOut(token=service.login(p, body.email, body.password))


@router.post("/players/logout", status_code=204)
def logout(p: PlatformDep, token: BearerToken) -> Response:
    service.logout(p, token)
    return Response(status_code=204)


@router.get("/players/me", response_model=PlayerOut)
def me(p: PlatformDep, player_id: PlayerDep) -> PlayerOut:
    return PlayerOut.model_validate(service.get_player(p, player_id))


@router.post("/players/me/self-exclusion", response_model=PlayerOut)
def self_exclude(body: SelfExclusionIn, p: PlatformDep, player_id: PlayerDep) -> PlayerOut:
    return PlayerOut.model_validate(service.self_exclude(p, player_id, body.days))


@router.put("/players/me/deposit-limit", response_model=PlayerOut)
def deposit_limit(body: DepositLimitIn, p: PlatformDep, player_id: PlayerDep) -> PlayerOut:
    return PlayerOut.model_validate(service.set_deposit_limit(p, player_id, body.daily_limit))
