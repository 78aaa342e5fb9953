"""Affiliate network conversion exports (docs/affiliate-conversions-export.md), read
strictly into AFFILIATE_ROWS and REJECTS."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ground.file_formats import OURS, FormatError, get_format
from ground.money import CURRENCY_EXPONENTS
from reconcilers.errors import SourceError
from reconcilers.frames import AFFILIATE_ROWS, REJECTS, arrow_to_pandas, conform, release_memory
from reconcilers.sources import mapped
from reconcilers.sources.sql import (
    amount_checks,
    exponent,
    known_currency,
    minor,
    one_of,
    required,
    timestamp,
    timestamp_checks,
)
from reconcilers.sources.strict_csv import CsvSpec, read_strict_csv

COLUMNS = (
    "affiliate",
    "campaign",
    "click_id",
    "player_ref",
    "event",
    "conversion_id",
    "amount",
    "currency",
    "status",
    "occurred_at",
    "received_at",
    "commission_amount",
    "commission_currency",
)
EVENTS = ("registration", "deposit", "ftd", "revenue")
STATUSES = ("approved", "reversed")
CURRENCIES = tuple(CURRENCY_EXPONENTS)

SPEC = CsvSpec(
    source="affiliate_export",
    columns=COLUMNS,
    derived=(
        ("_occurred", timestamp("occurred_at")),
        ("_received", timestamp("received_at")),
        ("_exp", exponent("currency")),
        ("_commission_exp", exponent("commission_currency")),
    ),
    checks=(
        # A conversion is known by (affiliate, event, conversion_id): all three are needed.
        required("affiliate"),
        one_of("event", EVENTS),
        required("conversion_id"),
        known_currency("currency", "_exp"),
        *amount_checks("amount", "currency", "_exp"),
        one_of("status", STATUSES),
        *timestamp_checks("occurred_at", "_occurred"),
        *timestamp_checks("received_at", "_received"),
        known_currency("commission_currency", "_commission_exp"),
        *amount_checks("commission_amount", "commission_currency", "_commission_exp"),
    ),
    outputs=(
        ("affiliate", "affiliate"),
        ("campaign", "nullif(campaign, '')"),
        ("player_ref", "nullif(player_ref, '')"),
        ("event", "event"),
        ("conversion_id", "conversion_id"),
        ("amount_minor", minor("amount")),
        ("currency", "currency"),
        ("status", "status"),
        ("occurred_at", "_occurred"),
        ("commission_minor", minor("commission_amount")),
        ("commission_currency", "commission_currency"),
    ),
)


def read_affiliate_export(
    path: Path, file_format: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(AFFILIATE_ROWS, REJECTS) of one export; SourceError when the file is missing, its
    header is not the documented one or it is not UTF-8. ``file_format``: the network's own
    format by mapping (e.g. ``affise``; docs/psp-settlement-formats.md), default ours."""
    if file_format is not None and file_format != OURS:
        try:
            fmt = get_format(file_format)
        except FormatError as exc:
            raise SourceError(Path(file_format), str(exc)) from None
        if fmt.kind != "affiliate":
            raise SourceError(Path(file_format), f"format {fmt.name} is not an affiliate format")
        table, rejects = mapped.read_affiliate_file(Path(path), fmt, SPEC)
        rows = arrow_to_pandas(table)
        del table
        release_memory()
        return conform(rows, AFFILIATE_ROWS, "AFFILIATE_ROWS"), conform(rejects, REJECTS, "REJECTS")
    rows, rejects = read_strict_csv(Path(path), SPEC)
    release_memory()  # what the CSV's Arrow result held
    return conform(rows, AFFILIATE_ROWS, "AFFILIATE_ROWS"), conform(rejects, REJECTS, "REJECTS")
