"""The platform's own instrumentation: metric objects from the catalog in a registry per
platform, fed by domain events (bus), HTTP middleware and SQLAlchemy engine events.

``instrument_platform`` is called by ``igaming.bootstrap.build_platform`` (unless
``instrument=False`` or the environment has PITWATCH_INSTRUMENTATION=0, the switch the
overhead benchmark uses); ``instrument_app`` by ``igaming.api.app.create_app``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from collectors.instrumentation.build import install_build_info
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
    return metrics


def instrument_app(app: Any, metrics: PlatformMetrics) -> None:
    """RED middleware and /metrics on a FastAPI app whose routes are all included."""
    app.add_route(METRICS_PATH, metrics_endpoint(metrics.registry), include_in_schema=False)
    zero_init_routes(metrics, app)
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics)


__all__ = ["ENABLE_ENV", "PlatformMetrics", "instrument_app", "instrument_platform"]
