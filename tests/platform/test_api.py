"""The HTTP API: happy paths, and problem+json for every bad input (never a 500)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from igaming.admin import create_operator
from igaming.api.app import create_app
from tests.fakes import callback_body, signature

PLAYER = {
    "email": "anna@example.com",
    "password": "correct horse battery",
    "country": "DE",
    "currency": "EUR",
    "date_of_birth": "1990-05-17",
    "affiliate": "aff17",
    "campaign": "spring-de",
    "click_id": "clk-1",
}


@pytest.fixture
def client(platform):
    with TestClient(create_app(platform), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def token(client) -> str:
    assert client.post("/players", json=PLAYER).status_code == 201
    r = client.post("/sessions", json={"email": PLAYER["email"], "password": PLAYER["password"]})
    return r.json()["token"]


def auth(token: str, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    return headers


def assert_problem(response, status: int, text: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and text in body["detail"], body
    return body


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok", "database": "ok"}


def test_register_login_me(client, token):
    me = client.get("/players/me", headers=auth(token)).json()
    assert (me["country"], me["currency"], me["affiliate"], me["kyc_status"]) == (
        "DE",
        "EUR",
        "aff17",
        "none",
    )
    assert "password" not in str(me)


def test_duplicate_email_is_a_conflict(client, token):
    assert_problem(client.post("/players", json=PLAYER), 409, "already exists")


def test_blocked_country_and_under_age_are_refused(client):
    body = assert_problem(
        client.post("/players", json=PLAYER | {"country": "US"}), 422, "not accepted"
    )
    assert body["reason"] == "blocked_country"
    body = assert_problem(
        client.post("/players", json=PLAYER | {"date_of_birth": "2015-01-01"}), 422, "18"
    )
    assert body["reason"] == "under_age"


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"currency": "XYZ"}, "unknown or unsupported currency"),
        ({"currency": "eur"}, "currency"),
        ({"country": "Germany"}, "country"),
        ({"date_of_birth": "17/05/1990"}, "date_of_birth"),
        ({"password": "short"}, "password"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_bad_registration_fields_are_named(client, change, text):
    assert_problem(client.post("/players", json=PLAYER | change), 422, text)


def test_wrong_password_is_401(client, token):
    r = client.post("/sessions", json={"email": PLAYER["email"], "password": "wrong password"})
    assert_problem(r, 401, "wrong")


def test_malformed_json_is_422_not_500(client, token):
    r = client.post(
        "/cashier/deposits",
        content=b'{"amount": 10',
        headers=auth(token, "k") | {"content-type": "application/json"},
    )
    assert_problem(r, 422, "JSON")


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"amount": -5, "currency": "EUR", "method": "card"}, "amount"),
        ({"amount": 0, "currency": "EUR", "method": "card"}, "amount"),
        ({"amount": 10**13, "currency": "EUR", "method": "card"}, "amount"),
        ({"amount": 10.5, "currency": "EUR", "method": "card"}, "amount"),
        ({"amount": "100", "currency": "EUR", "method": "card"}, "amount"),
        ({"currency": "EUR", "method": "card"}, "amount: Field required"),
        ({"amount": 100, "currency": "ZZZ", "method": "card"}, "unknown or unsupported"),
        ({"amount": 100, "currency": "EUR", "method": "cheque"}, "unknown payment method"),
        ({"amount": 100, "currency": "EUR", "method": "pix"}, "not offered in DE"),
    ],
)
def test_bad_deposits_are_refused_with_the_reason(client, token, body, text):
    assert_problem(client.post("/cashier/deposits", json=body, headers=auth(token, "k")), 422, text)


def test_deposit_needs_an_idempotency_key_and_a_token(client, token):
    body = {"amount": 100, "currency": "EUR", "method": "card"}
    assert_problem(
        client.post("/cashier/deposits", json=body, headers=auth(token)), 422, "Idempotency-Key"
    )
    assert_problem(client.post("/cashier/deposits", json=body), 401, "bearer")


def test_deposit_callback_balance_round_trip(client, token, platform):
    body = {"amount": 2_500, "currency": "EUR", "method": "card"}
    d = client.post("/cashier/deposits", json=body, headers=auth(token, "dep-1")).json()
    assert d["status"] == "pending" and d["first_deposit"] is True
    again = client.post("/cashier/deposits", json=body, headers=auth(token, "dep-1"))
    assert again.json()["id"] == d["id"]
    conflict = client.post(
        "/cashier/deposits", json=body | {"amount": 2_600}, headers=auth(token, "dep-1")
    )
    assert_problem(conflict, 409, "different request")

    cb = callback_body(
        merchant_reference=d["id"],
        status="approved",
        amount=2_500,
        occurred_at=platform.clock.now(),
    )
    headers = {"X-PSP-Signature": signature(cb, platform.clock.now())}
    r = client.post("/cashier/callbacks/paybridge", content=cb, headers=headers)
    assert r.json() == {"outcome": "applied", "status": "approved"}
    r = client.post("/cashier/callbacks/paybridge", content=cb, headers=headers)
    assert r.json()["outcome"] == "duplicate"
    balance = client.get("/wallet/balance", headers=auth(token)).json()
    assert balance == [{"currency": "EUR", "cash": 2_500, "bonus": 0, "withdrawal_pending": 0}]
    txs = client.get("/wallet/transactions", headers=auth(token)).json()
    assert [(t["type"], t["status"]) for t in txs] == [("deposit", "completed")]


def test_callback_with_bad_signature_is_401_problem(client, token, platform):
    cb = callback_body(
        merchant_reference="x", status="approved", amount=1, occurred_at=platform.clock.now()
    )
    r = client.post(
        "/cashier/callbacks/paybridge", content=cb, headers={"X-PSP-Signature": "t=1,v1=00"}
    )
    assert_problem(r, 401, "signature")


def test_callback_for_unknown_psp_is_404(client, platform):
    r = client.post("/cashier/callbacks/nobody", content=b"{}")
    assert_problem(r, 404, "unknown PSP")


def test_callback_that_is_not_json_is_422(client, platform):
    body = b"not json"
    r = client.post(
        "/cashier/callbacks/paybridge",
        content=body,
        headers={"X-PSP-Signature": signature(body, platform.clock.now())},
    )
    assert_problem(r, 422, "not a valid callback")


def test_withdrawal_without_kyc_is_403(client, token):
    body = {"amount": 100, "currency": "EUR", "method": "card"}
    assert_problem(
        client.post("/cashier/withdrawals", json=body, headers=auth(token, "w")), 403, "identity"
    )


def test_kyc_verification_approves_through_the_vendor(client, token):
    r = client.post("/kyc/verifications", headers=auth(token))
    assert r.status_code == 202 and r.json()["status"] == "approved"
    assert client.get("/players/me", headers=auth(token)).json()["kyc_status"] == "approved"
    assert_problem(client.post("/kyc/verifications", headers=auth(token)), 409, "already verified")


def test_self_exclusion_blocks_deposits_over_http(client, token):
    assert (
        client.post("/players/me/self-exclusion", json={"days": 7}, headers=auth(token)).status_code
        == 200
    )
    body = {"amount": 100, "currency": "EUR", "method": "card"}
    assert_problem(
        client.post("/cashier/deposits", json=body, headers=auth(token, "k")), 403, "self-excluded"
    )


def test_adjustment_needs_finance_role_and_is_audited(client, token, platform):
    player_id = client.get("/players/me", headers=auth(token)).json()["id"]
    support = create_operator(platform, "sam", "support")
    finance = create_operator(platform, "fiona", "finance")
    body = {
        "player_id": player_id,
        "amount": 1_000,
        "currency": "EUR",
        "reason": "goodwill after outage",
    }
    assert_problem(
        client.post("/admin/adjustments", json=body, headers={"Idempotency-Key": "a"}),
        401,
        "API key",
    )
    r = client.post(
        "/admin/adjustments", json=body, headers={"X-API-Key": support, "Idempotency-Key": "a"}
    )
    assert_problem(r, 403, "may not adjust")
    r = client.post(
        "/admin/adjustments", json=body, headers={"X-API-Key": finance, "Idempotency-Key": "a"}
    )
    assert r.status_code == 201 and r.json()["type"] == "adjustment"
    assert client.get("/wallet/balance", headers=auth(token)).json()[0]["cash"] == 1_000
    short = body | {"reason": "x"}
    r = client.post(
        "/admin/adjustments", json=short, headers={"X-API-Key": finance, "Idempotency-Key": "b"}
    )
    assert_problem(r, 422, "reason")
    log = client.get("/admin/audit-log", headers={"X-API-Key": support}).json()
    assert [(e["operator"], e["role"], e["action"], e["reason"]) for e in log] == [
        ("fiona", "finance", "adjustment", "goodwill after outage")
    ]
    inv = client.get("/admin/invariants", headers={"X-API-Key": support}).json()
    assert inv["ok"] is True and inv["accounts_checked"] == 3


def test_compliance_flags_a_player_for_fraud_and_deposits_stop(client, token, platform):
    player_id = client.get("/players/me", headers=auth(token)).json()["id"]
    finance = create_operator(platform, "fiona", "finance")
    compliance = create_operator(platform, "cleo", "compliance")
    body = {"status": "fraud", "reason": "chargeback ring, case 4411"}
    url = f"/admin/players/{player_id}/status"
    assert_problem(client.put(url, json=body, headers={"X-API-Key": finance}), 403, "may not")
    r = client.put(url, json=body, headers={"X-API-Key": compliance})
    assert r.status_code == 200 and r.json()["status"] == "fraud"
    # The flag ends the player's sessions and bars log-in, without naming the suspicion.
    deposit = {"amount": 100, "currency": "EUR", "method": "card"}
    r = client.post("/cashier/deposits", json=deposit, headers=auth(token, "k"))
    assert_problem(r, 401, "invalid or expired token")
    login = {"email": PLAYER["email"], "password": PLAYER["password"]}
    body = assert_problem(client.post("/sessions", json=login), 403, "account is restricted")
    assert body["reason"] == "account_restricted"
    log = client.get("/admin/audit-log", headers={"X-API-Key": finance}).json()
    assert (log[0]["action"], log[0]["payload"]) == (
        "player_fraud",
        {"from": "active", "tokens_revoked": 1},
    )
    bad = client.put(
        url, json={"status": "vip", "reason": "because"}, headers={"X-API-Key": compliance}
    )
    assert_problem(bad, 422, "status")
