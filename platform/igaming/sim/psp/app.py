"""HTTP API of the PSP simulator (protocol in docs/psp-protocol.md) and its live server."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ground.clock import Clock, SystemClock
from igaming.sim.lifecycle import background_lifespan
from igaming.sim.psp.config import PspSimConfig, load_config
from igaming.sim.psp.dispatcher import CallbackDispatcher
from igaming.sim.psp.ledger import Kind, iso_utc
from igaming.sim.psp.problems import problem
from igaming.sim.psp.reports import ReportError
from igaming.sim.psp.simulator import (
    IdempotencyConflict,
    PspDown,
    PspSimulator,
    TransferRequest,
    UnknownPsp,
)
from igaming.sim.redact import PathRefused, keep_secrets, redact, under
from igaming.tracing import configure_tracing_from_env, trace_app

log = logging.getLogger(__name__)


class SettlementReportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: date
    out_dir: str | None = None  # relative to the configured report_dir (igaming.sim.redact)


def _validation_problem(exc: ValidationError | RequestValidationError) -> JSONResponse:
    errors = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": e["type"]}
        for e in exc.errors()
    ]
    detail = "; ".join(f"{'.'.join(e['loc']) or 'body'}: {e['msg']}" for e in errors)
    return problem(422, "Invalid request body", detail, "invalid-body", errors=errors)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except json.JSONDecodeError as exc:
        raise _BadJson(str(exc)) from exc


class _BadJson(ValueError):
    pass


def create_app(
    config: PspSimConfig | None = None,
    clock: Clock | None = None,
    http_client: httpx.AsyncClient | None = None,
    *,
    run_dispatcher: bool = True,
    dispatch_interval_seconds: float = 0.1,
) -> FastAPI:
    """The simulator app; its lifespan runs the callback loop (and owns a client if none given).

    Tests drive callbacks themselves with ``app.state.dispatcher.deliver_due()``; the
    ASGI transport of httpx does not run the lifespan, so no loop competes with them.
    """
    clock = clock or SystemClock()
    dispatcher = CallbackDispatcher(clock, http_client)
    simulator = PspSimulator(config or PspSimConfig(), clock, dispatcher)

    every = simulator.config.report_every_seconds

    async def loops() -> None:
        tasks = [dispatcher.run(dispatch_interval_seconds)]
        if every > 0:
            tasks.append(_drop_reports(simulator, every))
        await asyncio.gather(*tasks)

    lifespan = background_lifespan(dispatcher, loops if run_dispatcher else None)
    app = FastAPI(title="pitwatch PSP simulator", lifespan=lifespan)
    trace_app(app)
    app.state.simulator = simulator
    app.state.dispatcher = dispatcher

    @app.exception_handler(RequestValidationError)
    async def _on_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_problem(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _on_http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = "Not found" if exc.status_code == 404 else "HTTP error"
        return problem(exc.status_code, title, str(exc.detail), f"http-{exc.status_code}")

    async def accept(psp: str, kind: Kind, request: Request) -> Response:
        try:
            simulator.require_psp(psp)
        except UnknownPsp:
            return problem(404, "Unknown PSP", f"no PSP named {psp!r} here", "unknown-psp")
        try:
            body = TransferRequest.model_validate(await _json_body(request))
        except _BadJson as exc:
            log.info("psp %s: %s body is not JSON: %s", psp, kind, exc)
            return problem(422, "Invalid request body", f"not JSON: {exc}", "invalid-body")
        except ValidationError as exc:
            log.info("psp %s: invalid %s body: %s", psp, kind, exc.errors())
            return _validation_problem(exc)
        knobs = simulator.knobs(psp, body.geo, body.method)
        if knobs.latency_ms:
            await asyncio.sleep(knobs.latency_ms / 1000)
        try:
            accepted = simulator.submit(psp, kind, body)
        except PspDown:
            return problem(
                503, "PSP unavailable", f"{psp} is not accepting {kind}s right now", "psp-down"
            )
        except IdempotencyConflict as exc:
            log.info("psp %s: idempotency conflict: %s", psp, exc)
            return problem(409, "Idempotency conflict", str(exc), "idempotency-conflict")
        return JSONResponse(accepted.body(), status_code=202)

    async def lookup(psp: str, kind: Kind, psp_reference: str) -> Response:
        tx = simulator.transaction(psp, kind, psp_reference)
        if tx is None:
            return problem(
                404, f"Unknown {kind}", f"no {kind} {psp_reference!r} at {psp}", f"unknown-{kind}"
            )
        status, reason = tx.status_at(clock.now())
        return JSONResponse(
            {
                "psp_reference": tx.psp_reference,
                "merchant_reference": tx.merchant_reference,
                "kind": tx.kind,
                "status": status,
                "reason": reason,
                "amount": tx.amount,
                "currency": tx.currency,
                "created_at": iso_utc(tx.created_at),
            }
        )

    @app.post("/v1/{psp}/payments", status_code=202)
    async def create_payment(psp: str, request: Request) -> Response:
        return await accept(psp, "payment", request)

    @app.post("/v1/{psp}/payouts", status_code=202)
    async def create_payout(psp: str, request: Request) -> Response:
        return await accept(psp, "payout", request)

    @app.get("/v1/{psp}/payments/{psp_reference}")
    async def get_payment(psp: str, psp_reference: str) -> Response:
        return await lookup(psp, "payment", psp_reference)

    @app.get("/v1/{psp}/payouts/{psp_reference}")
    async def get_payout(psp: str, psp_reference: str) -> Response:
        return await lookup(psp, "payout", psp_reference)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "psps": sorted(simulator.config.psps)}

    @app.get("/admin/config")
    async def get_config() -> dict[str, Any]:
        return redact(simulator.config.model_dump(mode="json"))

    @app.put("/admin/config")
    async def put_config(request: Request) -> Response:
        current = simulator.config
        try:
            body = keep_secrets(await _json_body(request), current.model_dump(mode="json"))
            new = PspSimConfig.model_validate(body)
        except _BadJson as exc:
            return problem(422, "Invalid request body", f"not JSON: {exc}", "invalid-body")
        except ValidationError as exc:
            return _validation_problem(exc)
        if new.report_dir != current.report_dir:
            # Where files are written is the start-up config's, not an HTTP caller's.
            detail = "report_dir is set at start-up (--config), not over HTTP"
            return problem(422, "Invalid request body", detail, "invalid-body")
        simulator.replace_config(new)
        log.info("psp simulator config replaced (%d psps)", len(new.psps))
        return JSONResponse(redact(new.model_dump(mode="json")))

    @app.patch("/admin/psps/{psp}")
    async def patch_psp(psp: str, request: Request) -> Response:
        try:
            changes = await _json_body(request)
            if not isinstance(changes, dict):
                detail = "expected a JSON object"
                return problem(422, "Invalid request body", detail, "invalid-body")
            current = simulator.config.psps.get(psp)
            changes = keep_secrets(changes, current.model_dump() if current else {})
            settings = simulator.patch_psp(psp, changes)
        except _BadJson as exc:
            return problem(422, "Invalid request body", f"not JSON: {exc}", "invalid-body")
        except UnknownPsp:
            return problem(404, "Unknown PSP", f"no PSP named {psp!r} here", "unknown-psp")
        except ValidationError as exc:
            return _validation_problem(exc)
        log.info("psp %s knobs patched: %s", psp, sorted(changes))
        return JSONResponse(redact(settings.model_dump(mode="json")))

    @app.get("/admin/transactions")
    async def list_transactions(psp: str | None = None, kind: str | None = None) -> Response:
        now = clock.now()
        items = [
            tx.to_json(now)
            for tx in simulator.ledger.transactions(psp)
            if kind is None or tx.kind == kind
        ]
        return JSONResponse({"transactions": items, "count": len(items)})

    @app.get("/admin/deliveries")
    async def list_deliveries(limit: int = 100) -> Response:
        recent = list(dispatcher.records)[-max(0, limit) :] if limit > 0 else []
        return JSONResponse(
            {
                "counts": dict(dispatcher.counts),
                "pending": len(dispatcher.pending()),
                "recent": [
                    {
                        "event_id": r.event_id,
                        "url": r.url,
                        "attempt": r.attempt,
                        "at": iso_utc(r.at),
                        "outcome": r.outcome,
                        "status_code": r.status_code,
                        "error": r.error,
                    }
                    for r in recent
                ],
            }
        )

    @app.post("/admin/settlement-reports")
    async def settlement_reports(request: Request) -> Response:
        try:
            body = SettlementReportRequest.model_validate(await _json_body(request))
            base = simulator.config.report_dir
            out_dir = under(base, body.out_dir) if body.out_dir else None
            reports = simulator.write_settlement_reports(body.date, out_dir)
        except PathRefused as exc:
            return problem(422, "Invalid request body", str(exc), "invalid-body")
        except _BadJson as exc:
            return problem(422, "Invalid request body", f"not JSON: {exc}", "invalid-body")
        except ValidationError as exc:
            return _validation_problem(exc)
        except ReportError as exc:
            return problem(422, "Report cannot be written", str(exc), "report-error")
        return JSONResponse(
            {
                "date": body.date.isoformat(),
                "paths": [str(r.path) for r in reports],
                "reports": [
                    {
                        "psp": r.psp,
                        "path": str(r.path),
                        "rows": len(r.rows),
                        "discrepancies": [
                            {
                                "kind": d.kind,
                                "psp_reference": d.psp_reference,
                                "merchant_reference": d.merchant_reference,
                                "type": d.type,
                                "expected_gross_minor": d.expected_gross_minor,
                                "reported_gross_minor": d.reported_gross_minor,
                            }
                            for d in r.discrepancies
                        ],
                    }
                    for r in reports
                ],
            }
        )

    return app


async def _drop_reports(simulator: PspSimulator, every: float) -> None:
    """Write yesterday's and today's settlement reports now and every ``every`` seconds."""
    while True:
        today = simulator.clock.now().date()
        for day in (today - timedelta(days=1), today):
            try:
                await asyncio.to_thread(simulator.write_settlement_reports, day)
            except (ReportError, OSError) as exc:
                log.warning("settlement reports for %s not written: %s", day, exc)
        await asyncio.sleep(every)


def serve(host: str = "127.0.0.1", port: int = 8601, config_path: str | Path | None = None) -> None:
    """Run the simulator with the system clock until interrupted."""
    import uvicorn

    configure_tracing_from_env("pitwatch-sim-psp")
    app = create_app(load_config(config_path), SystemClock())
    uvicorn.run(app, host=host, port=port, log_level="info")
