"""HTTP API of the game provider simulator: the launch endpoint the platform calls, and
/admin endpoints for knobs, playing rounds and inspecting what was sent."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ground.clock import Clock, SystemClock
from igaming.sim.games.config import GamesSimConfig, load_config
from igaming.sim.games.simulator import GameProviderSimulator, SimRound, UnknownSession
from igaming.sim.lifecycle import background_lifespan
from igaming.sim.redact import keep_secrets, redact
from igaming.tracing import AsyncTracingTransport, configure_tracing_from_env, trace_app

log = logging.getLogger(__name__)


class PlayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rounds: int = Field(1, ge=1, le=1000)
    stake: int | None = Field(None, gt=0)
    fault: str | None = Field(None, pattern="^(timeout|rollback_before_bet|win_before_bet)$")


def _problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail} | extra
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _round(r: SimRound) -> dict[str, Any]:
    return {
        "provider": r.provider,
        "round_id": r.round_id,
        "stake": r.stake,
        "win": r.win,
        "fault": r.fault,
        "state": r.state,
        "bet_code": r.bet_code,
        "bet_at": r.bet_at.isoformat(),
    }


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


def create_app(
    config: GamesSimConfig | None = None,
    clock: Clock | None = None,
    http_client: httpx.AsyncClient | None = None,
    *,
    run_loop: bool = True,
    loop_interval_seconds: float = 0.1,
) -> FastAPI:
    """The simulator app; its lifespan sends due results (and autoplays) in a loop.

    Tests drive it with ``app.state.simulator.play_round()`` / ``step()``; the ASGI
    transport of httpx does not run the lifespan, so no loop competes with them.
    """
    simulator = GameProviderSimulator(
        config or GamesSimConfig(), clock or SystemClock(), http_client
    )

    lifespan = background_lifespan(
        simulator,
        (lambda: _loop(simulator, loop_interval_seconds)) if run_loop else None,
        transport=AsyncTracingTransport(),
    )
    app = FastAPI(title="pitwatch game provider simulator", lifespan=lifespan)
    trace_app(app)
    app.state.simulator = simulator

    @app.post("/providers/{provider}/sessions")
    async def open_session(provider: str, request: Request) -> JSONResponse:
        body = await _json(request)
        if not isinstance(body, dict):
            return JSONResponse({"code": "INVALID_REQUEST"}, status_code=422)
        status, answer = simulator.open_session(provider, body)
        return JSONResponse(answer, status_code=status)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "providers": sorted(simulator.config.providers)}

    @app.get("/admin/config")
    async def get_config() -> dict[str, Any]:
        return redact(simulator.config.model_dump(mode="json"))

    @app.patch("/admin/providers/{provider}")
    async def patch_provider(provider: str, request: Request) -> JSONResponse:
        changes = await _json(request)
        if provider not in simulator.config.providers:
            return _problem(404, "Unknown provider", f"no provider named {provider!r}")
        if not isinstance(changes, dict):
            return _problem(422, "Invalid request body", "expected a JSON object")
        current = simulator.config.providers[provider].model_dump()
        try:
            knobs = simulator.patch_provider(provider, keep_secrets(changes, current))
        except ValidationError as exc:
            return _problem(422, "Invalid knobs", str(exc.errors()[0]["msg"]))
        log.info("game provider %s knobs patched: %s", provider, sorted(changes))
        return JSONResponse(redact(knobs.model_dump(mode="json")))

    @app.get("/admin/sessions")
    async def sessions() -> dict[str, Any]:
        return {
            "sessions": [
                {
                    "provider": s.provider,
                    "game_id": s.game_id,
                    "provider_session_id": s.provider_session_id,
                    "rounds": s.rounds,
                    "expires_at": s.expires_at.isoformat(),
                }
                for s in simulator.sessions.values()
            ]
        }

    @app.post("/admin/sessions/{token}/rounds")
    async def play(token: str, request: Request) -> JSONResponse:
        try:
            body = PlayIn.model_validate((await _json(request)) or {})
        except ValidationError as exc:
            return _problem(422, "Invalid request body", str(exc.errors()[0]["msg"]))
        try:
            played = [
                await simulator.play_round(token, body.stake, fault=body.fault)
                for _ in range(body.rounds)
            ]
        except UnknownSession:
            return _problem(404, "Unknown session", "no open session with this token")
        return JSONResponse({"rounds": [_round(r) for r in played]})

    @app.post("/admin/step")
    async def step() -> dict[str, Any]:
        replies = await simulator.step()
        return {"sent": len(replies), "pending": len(simulator.pending())}

    @app.get("/admin/rounds")
    async def rounds(limit: int = 100) -> dict[str, Any]:
        recent = list(simulator.rounds)[-max(0, limit) :] if limit > 0 else []
        return {"rounds": [_round(r) for r in recent]}

    @app.get("/admin/requests")
    async def requests() -> dict[str, Any]:
        return {
            "counts": [
                {"provider": p, "action": a, "code": c, "count": n}
                for (p, a, c), n in sorted(simulator.counts.items())
            ],
            "launches": [
                {"provider": p, "outcome": o, "count": n}
                for (p, o), n in sorted(simulator.launches.items())
            ],
            "pending": len(simulator.pending()),
        }

    return app


async def _loop(simulator: GameProviderSimulator, interval: float) -> None:
    while True:
        try:
            await simulator.step()
            await simulator.autoplay()
        except asyncio.CancelledError:
            raise
        except Exception:  # the loop must outlive one bad pass
            log.exception("game provider simulator pass failed")
        await asyncio.sleep(interval)


def serve(host: str = "127.0.0.1", port: int = 8604, config_path: str | Path | None = None) -> None:
    """Run the simulator with the system clock until interrupted."""
    import uvicorn

    configure_tracing_from_env("pitwatch-sim-games")
    uvicorn.run(create_app(load_config(config_path), SystemClock()), host=host, port=port)
