"""The operator's configuration file: its vocabulary (markets, PSPs and their methods, game
providers, sports, brands, currencies, affiliates), its products, its thresholds and its
per-scope alert overrides, in one TOML file validated here (docs/operator-config.md).

``PITWATCH_OPERATOR_CONFIG`` names the file; without it the reference operator's
(``ground/reference-operator.toml``) is read. ``ground.vocabulary`` loads it once, at
import, so that the catalog's label domains, the rules and the dashboards read its values.

A mistake is one line naming the key: ``pitwatch.toml: psps.nordpay.methods: unknown
method "carrier_pigeon"`` (``OperatorConfigError``).
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENV = "PITWATCH_OPERATOR_CONFIG"
REFERENCE = Path(__file__).resolve().parent / "reference-operator.toml"
# The products of the contract: each pw_* view belongs to one (ground.contract, which
# takes the names from here).
PRODUCTS = ("core", "sportsbook", "casino", "affiliates", "kyc", "outbox")
OVERRIDE_SCOPES = ("geo", "psp")

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,39}$")
_OPEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")  # a top-N label value's shape
_GEO = re.compile(r"^[A-Z]{2}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")

Slug = Annotated[str, Field(pattern=_SLUG.pattern)]
Seconds = Annotated[float, Field(gt=0)]
Hours = Annotated[float, Field(gt=0)]


class OperatorConfigError(ValueError):
    """The operator configuration file is missing, malformed or names something unknown;
    the message is one line naming the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Psp(_Strict):
    """A payment service provider: the methods it takes (and, optionally, currencies)."""

    methods: tuple[str, ...] = Field(min_length=1)
    currencies: tuple[str, ...] = ()


class Thresholds(_Strict):
    """The state collectors' thresholds (collectors.state.base.StateConfig) and the
    reconciliation windows (Settings.recon_*)."""

    deposit_pending_seconds: Seconds = 900.0
    withdrawal_sla_seconds: Seconds = 86_400.0
    ftd_postback_grace_seconds: Seconds = 600.0
    ftd_lookback_seconds: Seconds = 7 * 86_400.0
    odds_stale_seconds: Seconds = 120.0
    settlement_window_hours: Hours = 48.0
    postback_grace_hours: Hours = 6.0
    game_round_window_hours: Hours = 6.0  # a game round open longer is a break


class Links(_Strict):
    runbook_base: str = "https://github.com/pitwatch/pitwatch/blob/main/alert_rules/runbooks"
    grafana_base: str = "http://localhost:3000"


class Override(BaseModel):
    """``[[override]]``: an alert, one GEO or PSP, and the parameters to change."""

    model_config = ConfigDict(extra="allow", frozen=True)
    alert: str = Field(min_length=1)
    geo: str | None = None
    psp: str | None = None

    @property
    def params(self) -> dict[str, float | int | str]:
        return dict(self.model_extra or {})


class OperatorConfig(_Strict):
    """One operator's configuration file (docs/operator-config.md)."""

    name: Slug = "operator"
    markets: tuple[str, ...] = Field(min_length=1)
    currencies: tuple[str, ...] = Field(min_length=1)
    methods: tuple[Slug, ...] = Field(min_length=1)
    psps: dict[str, Psp] = Field(min_length=1)
    game_providers: tuple[Slug, ...] = ()
    sports: tuple[Slug, ...] = ()
    # Empty: open, the first N values seen (top_n); a list: exactly these, the rest other.
    brands: tuple[str, ...] = ()
    default_brand: str = "pitwatch"
    # A list: exactly these; "database": the affiliates the contract views list (pw_conversions
    # / pw_postbacks, read by the state exporter); absent: open, the first N values seen.
    affiliates: tuple[str, ...] | Literal["database"] = ()
    campaigns: tuple[str, ...] = ()
    products: tuple[str, ...] = PRODUCTS
    thresholds: Thresholds = Thresholds()
    links: Links = Links()
    override: tuple[Override, ...] = ()

    @field_validator("markets")
    @classmethod
    def _markets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _checked(value, _GEO, "market", "an ISO 3166-1 alpha-2 code such as DE")

    @field_validator("currencies")
    @classmethod
    def _currencies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _checked(value, _CURRENCY, "currency", "an ISO 4217 code such as EUR")

    @field_validator("brands", "campaigns")
    @classmethod
    def _open_values(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _checked(value, _OPEN, "value", "letters, digits, _ . - (at most 64)")

    @field_validator("affiliates")
    @classmethod
    def _affiliates(cls, value: Any) -> Any:
        if isinstance(value, tuple):
            return _checked(value, _OPEN, "affiliate", "letters, digits, _ . - (at most 64)")
        return value

    @field_validator("products")
    @classmethod
    def _products(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for p in value:
            if p not in PRODUCTS:
                raise ValueError(f"unknown product {_q(p)}; products are {', '.join(PRODUCTS)}")
        return tuple(dict.fromkeys(("core", *value)))

    @property
    def open_affiliates(self) -> bool:
        return self.affiliates == ()

    def has(self, product: str) -> bool:
        return product in self.products


def _q(value: str) -> str:
    return '"' + value.replace('"', '\\"') + '"'


def _checked(
    values: tuple[str, ...], shape: re.Pattern[str], what: str, hint: str
) -> tuple[str, ...]:
    seen: set[str] = set()
    for v in values:
        if not shape.match(v):
            article = "an" if what[0] in "aeiou" else "a"
            raise ValueError(f"{_q(v)} is not {article} {what} ({hint})")
        if v in seen:
            raise ValueError(f"{_q(v)} is listed twice")
        seen.add(v)
    return values


def _cross_check(cfg: OperatorConfig) -> None:
    """What one section says about another: a PSP's methods and currencies, an override's
    scope, a default brand. Raises ``(key, message)`` as a KeyError-free ValueError."""
    methods, currencies = set(cfg.methods), set(cfg.currencies)
    for name, psp in cfg.psps.items():
        if not _SLUG.match(name):
            raise _At(f"psps.{name}", "a PSP name is lower-case letters, digits, _ or -")
        for m in psp.methods:
            if m not in methods:
                raise _At(f"psps.{name}.methods", f"unknown method {_q(m)} (not in methods)")
        for c in psp.currencies:
            if c not in currencies:
                raise _At(f"psps.{name}.currencies", f"unknown currency {_q(c)}")
    if cfg.brands and cfg.default_brand not in cfg.brands:
        raise _At("default_brand", f"{_q(cfg.default_brand)} is not in brands")
    for i, o in enumerate(cfg.override, start=1):
        where = f"override[{i}]"
        scopes = [s for s in OVERRIDE_SCOPES if getattr(o, s) is not None]
        if len(scopes) != 1:
            raise _At(where, f"{o.alert}: needs exactly one of geo, psp")
        if o.geo is not None and o.geo not in cfg.markets:
            raise _At(f"{where}.geo", f"unknown market {_q(o.geo)} (not in markets)")
        if o.psp is not None and o.psp not in cfg.psps:
            raise _At(f"{where}.psp", f"unknown PSP {_q(o.psp)} (not in psps)")
        if not o.params:
            raise _At(where, f"{o.alert}: changes no parameter")
        for key, value in o.params.items():
            if not isinstance(value, int | float | str) or isinstance(value, bool):
                raise _At(f"{where}.{key}", "a parameter is a number or a string")


class _At(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")


def _location(loc: tuple[int | str, ...], data: Any) -> str:
    """pydantic's error location as the TOML key (``psps.nordpay.methods``,
    ``override[2].alert``); list indexes are 1-based where they name a table."""
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            if parts and parts[-1] == "override":
                parts[-1] = f"override[{item + 1}]"
            else:
                continue  # an item of a list: the message quotes the value
        elif item in ("tuple[str, ...]", "literal['database']"):
            continue  # the branch of a union (affiliates)
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


def _message(err: Any, data: Any) -> str:
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "missing (required)"
    if kind == "too_short":
        return "may not be empty"
    if kind in ("tuple_type", "list_type"):
        return "should be a list"
    if kind == "dict_type" or kind == "model_type":
        return "should be a table"
    value = err.get("input")
    if kind in ("string_pattern_mismatch",) and isinstance(value, str):
        return f"{_q(value)} is not a valid name (lower-case letters, digits, _ or -)"
    return msg.replace("\n", " ")


def parse(text: str, source: str = "pitwatch.toml") -> OperatorConfig:
    """An operator configuration from TOML text; OperatorConfigError (one line) if wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise OperatorConfigError(f"{source}: not TOML: {exc}") from None
    try:
        cfg = OperatorConfig.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        # affiliates is a list or "database": report the list branch's error when a list
        # was given, else the one line that says what it may be.
        first = errors[0]
        loc = tuple(first.get("loc", ()))
        if loc and loc[0] == "affiliates":
            if isinstance(data.get("affiliates"), list):
                first = next((e for e in errors if "tuple" in str(e.get("loc"))), first)
            else:
                raise OperatorConfigError(
                    f'{source}: affiliates: a list of affiliate ids or "database"'
                ) from None
        where = _location(tuple(first.get("loc", ())), data)
        raise OperatorConfigError(f"{source}: {where}: {_message(first, data)}") from None
    try:
        _cross_check(cfg)
    except _At as exc:
        raise OperatorConfigError(f"{source}: {exc}") from None
    return cfg


def load(path: str | os.PathLike[str] | None = None) -> OperatorConfig:
    """The operator configuration at ``path`` (default: the reference operator's)."""
    path = Path(path) if path is not None else REFERENCE
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise OperatorConfigError(f"{path}: no such operator configuration file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise OperatorConfigError(f"{path}: cannot read: {exc}") from None
    return parse(text, str(path))


def selected_path() -> Path:
    """The file ``PITWATCH_OPERATOR_CONFIG`` names, else the reference operator's."""
    named = os.environ.get(ENV, "").strip()
    return Path(named).resolve() if named else REFERENCE
