"""HTTP API of the affiliate network simulator: it receives signed postbacks, keeps its own
books and exports them as CSV. Faults come from knobs set through /admin."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import ValidationError

from ground.clock import Clock, SystemClock
from igaming.affiliates.postbacks import SIGNATURE_HEADER
from igaming.partners.signing import SignatureError, verify
from igaming.sim.affiliate_network.config import (
    AffiliateNetworkConfig,
    NetworkAffiliate,
    NetworkKnobs,
    load_config,
)
from igaming.sim.affiliate_network.network import BadPostback, Network, export_csv, iso
from igaming.sim.redact import keep_secrets, redact
from igaming.tracing import configure_tracing_from_env, trace_app

log = logging.getLogger(__name__)
DEFAULT_PORT = 8605


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
    )


def create_app(config: AffiliateNetworkConfig | None = None, clock: Clock | None = None) -> FastAPI:
    """The simulator app; ``app.state.network`` holds its books (tests read them)."""
    clock = clock or SystemClock()
    network = Network(config or AffiliateNetworkConfig())
    app = FastAPI(title="pitwatch affiliate network simulator")
    trace_app(app)
    app.state.network = network

    @app.get("/postback/{affiliate}")
    async def postback(affiliate: str, request: Request) -> Response:
        knobs = network.config.knobs_for(affiliate)
        if knobs.down:
            network.count("down")
            return _problem(503, "Unavailable", "the network is down")
        if knobs.latency_ms:
            await asyncio.sleep(knobs.latency_ms / 1000)
        query: bytes = request.scope.get("query_string", b"")
        try:
            verify(
                network.config.secret_for(affiliate),
                request.headers.get(SIGNATURE_HEADER),
                query,
                clock.now().timestamp(),
            )
        except SignatureError as exc:
            network.count("refused")
            log.info("postback for %s refused: %s", affiliate, exc)
            return _problem(401, "Bad signature", str(exc))
        if network.roll(knobs.error_rate):
            network.count("errors")
            return _problem(500, "Internal error", "simulated failure")
        params = dict(parse_qsl(query.decode(), keep_blank_values=True))
        try:
            outcome = network.receive(
                affiliate, params, clock.now(), lose=network.roll(knobs.loss_rate)
            )
        except BadPostback as exc:
            network.count("invalid")
            return _problem(422, "Invalid postback", str(exc))
        return JSONResponse(
            {"status": "ok", "outcome": "recorded" if outcome == "lost" else outcome}
        )

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok"}

    @app.get("/admin/config")
    async def get_config() -> dict[str, Any]:
        return redact(network.config.model_dump(mode="json"))

    @app.patch("/admin/knobs")
    async def patch_knobs(request: Request) -> Response:
        try:
            merged = network.config.knobs.model_dump() | await request.json()
            network.config.knobs = NetworkKnobs.model_validate(merged)
        except (ValidationError, ValueError, TypeError) as exc:
            return _problem(422, "Invalid knobs", str(exc))
        return JSONResponse(network.config.knobs.model_dump())

    @app.put("/admin/affiliates/{affiliate}")
    async def put_affiliate(affiliate: str, request: Request) -> Response:
        current = network.config.affiliates.get(affiliate)
        try:
            body = keep_secrets(await request.json(), current.model_dump() if current else {})
            network.config.affiliates[affiliate] = NetworkAffiliate.model_validate(body)
        except (ValidationError, ValueError) as exc:
            return _problem(422, "Invalid affiliate", str(exc))
        return JSONResponse(redact(network.config.affiliates[affiliate].model_dump()))

    @app.get("/admin/conversions")
    async def conversions(date: date | None = None) -> dict[str, Any]:
        rows = [r.row() for r in network.conversions(date)]
        return {"conversions": rows, "count": len(rows)}

    @app.get("/admin/stats")
    async def stats() -> dict[str, Any]:
        outcomes: dict[str, int] = {}
        for receipt in network.receipts:
            outcomes[receipt.outcome] = outcomes.get(receipt.outcome, 0) + 1
        last = network.receipts[-1].received_at if network.receipts else None
        return {
            "accepted": outcomes,
            "counts": dict(network.counts),
            "last_received_at": iso(last) if last else None,
        }

    @app.get("/admin/export.csv")
    async def export(date: date) -> PlainTextResponse:
        return PlainTextResponse(export_csv(network.conversions(date)), media_type="text/csv")

    return app


def serve(
    host: str = "127.0.0.1", port: int = DEFAULT_PORT, config_path: str | Path | None = None
) -> None:
    """Run the simulator with the system clock until interrupted."""
    import uvicorn

    configure_tracing_from_env("pitwatch-sim-affiliates")
    uvicorn.run(create_app(load_config(config_path), SystemClock()), host=host, port=port)


def export_for(app: FastAPI, day: date) -> str:
    """The CSV export of one day, without HTTP."""
    return export_csv(app.state.network.conversions(day))
