"""Casino test helpers: a funded player, a fake game provider and the seamless wallet's
in-process caller (shared by the casino, bonus, metrics and simulator tests)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select

from igaming.bootstrap import Platform
from igaming.cashier import deposits
from igaming.cashier.callbacks import handle_callback
from igaming.casino import seamless
from igaming.casino.catalogue import seed_catalogue
from igaming.casino.launch import OpenedSession, OpenSession, install_gateway, launch_game
from igaming.casino.models import CasinoRound
from igaming.partners.request_signing import sign_request
from igaming.wallet.invariants import check_invariants
from igaming.wallet.service import balances
from tests.conftest import register_player
from tests.fakes import callback_body, signature

GAME = "spinworks:pit-of-gold"


@dataclass
class FakeProvider:
    """A game provider that opens every session, or fails with the exception given."""

    fail: Exception | None = None

    def __post_init__(self) -> None:
        self.opened: list[OpenSession] = []

    def open_session(self, request: OpenSession) -> OpenedSession:
        self.opened.append(request)
        if self.fail is not None:
            raise self.fail
        return OpenedSession(f"ps-{len(self.opened)}", "https://games.example/play")


def funded_player(p: Platform, amount: int = 10_000):
    """A registered player whose card deposit was approved by the PSP."""
    player = register_player(p)
    d = deposits.request_deposit(
        p, player.id, amount=amount, currency="EUR", method="card", idempotency_key="fund"
    )
    body = callback_body(
        merchant_reference=d.id,
        status="approved",
        amount=amount,
        psp=d.psp,
        occurred_at=p.clock.now(),
    )
    handle_callback(p, d.psp, body, signature(body, p.clock.now(), d.psp))
    return player


def cash(p: Platform, player) -> int:
    return balances(p, player.id)[0].cash


@dataclass
class Provider:
    """A game provider's side of the seamless wallet, called in-process."""

    p: Platform
    token: str
    name: str = "spinworks"

    def call(self, action: str, *, secret: str | None = None, **fields: object):
        raw = json.dumps({"session_token": self.token, **fields}).encode()
        secret = secret or f"dev-secret-{self.name}"
        sig = sign_request(secret, int(self.p.clock.now().timestamp()), self.name, action, raw)
        return seamless.handle(self.p, self.name, action, raw, sig)

    def bet(self, tx: str, round_id: str = "r1", amount: int = 300, currency: str = "EUR"):
        return self.call(
            "bet", transaction_id=tx, round_id=round_id, amount=amount, currency=currency
        )

    def win(self, tx: str, round_id: str = "r1", amount: int = 700, closed: bool = True):
        return self.call(
            "win",
            transaction_id=tx,
            round_id=round_id,
            amount=amount,
            currency="EUR",
            round_closed=closed,
        )

    def rollback(self, tx: str, reference: str, round_id: str = "r1"):
        return self.call(
            "rollback", transaction_id=tx, round_id=round_id, reference_transaction_id=reference
        )


def open_game(p: Platform, player, game: str = GAME) -> Provider:
    seed_catalogue(p)
    if not isinstance(p.games, FakeProvider):
        install_gateway(p, FakeProvider())
    launched = launch_game(p, player.id, game)
    return Provider(p, launched.session_token, launched.provider)


def the_round(p: Platform, round_id: str = "r1") -> CasinoRound:
    with p.session_factory() as s:
        return s.execute(
            select(CasinoRound).where(CasinoRound.provider_round_id == round_id)
        ).scalar_one()


def ledger_ok(p: Platform) -> None:
    with p.session_factory() as s:
        report = check_invariants(s)
    assert report.ok, report.violations()
