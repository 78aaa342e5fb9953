"""What the domain subscribers share: series at zero and amounts in major units."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from ground.money import CURRENCY_EXPONENTS


def zero(metric: Any, *domains: Iterable[str]) -> None:
    """Create every series of ``metric`` over the product of ``domains`` (at zero)."""
    for combo in itertools.product(*domains):
        metric.labels(*combo)


def major_units(amount_minor: int, currency: str) -> float:
    """Minor units as a float in major units (JPY: exponent 0); only ever for metrics."""
    return amount_minor / 10 ** CURRENCY_EXPONENTS.get(currency, 2)
