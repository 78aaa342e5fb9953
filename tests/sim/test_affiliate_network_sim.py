"""The affiliate network simulator on its own: signatures, faults, books and CSV export."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

from fastapi.testclient import TestClient

from ground.clock import FakeClock
from igaming.affiliates.postbacks import SIGNATURE_HEADER, sign_url
from igaming.sim.affiliate_network import (
    COLUMNS,
    AffiliateNetworkConfig,
    NetworkAffiliate,
    create_app,
    export_for,
)

SECRET = "dev-secret-aff9"


def url(**params: str) -> str:
    base = {
        "event": "ftd",
        "conversion_id": "conv-1",
        "click_id": "clk",
        "amount": "25.00",
        "currency": "EUR",
        "player_ref": "abc123",
        "campaign": "spring",
        "occurred_at": "2026-11-02T11:00:00+00:00",
    }
    return "http://network.test/postback/aff9?" + urlencode(base | params)


def send(client: TestClient, clock: FakeClock, target: str, secret: str = SECRET):
    header = sign_url(secret, int(clock.now().timestamp()), target)
    return client.get(target, headers={SIGNATURE_HEADER: header})


def sim(**config):
    clock = FakeClock()
    app = create_app(AffiliateNetworkConfig(**config), clock)
    return app, TestClient(app), clock


def test_signed_postback_is_booked_with_its_cpa_commission():
    _app, client, clock = sim(affiliates={"aff9": NetworkAffiliate(cpa="40.00")})
    assert send(client, clock, url()).json() == {"status": "ok", "outcome": "recorded"}
    [row] = client.get("/admin/conversions").json()["conversions"]
    assert (row["event"], row["commission_amount"], row["status"]) == ("ftd", "40.00", "approved")


def test_bad_or_missing_signature_is_refused_and_not_booked():
    app, client, clock = sim()
    assert send(client, clock, url(), secret="wrong").status_code == 401
    assert client.get(url()).status_code == 401
    signed_other = sign_url(SECRET, int(clock.now().timestamp()), url(amount="99.00"))
    assert client.get(url(), headers={SIGNATURE_HEADER: signed_other}).status_code == 401
    assert app.state.network.records == {} and app.state.network.counts["refused"] == 3


def test_duplicate_postback_is_acknowledged_but_booked_once():
    app, client, clock = sim()
    send(client, clock, url())
    assert send(client, clock, url()).json()["outcome"] == "duplicate"
    assert len(app.state.network.records) == 1


def test_down_and_error_knobs_answer_5xx():
    app, client, clock = sim()
    client.patch("/admin/knobs", json={"down": True})
    assert send(client, clock, url()).status_code == 503
    client.patch("/admin/knobs", json={"down": False, "error_rate": 1.0})
    assert send(client, clock, url()).status_code == 500
    assert app.state.network.records == {}


def test_loss_knob_acknowledges_but_loses_the_postback():
    app, client, clock = sim()
    client.patch("/admin/knobs", json={"loss_rate": 1.0})
    assert send(client, clock, url()).status_code == 200
    assert app.state.network.records == {}
    assert [r.outcome for r in app.state.network.receipts] == ["lost"]


def test_same_seed_makes_the_same_fault_decisions():
    outcomes = []
    for _ in range(2):
        _app, client, clock = sim(seed=42)
        client.patch("/admin/knobs", json={"error_rate": 0.5})
        outcomes.append(
            [send(client, clock, url(conversion_id=f"c{i}")).status_code for i in range(20)]
        )
    assert outcomes[0] == outcomes[1] and {200, 500} <= set(outcomes[0])


def test_reversal_marks_the_booked_conversion_reversed_without_commission():
    app, client, clock = sim()
    send(client, clock, url())
    send(client, clock, url(event="ftd_reversal"))
    [row] = app.state.network.conversions()
    assert (row.status, row.commission_minor, row.event) == ("reversed", 0, "ftd")


def test_export_has_the_documented_columns_and_the_day_rows():
    app, client, clock = sim()
    send(client, clock, url())
    send(client, clock, url(conversion_id="other-day", occurred_at="2026-11-01T23:59:59Z"))
    text = client.get("/admin/export.csv", params={"date": "2026-11-02"}).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(csv.reader(io.StringIO(text)).__next__()) == COLUMNS
    assert [r["conversion_id"] for r in rows] == ["conv-1"]
    assert rows[0]["received_at"] == "2026-11-02T12:00:00Z"
    assert rows[0]["occurred_at"] == "2026-11-02T11:00:00Z"
    assert export_for(app, clock.now().date()) == text
