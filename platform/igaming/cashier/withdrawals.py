"""Withdrawals: account status and KYC checks, funds to withdrawal_pending, payout through
the PSP, callback."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ground.money import check_amount, check_currency
from igaming.accounts.service import check_may_withdraw
from igaming.bonus import service as bonus_service
from igaming.bootstrap import Platform
from igaming.cashier.gateway import PaymentRequest, PspRejected, PspTimeout, PspUnavailable
from igaming.errors import KycRequired, NotFound, UpstreamUnavailable, ValidationFailed
from igaming.events import (
    IdempotentReplay,
    WithdrawalCompleted,
    WithdrawalEvent,
    WithdrawalFailed,
    WithdrawalRequested,
)
from igaming.models import Player, Withdrawal
from igaming.uow import UnitOfWork
from igaming.wallet.accounts import house_account, player_account
from igaming.wallet.ledger import Posting


def _event(
    cls: type[WithdrawalEvent], w: Withdrawal, now: datetime, **extra: Any
) -> WithdrawalEvent:
    return cls(
        occurred_at=now,
        withdrawal_id=w.id,
        player_id=w.player_id,
        psp=w.psp,
        method=w.method,
        geo=w.geo,
        brand=w.brand,
        currency=w.currency,
        amount=w.amount,
        **extra,
    )


def request_withdrawal(
    p: Platform, player_id: str, *, amount: int, currency: str, method: str, idempotency_key: str
) -> Withdrawal:
    check_amount(amount)
    check_currency(currency)
    if not idempotency_key or len(idempotency_key) > 100:
        raise ValidationFailed("an Idempotency-Key of 1 to 100 characters is required")
    now = p.clock.now()
    with p.uow() as uow:
        # Locked as a deposit locks it (player before accounts): a status change committed
        # while this runs must not let a blocked player's payout through.
        player = uow.session.get(Player, player_id, with_for_update=True)
        if player is None:
            raise NotFound(f"player {player_id} not found")
        if currency != player.currency:
            raise ValidationFailed(f"this account pays out in {player.currency}, not {currency}")
        psp = p.routing.route(player.country, method)
        started = p.ledger.begin(
            uow.session,
            now=now,
            tx_type="withdrawal",
            idempotency_key=f"withdrawal:{player_id}:{idempotency_key}",
            currency=currency,
            amount=amount,
            player_id=player_id,
            request={"amount": amount, "currency": currency, "method": method},
            status="pending",
            details={"psp": psp, "method": method},
        )
        if started.replayed:
            withdrawal = uow.session.get(Withdrawal, started.transaction.id)
            assert withdrawal is not None
            uow.emit(IdempotentReplay(occurred_at=now, tx_type="withdrawal"))
            uow.commit()  # nothing to write but the event; keeps the row loaded
            return withdrawal
        check_may_withdraw(player)
        if player.kyc_status != "approved":
            raise KycRequired("withdrawals need an approved identity verification")
        p.ledger.post(
            uow.session,
            started.transaction,
            [
                Posting(player_account(player_id, "cash", currency), -amount),
                Posting(player_account(player_id, "withdrawal_pending", currency), amount),
            ],
            now=now,
        )
        # A withdrawal forfeits an active bonus (the offer's terms); locked after accounts.
        bonus = bonus_service.open_bonus_for_update(uow.session, player_id)
        bonus_service.forfeit(p.ledger, uow, bonus, "withdrawal", player.brand, now)
        withdrawal = Withdrawal(
            id=started.transaction.id,
            player_id=player_id,
            psp=psp,
            method=method,
            geo=player.country,
            brand=player.brand,
            amount=amount,
            currency=currency,
            status="requested",
            created_at=now,
            updated_at=now,
        )
        uow.session.add(withdrawal)
        uow.emit(_event(WithdrawalRequested, withdrawal, now))
        uow.commit()

    request = PaymentRequest(
        "payouts",
        psp,
        withdrawal.id,
        amount,
        currency,
        method,
        withdrawal.geo,
        f"{p.settings.platform_url}/cashier/callbacks/{psp}",
    )
    try:
        reference = p.psp.submit(request)
    except PspTimeout:
        # The payout may exist at the PSP: keep the funds locked until its callback.
        return _mark_processing(p, withdrawal.id, None)
    except (PspUnavailable, PspRejected) as exc:
        with p.uow() as uow:
            w = uow.session.get(Withdrawal, withdrawal.id, with_for_update=True)
            assert w is not None
            if w.status == "requested":
                return_funds(p, uow, w, p.clock.now(), "psp_unavailable")
            uow.commit()
        raise UpstreamUnavailable(
            f"payment provider {psp} is unavailable; the funds are back in the balance",
            withdrawal_id=withdrawal.id,
        ) from exc
    return _mark_processing(p, withdrawal.id, reference)


def _mark_processing(p: Platform, withdrawal_id: str, reference: str | None) -> Withdrawal:
    now = p.clock.now()
    with p.uow() as uow:
        w = uow.session.get(Withdrawal, withdrawal_id, with_for_update=True)
        assert w is not None
        if reference and w.psp_reference is None:
            w.psp_reference = reference
        if w.status == "requested":
            w.status, w.updated_at = "processing", now
        uow.commit()
    return w


def complete(p: Platform, uow: UnitOfWork, w: Withdrawal, now: datetime) -> None:
    tx = p.ledger.transaction(uow.session, w.id)
    p.ledger.post(
        uow.session,
        tx,
        [
            Posting(player_account(w.player_id, "withdrawal_pending", w.currency), -w.amount),
            Posting(house_account("psp_clearing", w.currency, w.psp), w.amount),
        ],
        now=now,
        status="completed",
    )
    w.status, w.completed_at, w.updated_at = "completed", now, now
    seconds = (now - w.created_at).total_seconds()
    uow.emit(_event(WithdrawalCompleted, w, now, seconds_to_complete=seconds))


def return_funds(p: Platform, uow: UnitOfWork, w: Withdrawal, now: datetime, reason: str) -> None:
    tx = p.ledger.transaction(uow.session, w.id)
    p.ledger.post(
        uow.session,
        tx,
        [
            Posting(player_account(w.player_id, "withdrawal_pending", w.currency), -w.amount),
            Posting(player_account(w.player_id, "cash", w.currency), w.amount),
        ],
        now=now,
        status="failed",
    )
    w.status, w.reason, w.updated_at = "failed", reason, now
    uow.emit(_event(WithdrawalFailed, w, now, reason=reason))
