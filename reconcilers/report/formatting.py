"""Numbers, money and time as the reports write them."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pandas as pd

from ground.money import CURRENCY_EXPONENTS, to_major
from reconcilers.summary import RunSummary

DAY = 86_400


def is_missing(value: object) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or bool(pd.isna(value))


def as_text(value: object) -> str:
    return "" if is_missing(value) else str(value)


def known_currency(currency: object) -> bool:
    return isinstance(currency, str) and currency in CURRENCY_EXPONENTS


def major(amount_minor: object, currency: object) -> str:
    """Minor units as a plain decimal string in major units ('-12.34'); '' when unknowable."""
    if is_missing(amount_minor) or not known_currency(currency):
        return ""
    return to_major(int(amount_minor), str(currency))  # type: ignore[call-overload]


def format_amount(amount_minor: int, currency: str) -> str:
    """For people: 'EUR 1,234.56'; a currency without a known exponent stays in minor units."""
    if not known_currency(currency):
        return f"{currency} {amount_minor:,} (minor units)"
    value = Decimal(to_major(amount_minor, currency))
    return f"{currency} {value:,.{CURRENCY_EXPONENTS[currency]}f}"


def iso_utc(value: object) -> str:
    """ISO 8601 in UTC with a Z ('2026-11-02T10:15:00Z'); '' for a missing timestamp."""
    if is_missing(value):
        return ""
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.isoformat().replace("+00:00", "Z")


def when(value: datetime) -> str:
    """'2026-11-02 10:15 UTC'."""
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.strftime("%Y-%m-%d %H:%M UTC")


def period_text(summary: RunSummary) -> str:
    """'2026-11-02 (UTC day)' for a whole day, else the [start, end) range."""
    start, end = pd.Timestamp(summary.period_start), pd.Timestamp(summary.period_end)
    if start == start.normalize() and end - start == timedelta(days=1):
        return f"{start.date().isoformat()} (UTC day)"
    return f"{when(start)} → {when(end)}"


def duration_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def age_text(age_seconds: int) -> str:
    if age_seconds < DAY:
        return f"{age_seconds / 3600:.1f} h"
    return f"{age_seconds / DAY:.1f} d"
