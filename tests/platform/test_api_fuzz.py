"""Whatever arrives, the API answers with a 2xx or a 4xx problem+json, never a 500."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from igaming.api.app import create_app
from tests.conftest import make_platform

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=10,
)
fields = st.sampled_from(
    [
        "email",
        "password",
        "country",
        "currency",
        "date_of_birth",
        "amount",
        "method",
        "days",
        "daily_limit",
        "event_id",
        "psp",
        "status",
        "kind",
        "merchant_reference",
        "occurred_at",
    ]
)
bodies = st.dictionaries(fields, json_values, max_size=8).map(json.dumps).map(
    str.encode
) | st.binary(max_size=200)
ENDPOINTS = [
    "/players",
    "/sessions",
    "/cashier/deposits",
    "/cashier/withdrawals",
    "/cashier/callbacks/paybridge",
    "/players/me/self-exclusion",
    "/admin/adjustments",
    "/sportsbook/bets",
    "/sportsbook/feed",
    "/casino/launch",
    "/casino/seamless/spinworks/bet",
    "/casino/seamless/spinworks/rollback",
    "/bonus/claims",
    "/affiliates/clicks",
]


# Partner-facing protocols answer errors in their own vocabulary, not problem+json.
PARTNER_PROTOCOLS = {
    "/sportsbook/feed",
    "/casino/seamless/spinworks/bet",
    "/casino/seamless/spinworks/rollback",
}


@pytest.fixture(scope="module")
def client(tmp_path_factory, sqlite_template):
    import shutil

    from igaming.db import make_engine

    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    shutil.copy(sqlite_template, path)
    platform = make_platform(make_engine(f"sqlite:///{path}"))
    with TestClient(create_app(platform), raise_server_exceptions=False) as c:
        c.post(
            "/players",
            json={
                "email": "f@example.com",
                "password": "correct horse battery",
                "country": "DE",
                "currency": "EUR",
                "date_of_birth": "1990-01-01",
            },
        )
        token = c.post(
            "/sessions", json={"email": "f@example.com", "password": "correct horse battery"}
        ).json()["token"]
        c.headers.update({"Authorization": f"Bearer {token}", "Idempotency-Key": "fuzz"})
        yield c


@pytest.mark.slow
@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(endpoint=st.sampled_from(ENDPOINTS), body=bodies)
def test_arbitrary_bodies_never_cause_a_server_error(client, endpoint, body):
    response = client.post(endpoint, content=body, headers={"content-type": "application/json"})
    assert response.status_code < 500, (endpoint, body, response.text)
    if response.status_code >= 400:
        body = response.json()
        if endpoint in PARTNER_PROTOCOLS:  # answer in the partner's own error vocabulary
            assert body.get("code") or body.get("outcome"), body
        else:
            assert response.headers["content-type"] == "application/problem+json"
            assert body["detail"]
