"""HTTP API of the odds feed simulator (knobs and inspection) and its live server."""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from ground.clock import Clock, SystemClock
from igaming.sim.lifecycle import background_lifespan
from igaming.sim.odds.config import DEFAULT_PORT, OddsSimConfig, load_config
from igaming.sim.odds.dispatcher import FeedDispatcher
from igaming.sim.odds.simulator import OddsFeedSimulator
from igaming.sim.psp.problems import PROBLEM_MEDIA_TYPE
from igaming.sim.redact import keep_secrets, redact
from igaming.tracing import configure_tracing_from_env, trace_app

log = logging.getLogger(__name__)


def _problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "urn:pitwatch:odds-sim:invalid-body", "title": title, "status": status}
    return JSONResponse(
        body | {"detail": detail} | extra, status_code=status, media_type=PROBLEM_MEDIA_TYPE
    )


def create_app(
    config: OddsSimConfig | None = None,
    clock: Clock | None = None,
    http_client: httpx.AsyncClient | None = None,
    *,
    run_dispatcher: bool = True,
    dispatch_interval_seconds: float = 0.1,
) -> FastAPI:
    """The simulator app; its lifespan runs the produce-and-deliver loop.

    Tests drive the feed themselves with ``await app.state.simulator.pump()``.
    """
    config = config or OddsSimConfig()
    clock = clock or SystemClock()
    dispatcher = FeedDispatcher(clock, config, random.Random(config.seed + 1), http_client)
    simulator = OddsFeedSimulator(config, clock, dispatcher)

    lifespan = background_lifespan(
        dispatcher,
        (lambda: dispatcher.run(simulator.produce, dispatch_interval_seconds))
        if run_dispatcher
        else None,
    )
    app = FastAPI(title="pitwatch odds feed simulator", lifespan=lifespan)
    trace_app(app)
    app.state.simulator = simulator
    app.state.dispatcher = dispatcher

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "down": simulator.config.down}

    @app.get("/admin/config")
    async def get_config() -> dict[str, Any]:
        return redact(simulator.config.model_dump(mode="json"))

    @app.patch("/admin/config")
    async def patch_config(request: Request) -> JSONResponse:
        """Change knobs: ``{"lag_seconds": 30}``, ``{"down": true}`` (an outage), ..."""
        try:
            changes = await request.json()
        except ValueError as exc:
            return _problem(422, "Invalid request body", f"not JSON: {exc}")
        if not isinstance(changes, dict):
            return _problem(422, "Invalid request body", "expected a JSON object")
        try:
            new = simulator.patch_config(keep_secrets(changes, simulator.config.model_dump()))
        except ValidationError as exc:
            errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
            return _problem(422, "Invalid knobs", str(errors[0]), errors=errors)
        log.info("odds feed knobs patched: %s", sorted(changes))
        return JSONResponse(redact(new.model_dump(mode="json")))

    @app.get("/admin/fixtures")
    async def fixtures() -> dict[str, Any]:
        items = [
            {
                "fixture_id": f.fixture_id,
                "sport": f.sport,
                "starts_at": f.starts_at.isoformat(),
                "finished": f.finished,
                "markets": {m.market_id: m.status for m in f.markets},
            }
            for f in simulator.world.fixtures.values()
        ]
        return {"fixtures": items, "count": len(items)}

    @app.get("/admin/deliveries")
    async def deliveries(limit: int = 100) -> dict[str, Any]:
        recent = list(dispatcher.records)[-max(0, limit) :] if limit > 0 else []
        return {
            "produced": simulator.produced,
            "pending": dispatcher.pending(),
            "counts": dict(dispatcher.counts),
            "recent": [
                {
                    "message_id": r.message_id,
                    "type": r.message_type,
                    "attempt": r.attempt,
                    "at": r.at.isoformat(),
                    "outcome": r.outcome,
                    "status_code": r.status_code,
                    "feed_outcome": r.feed_outcome,
                }
                for r in recent
            ],
        }

    return app


def serve(
    host: str = "127.0.0.1", port: int = DEFAULT_PORT, config_path: str | Path | None = None
) -> None:
    """Run the simulator with the system clock until interrupted."""
    import uvicorn

    configure_tracing_from_env("pitwatch-sim-odds")
    uvicorn.run(create_app(load_config(config_path), SystemClock()), host=host, port=port)
