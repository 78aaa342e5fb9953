"""Deposit and payout routing: (geo, method) → PSP, most specific entry wins."""

from __future__ import annotations

from dataclasses import dataclass

from ground.vocabulary import METHODS
from igaming.errors import ValidationFailed

DEFAULT_ROUTES: dict[tuple[str, str], str] = {
    ("*", "card"): "paybridge",
    ("*", "ewallet"): "ewallo",
    ("DE", "bank_transfer"): "nordpay",
    ("SE", "bank_transfer"): "nordpay",
    ("FI", "bank_transfer"): "nordpay",
    ("NO", "bank_transfer"): "nordpay",
    ("NL", "bank_transfer"): "nordpay",
    ("BR", "pix"): "pixgate",
    ("IN", "upi"): "pixgate",
    ("CA", "interac"): "pixgate",
}


@dataclass(frozen=True)
class RoutingTable:
    routes: dict[tuple[str, str], str]

    @classmethod
    def default(cls) -> RoutingTable:
        return cls(dict(DEFAULT_ROUTES))

    def route(self, geo: str, method: str) -> str:
        """The PSP for a GEO and payment method; a clear error when none serves it."""
        if method not in METHODS:
            raise ValidationFailed(
                f"unknown payment method {method!r}; one of {', '.join(METHODS)}"
            )
        psp = self.routes.get((geo, method)) or self.routes.get(("*", method))
        if psp is None:
            raise ValidationFailed(f"payment method {method!r} is not offered in {geo}")
        return psp
