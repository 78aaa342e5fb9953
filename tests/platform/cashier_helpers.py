"""Cashier test helpers: deposits, signed PSP callbacks and an approved, KYC-verified
player (shared by the cashier, bonus and regression tests)."""

from __future__ import annotations

from sqlalchemy import select, update

from igaming.cashier import deposits
from igaming.cashier.callbacks import handle_callback
from igaming.models import Player, PspCallback
from igaming.wallet.service import balances
from tests.conftest import register_player
from tests.fakes import callback_body, signature


def deposit(p, player, amount=2_500, key="d1", method="card"):
    return deposits.request_deposit(
        p, player.id, amount=amount, currency=player.currency, method=method, idempotency_key=key
    )


def deliver(p, d, status, *, event_id=None, psp=None, kind="payment", amount=None, secret=None):
    psp = psp or d.psp
    body = callback_body(
        merchant_reference=d.id,
        status=status,
        amount=d.amount if amount is None else amount,
        currency=d.currency,
        psp=psp,
        kind=kind,
        occurred_at=p.clock.now(),
        event_id=event_id,
    )
    return handle_callback(p, psp, body, signature(body, p.clock.now(), psp, secret))


def cash(p, player) -> int:
    return balances(p, player.id)[0].cash


def outcomes(p) -> list[str]:
    with p.session_factory() as s:
        return list(s.execute(select(PspCallback.outcome).order_by(PspCallback.id)).scalars())


def approved_player(p, amount=10_000):
    player = register_player(p)
    deliver(p, deposit(p, player, amount=amount, key="seed"), "approved")
    with p.session_factory() as s:
        s.execute(update(Player).where(Player.id == player.id).values(kyc_status="approved"))
        s.commit()
    return player
