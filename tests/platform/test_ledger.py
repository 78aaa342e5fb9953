"""The double-entry ledger: balanced, append-only, idempotent, never negative."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from igaming.errors import IdempotencyConflict, InsufficientFunds, ValidationFailed
from igaming.models import Account, LedgerEntry
from igaming.wallet.accounts import house_account, player_account
from igaming.wallet.invariants import check_invariants
from igaming.wallet.ledger import Posting
from tests.conftest import register_player


def _credit(p, player_id, amount, key, currency="EUR"):
    now = p.clock.now()
    with p.uow() as uow:
        started = p.ledger.begin(
            uow.session,
            now=now,
            tx_type="deposit",
            idempotency_key=key,
            currency=currency,
            amount=amount,
            player_id=player_id,
            request={"amount": amount},
        )
        if not started.replayed:
            p.ledger.post(
                uow.session,
                started.transaction,
                [
                    Posting(house_account("psp_clearing", currency, "paybridge"), -amount),
                    Posting(player_account(player_id, "cash", currency), amount),
                ],
                now=now,
                status="completed",
            )
        uow.commit()
    return started


def _cash(p, player_id, currency="EUR"):
    with p.session_factory() as s:
        return s.execute(
            select(Account.balance).where(
                Account.owner == player_id, Account.kind == "cash", Account.currency == currency
            )
        ).scalar_one()


def test_a_posting_moves_both_sides_and_keeps_invariants(platform):
    player = register_player(platform)
    _credit(platform, player.id, 5_000, "k1")
    assert _cash(platform, player.id) == 5_000
    with platform.session_factory() as s:
        report = check_invariants(s)
        entries = s.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()
    assert report.ok, report.violations()
    assert entries == 2


def test_unbalanced_entries_are_refused_and_nothing_is_written(platform):
    player = register_player(platform)
    with platform.uow() as uow:
        started = platform.ledger.begin(
            uow.session,
            now=platform.clock.now(),
            tx_type="adjustment",
            idempotency_key="u",
            currency="EUR",
            amount=10,
            player_id=player.id,
            request={},
        )
        with pytest.raises(ValidationFailed, match="do not balance"):
            platform.ledger.post(
                uow.session,
                started.transaction,
                [
                    Posting(player_account(player.id, "cash", "EUR"), 10),
                    Posting(house_account("adjustments", "EUR"), -9),
                ],
                now=platform.clock.now(),
            )
    assert _cash(platform, player.id) == 0


def test_same_key_same_request_replays_the_first_result(platform):
    player = register_player(platform)
    first = _credit(platform, player.id, 700, "same")
    second = _credit(platform, player.id, 700, "same")
    assert second.replayed and second.transaction.id == first.transaction.id
    assert _cash(platform, player.id) == 700


def test_same_key_different_request_is_a_conflict(platform):
    player = register_player(platform)
    _credit(platform, player.id, 700, "same")
    with pytest.raises(IdempotencyConflict):
        _credit(platform, player.id, 701, "same")
    assert _cash(platform, player.id) == 700


def test_cash_never_goes_negative(platform):
    player = register_player(platform)
    _credit(platform, player.id, 100, "k")
    with platform.uow() as uow:
        started = platform.ledger.begin(
            uow.session,
            now=platform.clock.now(),
            tx_type="bet",
            idempotency_key="bet",
            currency="EUR",
            amount=101,
            player_id=player.id,
            request={},
        )
        with pytest.raises(InsufficientFunds):
            platform.ledger.post(
                uow.session,
                started.transaction,
                [
                    Posting(player_account(player.id, "cash", "EUR"), -101),
                    Posting(house_account("sportsbook", "EUR"), 101),
                ],
                now=platform.clock.now(),
            )
    assert _cash(platform, player.id) == 100


def test_reversal_negates_every_entry_and_marks_the_original(platform):
    player = register_player(platform)
    original = _credit(platform, player.id, 900, "orig").transaction
    with platform.uow() as uow:
        platform.ledger.reverse(
            uow.session,
            original.id,
            now=platform.clock.now(),
            idempotency_key="rev",
            reason="test correction",
        )
        uow.commit()
    with platform.uow() as uow:  # replay does nothing more
        platform.ledger.reverse(
            uow.session,
            original.id,
            now=platform.clock.now(),
            idempotency_key="rev",
            reason="test correction",
        )
        uow.commit()
    assert _cash(platform, player.id) == 0
    with platform.session_factory() as s:
        assert platform.ledger.transaction(s, original.id).status == "reversed"
        assert check_invariants(s).ok


def test_invariant_check_detects_a_tampered_balance(platform):
    player = register_player(platform)
    _credit(platform, player.id, 300, "k")
    with platform.session_factory() as s:
        s.execute(
            update(Account)
            .where(Account.owner == player.id, Account.kind == "cash")
            .values(balance=301)
        )
        s.commit()
        report = check_invariants(s)
    assert not report.ok
    assert any("balance 301 != entries 300" in v for v in report.violations())


def test_invariant_check_detects_an_unbalanced_entry(platform):
    player = register_player(platform)
    tx = _credit(platform, player.id, 300, "k").transaction
    with platform.session_factory() as s:
        s.execute(
            update(LedgerEntry)
            .where(LedgerEntry.transaction_id == tx.id, LedgerEntry.amount < 0)
            .values(amount=-299)
        )
        s.commit()
        report = check_invariants(s)
    assert report.unbalanced_currencies == {"EUR": 1}
    assert report.unbalanced_transactions == [(tx.id, "EUR", 1)]


def test_integer_amounts_only(platform):
    player = register_player(platform)
    with platform.uow() as uow:
        started = platform.ledger.begin(
            uow.session,
            now=platform.clock.now(),
            tx_type="adjustment",
            idempotency_key="f",
            currency="EUR",
            amount=1,
            player_id=player.id,
            request={},
        )
        with pytest.raises(ValidationFailed, match="integers"):
            platform.ledger.post(
                uow.session,
                started.transaction,
                [
                    Posting(player_account(player.id, "cash", "EUR"), 1.5),
                    Posting(house_account("adjustments", "EUR"), -1.5),
                ],
                now=platform.clock.now(),
            )
