"""Cashier: deposits and withdrawals through a PSP, callbacks applied exactly once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from igaming.cashier import deposits, withdrawals
from igaming.cashier.callbacks import handle_callback
from igaming.cashier.gateway import PspTimeout, PspUnavailable
from igaming.errors import (
    KycRequired,
    ResponsibleGamblingBlock,
    Unauthorized,
    UpstreamUnavailable,
    ValidationFailed,
)
from igaming.models import LedgerEntry, OutboxEvent, WalletTransaction
from igaming.wallet.invariants import check_invariants
from igaming.wallet.service import balances
from tests.conftest import register_player
from tests.fakes import callback_body, signature
from tests.platform.cashier_helpers import approved_player, cash, deliver, deposit, outcomes


def test_deposit_is_routed_sent_and_pending_until_its_callback(platform):
    player = register_player(platform, country="DE")
    d = deposit(platform, player, method="bank_transfer")
    assert (d.status, d.psp, d.geo) == ("pending", "nordpay", "DE")
    assert d.psp_reference is not None and d.first_deposit
    sent = platform.psp.submitted[0]
    assert (sent.merchant_reference, sent.amount, sent.kind) == (d.id, 2_500, "payments")
    assert cash(platform, player) == 0


def test_approved_callback_credits_once_even_when_duplicated(platform):
    player = register_player(platform)
    d = deposit(platform, player)
    assert deliver(platform, d, "approved", event_id="e1").outcome == "applied"
    assert deliver(platform, d, "approved", event_id="e1").outcome == "duplicate"
    assert deliver(platform, d, "approved", event_id="e2").outcome == "duplicate"
    assert cash(platform, player) == 2_500
    with platform.session_factory() as s:
        assert s.get(type(d), d.id).status == "approved"
        assert check_invariants(s).ok
        events = list(s.execute(select(OutboxEvent.event_type)).scalars())
    assert events.count("deposit.approved") == 1
    assert events.count("psp.callback_received") == 3


def test_terminal_status_never_regresses(platform):
    player = register_player(platform)
    d = deposit(platform, player)
    deliver(platform, d, "declined")
    assert deliver(platform, d, "approved").outcome == "out_of_order"
    assert deliver(platform, d, "pending").outcome == "out_of_order"
    assert cash(platform, player) == 0
    with platform.session_factory() as s:
        assert s.get(type(d), d.id).status == "declined"


def test_chargeback_after_approval_is_its_own_movement_and_may_go_negative(platform):
    player = register_player(platform)
    d = deposit(platform, player)
    deliver(platform, d, "approved")
    from igaming.wallet.service import place_stake

    place_stake(
        platform, player.id, product="casino", amount=2_000, currency="EUR", idempotency_key="b"
    )
    assert deliver(platform, d, "chargeback", event_id="cb").outcome == "applied"
    assert deliver(platform, d, "chargeback", event_id="cb").outcome == "duplicate"
    assert cash(platform, player) == -2_000
    with platform.session_factory() as s:
        report = check_invariants(s)
        chargebacks = s.execute(
            select(WalletTransaction.flagged, func.count(LedgerEntry.id))
            .join(LedgerEntry, LedgerEntry.transaction_id == WalletTransaction.id)
            .where(WalletTransaction.type == "chargeback")
            .group_by(WalletTransaction.id)
        ).all()
    assert report.ok, report.violations()  # flagged chargeback: negative cash is allowed
    assert chargebacks == [(True, 2)]


def test_chargeback_reversal_gives_the_money_back_once(platform):
    player = register_player(platform)
    d = deposit(platform, player)
    deliver(platform, d, "approved")
    deliver(platform, d, "chargeback")
    assert deliver(platform, d, "chargeback_reversed", event_id="r").outcome == "applied"
    assert deliver(platform, d, "chargeback_reversed", event_id="r2").outcome == "duplicate"
    assert cash(platform, player) == 2_500
    with platform.session_factory() as s:
        assert s.get(type(d), d.id).status == "chargeback_reversed"
        assert check_invariants(s).ok


def test_a_second_chargeback_after_a_reversal_is_applied_and_a_redelivered_first_is_not(
    platform,
):
    player = register_player(platform)
    d = deposit(platform, player)
    deliver(platform, d, "approved")
    deliver(platform, d, "chargeback", event_id="cb-1")
    deliver(platform, d, "chargeback_reversed", event_id="rev-1")
    assert cash(platform, player) == 2_500
    assert deliver(platform, d, "chargeback", event_id="cb-1").outcome == "duplicate"
    assert cash(platform, player) == 2_500
    assert deliver(platform, d, "chargeback", event_id="cb-2").outcome == "applied"
    assert cash(platform, player) == 0
    with platform.session_factory() as s:
        assert s.get(type(d), d.id).status == "chargeback"
        assert check_invariants(s).ok


def test_chargeback_that_overtakes_its_approval_is_applied_with_it(platform):
    player = register_player(platform)
    d = deposit(platform, player)
    assert deliver(platform, d, "chargeback", event_id="cb").outcome == "out_of_order"
    assert cash(platform, player) == 0
    assert deliver(platform, d, "approved", event_id="ok").outcome == "applied"
    assert cash(platform, player) == 0
    with platform.session_factory() as s:
        assert s.get(type(d), d.id).status == "chargeback"
        assert check_invariants(s).ok


def test_bad_signature_is_refused_kept_and_changes_nothing(platform):
    player = register_player(platform)
    d = deposit(platform, player)
    with pytest.raises(Unauthorized):
        deliver(platform, d, "approved", secret="wrong")
    assert cash(platform, player) == 0
    assert outcomes(platform) == ["bad_signature"]


def test_stale_signature_timestamp_is_refused(platform):
    player = register_player(platform)
    d = deposit(platform, player)
    body = callback_body(
        merchant_reference=d.id,
        status="approved",
        amount=d.amount,
        occurred_at=platform.clock.now(),
    )
    header = signature(body, platform.clock.now())
    platform.clock.advance(301)
    with pytest.raises(Unauthorized, match="older than 300"):
        handle_callback(platform, "paybridge", body, header)
    assert cash(platform, player) == 0


def test_callback_for_unknown_reference_is_kept_as_orphan(platform):
    player = register_player(platform)
    d = deposit(platform, player)
    d.id = "00000000-0000-0000-0000-000000000000"
    assert deliver(platform, d, "approved").outcome == "orphan"
    assert outcomes(platform) == ["orphan"]


def test_callback_from_another_psp_than_the_deposits_is_an_orphan(platform):
    player = register_player(platform)
    d = deposit(platform, player, method="card")
    assert deliver(platform, d, "approved", psp="ewallo").outcome == "orphan"
    assert cash(platform, player) == 0


def test_callback_with_another_amount_is_not_applied(platform):
    player = register_player(platform)
    d = deposit(platform, player)
    assert deliver(platform, d, "approved", amount=d.amount + 1).outcome == "amount_mismatch"
    assert cash(platform, player) == 0
    assert deliver(platform, d, "approved").outcome == "applied"


def test_deposit_replay_returns_the_first_deposit_and_sends_once(platform):
    player = register_player(platform)
    first = deposit(platform, player, key="same")
    second = deposit(platform, player, key="same")
    assert second.id == first.id
    assert len(platform.psp.submitted) == 1


def test_unavailable_psp_fails_the_deposit_with_a_clear_error(platform):
    platform.psp.fail_with = PspUnavailable
    player = register_player(platform)
    with pytest.raises(UpstreamUnavailable, match="nothing was charged"):
        deposit(platform, player)
    with platform.session_factory() as s:
        d = s.execute(select(deposits.Deposit)).scalar_one()
        assert (d.status, d.reason) == ("failed", "psp_unavailable")


def test_timed_out_deposit_still_accepts_its_late_approval(platform):
    platform.psp.fail_with = PspTimeout
    player = register_player(platform)
    d = deposit(platform, player)
    assert d.status == "timed_out"
    assert deliver(platform, d, "approved").outcome == "applied"
    assert cash(platform, player) == 2_500


def test_self_excluded_player_cannot_deposit(platform):
    player = register_player(platform)
    from igaming.accounts.service import self_exclude

    self_exclude(platform, player.id, days=30)
    with pytest.raises(ResponsibleGamblingBlock, match="self-excluded"):
        deposit(platform, player)
    assert platform.psp.submitted == []


def test_daily_deposit_limit_counts_pending_and_approved_deposits(platform):
    player = register_player(platform)
    from igaming.accounts.service import set_deposit_limit

    set_deposit_limit(platform, player.id, 5_000)
    deposit(platform, player, amount=3_000, key="a")
    with pytest.raises(ResponsibleGamblingBlock, match="daily deposit limit"):
        deposit(platform, player, amount=2_001, key="b")
    deposit(platform, player, amount=2_000, key="c")
    platform.clock.advance(hours=24)
    deposit(platform, player, amount=5_000, key="d")


def test_raising_a_deposit_limit_waits_24_hours(platform):
    player = register_player(platform)
    from igaming.accounts.service import set_deposit_limit

    set_deposit_limit(platform, player.id, 1_000)
    updated = set_deposit_limit(platform, player.id, 10_000)
    assert updated.daily_deposit_limit == 1_000 and updated.pending_deposit_limit == 10_000
    with pytest.raises(ResponsibleGamblingBlock):
        deposit(platform, player, amount=2_000, key="a")
    platform.clock.advance(hours=24, seconds=1)
    assert deposit(platform, player, amount=2_000, key="b").status == "pending"


def test_deposit_in_another_currency_than_the_account_is_refused(platform):
    player = register_player(platform)
    with pytest.raises(ValidationFailed, match="deposits in EUR"):
        deposits.request_deposit(
            platform, player.id, amount=100, currency="GBP", method="card", idempotency_key="x"
        )


def test_method_not_offered_in_the_geo_is_refused(platform):
    player = register_player(platform, country="GB", currency="GBP")
    with pytest.raises(ValidationFailed, match="not offered in GB"):
        deposit(platform, player, method="pix")


def test_withdrawal_needs_approved_kyc(platform):
    player = register_player(platform)
    deliver(platform, deposit(platform, player), "approved")
    with pytest.raises(KycRequired):
        withdrawals.request_withdrawal(
            platform, player.id, amount=100, currency="EUR", method="card", idempotency_key="w"
        )
    assert cash(platform, player) == 2_500


def test_withdrawal_locks_funds_then_pays_out_on_callback(platform):
    player = approved_player(platform)
    w = withdrawals.request_withdrawal(
        platform, player.id, amount=4_000, currency="EUR", method="card", idempotency_key="w"
    )
    assert w.status == "processing"
    b = balances(platform, player.id)[0]
    assert (b.cash, b.withdrawal_pending) == (6_000, 4_000)
    assert deliver(platform, w, "paid", kind="payout").outcome == "applied"
    assert deliver(platform, w, "failed", kind="payout").outcome == "out_of_order"
    b = balances(platform, player.id)[0]
    assert (b.cash, b.withdrawal_pending) == (6_000, 0)
    with platform.session_factory() as s:
        assert check_invariants(s).ok


def test_failed_payout_returns_the_funds(platform):
    player = approved_player(platform)
    w = withdrawals.request_withdrawal(
        platform, player.id, amount=4_000, currency="EUR", method="card", idempotency_key="w"
    )
    assert deliver(platform, w, "failed", kind="payout").outcome == "applied"
    b = balances(platform, player.id)[0]
    assert (b.cash, b.withdrawal_pending) == (10_000, 0)


def test_withdrawal_over_the_balance_is_refused(platform):
    player = approved_player(platform, amount=1_000)
    from igaming.errors import InsufficientFunds

    with pytest.raises(InsufficientFunds):
        withdrawals.request_withdrawal(
            platform, player.id, amount=1_001, currency="EUR", method="card", idempotency_key="w"
        )
    assert cash(platform, player) == 1_000


def test_withdrawal_with_psp_down_gives_the_money_back(platform):
    player = approved_player(platform)
    platform.psp.fail_with = PspUnavailable
    with pytest.raises(UpstreamUnavailable):
        withdrawals.request_withdrawal(
            platform, player.id, amount=4_000, currency="EUR", method="card", idempotency_key="w"
        )
    b = balances(platform, player.id)[0]
    assert (b.cash, b.withdrawal_pending) == (10_000, 0)
