"""Routing of payments to PSPs, and money parsing (integers in minor units)."""

from __future__ import annotations

import pytest

from ground.money import MoneyError, check_amount, to_major, to_minor
from igaming.cashier.routing import RoutingTable
from igaming.errors import ValidationFailed


@pytest.mark.parametrize(
    ("geo", "method", "psp"),
    [
        ("DE", "card", "paybridge"),
        ("DE", "bank_transfer", "nordpay"),
        ("BR", "pix", "pixgate"),
        ("GB", "ewallet", "ewallo"),
    ],
)
def test_most_specific_route_wins(geo, method, psp):
    assert RoutingTable.default().route(geo, method) == psp


def test_a_specific_route_overrides_the_wildcard():
    table = RoutingTable({("*", "card"): "paybridge", ("SE", "card"): "nordpay"})
    assert (table.route("SE", "card"), table.route("FI", "card")) == ("nordpay", "paybridge")


def test_unrouted_method_is_a_clear_error():
    with pytest.raises(ValidationFailed, match="not offered in GB"):
        RoutingTable.default().route("GB", "bank_transfer")
    with pytest.raises(ValidationFailed, match="unknown payment method"):
        RoutingTable.default().route("GB", "cheque")


@pytest.mark.parametrize(
    ("minor", "currency", "major"),
    [(1234, "EUR", "12.34"), (-5, "EUR", "-0.05"), (1500, "JPY", "1500"), (1, "BHD", "0.001")],
)
def test_major_minor_round_trip(minor, currency, major):
    assert to_major(minor, currency) == major
    assert to_minor(major, currency) == minor


@pytest.mark.parametrize(
    "text", ["1e500000", "1E5", "NaN", "Infinity", "+1.00", "1.", ".5", "1 000", "١٢", "9" * 19]
)
def test_major_amounts_are_refused_by_shape_before_any_arithmetic(text, monkeypatch):
    import ground.money as money

    def no_arithmetic(*args, **kwargs):
        raise AssertionError("Decimal was called on a refused amount")

    monkeypatch.setattr(money, "Decimal", no_arithmetic)
    with pytest.raises(MoneyError, match="not a decimal amount"):
        to_minor(text, "EUR")


def test_extra_precision_and_floats_are_refused():
    with pytest.raises(MoneyError, match="precision"):
        to_minor("1.005", "EUR")
    with pytest.raises(MoneyError, match="integer"):
        check_amount(10.0)
    with pytest.raises(MoneyError, match="integer"):
        check_amount(True)
