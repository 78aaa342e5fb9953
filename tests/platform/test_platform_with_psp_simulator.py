"""The platform and the PSP simulator speaking the real protocol to each other (in-process
ASGI transports, one shared fake clock): payments, faults, and the settlement report."""

from __future__ import annotations

import asyncio
import csv

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from igaming.api.app import create_app as create_platform_app
from igaming.cashier import deposits
from igaming.models import Deposit, PspCallback
from igaming.wallet.invariants import check_invariants
from igaming.wallet.service import balances
from tests.conftest import register_player
from tests.psp_world import psp_world


@pytest.fixture
def world(engine, tmp_path):
    with psp_world(engine, tmp_path) as w:
        yield w.platform, w.psp_app, w.psp_client, w.clock


def deliver(psp_app) -> list:
    return asyncio.run(psp_app.state.dispatcher.deliver_due())


def test_deposit_is_approved_by_the_psp_callback_after_its_delay(world):
    platform, psp_app, _, clock = world
    player = register_player(platform)
    d = deposits.request_deposit(
        platform, player.id, amount=4_200, currency="EUR", method="card", idempotency_key="k"
    )
    assert d.status == "pending" and d.psp_reference.startswith("paybridge_pay_")
    assert deliver(psp_app) == []  # not due yet
    clock.advance(4)
    assert [r.status_code for r in deliver(psp_app)] == [200]
    assert balances(platform, player.id)[0].cash == 4_200


def test_duplicated_and_reordered_callbacks_credit_once(world):
    platform, psp_app, psp_client, clock = world
    psp_client.patch("/admin/psps/paybridge", json={"duplicate_rate": 1.0, "reorder_rate": 1.0})
    player = register_player(platform)
    for i in range(3):
        deposits.request_deposit(
            platform,
            player.id,
            amount=1_000,
            currency="EUR",
            method="card",
            idempotency_key=f"k{i}",
        )
    for _ in range(20):
        clock.advance(30)
        deliver(psp_app)
    assert balances(platform, player.id)[0].cash == 3_000
    with platform.session_factory() as s:
        seen = set(s.execute(select(PspCallback.outcome)).scalars())
        assert check_invariants(s).ok
    assert {"applied", "duplicate", "out_of_order"} <= seen


def test_bad_signatures_are_refused_and_retried_by_the_psp(world):
    platform, psp_app, psp_client, clock = world
    psp_client.patch("/admin/psps/paybridge", json={"bad_signature_rate": 1.0})
    player = register_player(platform)
    deposits.request_deposit(
        platform, player.id, amount=1_000, currency="EUR", method="card", idempotency_key="k"
    )
    clock.advance(4)
    assert [r.status_code for r in deliver(psp_app)] == [401]
    assert balances(platform, player.id)[0].cash == 0


def test_psp_down_fails_the_deposit_with_503_problem(world):
    platform, _, psp_client, _ = world
    psp_client.patch("/admin/psps/paybridge", json={"down": True})
    player = register_player(platform)
    client = TestClient(create_platform_app(platform))
    token = client.post(
        "/sessions", json={"email": player.email, "password": "correct horse battery"}
    ).json()["token"]
    r = client.post(
        "/cashier/deposits",
        json={"amount": 100, "currency": "EUR", "method": "card"},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "x"},
    )
    assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
    assert "paybridge is unavailable" in r.json()["detail"]


def test_settlement_report_lists_the_deposits_by_merchant_reference(world, tmp_path):
    platform, psp_app, psp_client, clock = world
    player = register_player(platform, country="SE", currency="SEK")
    d = deposits.request_deposit(
        platform, player.id, amount=12_345, currency="SEK", method="ewallet", idempotency_key="k"
    )
    clock.advance(4)
    deliver(psp_app)
    r = psp_client.post("/admin/settlement-reports", json={"date": clock.now().date().isoformat()})
    path = next(p for p in r.json()["paths"] if "ewallo" in p)
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    settled = [row for row in rows if row["type"] == "Settled"]
    assert [(x["merchant_reference"], x["gross_currency"], x["gross_amount"]) for x in settled] == [
        (d.id, "SEK", "123.45")
    ]
    with platform.session_factory() as s:
        assert s.get(Deposit, d.id).status == "approved"
