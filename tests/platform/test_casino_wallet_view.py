"""pw_casino_wallet_transactions: what the wallet ⟷ game provider reconciliation reads of the
seamless wallet (docs/contract-views-casino.md)."""

from __future__ import annotations

from datetime import timedelta

from igaming.partners.pseudonyms import GAME_PROVIDER_REF_HEX_CHARS, player_ref
from reconcilers.sources.wallet import load_game_transactions
from tests.platform.casino_helpers import funded_player, open_game


def test_the_view_lists_each_booked_transaction_once_with_the_providers_player_reference(
    platform,
):
    player = funded_player(platform)
    provider = open_game(platform, player)
    start = platform.clock.now() - timedelta(hours=1)
    assert provider.bet("b1", amount=300).body["status"] == "OK"
    provider.bet("b1", amount=300)  # a retry: one row
    provider.bet("b1", amount=999)  # another body, same id: refused, no row
    provider.win("w1", amount=0, closed=False)  # a zero win moves nothing, yet is reported
    provider.bet("b2", round_id="r2", amount=200)
    provider.rollback("x2", "b2", round_id="r2")
    provider.rollback("x9", "nope", round_id="r3")  # nothing to roll back: no row
    rows = load_game_transactions(platform.engine, start, start + timedelta(days=1))
    got = sorted(
        zip(
            rows["provider_transaction_id"],
            rows["kind"],
            rows["amount_minor"],
            rows["round_id"],
            rows["round_status"],
            strict=True,
        )
    )
    assert got == [
        (
            "b1",
            "bet",
            300,
            "r1",
            "open",
        ),
        ("b2", "bet", 200, "r2", "cancelled"),
        ("w1", "win", 0, "r1", "open"),
        ("x2", "rollback", 200, "r2", "cancelled"),
    ]
    ref = player_ref(platform.settings.player_ref_key, player.id, GAME_PROVIDER_REF_HEX_CHARS)
    assert set(rows["player_ref"]) == {ref}
    assert player.id not in set(rows["player_ref"])
    assert set(rows["currency"]) == {"EUR"} and set(rows["provider"]) == {"spinworks"}
    assert set(rows["game_id"]) == {"spinworks:pit-of-gold"}
