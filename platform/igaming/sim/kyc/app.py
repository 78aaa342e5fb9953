"""A simulated KYC vendor (docs/kyc-vendor-protocol.md): latency, failures, timeouts,
manual reviews and rejections, all from one seeded random generator."""

from __future__ import annotations

import asyncio
import random
import threading
import uuid

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from igaming.tracing import trace_app


class KycSimConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latency_ms: int = Field(50, ge=0, le=120_000)
    failure_rate: float = Field(0.01, ge=0, le=1, description="answers 503")
    timeout_rate: float = Field(0.0, ge=0, le=1, description="answers only after timeout_ms")
    timeout_ms: int = Field(30_000, ge=0, le=600_000)
    manual_review_rate: float = Field(0.08, ge=0, le=1)
    reject_rate: float = Field(0.03, ge=0, le=1)
    down: bool = False
    seed: int = 7


class CheckIn(BaseModel):
    reference: str = Field(max_length=100)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    date_of_birth: str = Field(max_length=10)


class KycConfigPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latency_ms: int | None = Field(None, ge=0, le=120_000)
    failure_rate: float | None = Field(None, ge=0, le=1)
    timeout_rate: float | None = Field(None, ge=0, le=1)
    timeout_ms: int | None = Field(None, ge=0, le=600_000)
    manual_review_rate: float | None = Field(None, ge=0, le=1)
    reject_rate: float | None = Field(None, ge=0, le=1)
    down: bool | None = None


def _unavailable(detail: str) -> JSONResponse:
    body = {"type": "about:blank", "title": "Service Unavailable", "status": 503, "detail": detail}
    return JSONResponse(body, status_code=503, media_type="application/problem+json")


def create_app(config: KycSimConfig | None = None) -> FastAPI:
    app = FastAPI(title="KYC vendor simulator")
    trace_app(app)
    state = {"config": config or KycSimConfig()}
    rng = random.Random(state["config"].seed)
    lock = threading.Lock()
    app.state.checks = {}

    @app.post("/v1/checks")
    async def check(body: CheckIn) -> JSONResponse:
        cfg: KycSimConfig = state["config"]
        with lock:
            draw, outcome_draw = rng.random(), rng.random()
        if cfg.down or draw < cfg.failure_rate:
            return _unavailable("verification backend unavailable")
        if draw < cfg.failure_rate + cfg.timeout_rate:
            await asyncio.sleep(cfg.timeout_ms / 1000)
        elif cfg.latency_ms:
            await asyncio.sleep(cfg.latency_ms / 1000)
        if outcome_draw < cfg.reject_rate:
            status = "rejected"
        elif outcome_draw < cfg.reject_rate + cfg.manual_review_rate:
            status = "manual_review"
        else:
            status = "approved"
        check_id = "kyc_" + uuid.UUID(int=rng.getrandbits(128)).hex[:16]
        app.state.checks[check_id] = {"reference": body.reference, "status": status}
        return JSONResponse({"check_id": check_id, "status": status})

    @app.get("/admin/config")
    def get_config() -> KycSimConfig:
        return state["config"]

    @app.patch("/admin/config")
    def patch_config(patch: KycConfigPatch) -> KycSimConfig:
        updates = patch.model_dump(exclude_none=True)
        state["config"] = state["config"].model_copy(update=updates)
        return state["config"]

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    return app
