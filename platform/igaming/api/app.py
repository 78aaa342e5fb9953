"""The platform's FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from igaming.api import body_limit, contract, problems
from igaming.api.routes import (
    admin,
    affiliates,
    bonus,
    cashier,
    casino,
    health,
    kyc,
    players,
    sportsbook,
    wallet,
)
from igaming.bootstrap import Platform


def create_app(platform: Platform) -> FastAPI:
    # The API's map is no public page outside development/test (settings.docs_enabled).
    docs = bool(platform.settings.docs_enabled)
    app = FastAPI(
        title="pitwatch reference iGaming platform",
        version=platform.settings.version,
        description="Accounts, KYC, double-entry wallet and cashier with PSP callbacks.",
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.platform = platform
    problems.install(app)
    body_limit.install(app, platform.settings.max_request_body_bytes)
    contract.install(app)
    for module in (
        health,
        players,
        kyc,
        wallet,
        cashier,
        sportsbook,
        casino,
        bonus,
        affiliates,
        admin,
    ):
        app.include_router(module.router)
    for hook in platform.app_hooks:  # what the entry point attached (pitwatch.compose)
        hook(app)
    from igaming.tracing import trace_app

    trace_app(app)  # one server span per request, named by the route template
    return app
