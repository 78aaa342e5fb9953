"""Knobs of the PSP simulator: per-PSP settings, overrides by geo and/or method, resolution.

Overrides are keyed ``"DE:card"`` (geo and method), ``"DE"`` (geo) or ``"card"`` (method).
Resolution layers them over the PSP's own knobs, least specific first:
PSP settings < method override < geo override < geo:method override.
Each layer only replaces the fields it sets, so the most specific layer that sets a
field wins.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ground.file_formats import OURS, get_format
from ground.money import CURRENCY_EXPONENTS

Rate = Annotated[float, Field(ge=0.0, le=1.0)]
Seconds = Annotated[float, Field(ge=0.0)]
Weights = dict[str, Annotated[float, Field(ge=0.0)]]

PSP_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")

DEFAULT_DECLINE_REASONS: dict[str, float] = {
    "insufficient_funds": 0.45,
    "do_not_honor": 0.30,
    "3ds_failed": 0.15,
    "risk": 0.10,
}
DEFAULT_FAILURE_REASONS: dict[str, float] = {"acquirer_error": 0.7, "timeout": 0.3}
DEFAULT_PAYOUT_FAILURE_REASONS: dict[str, float] = {
    "account_closed": 0.5,
    "invalid_account": 0.3,
    "acquirer_error": 0.2,
}

# Fixed, deterministic rates used when a PSP settles in another currency than the
# payment's ("GBP/EUR": 1 GBP = 1.15 EUR). Not market data: reproducibility matters more.
DEFAULT_EXCHANGE_RATES: dict[str, str] = {
    "GBP/EUR": "1.1500",
    "USD/EUR": "0.9200",
    "SEK/EUR": "0.0870",
    "NOK/EUR": "0.0850",
    "DKK/EUR": "0.1340",
    "CHF/EUR": "1.0500",
    "PLN/EUR": "0.2300",
    "BRL/EUR": "0.1700",
    "CAD/EUR": "0.6800",
    "INR/EUR": "0.0110",
    "MXN/EUR": "0.0500",
    "JPY/EUR": "0.0062",
    "KRW/EUR": "0.00068",
    "CLP/EUR": "0.00098",
    "BHD/EUR": "2.4400",
    "KWD/EUR": "3.0000",
}


def _check_weights(value: dict[str, float]) -> dict[str, float]:
    if value and sum(value.values()) <= 0:
        raise ValueError("reason weights must not all be zero")
    return value


class PspKnobs(BaseModel):
    """Behaviour of a PSP for one payment or payout (after override resolution)."""

    model_config = ConfigDict(extra="forbid")

    approval_rate: Rate = 0.9
    decline_reasons: Weights = Field(default_factory=lambda: dict(DEFAULT_DECLINE_REASONS))
    failure_rate: Rate = 0.01
    failure_reasons: Weights = Field(default_factory=lambda: dict(DEFAULT_FAILURE_REASONS))
    payout_failure_reasons: Weights = Field(
        default_factory=lambda: dict(DEFAULT_PAYOUT_FAILURE_REASONS)
    )
    latency_ms: Annotated[int, Field(ge=0, le=120_000)] = 50
    callback_delay_seconds: Seconds = 2.0
    down: bool = False
    duplicate_rate: Rate = 0.0
    loss_rate: Rate = 0.0
    reorder_rate: Rate = 0.0
    late_rate: Rate = 0.0
    late_seconds: Seconds = 3600.0
    bad_signature_rate: Rate = 0.0
    chargeback_rate: Rate = 0.0
    chargeback_delay_seconds: Seconds = 3 * 86400.0
    chargeback_reversal_rate: Rate = 0.0
    chargeback_reversal_delay_seconds: Seconds = 14 * 86400.0
    refund_rate: Rate = 0.0
    refund_delay_seconds: Seconds = 86400.0
    settlement_discrepancy_rate: Rate = 0.0

    _check = field_validator("decline_reasons", "failure_reasons", "payout_failure_reasons")(
        _check_weights
    )


class KnobOverride(BaseModel):
    """A partial set of knobs; unset (None) fields fall through to the less specific layer."""

    model_config = ConfigDict(extra="forbid")

    approval_rate: Rate | None = None
    decline_reasons: Weights | None = None
    failure_rate: Rate | None = None
    failure_reasons: Weights | None = None
    payout_failure_reasons: Weights | None = None
    latency_ms: Annotated[int, Field(ge=0, le=120_000)] | None = None
    callback_delay_seconds: Seconds | None = None
    down: bool | None = None
    duplicate_rate: Rate | None = None
    loss_rate: Rate | None = None
    reorder_rate: Rate | None = None
    late_rate: Rate | None = None
    late_seconds: Seconds | None = None
    bad_signature_rate: Rate | None = None
    chargeback_rate: Rate | None = None
    chargeback_delay_seconds: Seconds | None = None
    chargeback_reversal_rate: Rate | None = None
    chargeback_reversal_delay_seconds: Seconds | None = None
    refund_rate: Rate | None = None
    refund_delay_seconds: Seconds | None = None
    settlement_discrepancy_rate: Rate | None = None

    def set_fields(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class PspSettings(PspKnobs):
    """One PSP: its default knobs, its overrides, its secret, fees and settlement terms."""

    secret: str | None = None
    fee_bps: Annotated[int, Field(ge=0, le=10_000)] = 150
    fee_fixed_minor: Annotated[int, Field(ge=0)] = 0
    payout_fee_minor: Annotated[int, Field(ge=0)] = 0
    chargeback_fee_minor: Annotated[int, Field(ge=0)] = 0
    batch_fee_minor: Annotated[int, Field(ge=0)] = 0
    batch_fee_currency: str = "EUR"
    settlement_currency: str | None = None
    # The settlement report's format: pitwatch (ours), adyen, paypal_stl, trustly or a
    # mapping's path (docs/psp-settlement-formats.md)
    report_format: str = "pitwatch"
    retry_max_attempts: Annotated[int, Field(ge=1, le=50)] = 5
    retry_backoff_seconds: Annotated[float, Field(gt=0.0)] = 5.0
    overrides: dict[str, KnobOverride] = Field(default_factory=dict)

    @field_validator("report_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value != OURS:
            fmt = get_format(value)  # FormatError (a ValueError) names what is wrong
            if fmt.kind != "psp":
                raise ValueError(f"format {value!r} is not a PSP settlement format")
        return value

    @field_validator("batch_fee_currency", "settlement_currency")
    @classmethod
    def _known_currency(cls, value: str | None) -> str | None:
        if value is not None and value not in CURRENCY_EXPONENTS:
            raise ValueError(f"unknown currency {value!r}")
        return value


def _default_psps() -> dict[str, PspSettings]:
    return {
        "paybridge": PspSettings(
            approval_rate=0.85,
            fee_bps=180,
            fee_fixed_minor=10,
            chargeback_fee_minor=1500,
            settlement_currency="EUR",
            callback_delay_seconds=2.0,
        ),
        "nordpay": PspSettings(
            approval_rate=0.95,
            fee_bps=50,
            batch_fee_minor=500,
            callback_delay_seconds=20.0,
        ),
        "ewallo": PspSettings(approval_rate=0.93, fee_bps=250, callback_delay_seconds=3.0),
        "pixgate": PspSettings(
            approval_rate=0.9, fee_bps=150, fee_fixed_minor=5, callback_delay_seconds=8.0
        ),
    }


class PspSimConfig(BaseModel):
    """The whole simulator: seed, PSPs, exchange-rate table, where reports go."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    psps: dict[str, PspSettings] = Field(default_factory=_default_psps)
    exchange_rates: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_EXCHANGE_RATES))
    report_dir: str = "var/psp-settlement"
    # Drop yesterday's and today's settlement reports into report_dir every this many
    # seconds, as PSPs drop files on an SFTP server (0: only when asked, POST
    # /admin/settlement-reports).
    report_every_seconds: Annotated[float, Field(ge=0.0)] = 0.0

    @field_validator("psps")
    @classmethod
    def _psp_names(cls, value: dict[str, PspSettings]) -> dict[str, PspSettings]:
        for name in value:
            if not PSP_NAME.match(name):
                raise ValueError(f"psp name {name!r} must match {PSP_NAME.pattern}")
        return value

    @field_validator("exchange_rates")
    @classmethod
    def _rates(cls, value: dict[str, str]) -> dict[str, str]:
        for pair, rate in value.items():
            base, _, quote = pair.partition("/")
            if base not in CURRENCY_EXPONENTS or quote not in CURRENCY_EXPONENTS:
                raise ValueError(f"exchange rate key {pair!r} must be 'XXX/YYY'")
            try:
                ok = Decimal(rate) > 0
            except InvalidOperation:
                ok = False
            if not ok:
                raise ValueError(f"exchange rate {pair}={rate!r} must be a positive decimal")
        return value

    def settings(self, psp: str) -> PspSettings | None:
        return self.psps.get(psp)

    def secret_for(self, psp: str) -> str:
        settings = self.psps.get(psp)
        if settings is not None and settings.secret:
            return settings.secret
        return f"dev-secret-{psp}"

    def rate(self, base: str, quote: str) -> Decimal | None:
        """Exchange rate base→quote from the table (direct or inverse), None if unknown."""
        if base == quote:
            return Decimal(1)
        direct = self.exchange_rates.get(f"{base}/{quote}")
        if direct is not None:
            return Decimal(direct)
        inverse = self.exchange_rates.get(f"{quote}/{base}")
        if inverse is not None:
            return Decimal(1) / Decimal(inverse)
        return None

    def resolve(self, psp: str, geo: str, method: str) -> PspKnobs:
        """The knobs for one payment: the PSP's own, then overrides, most specific last."""
        settings = self.psps[psp]
        merged = settings.model_dump(include=set(PspKnobs.model_fields))
        geo_key, method_key = geo.upper(), method.lower()
        layers: list[KnobOverride] = []
        by_kind: dict[str, KnobOverride] = {}
        for key, override in settings.overrides.items():
            kind = override_key_kind(key, geo_key, method_key)
            if kind is not None:
                by_kind[kind] = override
        for kind in ("method", "geo", "geo:method"):
            if kind in by_kind:
                layers.append(by_kind[kind])
        for layer in layers:
            merged.update(layer.set_fields())
        return PspKnobs.model_validate(merged)


def override_key_kind(key: str, geo: str, method: str) -> str | None:
    """Which layer an override key is for this geo/method, or None if it does not apply."""
    if ":" in key:
        key_geo, _, key_method = key.partition(":")
        if key_geo.upper() == geo and key_method.lower() == method:
            return "geo:method"
        return None
    if key.upper() == geo:
        return "geo"
    if key.lower() == method:
        return "method"
    return None


def load_config(path: str | Path | None) -> PspSimConfig:
    """Read a JSON config file; no path means the defaults."""
    if path is None:
        return PspSimConfig()
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return PspSimConfig.model_validate(data)
