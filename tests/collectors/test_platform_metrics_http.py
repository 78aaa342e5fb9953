"""RED per route template, in-flight, exemplars and the /metrics endpoint."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST as OPENMETRICS
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from collectors.catalog import platform as c
from collectors.instrumentation import PlatformMetrics, metrics_app
from collectors.instrumentation.http import HttpMetricsMiddleware, status_class
from igaming.api.app import create_app
from tests.collectors.metrics_helpers import sample

TEMPLATE = "/cashier/deposits/{deposit_id}"


@pytest.fixture
def client(sqlite_platform):
    return TestClient(create_app(sqlite_platform), raise_server_exceptions=False)


def test_requests_are_counted_by_route_template_never_by_path(client, sqlite_platform):
    r = sqlite_platform.metrics.registry
    labels = {"route": TEMPLATE, "http_method": "GET"}
    assert sample(r, c.HTTP_REQUESTS, **labels, status_class="4xx") == 0

    for deposit_id in ("11111111-2222-3333-4444-555555555555", "d-2"):
        assert client.get(f"/cashier/deposits/{deposit_id}").status_code == 401
    assert client.get("/no/such/page/42").status_code == 404
    assert client.get("/healthz").status_code == 200

    assert sample(r, c.HTTP_REQUESTS, **labels, status_class="4xx") == 2
    assert sample(r, c.HTTP_DURATION, "_count", **labels) == 2
    unmatched = {"route": "unmatched", "http_method": "GET", "status_class": "4xx"}
    assert sample(r, c.HTTP_REQUESTS, **unmatched) == 1
    assert sample(r, c.HTTP_REQUESTS, route="/healthz", http_method="GET", status_class="2xx") == 1
    assert sample(r, c.HTTP_IN_FLIGHT) == 0
    exposition = TestClient(metrics_app(sqlite_platform.metrics)).get("/metrics").text
    assert "d-2" not in exposition and "/no/such" not in exposition


def test_metrics_endpoint_speaks_prometheus_text_and_openmetrics(sqlite_platform):
    client = TestClient(metrics_app(sqlite_platform.metrics))  # the internal listener's app
    plain = client.get("/metrics")
    assert plain.status_code == 200
    assert plain.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert c.DEPOSIT_ATTEMPTS.exposed_name in plain.text

    om = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert om.headers["content-type"].startswith(OPENMETRICS.split(";")[0] + "; version=1.0.0")
    names = {f.name for f in text_string_to_metric_families(om.text)}
    assert c.DEPOSIT_ATTEMPTS.name in names  # OpenMetrics names counters without _total


async def _ok(scope, receive, send):
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def _boom(scope, receive, send):
    raise RuntimeError("boom")


def _call(app, metrics):
    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        return None

    scope = {"type": "http", "method": "POST", "path": "/x", "headers": []}
    asyncio.run(HttpMetricsMiddleware(app, metrics)(scope, receive, send))


def test_durations_carry_the_trace_id_as_exemplar_inside_a_span():
    metrics = PlatformMetrics()
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("request") as span:
        _call(_ok, metrics)
        trace_id = format(span.get_span_context().trace_id, "032x")
    _call(_ok, metrics)  # outside a span: no exemplar, still counted

    families = metrics[c.HTTP_DURATION].collect()
    exemplars = [s.exemplar for f in families for s in f.samples if s.exemplar]
    assert [e.labels["trace_id"] for e in exemplars] == [trace_id]
    labels = {"route": "unmatched", "http_method": "POST"}
    assert sample(metrics.registry, c.HTTP_DURATION, "_count", **labels) == 2
    assert trace.get_current_span().get_span_context().is_valid is False
    assert f'trace_id="{trace_id}"' in generate_openmetrics(metrics.registry).decode()


def test_an_exception_is_a_5xx_and_leaves_nothing_in_flight():
    metrics = PlatformMetrics()
    with pytest.raises(RuntimeError):
        _call(_boom, metrics)
    labels = {"route": "unmatched", "http_method": "POST", "status_class": "5xx"}
    assert sample(metrics.registry, c.HTTP_REQUESTS, **labels) == 1
    assert sample(metrics.registry, c.HTTP_IN_FLIGHT) == 0


@pytest.mark.parametrize(
    ("status", "label"), [(200, "2xx"), (302, "3xx"), (404, "4xx"), (503, "5xx"), (99, "5xx")]
)
def test_status_classes(status, label):
    assert status_class(status) == label
