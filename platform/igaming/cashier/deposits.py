"""Deposits: request, route, send to the PSP; the callback applies the outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ground.money import check_amount, check_currency
from igaming.accounts.service import check_may_deposit
from igaming.bonus import service as bonus_service
from igaming.bootstrap import Platform
from igaming.cashier.gateway import PaymentRequest, PspRejected, PspTimeout, PspUnavailable
from igaming.errors import NotFound, UpstreamUnavailable, ValidationFailed
from igaming.events import (
    DepositApproved,
    DepositChargedBack,
    DepositDeclined,
    DepositEvent,
    DepositFailed,
    DepositRequested,
    IdempotentReplay,
)
from igaming.faults import deposit_fails
from igaming.models import Deposit, Player
from igaming.uow import UnitOfWork
from igaming.wallet.accounts import house_account, player_account
from igaming.wallet.ledger import Posting


def _event(cls: type[DepositEvent], d: Deposit, now: datetime, **extra: Any) -> DepositEvent:
    return cls(
        occurred_at=now,
        deposit_id=d.id,
        player_id=d.player_id,
        psp=d.psp,
        method=d.method,
        geo=d.geo,
        brand=d.brand,
        currency=d.currency,
        amount=d.amount,
        first_deposit=d.first_deposit,
        **extra,
    )


def request_deposit(
    p: Platform, player_id: str, *, amount: int, currency: str, method: str, idempotency_key: str
) -> Deposit:
    """Create the deposit and send it to its PSP. Replays return the first deposit."""
    check_amount(amount)
    check_currency(currency)
    if not idempotency_key or len(idempotency_key) > 100:
        raise ValidationFailed("an Idempotency-Key of 1 to 100 characters is required")
    now = p.clock.now()
    with p.uow() as uow:
        player = uow.session.get(Player, player_id, with_for_update=True)
        if player is None:
            raise NotFound(f"player {player_id} not found")
        if currency != player.currency:
            raise ValidationFailed(f"this account deposits in {player.currency}, not {currency}")
        psp = p.routing.route(player.country, method)
        started = p.ledger.begin(
            uow.session,
            now=now,
            tx_type="deposit",
            idempotency_key=f"deposit:{player_id}:{idempotency_key}",
            currency=currency,
            amount=amount,
            player_id=player_id,
            request={"amount": amount, "currency": currency, "method": method},
            status="pending",
            details={"psp": psp, "method": method},
        )
        if started.replayed:
            deposit = uow.session.get(Deposit, started.transaction.id)
            assert deposit is not None
            uow.emit(IdempotentReplay(occurred_at=now, tx_type="deposit"))
            uow.commit()  # nothing to write but the event; keeps the row loaded
            return deposit
        check_may_deposit(uow.session, player, amount, now)
        # The status is checked here, not in SQL: with it in the WHERE clause SQLite (no
        # statistics) searched ix_deposits_status_created, every approved deposit of every
        # player, on each deposit, instead of this player's few rows.
        statuses = (
            uow.session.execute(select(Deposit.status).where(Deposit.player_id == player_id))
            .scalars()
            .all()
        )
        first = not any(status == "approved" for status in statuses)
        deposit = Deposit(
            id=started.transaction.id,
            player_id=player_id,
            psp=psp,
            method=method,
            geo=player.country,
            brand=player.brand,
            amount=amount,
            currency=currency,
            status="initiated",
            first_deposit=first,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(deposit)
        uow.emit(_event(DepositRequested, deposit, now))
        uow.commit()

    # Never hold a database transaction open across a call to the outside world.
    request = PaymentRequest(
        "payments",
        psp,
        deposit.id,
        amount,
        currency,
        method,
        deposit.geo,
        f"{p.settings.platform_url}/cashier/callbacks/{psp}",
    )
    if deposit_fails(p.faults.current, deposit.geo, deposit.id):
        # An injected regression: the platform fails before any PSP is asked to charge.
        _after_submit(p, deposit.id, status="failed", reason="internal_error")
        raise UpstreamUnavailable(
            "the deposit failed inside the platform; nothing was charged",
            deposit_id=deposit.id,
            reason="internal_error",
        )
    try:
        reference = p.psp.submit(request)
    except PspTimeout:
        return _after_submit(p, deposit.id, status="timed_out", reason="timed_out")
    except (PspUnavailable, PspRejected) as exc:
        reason = "psp_unavailable" if isinstance(exc, PspUnavailable) else "psp_rejected"
        _after_submit(p, deposit.id, status="failed", reason=reason)
        raise UpstreamUnavailable(
            f"payment provider {psp} is unavailable; nothing was charged",
            deposit_id=deposit.id,
            reason=reason,
        ) from exc
    return _after_submit(p, deposit.id, status="pending", reference=reference)


def _after_submit(
    p: Platform,
    deposit_id: str,
    *,
    status: str,
    reference: str | None = None,
    reason: str | None = None,
) -> Deposit:
    now = p.clock.now()
    with p.uow() as uow:
        deposit = uow.session.get(Deposit, deposit_id, with_for_update=True)
        assert deposit is not None
        if reference and deposit.psp_reference is None:
            deposit.psp_reference = reference
        # A callback may have overtaken the PSP's answer; then its status stands.
        if deposit.status in ("initiated", "pending"):
            deposit.status = status
            deposit.reason = reason
            deposit.updated_at = now
            if status in ("failed", "timed_out"):
                uow.emit(_event(DepositFailed, deposit, now, reason=reason or status))
            if status == "failed":
                tx = p.ledger.transaction(uow.session, deposit.id)
                p.ledger.set_status(tx, "failed", now)
        uow.commit()
    return deposit


def get_deposit(session: Session, player_id: str | None, deposit_id: str) -> Deposit:
    deposit = session.get(Deposit, deposit_id)
    if deposit is None or (player_id is not None and deposit.player_id != player_id):
        raise NotFound(f"deposit {deposit_id} not found")
    return deposit


# -- effects of callbacks (called by cashier.callbacks under the deposit's row lock) ----


def approve(p: Platform, uow: UnitOfWork, d: Deposit, now: datetime) -> None:
    tx = p.ledger.transaction(uow.session, d.id)
    p.ledger.post(
        uow.session,
        tx,
        [
            Posting(house_account("psp_clearing", d.currency, d.psp), -d.amount),
            Posting(player_account(d.player_id, "cash", d.currency), d.amount),
        ],
        now=now,
        status="completed",
    )
    d.status, d.completed_at, d.updated_at = "approved", now, now
    seconds = (now - d.created_at).total_seconds()
    uow.emit(_event(DepositApproved, d, now, seconds_to_approval=seconds))
    bonus = bonus_service.open_bonus_for_update(uow.session, d.player_id)  # after accounts
    bonus_service.on_deposit_approved(p.ledger, uow, bonus, d, now)


def decline(
    p: Platform, uow: UnitOfWork, d: Deposit, now: datetime, status: str, reason: str
) -> None:
    tx = p.ledger.transaction(uow.session, d.id)
    p.ledger.set_status(tx, "failed", now)
    d.status, d.reason, d.updated_at = status, reason, now
    cls = DepositDeclined if status == "declined" else DepositFailed
    uow.emit(_event(cls, d, now, reason=reason))


def claw_back(p: Platform, uow: UnitOfWork, d: Deposit, now: datetime, kind: str, key: str) -> None:
    """A chargeback (forced by the card scheme, may leave cash negative, flagged) or a refund."""
    started = p.ledger.begin(
        uow.session,
        now=now,
        tx_type="chargeback" if kind == "chargeback" else "reversal",
        idempotency_key=f"{kind}:{d.id}:{key}",
        currency=d.currency,
        amount=d.amount,
        player_id=d.player_id,
        request={"deposit": d.id, "kind": kind},
        reference=d.id,
        status="pending",
    )
    if started.replayed:
        return
    cash = player_account(d.player_id, "cash", d.currency)
    negative = p.ledger.post(
        uow.session,
        started.transaction,
        [
            Posting(cash, -d.amount),
            Posting(house_account("psp_clearing", d.currency, d.psp), d.amount),
        ],
        now=now,
        status="completed",
        allow_negative=frozenset({cash}),
    )
    d.status, d.updated_at = kind, now
    if kind == "chargeback":
        uow.emit(_event(DepositChargedBack, d, now, negative_balance=bool(negative)))
    # A bonus granted on money that went back to the payer is forfeited with it.
    bonus = bonus_service.open_bonus_for_update(uow.session, d.player_id)  # after accounts
    if bonus is not None and bonus.deposit_id == d.id:
        bonus_service.forfeit(p.ledger, uow, bonus, kind, d.brand, now)


def reverse_chargeback(p: Platform, uow: UnitOfWork, d: Deposit, now: datetime, key: str) -> None:
    """The scheme found for the merchant: the charged-back amount comes back to cash."""
    started = p.ledger.begin(
        uow.session,
        now=now,
        tx_type="reversal",
        idempotency_key=f"chargeback_reversed:{d.id}:{key}",
        currency=d.currency,
        amount=d.amount,
        player_id=d.player_id,
        request={"deposit": d.id, "kind": "chargeback_reversed"},
        reference=d.id,
        status="pending",
    )
    if started.replayed:
        return
    p.ledger.post(
        uow.session,
        started.transaction,
        [
            Posting(house_account("psp_clearing", d.currency, d.psp), -d.amount),
            Posting(player_account(d.player_id, "cash", d.currency), d.amount),
        ],
        now=now,
        status="completed",
    )
    d.status, d.updated_at = "chargeback_reversed", now
