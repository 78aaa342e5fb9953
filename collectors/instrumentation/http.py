"""RED per route template: an ASGI middleware counting requests by route template (never
the raw path), method and status class, with an in-flight gauge and a duration histogram
whose exemplars carry the trace id of the current OpenTelemetry span."""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import trace

from collectors.catalog import platform as catalog
from collectors.catalog.labels import HTTP_METHOD, ROUTE, STATUS_CLASS
from collectors.instrumentation.registry import PlatformMetrics

UNMATCHED = "unmatched"  # no route matched (404 from the router): never the raw path
_STATUS_CLASSES = frozenset(STATUS_CLASS.values)


def status_class(status: int) -> str:
    label = f"{status // 100}xx"
    return label if label in _STATUS_CLASSES else "5xx"


def trace_exemplar() -> dict[str, str] | None:
    """The current span's trace id as exemplar labels, or None outside a valid span."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return {"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")}


def route_templates(app: Any) -> list[tuple[str, list[str]]]:
    """(path template, methods) of an app's routes, for the series created at start-up."""
    out = []
    for route in _walk(getattr(app, "routes", ())):
        original = getattr(route, "original_route", route)
        path = getattr(route, "path", None)
        methods = getattr(route, "methods", None) or getattr(original, "methods", None)
        if path and methods:
            out.append((path, sorted(m for m in methods if m != "HEAD") or sorted(methods)))
    return out


def _walk(routes: Any) -> Any:
    # FastAPI >= 0.16x keeps included routers as branches (effective_candidates()) instead
    # of copying their routes into app.routes.
    for route in routes:
        candidates = getattr(route, "effective_candidates", None)
        if callable(candidates):
            yield from _walk(candidates())
        else:
            yield route


class Answered:
    """Counts one answered request: by route template, method and status class, and its
    duration. The middleware's, and the accelerated simulation's, whose in-process calls
    pass no middleware (the backtest's recorder)."""

    def __init__(self, metrics: PlatformMetrics) -> None:
        self.requests = metrics[catalog.HTTP_REQUESTS]
        self.duration = metrics[catalog.HTTP_DURATION]
        self.route = metrics.binder(ROUTE)
        self.method = metrics.binder(HTTP_METHOD)

    def __call__(
        self,
        template: str | None,
        method: str | None,
        status: int,
        seconds: float,
        exemplar: dict[str, str] | None = None,
    ) -> None:
        route = self.route(template) if template else UNMATCHED
        bound = self.method(method)
        self.requests.labels(route, bound, status_class(status)).inc()
        self.duration.labels(route, bound).observe(seconds, exemplar)


class HttpMetricsMiddleware:
    """Pure ASGI middleware (no BaseHTTPMiddleware: no extra task, streaming untouched)."""

    def __init__(self, app: Any, metrics: PlatformMetrics) -> None:
        self.app = app
        self.in_flight = metrics[catalog.HTTP_IN_FLIGHT]
        self.answered = Answered(metrics)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # an exception escaping the app is a 500 for the client

        async def send_status(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.in_flight.inc()
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - started
            self.in_flight.dec()
            # The router writes the matched route into this same scope dict.
            template = getattr(scope.get("route"), "path", None)
            self.answered(template, scope.get("method"), status, elapsed, trace_exemplar())


def zero_init_routes(metrics: PlatformMetrics, app: Any) -> None:
    """Create the series of every route of the app (2xx, 4xx, 5xx) and of unmatched."""
    requests, duration = metrics[catalog.HTTP_REQUESTS], metrics[catalog.HTTP_DURATION]
    route, method = metrics.binder(ROUTE), metrics.binder(HTTP_METHOD)
    pairs = [(route(p), method(m)) for p, ms in route_templates(app) for m in ms]
    pairs += [(UNMATCHED, "GET")]
    for r, m in pairs:
        duration.labels(r, m)
        for cls in ("2xx", "4xx", "5xx"):
            requests.labels(r, m, cls)
