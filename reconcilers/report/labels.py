"""The names people read for break types, pairs and sources."""

from __future__ import annotations

from collections.abc import Mapping

TYPE_LABELS: Mapping[str, str] = {
    "missing_at_psp": "Missing at PSP",
    "missing_in_wallet": "Missing in wallet",
    "amount_mismatch": "Amount mismatch",
    "currency_mismatch": "Currency mismatch",
    "status_mismatch": "Status mismatch",
    "duplicate_at_psp": "Duplicate at PSP",
    "duplicate_in_wallet": "Duplicate in wallet",
    "orphan_callback": "Orphan callback",
    "missing_postback": "Missing postback",
    "phantom_conversion": "Phantom conversion",
    "duplicate_conversion": "Duplicate conversion",
    "missing_at_provider": "Missing at game provider",
    "rollback_one_sided": "Rollback on one side only",
    "round_open_past_window": "Round open past the provider's window",
    "ggr_difference": "GGR difference",
    "duplicate_at_provider": "Duplicate at game provider",
    "balance_mismatch": "Balance mismatch",
    "clearing_residue": "Clearing residue",
    "invalid_record": "Invalid record",
}
PAIR_LABELS: Mapping[str, str] = {
    "wallet_psp": "Wallet ⟷ PSP",
    "wallet_affiliate": "Wallet ⟷ affiliate network",
    "wallet_game_provider": "Wallet ⟷ game provider",
    "wallet_internal": "Wallet internal",
}
SOURCE_LABELS: Mapping[str, str] = {
    "wallet": "Wallet (contract views)",
    "psp_report": "PSP settlement reports",
    "affiliate_export": "Affiliate conversion exports",
    "game_report": "Game provider reports and GGR statements",
}


def label(labels: Mapping[str, str], key: str) -> str:
    return labels.get(key, key)


def psp_label(psp: str) -> str:
    return "(no PSP)" if psp in ("none", "") else psp
