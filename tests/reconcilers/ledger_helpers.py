"""Break ledger test helpers: one break row as a matcher produces it (shared by the ledger
and metrics tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 11, 3, 6, 0, tzinfo=UTC)


def brk(key: str, *, pair: str = "wallet_psp", type: str = "missing_in_wallet", **values):
    row = {
        "break_key": key,
        "pair": pair,
        "type": type,
        "psp": "paybridge",
        "affiliate": None,
        "reference": f"dep-{key}",
        "psp_reference": f"pb-{key}",
        "currency": "EUR",
        "wallet_amount_minor": None,
        "other_amount_minor": 2_500,
        "wallet_value": None,
        "other_value": "Settled",
        "amount_at_risk_minor": 2_500,
        "occurred_at": T0 - timedelta(hours=20),
        "details": "settled by the PSP, never credited",
    }
    row.update(values)
    return row
