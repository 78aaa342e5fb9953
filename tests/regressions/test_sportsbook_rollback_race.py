"""Regressions: money bugs found in review in the sportsbook paths (fixed)."""

from __future__ import annotations

import pytest

from igaming.wallet.service import place_stake
from tests.platform.sportsbook_helpers import (
    assert_ledger_ok,
    bet,
    cash,
    funded_player,
    message,
    open_fixture,
    push,
    result,
)


def test_settlement_rollback_is_lost_when_cash_drops_between_check_and_debit(platform):
    """Regression: sportsbook/postings.py take_back(): the balance that chooses between the strict
    ``ledger.reverse`` and the allow-negative posting is read without a lock. A debit that
    commits between that read and the UPDATE (another product, PostgreSQL READ COMMITTED)
    makes ``reverse`` raise InsufficientFunds: the whole rollback message fails with a 422
    (DomainError mapping), the feed does not redeliver 422s, and the FeedMessage row is rolled
    back too. The withdrawn win stays with the player (house loses the payout) and the bet
    stays settled."""
    if platform.engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): the race needs PostgreSQL")
    open_fixture(platform)
    player = funded_player(platform, 1_000)
    bet(platform, player, stake=1_000)
    push(platform, result(platform, "f1-1x2", "f1-h"))
    assert cash(platform, player) == 2_000

    real_reverse = platform.ledger.reverse
    raced = []

    def reverse_after_a_concurrent_debit(*args, **kwargs):
        if not raced:  # another request's stake commits right after take_back's read
            raced.append(True)
            place_stake(
                platform,
                player.id,
                product="casino",
                amount=500,
                currency="EUR",
                idempotency_key="race",
            )
        return real_reverse(*args, **kwargs)

    platform.ledger.reverse = reverse_after_a_concurrent_debit
    outcome = push(platform, message(platform, "rollback", market_id="f1-1x2"))
    assert raced
    assert outcome == "applied"
    assert cash(platform, player) == -500  # the debt is posted and flagged, as documented
    assert_ledger_ok(platform)
