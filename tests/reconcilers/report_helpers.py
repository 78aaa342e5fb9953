"""Report test helpers: ledger breaks, a breaks frame and a run summary as the reporter
receives them (shared by the report, Slack and hardening tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from reconcilers.frames import LEDGER_BREAKS, conform
from reconcilers.summary import RunSummary

NOW = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
HOUR = 3600
DAY = 86_400


def ledger_break(key: str, **values: Any) -> dict[str, Any]:
    """One open wallet ⟷ PSP break, seen first ``age`` seconds before NOW (default 2 h)."""
    age = values.pop("age", 2 * HOUR)
    first_seen = NOW - timedelta(seconds=age)
    row: dict[str, Any] = {
        "break_key": key,
        "pair": "wallet_psp",
        "type": "missing_at_psp",
        "psp": "paybridge",
        "affiliate": None,
        "reference": f"dep-{key}",
        "psp_reference": f"pb-{key}",
        "currency": "EUR",
        "wallet_amount_minor": 1000,
        "other_amount_minor": None,
        "wallet_value": "approved",
        "other_value": None,
        "amount_at_risk_minor": 1000,
        "occurred_at": first_seen - timedelta(hours=1),
        "details": "",
        "status": "open",
        "first_seen_at": first_seen,
        "last_seen_at": NOW,
        "resolved_at": None,
        "age_seconds": age,
    }
    row.update(values)
    return row


def breaks_frame(*rows: dict[str, Any]) -> pd.DataFrame:
    return conform(pd.DataFrame(list(rows), columns=list(LEDGER_BREAKS)), LEDGER_BREAKS, "t")


def sample_breaks() -> pd.DataFrame:
    return breaks_frame(
        ledger_break("a", amount_at_risk_minor=123456, wallet_amount_minor=123456),
        ledger_break(
            "b",
            type="amount_mismatch",
            psp="swiftpay",
            wallet_amount_minor=5000,
            other_amount_minor=4990,
            amount_at_risk_minor=10,
            age=2 * DAY,
        ),
        ledger_break(
            "c",
            type="missing_in_wallet",
            currency="JPY",
            wallet_amount_minor=None,
            other_amount_minor=1500,
            wallet_value=None,
            other_value="Settled",
            amount_at_risk_minor=1500,
            age=5 * DAY,
        ),
        ledger_break(
            "d",
            pair="wallet_affiliate",
            type="missing_postback",
            psp="none",
            affiliate="aff-17",
            currency="KWD",
            wallet_amount_minor=1250,
            amount_at_risk_minor=1250,
            age=9 * DAY,
        ),
        ledger_break(
            "e",
            status="resolved",
            resolved_at=NOW - timedelta(hours=1),
            amount_at_risk_minor=777,
        ),
    )


def summary(**values: Any) -> RunSummary:
    fields: dict[str, Any] = {
        "run_id": 42,
        "period_start": datetime(2026, 11, 2, tzinfo=UTC),
        "period_end": datetime(2026, 11, 3, tzinfo=UTC),
        "started_at": NOW - timedelta(seconds=12.5),
        "finished_at": NOW,
        "outcome": "success",
        "rows": {"wallet": 1234, "psp_report": 1200, "affiliate_export": 57},
        "matched": {"wallet_psp": 1187, "wallet_affiliate": 51},
        "in_flight": {"wallet_psp": 9},
        "new_breaks": 3,
        "resolved_breaks": 1,
        "open_breaks": 4,
        "open_by_type": {
            "missing_at_psp": 1,
            "amount_mismatch": 1,
            "missing_in_wallet": 1,
            "missing_postback": 1,
        },
        "amount_at_risk_minor": {"EUR": 123466, "JPY": 1500, "KWD": 1250},
    }
    fields.update(values)
    return RunSummary(**fields)
