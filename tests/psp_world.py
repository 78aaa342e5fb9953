"""The platform and the PSP simulator wired to each other in-process (ASGI transports, one
shared fake clock), approving every payment after a short delay."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ground.clock import FakeClock
from igaming.api.app import create_app as create_platform_app
from igaming.bootstrap import Platform
from igaming.cashier.gateway import HttpPspGateway
from igaming.sim.psp import PspSimConfig
from igaming.sim.psp import create_app as create_psp_app
from tests.conftest import make_platform


@dataclass
class PspWorld:
    platform: Platform
    psp_app: FastAPI
    psp_client: TestClient
    platform_app: FastAPI
    clock: FakeClock


class _LazyApp:
    """The platform app is built after the PSP app; the transport looks it up per call."""

    def __init__(self, holder: dict[str, Any]) -> None:
        self.holder = holder

    async def __call__(self, scope, receive, send):
        await self.holder["app"](scope, receive, send)


@contextlib.contextmanager
def psp_world(engine: Engine, report_dir: Path) -> Iterator[PspWorld]:
    clock = FakeClock()
    config = PspSimConfig(seed=11, report_dir=str(report_dir))
    for psp in config.psps.values():
        # The simulator jitters the delay to [0.5, 1.5) × the mean: due between 1 s and 3 s.
        psp.latency_ms, psp.callback_delay_seconds = 0, 2
        psp.approval_rate, psp.failure_rate, psp.chargeback_rate = 1.0, 0.0, 0.0
    holder: dict[str, Any] = {}
    transport = httpx.ASGITransport(app=_LazyApp(holder))
    psp_app = create_psp_app(
        config,
        clock,
        httpx.AsyncClient(transport=transport, base_url="http://platform"),
        run_dispatcher=False,
    )
    with TestClient(psp_app) as psp_client:
        platform = make_platform(engine, clock=clock, psp=HttpPspGateway("", 5, client=psp_client))
        holder["app"] = create_platform_app(platform)
        yield PspWorld(platform, psp_app, psp_client, holder["app"], clock)
