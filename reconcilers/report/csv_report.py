"""The breaks CSV and the rejects CSV: for spreadsheets and other systems (every break, exact
amounts), in a stable order and with stable, documented columns."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from reconcilers.frames import LEDGER_BREAKS, REJECTS, conform
from reconcilers.report.aggregate import age_bucket
from reconcilers.report.files import replacing
from reconcilers.report.formatting import as_text, is_missing, iso_utc, major
from reconcilers.report.shown import shared_details, side_currency

# Stable, documented CSV columns: identity, money in major units, both sides, life, then the
# exact minor-unit amounts for machines.
CSV_COLUMNS: tuple[str, ...] = (
    "break_key",
    "status",
    "pair",
    "type",
    "psp",
    "affiliate",
    "reference",
    "psp_reference",
    "currency",
    "amount_at_risk",
    "wallet_currency",
    "wallet_amount",
    "other_currency",
    "other_amount",
    "wallet_value",
    "other_value",
    "occurred_at",
    "first_seen_at",
    "last_seen_at",
    "resolved_at",
    "age_seconds",
    "age_bucket",
    "details",
    "amount_at_risk_minor",
    "wallet_amount_minor",
    "other_amount_minor",
)

# Text that comes from PSP files, exports or the wallet: a spreadsheet must not run it.
_UNTRUSTED_TEXT = (
    "psp",
    "affiliate",
    "reference",
    "psp_reference",
    "wallet_value",
    "other_value",
    "details",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _ordered(breaks: pd.DataFrame) -> pd.DataFrame:
    # break_key is unique, so the order is total and does not depend on the input's order.
    frame = conform(breaks, LEDGER_BREAKS, "breaks")
    keys = ["pair", "type", "psp", "reference", "break_key"]
    return frame.sort_values(keys, kind="mergesort", na_position="last").reset_index(drop=True)


def _defuse(text: object) -> str:
    # A cell starting with = + - @ is a formula in Excel/Sheets (CSV injection); a leading
    # apostrophe makes it text.
    if is_missing(text):
        return ""
    value = str(text)
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def csv_rows(breaks: pd.DataFrame) -> list[dict[str, str]]:
    """The breaks as CSV records (strings), in the report's stable order."""
    rows: list[dict[str, str]] = []
    for rec in _ordered(breaks).to_dict("records"):
        wallet_ccy = side_currency(rec["type"], rec["wallet_value"], rec["currency"])
        other_ccy = side_currency(rec["type"], rec["other_value"], rec["currency"])
        row = {
            "break_key": as_text(rec["break_key"]),
            "status": as_text(rec["status"]),
            "pair": as_text(rec["pair"]),
            "type": as_text(rec["type"]),
            "currency": as_text(rec["currency"]),
            "amount_at_risk": major(rec["amount_at_risk_minor"], rec["currency"]),
            "wallet_currency": as_text(wallet_ccy),
            "wallet_amount": major(rec["wallet_amount_minor"], wallet_ccy),
            "other_currency": as_text(other_ccy),
            "other_amount": major(rec["other_amount_minor"], other_ccy),
            "occurred_at": iso_utc(rec["occurred_at"]),
            "first_seen_at": iso_utc(rec["first_seen_at"]),
            "last_seen_at": iso_utc(rec["last_seen_at"]),
            "resolved_at": iso_utc(rec["resolved_at"]),
            "age_seconds": as_text(rec["age_seconds"]),
            "age_bucket": age_bucket(rec["age_seconds"]),
            "amount_at_risk_minor": as_text(rec["amount_at_risk_minor"]),
            "wallet_amount_minor": as_text(rec["wallet_amount_minor"]),
            "other_amount_minor": as_text(rec["other_amount_minor"]),
        }
        row.update({column: _defuse(rec[column]) for column in _UNTRUSTED_TEXT})
        row["details"] = _defuse(shared_details(rec))
        rows.append({column: row[column] for column in CSV_COLUMNS})
    return rows


def _write_records(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, str]]) -> Path:
    # RFC 4180: CRLF records, fields quoted only when needed.
    with replacing(path) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_csv(breaks: pd.DataFrame, path: Path) -> Path:
    """Every break, one row each: amounts in major units and in minor units, UTC timestamps."""
    return _write_records(path, CSV_COLUMNS, csv_rows(breaks))


def write_rejects_csv(rejects: pd.DataFrame, path: Path) -> Path:
    """The quarantined input rows (REJECTS), ordered by file and line, for whoever fixes them."""
    frame = conform(rejects, REJECTS, "rejects").sort_values(
        ["source", "source_file", "source_line", "reason"], kind="mergesort", na_position="last"
    )
    rows = (
        {
            "source": as_text(r["source"]),
            "source_file": _defuse(r["source_file"]),
            "source_line": as_text(r["source_line"]),
            "reason": _defuse(r["reason"]),
            "raw": _defuse(r["raw"]),
        }
        for r in frame.to_dict("records")
    )
    return _write_records(path, list(REJECTS), rows)
