"""Sportsbook test helpers: a funded player, signed feed messages, fixtures, bets and
ledger checks (shared by the sportsbook, API, fault, metrics and simulator tests)."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from igaming.cashier import deposits
from igaming.cashier.callbacks import handle_callback
from igaming.models import OutboxEvent
from igaming.partners.signing import sign
from igaming.sportsbook import bets, feed
from igaming.sportsbook.models import Market
from igaming.wallet.invariants import check_invariants
from igaming.wallet.service import balances
from tests.conftest import register_player
from tests.fakes import callback_body, signature

_seq = itertools.count(1)


# -- helpers (also used by the API and simulator tests) ----------------------------------


def funded_player(p, amount: int = 100_000, **kw: Any):
    """A player with ``amount`` of cash from an approved deposit."""
    player = register_player(p, **kw)
    d = deposits.request_deposit(
        p, player.id, amount=amount, currency=player.currency, method="card", idempotency_key="f"
    )
    body = callback_body(
        merchant_reference=d.id,
        status="approved",
        amount=amount,
        currency=d.currency,
        psp=d.psp,
        occurred_at=p.clock.now(),
    )
    handle_callback(p, d.psp, body, signature(body, p.clock.now(), d.psp))
    return player


def message(p, type_: str, **fields: Any) -> bytes:
    fields.setdefault("message_id", str(uuid.uuid4()))
    fields.setdefault("sequence", next(_seq))
    fields.setdefault("sent_at", p.clock.now().isoformat())
    return json.dumps({"type": type_, **fields}).encode()


def push(p, body: bytes, secret: str | None = None) -> str:
    """Deliver a signed feed message; returns the outcome (refusals included)."""
    sig = sign(secret or p.settings.odds_feed_secret, int(p.clock.now().timestamp()), body)
    try:
        return feed.handle_feed_message(p, body, sig).outcome
    except feed.FeedRefused as exc:
        return exc.outcome


def open_fixture(p, fixture_id: str = "f1", home_odds: str = "2.00", **kw: Any) -> str:
    """A football fixture with a 1X2 market (``<f>-1x2``) and an over/under (``<f>-ou``)."""
    body = message(
        p,
        "fixture",
        fixture_id=fixture_id,
        sport=kw.get("sport", "football"),
        competition="Bundesliga",
        home="Werder",
        away="Hertha",
        starts_at=(p.clock.now() + timedelta(hours=2)).isoformat(),
        markets=[
            {
                "market_id": f"{fixture_id}-1x2",
                "type": "match_result",
                "selections": [
                    {"selection_id": f"{fixture_id}-h", "name": "Werder", "odds": home_odds},
                    {"selection_id": f"{fixture_id}-d", "name": "Draw", "odds": "3.40"},
                    {"selection_id": f"{fixture_id}-a", "name": "Hertha", "odds": "3.80"},
                ],
            },
            {
                "market_id": f"{fixture_id}-ou",
                "type": "over_under_2_5",
                "selections": [
                    {"selection_id": f"{fixture_id}-o", "name": "Over", "odds": "1.90"},
                    {"selection_id": f"{fixture_id}-u", "name": "Under", "odds": "1.90"},
                ],
            },
        ],
    )
    assert push(p, body) == "applied"
    return fixture_id


def result(p, market_id: str, won: str, *, result_at=None, message_id=None) -> bytes:
    return message(
        p,
        "result",
        market_id=market_id,
        result_at=(result_at or p.clock.now()).isoformat(),
        results={won: "won"},
        **({"message_id": message_id} if message_id else {}),
    )


def bet(p, player, selection: str = "f1-h", stake: int = 1_000, odds: str = "2.00", key=None, **kw):
    return bets.place_bet(
        p,
        player.id,
        selection_id=selection,
        stake=stake,
        currency=player.currency,
        odds=odds,
        idempotency_key=key or str(uuid.uuid4()),
        **kw,
    )


def cash(p, player) -> int:
    return balances(p, player.id)[0].cash


def events(p, name: str) -> list[dict]:
    with p.session_factory() as s:
        return list(
            s.execute(
                select(OutboxEvent.payload)
                .where(OutboxEvent.event_type == name)
                .order_by(OutboxEvent.id)
            ).scalars()
        )


def assert_ledger_ok(p) -> None:
    with p.session_factory() as s:
        report = check_invariants(s)
    assert report.ok, report.violations()


def market_status(p, market_id: str) -> str:
    with p.session_factory() as s:
        return s.get(Market, market_id).status
