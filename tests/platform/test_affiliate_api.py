"""The affiliates HTTP API: the public click endpoint and the operators' endpoints."""

from __future__ import annotations

from fastapi.testclient import TestClient

from igaming.admin import create_operator
from igaming.affiliates.models import Affiliate, Click
from igaming.api.app import create_app


def test_click_endpoint_records_the_click_and_generates_a_click_id(platform):
    client = TestClient(create_app(platform))
    r = client.get("/track/click", params={"affiliate": "aff17", "campaign": "c1", "geo": "SE"})
    assert r.status_code == 200
    click_id = r.json()["click_id"]
    with platform.session_factory() as s:
        click = s.get(Click, click_id)
    assert (click.affiliate, click.campaign, click.geo, click.at) == (
        "aff17",
        "c1",
        "SE",
        platform.clock.now(),
    )


def test_posting_a_known_click_id_again_returns_it_and_another_affiliate_conflicts(platform):
    client = TestClient(create_app(platform))
    body = {"affiliate": "aff17", "click_id": "clk-9", "btag": "a_17b_1"}
    assert client.post("/affiliates/clicks", json=body).json()["click_id"] == "clk-9"
    assert client.post("/affiliates/clicks", json=body).status_code == 201
    r = client.post("/affiliates/clicks", json=body | {"affiliate": "aff18"})
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"


def test_click_without_affiliate_is_a_problem(platform):
    r = TestClient(create_app(platform)).get("/track/click")
    assert r.status_code == 422


def test_finance_operator_creates_affiliate_and_deal_support_may_not(platform):
    client = TestClient(create_app(platform))
    finance = {"X-API-Key": create_operator(platform, "fin", "finance")}
    support = {"X-API-Key": create_operator(platform, "sup", "support")}
    body = {"postback_url_template": "https://n.test/pb?e={event}&c={click_id}"}
    assert client.put("/affiliates/aff17", json=body, headers=support).status_code == 403
    r = client.put("/affiliates/aff17", json=body, headers=finance)
    assert r.status_code == 200 and "secret" not in r.json()
    deal = {"kind": "cpa", "currency": "EUR", "cpa_amount": 5000, "allowed_geos": ["de"]}
    r = client.post("/affiliates/aff17/deals", json=deal, headers=finance)
    assert r.status_code == 201 and r.json()["allowed_geos"] == ["DE"]
    with platform.session_factory() as s:
        assert len(s.get(Affiliate, "aff17").secret) >= 32


def test_template_with_an_unknown_macro_is_refused(platform):
    client = TestClient(create_app(platform))
    finance = {"X-API-Key": create_operator(platform, "fin", "finance")}
    body = {"postback_url_template": "https://n.test/pb?email={email}"}
    r = client.put("/affiliates/aff17", json=body, headers=finance)
    assert r.status_code == 422 and "email" in r.json()["detail"]
