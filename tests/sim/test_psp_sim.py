"""The PSP simulator, driven through its HTTP API with a fake clock and in-process transports."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI, Request

from ground.clock import FakeClock
from igaming.partners import signing
from igaming.sim.psp import (
    COLUMNS,
    CallbackDispatcher,
    KnobOverride,
    PspSettings,
    PspSimConfig,
    create_app,
)

T = TypeVar("T")
START = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
CALLBACK_URL = "http://platform.test/v1/psp-callbacks/paybridge"
SECRET = "dev-secret-paybridge"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class Receiver:
    """The platform's callback endpoint, as a MockTransport handler that records requests."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer or (lambda _: httpx.Response(200))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    @property
    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


def psp_settings(**knobs: Any) -> PspSettings:
    base: dict[str, Any] = {
        "latency_ms": 0,
        "approval_rate": 1.0,
        "failure_rate": 0.0,
        "callback_delay_seconds": 10.0,
    }
    return PspSettings(**{**base, **knobs})


class Harness:
    def __init__(
        self,
        seed: int = 7,
        receiver: Receiver | None = None,
        psps: dict[str, PspSettings] | None = None,
        **knobs: Any,
    ) -> None:
        self.clock = FakeClock(START)
        self.receiver = receiver or Receiver()
        self.config = PspSimConfig(seed=seed, psps=psps or {"paybridge": psp_settings(**knobs)})
        self.callbacks = httpx.AsyncClient(transport=httpx.MockTransport(self.receiver))
        self.app = create_app(self.config, self.clock, self.callbacks)
        self.api = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://psp.test"
        )
        self.dispatcher: CallbackDispatcher = self.app.state.dispatcher

    async def pay(
        self, ref: str = "dep-1", psp: str = "paybridge", kind: str = "payments", **body: Any
    ) -> httpx.Response:
        payload = {
            "merchant_reference": ref,
            "amount": 2500,
            "currency": "EUR",
            "method": "card",
            "geo": "DE",
            "callback_url": CALLBACK_URL,
            **body,
        }
        return await self.api.post(f"/v1/{psp}/{kind}", json=payload)

    async def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await self.dispatcher.deliver_due()

    async def transactions(self, psp: str | None = None) -> list[dict[str, Any]]:
        params = {"psp": psp} if psp else {}
        response = await self.api.get("/admin/transactions", params=params)
        return response.json()["transactions"]


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    return body


# -- the payment API ------------------------------------------------------------------------


def test_payment_is_accepted_as_pending_with_a_psp_prefixed_reference() -> None:
    async def scenario() -> None:
        h = Harness()
        response = await h.pay()
        assert response.status_code == 202
        body = response.json()
        assert body["status"] == "pending"
        assert body["psp_reference"].startswith("paybridge_")
        other = await h.pay("dep-2")
        assert other.json()["psp_reference"] != body["psp_reference"]

    run(scenario())


def test_payout_is_accepted_and_reported_paid() -> None:
    async def scenario() -> None:
        h = Harness()
        response = await h.pay("wd-1", kind="payouts", amount=9000)
        assert response.status_code == 202
        await h.advance(60)
        [payload] = h.receiver.payloads
        assert payload["kind"] == "payout"
        assert payload["status"] == "paid"
        assert payload["psp_reference"] == response.json()["psp_reference"]

    run(scenario())


def test_unknown_psp_is_404_problem_json() -> None:
    async def scenario() -> None:
        h = Harness()
        body = assert_problem(await h.pay(psp="nosuchpsp"), 404)
        assert "nosuchpsp" in body["detail"]

    run(scenario())


@pytest.mark.parametrize(
    "bad",
    [
        {"amount": 0},
        {"amount": -5},
        {"amount": "25.00"},
        {"amount": 12.5},
        {"currency": "XXX"},
        {"geo": "Germany"},
        {"callback_url": "not a url"},
        {"merchant_reference": ""},
    ],
)
def test_bad_body_is_422_problem_json_and_nothing_is_recorded(bad: dict[str, Any]) -> None:
    async def scenario() -> None:
        h = Harness()
        assert_problem(await h.pay(**bad), 422)
        assert await h.transactions() == []

    run(scenario())


def test_non_json_body_is_422_problem_json() -> None:
    async def scenario() -> None:
        h = Harness()
        response = await h.api.post("/v1/paybridge/payments", content=b"{nope")
        assert_problem(response, 422)

    run(scenario())


def test_down_psp_answers_503_problem_json_and_records_nothing() -> None:
    async def scenario() -> None:
        h = Harness(down=True)
        assert_problem(await h.pay(), 503)
        assert await h.transactions() == []

    run(scenario())


def test_same_reference_and_body_replays_the_first_answer_with_one_callback() -> None:
    async def scenario() -> None:
        h = Harness()
        first = await h.pay("dep-1")
        again = await h.pay("dep-1")
        assert again.status_code == 202
        assert again.json() == first.json()
        await h.advance(60)
        assert len(h.receiver.requests) == 1

    run(scenario())


def test_same_reference_with_a_different_body_is_409_conflict() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.pay("dep-1", amount=2500)
        body = assert_problem(await h.pay("dep-1", amount=2600), 409)
        assert "dep-1" in body["detail"]
        assert len(await h.transactions()) == 1

    run(scenario())


def test_payment_status_can_be_polled() -> None:
    async def scenario() -> None:
        h = Harness()
        ref = (await h.pay()).json()["psp_reference"]
        before = await h.api.get(f"/v1/paybridge/payments/{ref}")
        assert before.json()["status"] == "pending"
        h.clock.advance(60)
        after = await h.api.get(f"/v1/paybridge/payments/{ref}")
        assert after.json()["status"] == "approved"
        assert_problem(await h.api.get("/v1/paybridge/payments/nope"), 404)

    run(scenario())


# -- callbacks ------------------------------------------------------------------------------


def test_approved_callback_is_delivered_at_its_time_and_not_before() -> None:
    async def scenario() -> None:
        h = Harness(callback_delay_seconds=10.0)
        ref = (await h.pay(amount=2500)).json()["psp_reference"]
        [tx] = await h.transactions()
        occurred = datetime.fromisoformat(tx["events"][0]["occurred_at"])
        assert START + timedelta(seconds=5) <= occurred <= START + timedelta(seconds=15)

        h.clock.set(occurred - timedelta(milliseconds=1))
        assert await h.dispatcher.deliver_due() == []
        assert h.receiver.requests == []

        h.clock.set(occurred)
        [record] = await h.dispatcher.deliver_due()
        assert record.outcome == "delivered"
        [payload] = h.receiver.payloads
        assert payload == {
            "event_id": payload["event_id"],
            "psp": "paybridge",
            "psp_reference": ref,
            "merchant_reference": "dep-1",
            "kind": "payment",
            "status": "approved",
            "amount": 2500,
            "currency": "EUR",
            "reason": None,
            "occurred_at": tx["events"][0]["occurred_at"],
        }
        assert payload["occurred_at"].endswith("Z")

    run(scenario())


def test_declined_callback_carries_a_reason_from_the_mix() -> None:
    async def scenario() -> None:
        h = Harness(approval_rate=0.0, decline_reasons={"3ds_failed": 1.0})
        await h.pay()
        await h.advance(60)
        [payload] = h.receiver.payloads
        assert (payload["status"], payload["reason"]) == ("declined", "3ds_failed")

    run(scenario())


def test_failure_rate_one_fails_with_acquirer_error() -> None:
    async def scenario() -> None:
        h = Harness(failure_rate=1.0, failure_reasons={"acquirer_error": 1.0})
        await h.pay()
        await h.advance(60)
        [payload] = h.receiver.payloads
        assert (payload["status"], payload["reason"]) == ("failed", "acquirer_error")

    run(scenario())


def test_callback_signature_verifies_with_the_psp_secret() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.pay()
        await h.advance(60)
        [request] = h.receiver.requests
        header = request.headers[signing.SIGNATURE_HEADER]
        timestamp = signing.verify(SECRET, header, request.content, h.clock.now().timestamp())
        assert timestamp == int(h.clock.now().timestamp())
        with pytest.raises(signing.SignatureError):
            signing.verify("dev-secret-nordpay", header, request.content, timestamp)

    run(scenario())


def test_configured_secret_is_used_for_signing() -> None:
    async def scenario() -> None:
        h = Harness(secret="s3cr3t")
        await h.pay()
        await h.advance(60)
        [request] = h.receiver.requests
        header = request.headers[signing.SIGNATURE_HEADER]
        signing.verify("s3cr3t", header, request.content, h.clock.now().timestamp())

    run(scenario())


def test_bad_signature_rate_one_signs_callbacks_that_do_not_verify() -> None:
    async def scenario() -> None:
        h = Harness(bad_signature_rate=1.0)
        await h.pay()
        await h.advance(60)
        [request] = h.receiver.requests
        header = request.headers[signing.SIGNATURE_HEADER]
        with pytest.raises(signing.SignatureError, match="does not match"):
            signing.verify(SECRET, header, request.content, h.clock.now().timestamp())

    run(scenario())


def test_duplicate_rate_one_delivers_the_same_event_at_least_twice() -> None:
    async def scenario() -> None:
        h = Harness(duplicate_rate=1.0)
        await h.pay()
        await h.advance(60)
        payloads = h.receiver.payloads
        assert len(payloads) >= 2
        assert len({p["event_id"] for p in payloads}) == 1
        assert all(p == payloads[0] for p in payloads)

    run(scenario())


def test_loss_rate_one_delivers_nothing_though_the_psp_approved() -> None:
    async def scenario() -> None:
        h = Harness(loss_rate=1.0)
        ref = (await h.pay()).json()["psp_reference"]
        await h.advance(86_400)
        assert h.receiver.requests == []
        assert h.dispatcher.pending() == []
        polled = await h.api.get(f"/v1/paybridge/payments/{ref}")
        assert polled.json()["status"] == "approved"

    run(scenario())


def test_late_rate_one_delivers_only_after_late_seconds() -> None:
    async def scenario() -> None:
        h = Harness(late_rate=1.0, late_seconds=3600.0)
        await h.pay()
        await h.advance(60)
        assert h.receiver.requests == []
        await h.advance(3600)
        assert [p["status"] for p in h.receiver.payloads] == ["approved"]
        # Signed at send time, so a late callback still verifies.
        request = h.receiver.requests[0]
        header = request.headers[signing.SIGNATURE_HEADER]
        signing.verify(SECRET, header, request.content, h.clock.now().timestamp())

    run(scenario())


def test_reorder_sends_a_stale_pending_after_the_final_callback() -> None:
    async def scenario() -> None:
        h = Harness(reorder_rate=1.0)
        await h.pay()
        await h.advance(60)
        payloads = h.receiver.payloads
        assert [p["status"] for p in payloads] == ["approved", "pending"]
        final, stale = payloads
        assert final["event_id"] != stale["event_id"]
        assert stale["occurred_at"] < final["occurred_at"]
        [tx] = await h.transactions()
        assert tx["status"] == "approved"

    run(scenario())


def test_chargeback_rate_one_sends_a_chargeback_later() -> None:
    async def scenario() -> None:
        h = Harness(chargeback_rate=1.0, chargeback_delay_seconds=3600.0)
        await h.pay()
        await h.advance(60)
        assert [p["status"] for p in h.receiver.payloads] == ["approved"]
        await h.advance(2 * 3600)
        assert [p["status"] for p in h.receiver.payloads] == ["approved", "chargeback"]

    run(scenario())


def test_receiver_errors_are_retried_with_backoff_and_then_given_up() -> None:
    async def scenario() -> None:
        receiver = Receiver(lambda _: httpx.Response(500))
        h = Harness(receiver=receiver, retry_max_attempts=3, retry_backoff_seconds=5.0)
        await h.pay()
        await h.advance(60)
        assert len(receiver.requests) == 1
        await h.advance(4.9)
        assert len(receiver.requests) == 1
        await h.advance(0.1)  # 5 s after the first attempt
        assert len(receiver.requests) == 2
        await h.advance(9.9)
        assert len(receiver.requests) == 2
        await h.advance(0.1)  # then 10 s after the second
        assert len(receiver.requests) == 3
        await h.advance(86_400)
        assert len(receiver.requests) == 3
        assert [r.outcome for r in h.dispatcher.records] == ["retry", "retry", "gave_up"]
        assert len({json.loads(r.content)["event_id"] for r in receiver.requests}) == 1

    run(scenario())


def test_retry_succeeds_once_the_receiver_recovers_and_stops_there() -> None:
    async def scenario() -> None:
        answers = iter([httpx.Response(503), httpx.Response(200)])
        receiver = Receiver(lambda _: next(answers, httpx.Response(200)))
        h = Harness(receiver=receiver, retry_backoff_seconds=5.0)
        await h.pay()
        await h.advance(60)
        await h.advance(5)
        await h.advance(3600)
        assert len(receiver.requests) == 2
        assert [r.outcome for r in h.dispatcher.records] == ["retry", "delivered"]

    run(scenario())


def test_connection_errors_are_retried() -> None:
    async def scenario() -> None:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        h = Harness(receiver=Receiver(refuse), retry_max_attempts=2)
        await h.pay()
        await h.advance(60)
        await h.advance(3600)
        records = list(h.dispatcher.records)
        assert [r.outcome for r in records] == ["retry", "gave_up"]
        assert records[0].error is not None and "ConnectError" in records[0].error

    run(scenario())


def test_background_loop_delivers_due_callbacks() -> None:
    async def scenario() -> None:
        h = Harness(callback_delay_seconds=0.0)
        await h.pay()
        task = asyncio.create_task(h.dispatcher.run(interval_seconds=0.01))
        for _ in range(50):
            if h.receiver.requests:
                break
            await asyncio.sleep(0.002)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert [p["status"] for p in h.receiver.payloads] == ["approved"]

    run(scenario())


def test_callbacks_can_be_delivered_to_an_asgi_platform() -> None:
    async def scenario() -> None:
        platform = FastAPI()
        seen: list[str] = []

        @platform.post("/v1/psp-callbacks/paybridge")
        async def callback(request: Request) -> dict[str, bool]:
            body = await request.body()
            signing.verify(
                SECRET, request.headers.get(signing.SIGNATURE_HEADER), body, START.timestamp()
            )
            seen.append(json.loads(body)["status"])
            return {"ok": True}

        h = Harness(callback_delay_seconds=0.0)
        h.dispatcher.http_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=platform))
        await h.pay()
        [record] = await h.dispatcher.deliver_due()
        assert (record.outcome, record.status_code) == ("delivered", 200)
        assert seen == ["approved"]

    run(scenario())


# -- determinism ----------------------------------------------------------------------------


def _outcomes(seed: int) -> list[tuple[str, str, str | None, str]]:
    async def scenario() -> list[tuple[str, str, str | None, str]]:
        h = Harness(
            seed=seed, approval_rate=0.6, failure_rate=0.1, duplicate_rate=0.3, loss_rate=0.2
        )
        for i in range(40):
            await h.pay(f"dep-{i}", amount=1000 + i)
        await h.advance(3600)
        return [
            (p["psp_reference"], p["status"], p["reason"], p["occurred_at"])
            for p in h.receiver.payloads
        ]

    return run(scenario())


def test_same_seed_and_requests_give_the_same_outcomes() -> None:
    first = _outcomes(seed=11)
    assert first == _outcomes(seed=11)
    statuses = {status for _, status, _, _ in first}
    assert {"approved", "declined"} <= statuses
    assert first != _outcomes(seed=12)


# -- knobs: resolution and runtime control ----------------------------------------------------


def test_most_specific_override_wins() -> None:
    settings = psp_settings(
        approval_rate=0.9,
        latency_ms=0,
        overrides={
            "card": KnobOverride(approval_rate=0.5, loss_rate=0.1),
            "DE": KnobOverride(approval_rate=0.7, latency_ms=5),
            "DE:card": KnobOverride(approval_rate=0.2),
        },
    )
    config = PspSimConfig(psps={"paybridge": settings})
    de_card = config.resolve("paybridge", "DE", "card")
    assert (de_card.approval_rate, de_card.latency_ms, de_card.loss_rate) == (0.2, 5, 0.1)
    de_pix = config.resolve("paybridge", "DE", "pix")
    assert (de_pix.approval_rate, de_pix.latency_ms, de_pix.loss_rate) == (0.7, 5, 0.0)
    fr_card = config.resolve("paybridge", "FR", "card")
    assert (fr_card.approval_rate, fr_card.latency_ms, fr_card.loss_rate) == (0.5, 0, 0.1)
    assert config.resolve("paybridge", "FR", "pix").approval_rate == 0.9


def test_geo_override_takes_one_geo_down() -> None:
    async def scenario() -> None:
        h = Harness(overrides={"DE": KnobOverride(down=True)})
        assert_problem(await h.pay("a", geo="DE"), 503)
        assert (await h.pay("b", geo="FR")).status_code == 202

    run(scenario())


def test_default_config_has_the_four_psps_with_dev_secrets() -> None:
    config = PspSimConfig()
    assert set(config.psps) == {"paybridge", "nordpay", "ewallo", "pixgate"}
    assert config.secret_for("ewallo") == "dev-secret-ewallo"


def test_admin_patch_merges_knobs_and_overrides() -> None:
    async def scenario() -> None:
        h = Harness(overrides={"DE": KnobOverride(approval_rate=0.5)})
        response = await h.api.patch(
            "/admin/psps/paybridge",
            json={"down": True, "overrides": {"DE": {"latency_ms": 3}, "SE": {"loss_rate": 1}}},
        )
        assert response.status_code == 200
        assert_problem(await h.pay(), 503)
        config = (await h.api.get("/admin/config")).json()
        overrides = config["psps"]["paybridge"]["overrides"]
        assert overrides["DE"]["approval_rate"] == 0.5
        assert overrides["DE"]["latency_ms"] == 3
        assert overrides["SE"]["loss_rate"] == 1.0

        await h.api.patch("/admin/psps/paybridge", json={"down": False, "overrides": {"SE": None}})
        assert (await h.pay()).status_code == 202
        config = (await h.api.get("/admin/config")).json()
        assert "SE" not in config["psps"]["paybridge"]["overrides"]

        assert_problem(await h.api.patch("/admin/psps/paybridge", json={"approval_rate": 2}), 422)
        assert_problem(await h.api.patch("/admin/psps/paybridge", json={"nope": 1}), 422)
        assert_problem(await h.api.patch("/admin/psps/ghost", json={"down": True}), 404)

    run(scenario())


def test_admin_put_replaces_the_config() -> None:
    async def scenario() -> None:
        h = Harness()
        new = PspSimConfig(seed=3, psps={"acme": psp_settings()}).model_dump(mode="json")
        assert (await h.api.put("/admin/config", json=new)).status_code == 200
        assert (await h.pay(psp="acme")).status_code == 202
        assert_problem(await h.pay(psp="paybridge", ref="x"), 404)
        bad: dict[str, Any] = {"psps": {"Bad Name!": {}}}
        assert_problem(await h.api.put("/admin/config", json=bad), 422)
        health = (await h.api.get("/healthz")).json()
        assert health == {"status": "ok", "psps": ["acme"]}

    run(scenario())


# -- settlement reports -----------------------------------------------------------------------


def read_report(path: str | Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        return list(reader)


def use_report_dir(h: Harness, out_dir: Path) -> None:
    """Reports go to the configured folder: a request may only name one under it."""
    simulator = h.app.state.simulator
    simulator.replace_config(simulator.config.model_copy(update={"report_dir": str(out_dir)}))


async def write_reports(h: Harness, day: str, out_dir: Path) -> dict[str, Any]:
    use_report_dir(h, out_dir)
    response = await h.api.post("/admin/settlement-reports", json={"date": day})
    assert response.status_code == 200, response.text
    return response.json()


def test_settlement_report_rows_signs_fees_and_major_units(tmp_path: Path) -> None:
    async def scenario() -> None:
        psps = {
            "paybridge": psp_settings(fee_bps=200, fee_fixed_minor=10, payout_fee_minor=50),
            "nordpay": psp_settings(batch_fee_minor=500),
        }
        h = Harness(psps=psps)
        ok = (await h.pay("dep-1", amount=1234)).json()["psp_reference"]
        po = (await h.pay("wd-1", kind="payouts", amount=5000)).json()["psp_reference"]
        await h.pay("dep-2", psp="nordpay", amount=700)
        h.clock.advance(60)
        result = await write_reports(h, "2026-11-02", tmp_path)
        assert [Path(p).name for p in result["paths"]] == [
            "nordpay-settlement-2026-11-02.csv",
            "paybridge-settlement-2026-11-02.csv",
        ]

        rows = {r["psp_reference"]: r for r in read_report(tmp_path / result["paths"][1])}
        assert set(rows) == {ok, po}
        settled = rows[ok]
        # 1234 * 2 % = 24.68 → 25, + 10 fixed = 35 minor units
        assert (settled["type"], settled["gross_amount"]) == ("Settled", "12.34")
        assert (settled["fee_amount"], settled["net_amount"]) == ("-0.35", "11.99")
        assert (settled["gross_currency"], settled["net_currency"]) == ("EUR", "EUR")
        assert settled["exchange_rate"] == "1"
        assert settled["merchant_reference"] == "dep-1"
        assert settled["created_at"] == "2026-11-02T12:00:00.000Z"
        assert settled["settled_at"] == "2026-11-02T23:59:59.000Z"
        payout = rows[po]
        assert (payout["type"], payout["gross_amount"]) == ("Payout", "-50.00")
        assert (payout["fee_amount"], payout["net_amount"]) == ("-0.50", "-50.50")
        assert payout["batch_number"] == settled["batch_number"]

        nordpay = read_report(result["paths"][0])
        assert [r["type"] for r in nordpay] == ["Settled", "Fee"]
        fee = nordpay[1]
        assert (fee["gross_amount"], fee["fee_amount"], fee["net_amount"]) == (
            "0.00",
            "-5.00",
            "-5.00",
        )

    run(scenario())


def test_settlement_report_excludes_declined_and_not_yet_happened(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(approval_rate=0.0)
        await h.pay("dep-declined")
        await h.api.patch("/admin/psps/paybridge", json={"approval_rate": 1.0})
        await h.pay("dep-approved")
        h.clock.advance(1)  # the approval happens 5-15 s after the request
        early = await write_reports(h, "2026-11-02", tmp_path / "early")
        assert read_report(early["paths"][0]) == []
        h.clock.advance(60)
        late = await write_reports(h, "2026-11-02", tmp_path / "late")
        assert [r["merchant_reference"] for r in read_report(late["paths"][0])] == ["dep-approved"]

    run(scenario())


def test_settlement_report_puts_rows_on_the_day_they_happened(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(chargeback_rate=1.0, chargeback_delay_seconds=86_400.0)
        ref = (await h.pay("dep-1", amount=4000)).json()["psp_reference"]
        h.clock.advance(4 * 86_400)
        day2 = read_report((await write_reports(h, "2026-11-02", tmp_path))["paths"][0])
        assert [(r["psp_reference"], r["type"]) for r in day2] == [(ref, "Settled")]
        [tx] = await h.transactions()
        cb_day = datetime.fromisoformat(tx["events"][1]["occurred_at"]).date().isoformat()
        assert cb_day != "2026-11-02"
        later = read_report((await write_reports(h, cb_day, tmp_path))["paths"][0])
        [chargeback] = later
        assert (chargeback["type"], chargeback["gross_amount"]) == ("Chargeback", "-40.00")
        assert chargeback["created_at"] == day2[0]["created_at"]
        assert int(chargeback["batch_number"]) > int(day2[0]["batch_number"])

    run(scenario())


def test_settlement_report_jpy_has_no_decimals(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(fee_bps=250)
        await h.pay("dep-jp", amount=1500, currency="JPY", geo="JP")
        h.clock.advance(60)
        [row] = read_report((await write_reports(h, "2026-11-02", tmp_path))["paths"][0])
        # 1500 * 2.5 % = 37.5 → 38 (half up)
        assert (row["gross_amount"], row["fee_amount"], row["net_amount"]) == (
            "1500",
            "-38",
            "1462",
        )

    run(scenario())


def test_settlement_report_converts_to_the_psp_settlement_currency(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(fee_bps=0, settlement_currency="EUR")
        await h.pay("dep-se", amount=10000, currency="SEK", geo="SE")
        h.clock.advance(60)
        [row] = read_report((await write_reports(h, "2026-11-02", tmp_path))["paths"][0])
        assert (row["gross_currency"], row["gross_amount"]) == ("SEK", "100.00")
        assert (row["net_currency"], row["net_amount"]) == ("EUR", "8.70")
        assert row["exchange_rate"] == "0.0870"

    run(scenario())


def test_settlement_discrepancies_are_written_and_reported_as_ground_truth(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        h = Harness(settlement_discrepancy_rate=1.0)
        amounts = {}
        for i in range(30):
            ref = (await h.pay(f"dep-{i}", amount=5000 + i)).json()["psp_reference"]
            amounts[ref] = 5000 + i
        h.clock.advance(60)
        result = await write_reports(h, "2026-11-02", tmp_path)
        rows = read_report(result["paths"][0])
        by_ref = {r["psp_reference"]: r for r in rows}
        [report] = result["reports"]
        discrepancies = report["discrepancies"]
        assert len(discrepancies) == 30
        assert {d["kind"] for d in discrepancies} == {"amount_mismatch", "missing_row", "extra_row"}
        for d in discrepancies:
            ref = d["psp_reference"]
            if d["kind"] == "missing_row":
                assert ref in amounts and ref not in by_ref
            elif d["kind"] == "amount_mismatch":
                reported = by_ref[ref]["gross_amount"]
                assert reported == f"{d['reported_gross_minor'] / 100:.2f}"
                assert d["reported_gross_minor"] != amounts[ref]
                assert 1 <= abs(d["reported_gross_minor"] - amounts[ref]) <= 99
            else:
                assert ref not in amounts and ref in by_ref
                assert by_ref[ref]["merchant_reference"] == d["merchant_reference"]
        again = await write_reports(h, "2026-11-02", tmp_path / "again")
        assert again["reports"][0]["discrepancies"] == discrepancies

    run(scenario())


def test_settlement_report_request_with_a_bad_date_is_422() -> None:
    async def scenario() -> None:
        h = Harness()
        response = await h.api.post("/admin/settlement-reports", json={"date": "yesterday"})
        assert_problem(response, 422)

    run(scenario())


def test_settlement_report_refuses_a_currency_without_a_rate(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(settlement_currency="EUR")
        await h.api.put(
            "/admin/config",
            json={
                "seed": 7,
                "exchange_rates": {},
                "psps": {"paybridge": psp_settings(settlement_currency="EUR").model_dump()},
            },
        )
        await h.pay("dep-se", currency="SEK", geo="SE")
        h.clock.advance(60)
        use_report_dir(h, tmp_path)
        response = await h.api.post("/admin/settlement-reports", json={"date": "2026-11-02"})
        body = assert_problem(response, 422)
        assert "SEK/EUR" in body["detail"]

    run(scenario())


def test_report_day_is_utc(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(callback_delay_seconds=0.0)
        h.clock.set(datetime(2026, 11, 1, 23, 59, 59, 500_000, tzinfo=UTC))
        await h.pay("dep-midnight")
        h.clock.set(datetime(2026, 11, 3, tzinfo=UTC))
        nov1 = read_report((await write_reports(h, "2026-11-01", tmp_path))["paths"][0])
        nov2 = read_report((await write_reports(h, "2026-11-02", tmp_path))["paths"][0])
        assert [r["merchant_reference"] for r in nov1] == ["dep-midnight"]
        assert nov2 == []
        assert nov1[0]["settled_at"] == "2026-11-01T23:59:59.000Z"
        assert date.fromisoformat(nov1[0]["created_at"][:10]) == date(2026, 11, 1)

    run(scenario())


def test_app_lifespan_runs_the_callback_loop() -> None:
    async def scenario() -> None:
        h = Harness(callback_delay_seconds=0.0)
        app = create_app(h.config, h.clock, h.callbacks, dispatch_interval_seconds=0.01)
        api = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://psp.test")
        async with app.router.lifespan_context(app):
            payload = {
                "merchant_reference": "dep-1",
                "amount": 100,
                "currency": "EUR",
                "method": "card",
                "geo": "DE",
                "callback_url": CALLBACK_URL,
            }
            assert (await api.post("/v1/paybridge/payments", json=payload)).status_code == 202
            for _ in range(50):
                if h.receiver.requests:
                    break
                await asyncio.sleep(0.002)
        assert [p["status"] for p in h.receiver.payloads] == ["approved"]

    run(scenario())
