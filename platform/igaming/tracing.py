"""OpenTelemetry traces for the platform and the simulators.

Everything here goes through the global tracer provider API: until a process installs a
provider (``configure_tracing``) every helper is a no-op that touches no context, so
instrumented code costs about a microsecond a span in installs that do not trace. W3C trace context
(``traceparent``) is read from incoming requests by ``TracingMiddleware`` and written on
outgoing ones by ``client_span``/``trace_headers`` and the tracing httpx transports.

Privacy: span names and attributes carry route templates, methods, status codes and
bounded business values (psp, product, affiliate, outcome) — never a raw path, a URL with
ids or click ids in it, a player id or an email.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

import httpx
from opentelemetry import context, propagate, trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

ENDPOINT_ENV_VARS = ("PITWATCH_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
TRACES_PATH = "/v1/traces"

AttrValue = str | bool | int | float
P = ParamSpec("P")
R = TypeVar("R")

_tracer = trace.get_tracer(__name__)  # a proxy: follows the provider set later, if any


def otlp_endpoint_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """The OTLP/HTTP base URL from PITWATCH_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT."""
    env = os.environ if environ is None else environ
    for name in ENDPOINT_ENV_VARS:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def traces_url(endpoint: str) -> str:
    """``http://collector:4318`` → ``http://collector:4318/v1/traces`` (a full URL stays)."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith(TRACES_PATH) else endpoint + TRACES_PATH


def configure_tracing(
    service_name: str, endpoint: str | None, *, set_global: bool = True
) -> TracerProvider:
    """An SDK tracer provider for this process; it exports over OTLP/HTTP (batched) only
    when ``endpoint`` is given, and otherwise records nothing anywhere.

    With ``set_global`` it becomes the global provider (OpenTelemetry allows that once
    per process; later calls keep the first).
    """
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(traces_url(endpoint))))
    if set_global:
        trace.set_tracer_provider(provider)
    return provider


def configure_tracing_from_env(service_name: str) -> TracerProvider | None:
    """For ``serve`` commands: ``configure_tracing`` with the endpoint from the environment.

    No endpoint set: nothing is installed, so every span stays the API's cheap no-op.
    """
    endpoint = otlp_endpoint_from_env()
    return configure_tracing(service_name, endpoint) if endpoint else None


# --- internal and client spans ------------------------------------------------------------


def enabled() -> bool:
    """Whether a tracer provider is installed; without one every helper here is a no-op
    that touches no context (cheaper than the API's own no-op spans)."""
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


class _CurrentSpan:
    """A span, current inside the block. An exception is recorded by type only (its
    message may name a player or an email) and marks the span as an error."""

    __slots__ = ("_attrs", "_cm", "_ctx", "_kind", "_name", "_span")

    def __init__(
        self,
        name: str,
        kind: SpanKind,
        attrs: Mapping[str, AttrValue] | None,
        ctx: context.Context | None = None,
    ) -> None:
        self._name, self._kind, self._attrs, self._ctx = name, kind, attrs, ctx
        self._cm: AbstractContextManager[Span] | None = None
        self._span: Span = trace.INVALID_SPAN

    def __enter__(self) -> Span:
        if enabled():
            self._cm = _tracer.start_as_current_span(
                self._name,
                context=self._ctx,
                kind=self._kind,
                attributes=self._attrs or None,
                record_exception=False,
                set_status_on_exception=False,
            )
            self._span = self._cm.__enter__()
        return self._span

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        if self._cm is None:
            return None
        if exc_type is not None and self._span.is_recording():
            self._span.set_attribute("error.type", exc_type.__qualname__)
            self._span.set_status(Status(StatusCode.ERROR))
        return self._cm.__exit__(exc_type, exc, tb)


class _ClientSpan(_CurrentSpan):
    """Yields the trace-context headers of the span instead of the span."""

    __slots__ = ()

    def __enter__(self) -> dict[str, str]:  # type: ignore[override]
        super().__enter__()
        return trace_headers() if self._cm is not None else {}


def span(
    name: str, *, kind: SpanKind = SpanKind.INTERNAL, **attrs: AttrValue
) -> AbstractContextManager[Span]:
    """A span around a block, current inside it; an exception marks it as an error."""
    return _CurrentSpan(name, kind, attrs)


def traced(name: str, **attrs: AttrValue) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator form of ``span``; add attributes from inside with ``annotate``."""

    def wrap(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def inner(*args: P.args, **kwargs: P.kwargs) -> R:
            if not enabled():
                return func(*args, **kwargs)
            with _CurrentSpan(name, SpanKind.INTERNAL, attrs):
                return func(*args, **kwargs)

        return inner

    return wrap


def annotate(**attrs: AttrValue | None) -> None:
    """Set attributes on the current span (None values are skipped); a no-op untraced."""
    current = trace.get_current_span()
    if current.is_recording():
        current.set_attributes({k: v for k, v in attrs.items() if v is not None})


def trace_headers(ctx: context.Context | None = None) -> dict[str, str]:
    """W3C trace-context headers for the current (or given) context: ``{}`` untraced."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=ctx)
    return carrier


def context_from_headers(headers: Mapping[str, str]) -> context.Context:
    """The context that ``trace_headers`` wrote (e.g. kept with a job for later)."""
    return propagate.extract(headers)


def client_span(
    name: str, *, parent: Mapping[str, str] | None = None, **attrs: AttrValue
) -> AbstractContextManager[dict[str, str]]:
    """A client span around one outgoing call; yields the headers that carry it
    (``{}`` untraced).

    ``parent`` continues a trace saved earlier with ``trace_headers`` (a callback sent
    long after the request that caused it). Record the answer with ``record_status``.
    """
    ctx = context_from_headers(parent) if parent and enabled() else None
    return _ClientSpan(name, SpanKind.CLIENT, attrs, ctx)


def record_status(status_code: int | None, *, server: bool = False) -> None:
    """Put an HTTP answer's status on the current span; an error for 5xx (and 4xx on a
    client span), as OpenTelemetry's HTTP conventions say."""
    current = trace.get_current_span()
    if not current.is_recording() or status_code is None:
        return
    current.set_attribute("http.response.status_code", status_code)
    if status_code >= 500 or (status_code >= 400 and not server):
        current.set_status(Status(StatusCode.ERROR))


# --- incoming requests ------------------------------------------------------------------


class _AsgiHeaders(Getter[list[tuple[bytes, bytes]]]):
    """Reads the few propagation headers straight from the ASGI header list."""

    def get(self, carrier: list[tuple[bytes, bytes]], key: str) -> list[str] | None:
        wanted = key.lower().encode("latin-1")
        found = [v.decode("latin-1") for k, v in carrier if k.lower() == wanted]
        return found or None

    def keys(self, carrier: list[tuple[bytes, bytes]]) -> list[str]:
        return [k.decode("latin-1") for k, _ in carrier]


_ASGI_HEADERS = _AsgiHeaders()

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


class TracingMiddleware:
    """ASGI middleware: one server span per HTTP request, named ``METHOD /route/{template}``
    and continuing the caller's trace from its ``traceparent`` header.

    The route template is read after routing (FastAPI/Starlette put the matched route in
    the scope); a request that matched no route is named by its method alone.
    """

    def __init__(self, app: Callable[[Scope, Receive, Send], Any]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not enabled():
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        parent = propagate.extract(scope.get("headers") or [], getter=_ASGI_HEADERS)
        with _CurrentSpan(method, SpanKind.SERVER, {"http.request.method": method}, parent) as s:
            if not s.is_recording():
                await self.app(scope, receive, send)
                return
            status: list[int] = []

            async def send_recording(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    status.append(message["status"])
                await send(message)

            try:
                await self.app(scope, receive, send_recording)
            except Exception:
                status.append(500)  # the server answers 500 for what escapes the app
                raise
            finally:
                route = _route_template(scope)
                if route is not None:
                    s.set_attribute("http.route", route)
                    s.update_name(f"{method} {route}")
                if status:
                    s.set_attribute("http.response.status_code", status[0])
                    if status[0] >= 500:
                        s.set_status(Status(StatusCode.ERROR))


def trace_app(app: Any) -> Any:
    """Trace a FastAPI/Starlette app with ``TracingMiddleware`` (call before it serves).

    FastAPI ≥ 0.16x also traces natively as soon as a tracer provider is set; its server
    span records ``url.path`` and ``url.query``, which carry ids and click ids, and would
    double ours. So its native telemetry is switched off here (a no-op on older FastAPI).
    """
    if getattr(app.state, "pitwatch_traced", False):
        return app  # idempotent: a second middleware would double every span
    native = getattr(app, "_telemetry", None)  # FastAPI's TelemetryConfig, read per request
    if isinstance(native, dict):
        native.update(tracing=False, metrics=False, logs=False, auto_configure=False)
    app.add_middleware(TracingMiddleware)
    app.state.pitwatch_traced = True
    return app


def _route_template(scope: Scope) -> str | None:
    route = scope.get("route")
    path = getattr(route, "path", None) or getattr(route, "path_format", None)
    if not isinstance(path, str):
        return None
    return scope.get("root_path", "") + path if scope.get("root_path") else path


# --- outgoing httpx requests ------------------------------------------------------------


def _client_attributes(request: httpx.Request) -> dict[str, AttrValue]:
    # Host and port only: paths and queries carry ids (references, click ids).
    attrs: dict[str, AttrValue] = {
        "http.request.method": request.method,
        "server.address": request.url.host,
    }
    if request.url.port is not None:
        attrs["server.port"] = request.url.port
    return attrs


class TracingTransport(httpx.BaseTransport):
    """Wraps an httpx transport: a client span per request, ``traceparent`` injected."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self.inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        name = f"HTTP {request.method}"
        with _CurrentSpan(name, SpanKind.CLIENT, _client_attributes(request)):
            request.headers.update(trace_headers())
            response = self.inner.handle_request(request)
            record_status(response.status_code)
            return response

    def close(self) -> None:
        self.inner.close()


class AsyncTracingTransport(httpx.AsyncBaseTransport):
    """The asyncio twin of ``TracingTransport``."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        name = f"HTTP {request.method}"
        with _CurrentSpan(name, SpanKind.CLIENT, _client_attributes(request)):
            request.headers.update(trace_headers())
            response = await self.inner.handle_async_request(request)
            record_status(response.status_code)
            return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def _inject_hook(request: httpx.Request) -> None:
    for key, value in trace_headers().items():
        request.headers.setdefault(key, value)


async def _async_inject_hook(request: httpx.Request) -> None:
    _inject_hook(request)


def instrument_httpx_client(client: httpx.Client | httpx.AsyncClient) -> None:
    """Propagate the current trace on every request of a client we did not build (an event
    hook adds ``traceparent``); the caller's ``client_span`` makes the span itself."""
    hooks = client.event_hooks
    hook: Callable[..., Any] = (
        _async_inject_hook if isinstance(client, httpx.AsyncClient) else _inject_hook
    )
    requests: Iterable[Callable[..., Any]] = hooks.get("request", [])
    if hook not in requests:
        hooks["request"] = [*requests, hook]
        client.event_hooks = hooks
