"""Server-to-server postbacks delivered to the affiliate network simulator (in-process ASGI,
one shared FakeClock): back-off through an outage, dead letters, dedupe, signatures."""

from __future__ import annotations

from collections import Counter

import httpx
from sqlalchemy import text

from igaming.affiliates.dispatcher import backoff, dispatch_due
from igaming.affiliates.models import PostbackJob
from igaming.affiliates.outbox_consumer import consume_all, reset_cursor
from tests.platform.affiliate_helpers import (
    AFFILIATE,
    approved_deposit,
    jobs,
    make_world,
    referred_player,
)

DEAL = {"kind": "cpa", "currency": "EUR", "cpa_amount": 5_000}


def received(w) -> Counter:
    """How many times the network accepted each (event, conversion) with a 2xx."""
    return Counter((r.event, r.conversion_id) for r in w.network.receipts)


def test_backoff_doubles_from_thirty_seconds_and_is_capped():
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(30).total_seconds() == 3600


def test_outage_longer_than_the_first_backoffs_ends_with_each_postback_delivered_once(engine):
    w = make_world(engine, deal=DEAL)
    w.client.patch("/admin/knobs", json={"down": True})
    for i in range(2):
        approved_deposit(w.p, referred_player(w.p, click_id=f"c{i}"), key=f"d{i}")
    assert {r.outcome for r in w.pump()} == {"failed"}  # attempt 1 of 6 jobs
    for wait in (30, 60, 120):  # attempts 2, 3, 4 fail too
        w.clock.advance(wait - 1)
        assert w.pump() == []  # not due before its back-off
        w.clock.advance(1)
        assert [r.outcome for r in w.pump()] == ["failed"] * 6
    w.client.patch("/admin/knobs", json={"down": False})
    w.clock.advance(240)
    assert [r.outcome for r in w.pump()] == ["delivered"] * 6
    for _ in range(5):  # later passes, and a replay of the outbox, send nothing again
        w.clock.advance(3600)
        reset_cursor(w.p)
        assert w.pump() == []
    counts = received(w)
    assert len(counts) == 6 and set(counts.values()) == {1}
    assert {j.status for j in jobs(w.p)} == {"delivered"}
    assert {j.attempts for j in jobs(w.p)} == {5}
    with w.p.session_factory() as s:
        attempts = s.execute(text("SELECT outcome, status_code FROM pw_postback_attempts")).all()
    assert Counter(attempts) == {("failed", 503): 24, ("delivered", 200): 6}


def test_postback_past_max_attempts_is_dead_lettered_and_visible(engine):
    w = make_world(engine)
    w.client.put(f"/admin/affiliates/{AFFILIATE}", json={"knobs": {"error_rate": 1.0}})
    referred_player(w.p)
    consume_all(w.p)
    [job] = jobs(w.p)
    for attempt in range(1, job.max_attempts + 1):
        [result] = dispatch_due(w.p, w.client)
        expected = "dead_letter" if attempt == job.max_attempts else "failed"
        assert (result.attempt, result.outcome, result.status_code) == (attempt, expected, 500)
        w.clock.advance(backoff(attempt).total_seconds())
    assert dispatch_due(w.p, w.client) == []
    with w.p.session_factory() as s:
        row = s.execute(
            text("SELECT status, attempts, next_attempt_at, event FROM pw_postbacks")
        ).one()
        n_attempts = s.execute(text("SELECT COUNT(*) FROM pw_postback_attempts")).scalar_one()
    assert (row.status, row.attempts, row.next_attempt_at, row.event) == (
        "dead_letter",
        job.max_attempts,
        None,
        "registration",
    )
    assert n_attempts == job.max_attempts


def test_a_second_dispatcher_pass_does_not_resend_an_acknowledged_postback(engine):
    w = make_world(engine)
    referred_player(w.p)
    consume_all(w.p)
    assert [r.outcome for r in dispatch_due(w.p, w.client)] == ["delivered"]
    with w.p.uow() as uow:  # even if its schedule said it was due again
        job = uow.session.get(PostbackJob, jobs(w.p)[0].id)
        job.next_attempt_at = w.clock.now()
        uow.commit()
    assert dispatch_due(w.p, w.client) == []
    assert sum(received(w).values()) == 1


def test_a_leased_job_is_not_claimed_by_another_dispatcher(engine):
    w = make_world(engine)
    referred_player(w.p)
    consume_all(w.p)
    from igaming.affiliates.dispatcher import _claim

    assert len(_claim(w.p, "dispatcher-a", 10)) == 1  # a crashed after claiming
    assert dispatch_due(w.p, w.client) == []  # b finds it leased
    w.clock.advance(61)  # the lease expired: b takes over
    assert [(r.outcome, r.attempt) for r in dispatch_due(w.p, w.client)] == [("delivered", 2)]


def test_network_refuses_a_bad_signature_and_the_job_retries(engine):
    w = make_world(engine)
    w.client.put(f"/admin/affiliates/{AFFILIATE}", json={"secret": "a-different-secret"})
    referred_player(w.p)
    consume_all(w.p)
    [result] = dispatch_due(w.p, w.client)
    assert (result.outcome, result.status_code) == ("failed", 401)
    assert w.network.receipts == [] and w.network.counts["refused"] == 1


def test_transport_errors_are_logged_as_failed_attempts(engine):
    w = make_world(engine)
    referred_player(w.p)
    consume_all(w.p)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    [result] = dispatch_due(w.p, httpx.Client(transport=httpx.MockTransport(refuse)))
    assert (result.outcome, result.status_code) == ("failed", None)
    with w.p.session_factory() as s:
        error = s.execute(text("SELECT error FROM pw_postback_attempts")).scalar_one()
    assert error.startswith("ConnectError")


def test_network_books_ftd_commission_and_marks_reversals(engine):
    w = make_world(engine, deal=DEAL)
    from tests.platform.affiliate_helpers import deliver_callback

    d = approved_deposit(w.p, referred_player(w.p), amount=3_000)
    w.pump()
    deliver_callback(w.p, d, "chargeback")
    w.pump()
    rows = {r.event: r for r in w.network.conversions()}
    assert rows["ftd"].status == "reversed" and rows["ftd"].commission_minor == 0
    assert rows["registration"].status == "approved"
    assert rows["deposit"].amount == "30.00" and rows["deposit"].currency == "EUR"


def test_postback_the_network_acknowledged_but_lost_is_delivered_here_missing_there(engine):
    w = make_world(engine)
    w.client.patch("/admin/knobs", json={"loss_rate": 1.0})
    referred_player(w.p)
    assert [r.outcome for r in w.pump()] == ["delivered"]
    export = w.client.get("/admin/export.csv", params={"date": w.clock.now().date().isoformat()})
    assert export.text.strip().count("\n") == 0  # header only: the break a reconciler finds
