"""The full ledger check reads every entry through the views: an unbalanced transaction far
older than the exporter's window is found, and so is a tampered balance."""

from __future__ import annotations

from sqlalchemy import text, update

from ground.clock import FakeClock
from igaming.models import Account
from reconcilers.ledger_check import check_ledger
from tests.conftest import make_platform
from tests.platform.sportsbook_helpers import funded_player

EXTRA_LEG = (
    "INSERT INTO ledger_entries (transaction_id, account_id, amount, currency, created_at)"
    " SELECT transaction_id, account_id, 7, currency, created_at FROM ledger_entries"
    " WHERE id = (SELECT MIN(id) FROM ledger_entries)"
)


def test_a_balanced_ledger_passes_and_every_entry_is_counted(engine):
    p = make_platform(engine, clock=FakeClock())
    funded_player(p)
    funded_player(p)
    with engine.connect() as conn:
        check = check_ledger(conn)
        entries = conn.execute(text("SELECT COUNT(*) FROM ledger_entries")).scalar_one()
    assert check.ok, check.summary()
    assert check.entries == entries > 0
    assert check.accounts >= 2


def test_the_oldest_transaction_unbalanced_and_a_tampered_balance_are_both_found(engine):
    p = make_platform(engine, clock=FakeClock())
    player = funded_player(p)
    for _ in range(3):
        funded_player(p)
    with engine.begin() as conn:  # one extra leg on the very first transaction
        first = conn.execute(
            text("SELECT transaction_id, currency FROM ledger_entries ORDER BY id LIMIT 1")
        ).one()
        conn.execute(text(EXTRA_LEG))
        conn.execute(
            update(Account)
            .where(Account.owner == player.id, Account.kind == "cash")
            .values(balance=Account.balance + 5)
        )
    with engine.connect() as conn:
        check = check_ledger(conn)
    assert not check.ok
    assert check.unbalanced_count == 1
    [u] = check.unbalanced
    assert (u.transaction_id, u.currency, u.total_minor) == (str(first[0]), first[1], 7)
    # The extra leg's account and the tampered one: both differ from their entries.
    assert check.mismatch_count == len(check.mismatches) >= 1
    tampered = [m for m in check.mismatches if m.balance_minor - m.entries_minor == 5]
    assert len(tampered) == 1


def test_the_violations_kept_are_capped_but_the_counts_are_exact(engine):
    p = make_platform(engine, clock=FakeClock())
    for _ in range(3):
        funded_player(p)
    with engine.begin() as conn:  # every transaction gets an extra leg
        conn.execute(
            text(
                "INSERT INTO ledger_entries (transaction_id, account_id, amount, currency,"
                " created_at) SELECT transaction_id, MIN(account_id), 1, MIN(currency),"
                " MIN(created_at) FROM ledger_entries GROUP BY transaction_id"
            )
        )
        transactions = conn.execute(
            text("SELECT COUNT(DISTINCT transaction_id) FROM ledger_entries")
        ).scalar_one()
    with engine.connect() as conn:
        check = check_ledger(conn, limit=2)
    assert check.unbalanced_count == transactions > 2
    assert len(check.unbalanced) == 2
