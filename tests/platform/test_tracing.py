"""OpenTelemetry traces: server spans named by route templates, W3C trace context carried
from the platform to the simulators and back, business spans without personal data."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from igaming.api.app import create_app as create_platform_app
from igaming.tracing import (
    AsyncTracingTransport,
    configure_tracing,
    instrument_httpx_client,
    otlp_endpoint_from_env,
    span,
    trace_app,
    traces_url,
)
from tests.conftest import bearer, make_platform, register_player
from tests.platform.affiliate_helpers import approved_deposit, make_world, referred_player
from tests.psp_world import psp_world as make_psp_world

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN_ID = "00f067aa0ba902b7"


class _Gate(SpanProcessor):
    """Forwards ended spans to the exporter only while a test of this module captures, so
    the session-wide provider does not hoard the spans of the other test modules."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self.inner = SimpleSpanProcessor(exporter)
        self.open = False

    def on_end(self, span: ReadableSpan) -> None:
        if self.open:
            self.inner.on_end(span)


@pytest.fixture(scope="session")
def _tracing() -> tuple[_Gate, InMemorySpanExporter]:
    # The global provider can be set once per process: one for the session.
    exporter = InMemorySpanExporter()
    gate = _Gate(exporter)
    provider = TracerProvider()
    provider.add_span_processor(gate)
    trace.set_tracer_provider(provider)
    assert trace.get_tracer_provider() is provider, "another provider was set first"
    return gate, exporter


@pytest.fixture
def spans(_tracing: tuple[_Gate, InMemorySpanExporter]) -> Iterator[InMemorySpanExporter]:
    gate, exporter = _tracing
    exporter.clear()
    gate.open = True
    yield exporter
    gate.open = False
    exporter.clear()


def named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


def one(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    found = named(exporter, name)
    seen = sorted({s.name for s in exporter.get_finished_spans()})
    assert len(found) == 1, f"{len(found)} spans named {name!r}; seen: {seen}"
    return found[0]


def traced_platform_app(platform: Any) -> Any:
    # create_app traces the app itself; tracing it again must not double the spans.
    return trace_app(create_platform_app(platform))


def every_value(exporter: InMemorySpanExporter) -> list[str]:
    """Names, attribute values and event attribute values of every captured span."""
    out: list[str] = []
    for s in exporter.get_finished_spans():
        out.append(s.name)
        out.extend(str(v) for v in (s.attributes or {}).values())
        for event in s.events:
            out.extend(str(v) for v in (event.attributes or {}).values())
    return out


# --- the platform API --------------------------------------------------------------------


def test_an_api_request_makes_a_server_span_named_by_its_route_template(spans, sqlite_engine):
    platform = make_platform(sqlite_engine)
    player = register_player(platform)
    client = TestClient(traced_platform_app(platform))

    r = client.get("/players/me", headers=bearer(client, player))

    assert r.status_code == 200
    s = one(spans, "GET /players/me")
    assert s.kind == SpanKind.SERVER
    assert s.attributes == {
        "http.request.method": "GET",
        "http.route": "/players/me",
        "http.response.status_code": 200,
    }


def test_a_path_with_an_id_is_named_by_its_template_and_keeps_its_status(spans, sqlite_engine):
    platform = make_platform(sqlite_engine)
    player = register_player(platform)
    client = TestClient(traced_platform_app(platform))

    r = client.get("/cashier/deposits/dep-123456789", headers=bearer(client, player))

    assert r.status_code == 404
    s = one(spans, "GET /cashier/deposits/{deposit_id}")
    assert s.attributes["http.response.status_code"] == 404
    assert not any("dep-123456789" in v for v in every_value(spans))


def test_an_incoming_traceparent_is_continued(spans, sqlite_engine):
    client = TestClient(traced_platform_app(make_platform(sqlite_engine)))

    client.get("/healthz", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"})

    s = one(spans, "GET /healthz")
    assert s.context.trace_id == int(TRACE_ID, 16)
    assert s.parent is not None and s.parent.span_id == int(PARENT_SPAN_ID, 16)
    assert s.parent.is_remote


def test_a_request_without_traceparent_starts_a_new_trace(spans, sqlite_engine):
    client = TestClient(traced_platform_app(make_platform(sqlite_engine)))

    client.get("/healthz")
    client.get("/healthz")

    first, second = named(spans, "GET /healthz")
    assert first.parent is None and second.parent is None
    assert first.context.trace_id != second.context.trace_id


def test_an_unknown_route_is_named_by_its_method_alone(spans, sqlite_engine):
    client = TestClient(traced_platform_app(make_platform(sqlite_engine)))

    assert client.get("/no/such/route/42").status_code == 404

    s = one(spans, "GET")
    assert "http.route" not in s.attributes
    assert s.attributes["http.response.status_code"] == 404


# --- the platform and the PSP simulator ---------------------------------------------------


@pytest.fixture
def psp_world(engine, tmp_path):
    """The platform and the PSP simulator in-process (tests/psp_world.py), both traced."""
    with make_psp_world(engine, tmp_path) as w:
        yield w.platform, w.psp_app, TestClient(w.platform_app), w.clock


def deposit_through_the_api(platform, api) -> tuple[Any, str]:
    player = register_player(platform)
    r = api.post(
        "/cashier/deposits",
        json={"amount": 4_200, "currency": "EUR", "method": "card"},
        headers={**bearer(api, player), "Idempotency-Key": "k1"},
    )
    assert r.status_code == 201, r.text
    return player, r.json()["id"]


def test_a_deposits_psp_call_carries_traceparent_to_the_psp_simulator(spans, psp_world):
    platform, _, api, _ = psp_world

    deposit_through_the_api(platform, api)

    server = one(spans, "POST /cashier/deposits")
    call = one(spans, "psp.submit")
    at_psp = one(spans, "POST /v1/{psp}/payments")
    assert call.kind == SpanKind.CLIENT and at_psp.kind == SpanKind.SERVER
    assert call.attributes["psp"] == "paybridge" and call.attributes["kind"] == "payments"
    assert call.attributes["http.response.status_code"] == 202
    assert call.context.trace_id == server.context.trace_id == at_psp.context.trace_id
    assert at_psp.parent is not None and at_psp.parent.span_id == call.context.span_id
    assert at_psp.parent.is_remote  # it came over HTTP, in the traceparent header


def test_the_psps_callback_continues_the_deposits_trace(spans, psp_world):
    platform, psp_app, api, clock = psp_world
    deposit_through_the_api(platform, api)
    deposit_trace = one(spans, "POST /cashier/deposits").context.trace_id

    clock.advance(4)
    records = asyncio.run(psp_app.state.dispatcher.deliver_due())

    assert [r.status_code for r in records] == [200]
    sent = one(spans, "psp.callback.send")
    received = one(spans, "POST /cashier/callbacks/{psp}")
    handled = one(spans, "psp.callback")
    assert sent.context.trace_id == received.context.trace_id == deposit_trace
    assert received.parent is not None and received.parent.span_id == sent.context.span_id
    assert handled.parent is not None and handled.parent.span_id == received.context.span_id
    assert {k: handled.attributes[k] for k in ("psp", "kind", "status", "outcome")} == {
        "psp": "paybridge",
        "kind": "payment",
        "status": "approved",
        "outcome": "applied",
    }


def test_no_span_carries_the_player_id_or_email(spans, psp_world):
    platform, psp_app, api, clock = psp_world
    player, deposit_id = deposit_through_the_api(platform, api)
    api.get(f"/cashier/deposits/{deposit_id}", headers=bearer(api, player))
    clock.advance(4)
    asyncio.run(psp_app.state.dispatcher.deliver_due())

    values = every_value(spans)
    assert len(spans.get_finished_spans()) >= 6
    # FastAPI's native server spans (raw url.path and url.query) are switched off.
    assert not [s for s in spans.get_finished_spans() if "url.path" in (s.attributes or {})]
    for secret in (player.id, player.email, deposit_id):
        assert not [v for v in values if secret in v], secret


# --- affiliates, wallet, outgoing clients ------------------------------------------------


def test_a_postback_delivery_has_a_span_with_affiliate_and_outcome(spans, engine):
    w = make_world(engine)
    player = referred_player(w.p, click_id="clk-secret-77")
    approved_deposit(w.p, player)

    results = w.pump()

    assert results and {r.outcome for r in results} == {"delivered"}
    delivered = named(spans, "postback.deliver")
    assert len(delivered) == len(results)
    assert {(s.attributes["affiliate"], s.attributes["outcome"]) for s in delivered} == {
        ("aff17", "delivered")
    }
    sends = {s.parent.span_id: s for s in named(spans, "postback.send") if s.parent}
    at_network = named(spans, "GET /postback/{affiliate}")
    assert len(at_network) == len(results)
    for deliver in delivered:
        send = sends[deliver.context.span_id]  # the HTTP call inside the delivery
        assert send.attributes["http.response.status_code"] == 200
        (received,) = [s for s in at_network if s.parent.span_id == send.context.span_id]
        assert received.context.trace_id == deliver.context.trace_id
    values = every_value(spans)
    for secret in (player.id, player.email, "clk-secret-77"):
        assert not [v for v in values if secret in v], secret


def test_a_failed_postback_is_a_span_with_its_outcome(spans, engine):
    w = make_world(engine)
    w.client.patch("/admin/knobs", json={"down": True})
    approved_deposit(w.p, referred_player(w.p))

    results = w.pump()

    assert results and {r.outcome for r in results} == {"failed"}
    assert {s.attributes["outcome"] for s in named(spans, "postback.deliver")} == {"failed"}
    for send in named(spans, "postback.send"):
        assert send.attributes["http.response.status_code"] == 503
        assert send.status.status_code == trace.StatusCode.ERROR


def test_a_wallet_move_has_a_span_with_tx_type_and_product(spans, sqlite_engine):
    from igaming.wallet.service import place_stake

    platform = make_platform(sqlite_engine)
    player = register_player(platform)
    approved_deposit(platform, player, amount=1_000)

    place_stake(
        platform, player.id, product="casino", amount=300, currency="EUR", idempotency_key="b1"
    )

    s = one(spans, "wallet.product_move")
    assert s.attributes == {"tx_type": "bet", "product": "casino"}


def test_the_tracing_transport_makes_a_client_span_and_sends_traceparent(spans):
    seen: list[str | None] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("traceparent"))
        return httpx.Response(204)

    async def call() -> None:
        transport = AsyncTracingTransport(httpx.MockTransport(answer))
        async with httpx.AsyncClient(transport=transport) as client:
            with span("round"):
                await client.post("http://platform.test:8600/casino/seamless/x/bet?player=p1")

    asyncio.run(call())

    client_span = one(spans, "HTTP POST")
    assert client_span.kind == SpanKind.CLIENT
    assert client_span.attributes == {
        "http.request.method": "POST",
        "server.address": "platform.test",
        "server.port": 8600,
        "http.response.status_code": 204,
    }
    trace_id = f"{client_span.context.trace_id:032x}"
    span_id = f"{client_span.context.span_id:016x}"
    assert [h.rsplit("-", 1)[0] for h in seen if h] == [f"00-{trace_id}-{span_id}"]
    assert client_span.parent is not None
    assert client_span.parent.span_id == one(spans, "round").context.span_id


def test_an_instrumented_client_carries_the_current_trace(spans):
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("traceparent"))
        return httpx.Response(200)

    client = httpx.Client(transport=httpx.MockTransport(answer))
    instrument_httpx_client(client)
    instrument_httpx_client(client)  # idempotent: one header, not two
    with span("outer") as outer:
        client.get("http://kyc.test/v1/checks")
    client.get("http://kyc.test/v1/checks")  # outside any span: nothing to carry

    ctx = outer.get_span_context()
    assert [h.rsplit("-", 1)[0] for h in seen if h] == [
        f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}"
    ]
    assert seen[1] is None


def test_an_exception_marks_the_span_by_type_without_its_message(spans):
    with pytest.raises(ValueError), span("work", step="one"):
        raise ValueError("player p-42 at someone@example.com")

    s = one(spans, "work")
    assert s.status.status_code == trace.StatusCode.ERROR
    assert s.attributes == {"step": "one", "error.type": "ValueError"}
    assert not s.events and not s.status.description


# --- configuration ------------------------------------------------------------------------


def test_without_an_endpoint_no_exporter_is_installed():
    provider = configure_tracing("pitwatch-test", None, set_global=False)

    assert provider._active_span_processor._span_processors == ()
    assert provider.resource.attributes["service.name"] == "pitwatch-test"


def test_with_an_endpoint_spans_are_batched_to_otlp_http():
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = configure_tracing("pitwatch-test", "http://127.0.0.1:4318", set_global=False)
    try:
        (processor,) = provider._active_span_processor._span_processors
        assert isinstance(processor, BatchSpanProcessor)
        exporter = processor.span_exporter
        assert isinstance(exporter, OTLPSpanExporter)
        assert exporter._endpoint == "http://127.0.0.1:4318/v1/traces"
    finally:
        provider.shutdown()


def test_the_endpoint_comes_from_the_pitwatch_or_the_standard_variable():
    assert otlp_endpoint_from_env({}) is None
    assert otlp_endpoint_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": " "}) is None
    assert otlp_endpoint_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318"}) == (
        "http://a:4318"
    )
    both = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "PITWATCH_OTLP_ENDPOINT": "http://b"}
    assert otlp_endpoint_from_env(both) == "http://b"
    assert traces_url("http://b:4318/") == "http://b:4318/v1/traces"
    assert traces_url("http://b:4318/v1/traces") == "http://b:4318/v1/traces"
