"""Hardening of what players and partners send: odds text refused by its shape before any
arithmetic, partner bodies bounded (amounts, sequences, aware datetimes), signature headers
of any characters, unknown PSP statuses recorded and ignored, bodies capped in size and
refusals kept as counts plus a bounded sample."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ground.money import MAX_AMOUNT_MINOR
from igaming import partner_body
from igaming.affiliates.clicks import ClickLimiter
from igaming.affiliates.models import Click
from igaming.affiliates.postbacks import verify_query
from igaming.api.app import create_app
from igaming.cashier import deposits
from igaming.cashier.callbacks import handle_callback
from igaming.errors import Unauthorized, ValidationFailed
from igaming.models import Deposit, LedgerEntry, OutboxEvent, PspCallback
from igaming.partners.signing import SignatureError, sign, verify
from igaming.sportsbook import odds as odds_module
from igaming.sportsbook.models import FeedMessage, Market
from igaming.sportsbook.odds import OddsError, parse_odds
from tests.conftest import bearer, register_player
from tests.fakes import callback_body, signature
from tests.platform.sportsbook_helpers import funded_player, message, open_fixture, push

BAD_ODDS = ["1e500000", "1e1000000", "NaN", "-2", "2.1234", "1000.001"]


@pytest.fixture
def client(platform):
    return TestClient(create_app(platform))


def outbox(p, name: str) -> list[dict]:
    with p.session_factory() as s:
        query = select(OutboxEvent.payload).where(OutboxEvent.event_type == name)
        return list(s.execute(query.order_by(OutboxEvent.id)).scalars())


def is_problem(r, status: int) -> bool:
    return r.status_code == status and r.headers["content-type"] == "application/problem+json"


# -- item 1: odds text ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [*(t for t in BAD_ODDS if t != "1000.001"), "inf", "+2", "2.", ".5", "0x10", "2,15", "١.٥",
     "1_000", "2.15e0", "12345", ""],
)  # fmt: skip
def test_parse_odds_refuses_by_shape_before_any_arithmetic(text, monkeypatch):
    def no_decimal(*_args, **_kwargs):
        raise AssertionError("parse_odds did arithmetic on text it had not checked")

    monkeypatch.setattr(odds_module, "Decimal", no_decimal, raising=False)
    with pytest.raises(OddsError, match="decimal odds are 1 to 4 digits"):
        parse_odds(text)


@pytest.mark.parametrize("text", ["1.000", "0.5", "0", "1000.5", "9999", "1000.001"])
def test_parse_odds_refuses_well_shaped_odds_out_of_range(text):
    with pytest.raises(OddsError, match=r"outside 1\.001\.\.1000"):
        parse_odds(text)


@pytest.mark.parametrize(
    ("text", "milli"),
    [("2.15", 2150), ("2", 2000), ("1.001", 1001), ("1000", 1_000_000), ("1000.000", 1_000_000),
     (" 3.4 ", 3400), ("0002.5", 2500)],
)  # fmt: skip
def test_parse_odds_accepts_plain_decimals(text, milli):
    assert parse_odds(text) == milli


def test_bet_with_odds_of_a_bad_shape_is_a_422_problem_and_good_odds_still_work(platform, client):
    open_fixture(platform, home_odds="2.15")
    headers = bearer(client, funded_player(platform))
    for i, text in enumerate(BAD_ODDS):
        body = {"selection_id": "f1-h", "stake": 1_000, "currency": "EUR", "odds": text}
        key = {"Idempotency-Key": f"k{i}"}
        r = client.post("/sportsbook/bets", json=body, headers=headers | key)
        assert is_problem(r, 422), (text, r.status_code, r.text)
    body = {"selection_id": "f1-h", "stake": 1_000, "currency": "EUR", "odds": "2.15"}
    r = client.post("/sportsbook/bets", json=body, headers=headers | {"Idempotency-Key": "ok"})
    assert r.status_code == 201 and r.json()["status"] == "accepted"


@pytest.mark.parametrize("text", BAD_ODDS)
def test_feed_odds_of_a_bad_shape_are_invalid_not_a_500(platform, text):
    open_fixture(platform)
    change = message(platform, "odds_change", market_id="f1-1x2", odds={"f1-h": text})
    assert push(platform, change) == "invalid"
    fixture = json.loads(message(platform, "fixture", fixture_id="f2"))
    fixture |= {
        "sport": "football",
        "competition": "C",
        "home": "H",
        "away": "A",
        "starts_at": (platform.clock.now() + timedelta(hours=1)).isoformat(),
        "markets": [
            {
                "market_id": "f2-m",
                "type": "match_result",
                "selections": [{"selection_id": "f2-h", "name": "H", "odds": text}],
            }
        ],
    }
    assert push(platform, json.dumps(fixture).encode()) == "invalid"


def test_feed_odds_over_http_of_a_bad_shape_answer_422_invalid(platform, client):
    open_fixture(platform)
    body = message(platform, "odds_change", market_id="f1-1x2", odds={"f1-h": "1e1000000"})
    sig = sign(platform.settings.odds_feed_secret, int(platform.clock.now().timestamp()), body)
    r = client.post("/sportsbook/feed", content=body, headers={"X-Feed-Signature": sig})
    assert (r.status_code, r.json()["outcome"]) == (422, "invalid")


# -- item 6: partner bodies ----------------------------------------------------------------


def psp_callback(client, platform, body: bytes, psp: str = "paybridge", sig: str | None = None):
    header = sig if sig is not None else signature(body, platform.clock.now(), psp)
    return client.post(
        f"/cashier/callbacks/{psp}", content=body, headers={"X-PSP-Signature": header}
    )


def pending_deposit(platform):
    player = register_player(platform)
    return deposits.request_deposit(
        platform, player.id, amount=2_500, currency="EUR", method="card", idempotency_key="d"
    )


def test_callback_with_a_naive_occurred_at_is_a_422_problem_and_changes_nothing(platform, client):
    d = pending_deposit(platform)
    body = callback_body(
        merchant_reference=d.id,
        status="approved",
        amount=d.amount,
        psp=d.psp,
        occurred_at=platform.clock.now().replace(tzinfo=None),
    )
    r = psp_callback(client, platform, body, d.psp)
    assert is_problem(r, 422), r.text
    assert "occurred_at" in r.json()["detail"]
    with platform.session_factory() as s:
        assert s.get(Deposit, d.id).status == "pending"


@pytest.mark.parametrize("amount", [10**30, MAX_AMOUNT_MINOR + 1, -1])
def test_orphan_callback_with_an_amount_out_of_bounds_is_a_422_problem(platform, client, amount):
    body = callback_body(
        merchant_reference="00000000-0000-0000-0000-000000000000",
        status="approved",
        amount=amount,
        occurred_at=platform.clock.now(),
    )
    assert is_problem(psp_callback(client, platform, body), 422)


def test_callback_with_overlong_fields_is_a_422_problem_not_a_database_error(platform, client):
    d = pending_deposit(platform)
    for field, value in [("event_id", "e" * 101), ("merchant_reference", "m" * 101),
                         ("psp_reference", "p" * 101), ("currency", "EURO")]:  # fmt: skip
        body = json.loads(
            callback_body(
                merchant_reference=d.id,
                status="approved",
                amount=d.amount,
                psp=d.psp,
                occurred_at=platform.clock.now(),
            )
        )
        body[field] = value
        r = psp_callback(client, platform, json.dumps(body).encode(), d.psp)
        assert is_problem(r, 422), (field, r.status_code)


def test_feed_fixture_and_result_with_naive_times_are_invalid(platform):
    naive = (platform.clock.now() + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    fixture = message(
        platform, "fixture", fixture_id="f9", sport="football", competition="C", home="H",
        away="A", starts_at=naive,
    )  # fmt: skip
    assert push(platform, fixture) == "invalid"
    open_fixture(platform)
    for type_ in ("result", "cancel"):
        extra = {"results": {"f1-h": "won"}} if type_ == "result" else {}
        body = message(platform, type_, market_id="f1-1x2", result_at=naive, **extra)
        assert push(platform, body) == "invalid"
    with platform.session_factory() as s:
        assert s.get(Market, "f1-1x2").status == "active"


@pytest.mark.parametrize("sequence", [10**30, 2**63, 0])
def test_feed_sequence_out_of_bounds_is_invalid(platform, sequence):
    open_fixture(platform)
    body = message(
        platform, "odds_change", market_id="f1-1x2", sequence=sequence, odds={"f1-h": "2.5"}
    )
    assert push(platform, body) == "invalid"


def test_feed_sequence_at_the_63_bit_maximum_applies(platform):
    open_fixture(platform)
    body = message(
        platform, "odds_change", market_id="f1-1x2", sequence=2**63 - 1, odds={"f1-h": "2.5"}
    )
    assert push(platform, body) == "applied"


NON_ASCII_HEADERS = ["t=1,v1=é", "t=١٢٣,v1=00", "t=1,v1=" + "ä" * 64, "t=٣,v1=ab\u00e9"]


@pytest.mark.parametrize("header", NON_ASCII_HEADERS)
def test_non_ascii_signature_headers_are_refused_not_a_500(platform, client, header):
    now = platform.clock.now().timestamp()
    with pytest.raises(SignatureError):
        verify("secret", header, b"{}", now)
    with pytest.raises(SignatureError):
        verify_query("secret", header, b"a=1", now)
    d = pending_deposit(platform)
    body = callback_body(
        merchant_reference=d.id, status="approved", amount=d.amount, psp=d.psp,
        occurred_at=platform.clock.now(),
    )  # fmt: skip
    # httpx sends a str header as ASCII; the bytes reach the platform as Latin-1 text.
    raw = header.encode("utf-8")
    r = client.post(
        f"/cashier/callbacks/{d.psp}", content=body, headers=[(b"X-PSP-Signature", raw)]
    )
    assert is_problem(r, 401), r.text
    feed_body = message(platform, "rollback", market_id="m")
    r = client.post("/sportsbook/feed", content=feed_body, headers=[(b"X-Feed-Signature", raw)])
    assert (r.status_code, r.json()["outcome"]) == (401, "bad_signature")


def test_a_well_formed_signature_still_verifies(platform):
    now = int(platform.clock.now().timestamp())
    assert verify("secret", sign("secret", now, b"{}"), b"{}", now) == now


# -- item 7: unknown PSP statuses ----------------------------------------------------------


@pytest.mark.parametrize(("kind", "status"), [("payment", "authorised"), ("payout", "approved"),
                                              ("refund", "done")])  # fmt: skip
def test_callback_with_an_unknown_status_is_recorded_and_ignored_with_a_2xx(
    platform, client, kind, status
):
    d = pending_deposit(platform)
    body = callback_body(
        merchant_reference=d.id, status=status, kind=kind, amount=d.amount, psp=d.psp,
        occurred_at=platform.clock.now(),
    )  # fmt: skip
    with platform.session_factory() as s:
        entries_before = s.scalar(select(func.count()).select_from(LedgerEntry))
    r = psp_callback(client, platform, body, d.psp)
    assert r.status_code == 200 and r.json()["outcome"] == "ignored", r.text
    with platform.session_factory() as s:
        assert s.get(Deposit, d.id).status == "pending"
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == entries_before
        row = s.execute(select(PspCallback).order_by(PspCallback.id.desc())).scalars().first()
        assert (row.outcome, row.status, row.kind) == ("ignored", status, kind)
        assert "unknown" in row.detail
    [event] = [e for e in outbox(platform, "psp.callback_received") if e["outcome"] == "ignored"]
    # Only bounded values reach the event's label-like fields.
    assert event["status"] == "unknown"
    assert event["kind"] == (kind if kind != "refund" else "unknown")
    labels = {"psp": d.psp, "outcome": "ignored"}
    assert platform.metrics.registry.get_sample_value("igaming_psp_callbacks_total", labels) == 1
    # A known status for the same deposit still applies afterwards.
    approved = callback_body(
        merchant_reference=d.id, status="approved", amount=d.amount, psp=d.psp,
        occurred_at=platform.clock.now(),
    )  # fmt: skip
    assert psp_callback(client, platform, approved, d.psp).json()["outcome"] == "applied"


# -- item 8: request bodies are capped ----------------------------------------------------

LIMIT = 64 * 1024


def chunks(total: int, size: int = 8192):
    """A body without Content-Length (httpx sends an iterator chunked)."""
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        sent += n
        yield b" " * n


def is_too_large(r) -> bool:
    return is_problem(r, 413) and r.json()["type"].endswith("/payload-too-large")


def test_default_body_limit_is_64_kib(platform):
    assert platform.settings.max_request_body_bytes == LIMIT


@pytest.mark.parametrize("path", ["/cashier/callbacks/paybridge", "/sportsbook/feed",
                                  "/casino/seamless/spinworks/bet", "/players"])  # fmt: skip
def test_a_body_over_the_limit_is_413_by_content_length_and_nothing_is_recorded(
    platform, client, path
):
    r = client.post(path, content=b" " * (LIMIT + 1), headers={"content-type": "application/json"})
    assert is_too_large(r), (r.status_code, r.text[:200])
    with platform.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(PspCallback)) == 0
        assert s.scalar(select(func.count()).select_from(FeedMessage)) == 0


@pytest.mark.parametrize("path", ["/cashier/callbacks/paybridge", "/sportsbook/feed",
                                  "/casino/seamless/spinworks/bet", "/players"])  # fmt: skip
def test_a_chunked_body_is_counted_as_it_streams_and_refused_past_the_limit(platform, client, path):
    r = client.post(
        path, content=chunks(LIMIT + 8192), headers={"content-type": "application/json"}
    )
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert is_too_large(r), (r.status_code, r.text[:200])


def test_a_body_at_the_limit_is_read(platform, client):
    # Not JSON, so refused as invalid: it was read, not cut off.
    r = client.post("/cashier/callbacks/paybridge", content=chunks(LIMIT))
    assert r.status_code == 401  # the signature is checked first
    r = client.post("/players", content=b" " * LIMIT, headers={"content-type": "application/json"})
    assert is_problem(r, 422)


def test_the_limit_is_a_setting(engine):
    from tests.conftest import make_platform

    p = make_platform(engine)
    p.settings = p.settings.model_copy(update={"max_request_body_bytes": 2048})
    small = TestClient(create_app(p))
    assert is_too_large(small.post("/players", content=b" " * 2049))
    assert small.post("/players", json={"email": "x"}).status_code == 422


# -- item 8: refusals are counts plus a bounded sample, not a row each -------------------


def count(platform, model, *where) -> int:
    with platform.session_factory() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def metric(platform, name: str, **labels: str) -> float:
    return platform.metrics.registry.get_sample_value(name, labels) or 0.0


def test_refused_callbacks_are_counted_and_only_the_last_samples_kept(platform, monkeypatch):
    monkeypatch.setattr(partner_body, "SAMPLES_KEPT", 5)
    outbox_before = count(platform, OutboxEvent)
    for i in range(12):
        body = callback_body(
            merchant_reference=f"m-{i}", status="approved", amount=1,
            occurred_at=platform.clock.now(),
        )  # fmt: skip
        with pytest.raises(Unauthorized):
            handle_callback(platform, "paybridge", body + b" " * 5000, "t=1,v1=" + "0" * 64)
    with pytest.raises(ValidationFailed):
        handle_callback(platform, "paybridge", b"[]", signature(b"[]", platform.clock.now()))
    refused = PspCallback.outcome.in_(("bad_signature", "invalid"))
    assert count(platform, PspCallback, refused) == 5
    with platform.session_factory() as s:
        kept = s.execute(select(PspCallback).where(refused).order_by(PspCallback.id)).scalars()
        kept = list(kept)
    # The newest are kept, each with at most SAMPLE_CHARS of its body.
    assert [k.merchant_reference for k in kept[:4]] == [f"m-{i}" for i in range(8, 12)]
    assert kept[-1].outcome == "invalid"
    assert all(len(k.body) <= partner_body.SAMPLE_CHARS for k in kept)
    # Every refusal is counted; none writes an outbox row.
    assert (
        metric(platform, "igaming_psp_callbacks_total", psp="paybridge", outcome="bad_signature")
        == 12
    )
    assert metric(platform, "igaming_psp_callbacks_total", psp="paybridge", outcome="invalid") == 1
    assert count(platform, OutboxEvent) == outbox_before


def test_samples_are_kept_per_psp(platform, monkeypatch):
    monkeypatch.setattr(partner_body, "SAMPLES_KEPT", 2)
    for psp in ("paybridge", "paybridge", "paybridge", "ewallo"):
        with pytest.raises(Unauthorized):
            handle_callback(platform, psp, b"{}", None)
    assert count(platform, PspCallback, PspCallback.psp == "paybridge") == 2
    assert count(platform, PspCallback, PspCallback.psp == "ewallo") == 1


def test_refused_feed_messages_are_counted_and_only_the_last_samples_kept(platform, monkeypatch):
    monkeypatch.setattr(partner_body, "SAMPLES_KEPT", 3)
    open_fixture(platform)
    outbox_before = count(platform, OutboxEvent)
    for i in range(7):
        body = message(platform, "odds_change", market_id=f"m{i}", odds={"s": "2.0"})
        assert push(platform, body, secret="forged") == "bad_signature"
    assert push(platform, b"not json") == "invalid"
    applied = message(platform, "odds_change", market_id="f1-1x2", odds={"f1-h": "2.5"})
    assert push(platform, applied) == "applied"
    refused = FeedMessage.outcome.in_(("bad_signature", "invalid"))
    assert count(platform, FeedMessage, refused) == 3
    assert count(platform, FeedMessage, FeedMessage.outcome == "applied") == 2  # untouched
    with platform.session_factory() as s:
        kept = list(s.execute(select(FeedMessage.market_id).where(refused)).scalars())
    assert sorted(kept, key=str) == sorted(["m5", "m6", None], key=str)
    labels = {"message_type": "odds_change", "outcome": "bad_signature", "sport": "other"}
    assert metric(platform, "igaming_odds_feed_messages_total", **labels) == 7
    # Only the applied message's event reached the outbox.
    assert count(platform, OutboxEvent) == outbox_before + 1


def test_seamless_requests_refused_before_authentication_write_no_row(platform, client):
    outbox_before = count(platform, OutboxEvent)
    for _ in range(5):
        r = client.post(
            "/casino/seamless/spinworks/bet", content=b"{}", headers={"X-Signature": "x"}
        )
        assert r.status_code == 401 and r.json()["code"] == "INVALID_SIGNATURE"
    labels = {"provider": "spinworks", "action": "bet", "code": "INVALID_SIGNATURE"}
    assert metric(platform, "igaming_casino_seamless_refusals_total", **labels) == 5
    assert count(platform, OutboxEvent) == outbox_before


# -- item 8: clicks stay a row each (the attribution record) but are rate-limited ----------


def limited_platform(engine, burst: int, rate: float):
    from tests.conftest import make_platform

    p = make_platform(engine)
    p.settings = p.settings.model_copy(update={"click_burst": burst, "click_rate_per_second": rate})
    return p


def test_clicks_beyond_the_burst_from_one_address_are_429_and_not_stored(engine):
    p = limited_platform(engine, burst=3, rate=0.5)
    app = create_app(p)
    one, other = TestClient(app, client=("198.51.100.7", 1)), TestClient(app, client=("::1", 2))
    answers = [one.get("/track/click", params={"affiliate": "aff17"}) for _ in range(5)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429, 429]
    assert is_problem(answers[-1], 429) and answers[-1].json()["type"].endswith("/rate-limited")
    assert is_problem(one.post("/affiliates/clicks", json={"affiliate": "aff17"}), 429)
    assert other.get("/track/click", params={"affiliate": "aff17"}).status_code == 200
    assert count(p, Click) == 4
    p.clock.advance(2)  # one more token at 0.5 a second
    assert one.get("/track/click", params={"affiliate": "aff17"}).status_code == 200
    assert one.get("/track/click", params={"affiliate": "aff17"}).status_code == 429
    labels = {"route": "/track/click", "http_method": "GET", "status_class": "4xx"}
    assert metric(p, "igaming_http_requests_total", **labels) >= 3


def test_the_default_click_limit_lets_a_busy_landing_page_through(platform, client):
    assert platform.settings.click_burst >= 100
    for _ in range(100):
        assert client.get("/track/click", params={"affiliate": "aff17"}).status_code == 200


def test_the_click_limiter_remembers_a_bounded_number_of_addresses():
    limiter = ClickLimiter(rate_per_second=1.0, burst=1, max_addresses=3)
    for i in range(10):
        assert limiter.allow(f"10.0.0.{i}", 0.0)
    assert len(limiter) == 3


@pytest.mark.parametrize("body", [b"[" * 60_000, b'{"kind": ' + b"[" * 60_000])
def test_a_deeply_nested_refused_body_is_refused_not_a_500(platform, client, body):
    # Under the body limit, and deep enough that json.loads raises RecursionError.
    r = client.post("/cashier/callbacks/paybridge", content=body, headers={"X-PSP-Signature": "x"})
    assert is_problem(r, 401)
    r = client.post("/sportsbook/feed", content=body, headers={"X-Feed-Signature": "x"})
    assert (r.status_code, r.json()["outcome"]) == (401, "bad_signature")
    signed = signature(body, platform.clock.now())
    r = client.post(
        "/cashier/callbacks/paybridge", content=body, headers={"X-PSP-Signature": signed}
    )
    assert is_problem(r, 422)
