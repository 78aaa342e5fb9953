"""Regressions: money bugs found in review in the cashier paths (fixed)."""

from __future__ import annotations

import httpx
import pytest

from igaming.cashier import withdrawals
from igaming.cashier.gateway import HttpPspGateway, PaymentRequest, PspTimeout
from igaming.errors import UpstreamUnavailable
from igaming.wallet.invariants import check_invariants
from igaming.wallet.service import balances
from tests.platform.cashier_helpers import approved_player, deliver

REQUEST = PaymentRequest("payouts", "paybridge", "w-1", 100, "EUR", "card", "DE", "http://cb")


def _gateway(handler) -> HttpPspGateway:
    return HttpPspGateway(
        "http://psp",
        1.0,
        client=httpx.Client(base_url="http://psp", transport=httpx.MockTransport(handler)),
    )


@pytest.mark.parametrize(
    "failure",
    ["read_error", "remote_protocol_error", "http_504"],
)
def test_gateway_calls_an_answer_lost_after_sending_ambiguous_not_certainly_absent(failure):
    """Regression: cashier/gateway.py:63-67: every httpx.TransportError and every 5xx becomes
    PspUnavailable ("the payment certainly does not exist"). A ReadError or
    RemoteProtocolError is raised after the request went out, and a 504 from a proxy says
    nothing either: the PSP may have created the payment/payout. These must be PspTimeout
    (ambiguous: keep funds locked, wait for the callback)."""

    def handler(request: httpx.Request) -> httpx.Response:
        if failure == "read_error":
            raise httpx.ReadError("connection reset by peer", request=request)
        if failure == "remote_protocol_error":
            raise httpx.RemoteProtocolError("server disconnected", request=request)
        return httpx.Response(504, text="gateway timeout")

    with pytest.raises(PspTimeout):
        _gateway(handler).submit(REQUEST)


def test_payout_whose_answer_was_lost_is_not_both_returned_and_paid(engine):
    """Regression: withdrawals.py:376-381 with gateway.py:63-67: the payout request reaches the PSP,
    the connection drops while reading its answer (httpx.ReadError → PspUnavailable), the
    platform returns the funds to cash at once and marks the withdrawal failed; the PSP's
    "paid" callback then arrives and is ignored as out_of_order. The player is paid out
    AND keeps the money: duplicated cash, and the ledger says nothing was paid."""
    from tests.conftest import make_platform

    created: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if "/payouts" in request.url.path:
            created.append("payout")  # the PSP created it; the answer never arrives
            raise httpx.ReadError("connection reset by peer", request=request)
        return httpx.Response(201, json={"psp_reference": f"ref-{len(created)}"})

    p = make_platform(engine, psp=_gateway(handler))
    player = approved_player(p)
    try:
        w = withdrawals.request_withdrawal(
            p, player.id, amount=4_000, currency="EUR", method="card", idempotency_key="w"
        )
    except UpstreamUnavailable as exc:
        from igaming.models import Withdrawal

        with p.session_factory() as s:
            w = s.get(Withdrawal, exc.extra["withdrawal_id"])
    assert created
    deliver(p, w, "paid", kind="payout")  # the PSP did pay the player
    b = balances(p, player.id)[0]
    assert b.cash + b.withdrawal_pending == 6_000, "paid out by the PSP and returned to cash"
    with p.session_factory() as s:
        assert check_invariants(s).ok
