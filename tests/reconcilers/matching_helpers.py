"""Matching test helpers: frames conformed to a schema and wallet account rows (shared by
the matching and hardening tests)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from reconcilers.frames import (
    conform,
    empty,
)

DAY = date(2026, 11, 2)


def frame(rows: list[dict], schema) -> pd.DataFrame:
    return conform(pd.DataFrame(rows), schema, "fixture") if rows else empty(schema)


def account(account_id: int, stored: int, entries: int, **kw: object) -> dict:
    row = {
        "account_id": account_id,
        "account_owner": "p-1",
        "account_kind": "cash",
        "psp": None,
        "currency": "EUR",
        "stored_minor": stored,
        "entries_minor": entries,
    }
    return row | kw
