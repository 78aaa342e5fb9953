"""Money: integers in minor units beside an ISO 4217 currency. No floats anywhere near money."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# ISO 4217 minor-unit exponents of the currencies the platform accepts.
CURRENCY_EXPONENTS: dict[str, int] = {
    "EUR": 2,
    "GBP": 2,
    "USD": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "CHF": 2,
    "PLN": 2,
    "BRL": 2,
    "CAD": 2,
    "INR": 2,
    "MXN": 2,
    "JPY": 0,
    "KRW": 0,
    "CLP": 0,
    "BHD": 3,
    "KWD": 3,
}

# Largest single movement the platform accepts, in minor units (a guard against
# fat-finger amounts and integer overflow in downstream systems).
MAX_AMOUNT_MINOR = 10**12


class MoneyError(ValueError):
    """An amount or currency the platform cannot accept."""


def check_currency(currency: str) -> str:
    if currency not in CURRENCY_EXPONENTS:
        raise MoneyError(f"unknown or unsupported currency {currency!r}")
    return currency


def check_amount(amount: int, *, allow_zero: bool = False) -> int:
    """A positive integer amount in minor units, within the platform's maximum."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise MoneyError("amount must be an integer in minor units")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise MoneyError("amount must be positive")
    if amount > MAX_AMOUNT_MINOR:
        raise MoneyError(f"amount exceeds the maximum of {MAX_AMOUNT_MINOR} minor units")
    return amount


def to_major(amount_minor: int, currency: str) -> str:
    """Render minor units as a decimal string in major units ('12.34'), as PSPs export them."""
    exp = CURRENCY_EXPONENTS[check_currency(currency)]
    value = Decimal(amount_minor).scaleb(-exp)
    return f"{value:.{exp}f}"


# A plain decimal of bounded length: an exponent ("1e500000") would make Decimal build an
# integer of half a million digits, holding the GIL for seconds.
_MAJOR = re.compile(r"-?[0-9]{1,18}(?:\.[0-9]{1,18})?")


def to_minor(amount_major: str, currency: str) -> int:
    """Parse a decimal string in major units into minor units; refuses extra precision."""
    exp = CURRENCY_EXPONENTS[check_currency(currency)]
    text = amount_major.strip() if isinstance(amount_major, str) else None
    if text is None or not _MAJOR.fullmatch(text):
        raise MoneyError(f"not a decimal amount: {str(amount_major)[:40]!r}")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only decimals
        raise MoneyError(f"not a decimal amount: {text!r}") from exc
    scaled = value.scaleb(exp)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount_major!r} has more precision than {currency} allows")
    return int(scaled)
