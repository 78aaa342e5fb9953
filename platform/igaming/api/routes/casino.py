"""Casino: the game catalogue, game launch, and the providers' seamless-wallet API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from igaming.api.deps import PlatformDep, PlayerDep
from igaming.casino import catalogue, launch, seamless

router = APIRouter(tags=["casino"])


class GameOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    provider: str
    name: str
    type: str
    rtp_bps: int


class LaunchIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    game_id: str = Field(min_length=1, max_length=64)


class LaunchOut(BaseModel):
    session_id: str
    session_token: str
    provider: str
    game_id: str
    currency: str
    launch_url: str
    expires_at: datetime


@router.get("/casino/games", response_model=list[GameOut])
def list_games(p: PlatformDep, provider: str | None = None) -> list[GameOut]:
    return [GameOut.model_validate(g) for g in catalogue.list_games(p, provider)]


@router.post("/casino/launch", status_code=201, response_model=LaunchOut)
def launch_game(body: LaunchIn, p: PlatformDep, player_id: PlayerDep) -> LaunchOut:
    started = launch.launch_game(p, player_id, body.game_id)
    return LaunchOut(**started.__dict__)


@router.post("/casino/seamless/{provider}/{action}", tags=["game providers"])
async def seamless_wallet(
    provider: str,
    # Not a Literal of the four: an unknown action must get the aggregator's answer
    # (INVALID_REQUEST), not FastAPI's 422; seamless.handle refuses it without logging it.
    action: str,
    request: Request,
    p: PlatformDep,
    x_signature: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Balance, bet, win and rollback, answered in the aggregator vocabulary."""
    body = await request.body()
    answer = await run_in_threadpool(seamless.handle, p, provider, action, body, x_signature)
    return JSONResponse(answer.body, status_code=answer.status_code)
