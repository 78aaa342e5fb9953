"""The platform's own instrumentation: metric objects from the catalog in a registry per
platform, fed by domain events (bus), HTTP middleware and SQLAlchemy engine events.

``instrument_platform`` and ``instrument_app`` are attached by the composition root,
``pitwatch.compose.build_platform`` (unless ``instrument=False`` or the environment has
PITWATCH_INSTRUMENTATION=0, the switch the overhead benchmark uses): the platform itself
never imports the collectors.

/metrics is never on the player-facing app (deposit volumes per PSP and GEO, affiliate
names): ``serve_metrics`` serves it on an internal listener of its own (``pitwatch
platform serve``: settings.metrics_host/metrics_port, 127.0.0.1:9600 by default), and
``metrics_app`` is the same endpoint as an ASGI app for in-process tests.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_wsgi_server
from starlette.applications import Starlette
from starlette.routing import Route

from collectors.instrumentation.build import install_build_info, subscribe_deploys
from collectors.instrumentation.db import instrument_engine
from collectors.instrumentation.endpoint import METRICS_PATH, metrics_endpoint
from collectors.instrumentation.events import subscribe
from collectors.instrumentation.http import HttpMetricsMiddleware, zero_init_routes
from collectors.instrumentation.registry import PlatformMetrics

if TYPE_CHECKING:
    from igaming.bootstrap import Platform

ENABLE_ENV = "PITWATCH_INSTRUMENTATION"


def instrument_platform(platform: Platform) -> PlatformMetrics:
    """A fresh registry for this platform, subscribed to its bus and its engine."""
    metrics = PlatformMetrics()
    subscribe(platform.bus, metrics, platform.routing)
    instrument_engine(platform.engine, metrics)
    install_build_info(metrics, platform.settings.version)
    subscribe_deploys(platform.bus, metrics)
    return metrics


def instrument_app(app: Any, metrics: PlatformMetrics) -> None:
    """RED middleware on a FastAPI app whose routes are all included (no /metrics route:
    see ``serve_metrics``)."""
    zero_init_routes(metrics, app)
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics)


def metrics_app(metrics: PlatformMetrics) -> Starlette:
    """/metrics alone, as an ASGI app (Prometheus text, or OpenMetrics with exemplars)."""
    return Starlette(routes=[Route(METRICS_PATH, metrics_endpoint(metrics.registry))])


def serve_metrics(
    metrics: PlatformMetrics, host: str, port: int
) -> tuple[WSGIServer, threading.Thread]:
    """The internal metrics listener, in a daemon thread (port 0: a free one). Content
    negotiation as ``metrics_endpoint``: OpenMetrics when the scraper asks for it."""
    return start_wsgi_server(port, addr=host, registry=metrics.registry)


__all__ = [
    "ENABLE_ENV",
    "PlatformMetrics",
    "instrument_app",
    "instrument_platform",
    "metrics_app",
    "serve_metrics",
]
