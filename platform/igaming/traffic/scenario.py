"""Scenario files: who plays, how much, when, and which incidents break what.

A scenario is YAML validated here; any mistake is a ``ScenarioError`` whose one-line message
names the file and the field (``incidents[2].approval_rate: ...``). Built-in scenarios live
beside this module in ``scenarios/``. Durations are written ``90s``, ``45m``, ``2h30m``,
``1d6h`` (or a number of seconds); incident times count from the start of the run.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from ground.money import CURRENCY_EXPONENTS
from ground.vocabulary import INCIDENT_SCOPE_KEYS, INCIDENT_TYPES, METHODS
from igaming.cashier.routing import DEFAULT_ROUTES
from igaming.casino.catalogue import DEFAULT_CATALOGUE

SCENARIO_DIR = Path(__file__).with_name("scenarios")
PSPS = tuple(sorted(set(DEFAULT_ROUTES.values())))
PROVIDERS = tuple(sorted({g.provider for g in DEFAULT_CATALOGUE}))
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


class ScenarioError(ValueError):
    """A scenario that cannot be run; the message is one line naming the field."""


def parse_duration(value: Any) -> timedelta:
    """``90s``, ``45m``, ``2h30m``, ``1d6h`` or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("a duration such as 90s, 45m, 2h30m or 1d6h")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration must not be negative")
        return timedelta(seconds=value)
    text = str(value).strip().replace(" ", "")
    match = _DURATION.match(text)
    if not text or match is None:
        raise ValueError(f"{value!r} is not a duration such as 90s, 45m, 2h30m or 1d6h")
    d, h, m, s = (int(x or 0) for x in match.groups())
    return timedelta(days=d, hours=h, minutes=m, seconds=s)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Rate = Annotated[float, Field(ge=0.0, le=1.0)]
Weight = Annotated[float, Field(ge=0.0)]


def _geo_code(value: Any) -> Any:
    if isinstance(value, bool):  # YAML 1.1 reads a bare NO (Norway) as false
        raise ValueError('a GEO was read as a boolean: write Norway as "NO", in quotes')
    return value


Geo = Annotated[str, BeforeValidator(_geo_code), Field(pattern=r"^[A-Z]{2}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _normalised(weights: dict[str, float], what: str) -> dict[str, float]:
    total = sum(weights.values())
    if not weights or total <= 0:
        raise ValueError(f"{what} needs at least one positive weight")
    return {k: v / total for k, v in weights.items()}


# -- the market ------------------------------------------------------------------------


class GeoMix(_Strict):
    """One country: its share of players, currency, payment-method mix, typical deposit."""

    weight: Weight
    currency: str
    methods: dict[str, Weight]
    deposit_median: Annotated[int, Field(gt=0)]  # minor units of the currency

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if value not in CURRENCY_EXPONENTS:
            raise ValueError(f"unknown currency {value!r}")
        return value

    @field_validator("methods")
    @classmethod
    def _methods(cls, value: dict[str, float]) -> dict[str, float]:
        for method in value:
            if method not in METHODS:
                raise ValueError(f"unknown payment method {method!r}; one of {', '.join(METHODS)}")
        return _normalised(value, "methods")


def _geo(weight: float, currency: str, median: int, **methods: float) -> GeoMix:
    return GeoMix(weight=weight, currency=currency, methods=methods, deposit_median=median)


# Shares of a European-led operator with LatAm, Canada and India books; deposit medians in
# minor units of the local currency (about 25-30 EUR).
DEFAULT_GEOS: dict[str, GeoMix] = {
    "DE": _geo(0.20, "EUR", 2_500, card=0.45, ewallet=0.30, bank_transfer=0.25),
    "GB": _geo(0.16, "GBP", 2_000, card=0.75, ewallet=0.25),
    "SE": _geo(0.07, "SEK", 30_000, card=0.35, ewallet=0.15, bank_transfer=0.50),
    "FI": _geo(0.05, "EUR", 2_500, card=0.35, ewallet=0.15, bank_transfer=0.50),
    "NO": _geo(0.05, "NOK", 30_000, card=0.40, ewallet=0.15, bank_transfer=0.45),
    "NL": _geo(0.07, "EUR", 2_500, card=0.30, ewallet=0.20, bank_transfer=0.50),
    "ES": _geo(0.07, "EUR", 2_000, card=0.70, ewallet=0.30),
    "IT": _geo(0.06, "EUR", 2_000, card=0.65, ewallet=0.35),
    "BR": _geo(0.12, "BRL", 5_000, card=0.25, ewallet=0.10, pix=0.65),
    "CA": _geo(0.08, "CAD", 4_000, card=0.40, ewallet=0.15, interac=0.45),
    "IN": _geo(0.07, "INR", 100_000, card=0.25, ewallet=0.20, upi=0.55),
}

# Card declines on licensed gaming run 20-40 %; e-wallets and bank transfers far fewer.
DEFAULT_APPROVAL: dict[str, float] = {
    "card": 0.72,
    "ewallet": 0.93,
    "bank_transfer": 0.95,
    "pix": 0.92,
    "upi": 0.88,
    "interac": 0.94,
}


class Players(_Strict):
    daily_active: Annotated[int, Field(ge=1, le=1_000_000)] = 1_000
    existing: Annotated[int, Field(ge=0, le=1_000_000)] | None = None  # default: daily_active
    sessions_per_day: Annotated[float, Field(gt=0.0, le=20.0)] = 1.5
    churn_per_session: Rate = 0.02
    organic_registrations_per_day: Annotated[float, Field(ge=0.0)] = 0.0
    registration_to_ftd: Rate = 0.25
    kyc_before_deposit: Rate = 0.6


class Campaign(_Strict):
    affiliate: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
    campaign: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    clicks_per_day: Annotated[float, Field(ge=0.0)]
    geos: list[Geo] = Field(min_length=1)
    click_to_registration: Rate = 0.08
    registration_to_ftd: Rate | None = None  # default: players.registration_to_ftd


class Deposits(_Strict):
    approval: dict[str, Rate] = Field(default_factory=lambda: dict(DEFAULT_APPROVAL))
    retry_after_decline: Rate = 0.5  # a declined player tries again (another method)
    redeposit_below: Rate = 0.2  # redeposit when cash is under this share of a deposit
    redeposit_when_broke: Rate = 0.6  # a stake refused for want of cash: deposit, play on
    callback_delay_seconds: Annotated[float, Field(ge=0.0)] | None = None  # PSPs' own

    @field_validator("approval")
    @classmethod
    def _methods(cls, value: dict[str, float]) -> dict[str, float]:
        for method in value:
            if method not in METHODS:
                raise ValueError(f"unknown payment method {method!r}")
        return value


class Casino(_Strict):
    share: Rate = 0.6  # of sessions that play casino
    rounds_per_session: Annotated[float, Field(ge=1.0, le=1_000.0)] = 25.0
    seconds_between_rounds: Annotated[float, Field(gt=0.0)] = 8.0
    stake_share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.04  # of a typical deposit


class Sportsbook(_Strict):
    share: Rate = 0.5  # of sessions that bet
    bets_per_session: Annotated[float, Field(ge=1.0, le=200.0)] = 3.0
    stake_share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.2
    kickoffs: list[Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]] = Field(
        default_factory=lambda: ["15:30", "18:30", "20:45"]
    )
    kickoff_factor: Annotated[float, Field(ge=1.0, le=50.0)] = 4.0
    kickoff_window: Duration = timedelta(minutes=30)  # the surge before each kick-off
    fixture_interval: Duration = timedelta(minutes=10)  # how often the feed opens a fixture


class Withdrawals(_Strict):
    per_session: Rate = 0.06  # of sessions that end with a withdrawal (winners cash out)
    share_of_cash: Annotated[float, Field(gt=0.0, le=1.0)] = 0.8


# Hour by hour (UTC): quiet nights, a lunchtime bump, the evening peak around 20:00.
DAILY_CURVE: tuple[float, ...] = (0.45, 0.3, 0.2, 0.15, 0.12, 0.12, 0.2, 0.35, 0.5, 0.6, 0.7, 0.8)
DAILY_CURVE += (0.9, 0.95, 1.0, 1.05, 1.15, 1.3, 1.6, 1.9, 2.1, 2.0, 1.5, 0.9)


class Curves(_Strict):
    """Relative activity by hour of day (UTC) and day of week (Monday first)."""

    daily: list[Weight] = Field(
        default_factory=lambda: list(DAILY_CURVE), min_length=24, max_length=24
    )
    weekly: list[Weight] = Field(
        default_factory=lambda: [0.85, 0.85, 0.9, 0.95, 1.1, 1.25, 1.1],
        min_length=7,
        max_length=7,
    )

    @field_validator("daily", "weekly")
    @classmethod
    def _mean_one(cls, value: list[float]) -> list[float]:
        total = sum(value)
        if total <= 0:
            raise ValueError("a curve needs at least one positive weight")
        return [v * len(value) / total for v in value]


# -- incidents -------------------------------------------------------------------------


SCOPE_KEYS = INCIDENT_SCOPE_KEYS  # the scope of incidents.jsonl (ground.vocabulary)


class _Incident(_Strict):
    start: Duration
    end: Duration | None = None
    duration: Duration | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _window(self) -> _Incident:
        if (self.end is None) == (self.duration is None):
            raise ValueError("give exactly one of end and duration")
        if self.until <= self.start:
            raise ValueError("the incident must end after it starts")
        return self

    @property
    def until(self) -> timedelta:
        return self.end if self.end is not None else self.start + (self.duration or timedelta())

    def scope(self) -> dict[str, Any]:
        """The labels an alert about this incident would carry (for scoring)."""
        return {k: v for k in SCOPE_KEYS if (v := getattr(self, k, None)) is not None}

    def parameters(self) -> dict[str, Any]:
        skip = {"type", "start", "end", "duration", "note", "scope_kind", *SCOPE_KEYS}
        return {k: v for k, v in self.model_dump(mode="json").items() if k not in skip}


class _PspScope(_Incident):
    psp: Literal[PSPS]  # type: ignore[valid-type]
    geo: Geo | None = None
    method: Literal[METHODS] | None = None  # type: ignore[valid-type]


class PspDegradation(_PspScope):
    type: Literal["psp_degradation"]
    approval_rate: Rate


class PspOutage(_PspScope):
    """The PSP is down for the scope: it refuses every payment (the platform's call fails,
    nothing is charged), as a PSP does during an outage, rather than declining them."""

    type: Literal["psp_outage"]


class PspCallbackDelay(_PspScope):
    type: Literal["psp_callback_delay"]
    delay_seconds: Annotated[float, Field(gt=0.0, le=86_400.0)]


class PspCallbackLoss(_PspScope):
    type: Literal["psp_callback_loss"]
    loss_rate: Rate


class PspCallbackDuplicates(_PspScope):
    type: Literal["psp_callback_duplicates"]
    duplicate_rate: Rate


class PostbackOutage(_Incident):
    type: Literal["postback_outage"]
    affiliate: str | None = None  # None: the whole network
    mode: Literal["down", "losing"] = "down"


class PostbackDispatcherStall(_Incident):
    type: Literal["postback_dispatcher_stall"]


class OddsFeedLag(_Incident):
    type: Literal["odds_feed_lag"]
    lag_seconds: Annotated[float, Field(gt=0.0, le=86_400.0)]


class SettlementStall(_Incident):
    type: Literal["settlement_stall"]


class KycVendorDown(_Incident):
    type: Literal["kyc_vendor_down"]


class GameProviderErrors(_Incident):
    type: Literal["game_provider_errors"]
    provider: Literal[PROVIDERS]  # type: ignore[valid-type]
    launch_failure_rate: Rate = 0.0
    result_delay_seconds: Annotated[float, Field(ge=0.0, le=86_400.0)] | None = None

    @model_validator(mode="after")
    def _some_fault(self) -> GameProviderErrors:
        if not self.launch_failure_rate and self.result_delay_seconds is None:
            raise ValueError("set launch_failure_rate and/or result_delay_seconds")
        return self


class TrafficSurge(_Incident):
    type: Literal["traffic_surge"]
    factor: Annotated[float, Field(gt=1.0, le=50.0)]
    scope_kind: Literal["campaign", "kickoff"] = Field("kickoff", alias="scope")
    campaign: str | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _campaign(self) -> TrafficSurge:
        if (self.scope_kind == "campaign") != (self.campaign is not None):
            raise ValueError("a campaign surge names its campaign; a kickoff surge does not")
        return self


class Regression(_Strict):
    geo: Geo
    deposit_failure_rate: Rate


class Deploy(_Incident):
    type: Literal["deploy"]
    version: Annotated[str, Field(min_length=1, max_length=64)]
    regression: Regression | None = None
    # A deploy is a moment; its regression lasts until the end (a rollback) if given.
    end: Duration | None = None
    duration: Duration | None = None

    @model_validator(mode="after")
    def _window(self) -> Deploy:
        if self.end is not None and self.duration is not None:
            raise ValueError("give at most one of end and duration")
        if self.until <= self.start:
            raise ValueError("the regression must end after the deploy")
        return self

    def scope(self) -> dict[str, Any]:
        return {"geo": self.regression.geo} if self.regression is not None else {}

    @property
    def until(self) -> timedelta:
        if self.end is None and self.duration is None:
            return self.start + timedelta(seconds=1)  # a marker
        return super().until


class DbSlowdown(_Incident):
    type: Literal["db_slowdown"]
    delay_ms: Annotated[int, Field(gt=0, le=5_000)]


Incident = Annotated[
    PspDegradation
    | PspOutage
    | PspCallbackDelay
    | PspCallbackLoss
    | PspCallbackDuplicates
    | PostbackOutage
    | PostbackDispatcherStall
    | OddsFeedLag
    | SettlementStall
    | KycVendorDown
    | GameProviderErrors
    | TrafficSurge
    | Deploy
    | DbSlowdown,
    Field(discriminator="type"),
]


# -- the scenario ----------------------------------------------------------------------


def _monday() -> datetime:
    return datetime(2026, 11, 2, tzinfo=UTC)


class Scenario(_Strict):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
    description: str = ""
    seed: int = 1
    start: datetime = Field(default_factory=_monday)
    duration: Duration = timedelta(days=1)
    players: Players = Field(default_factory=Players)
    geos: dict[Geo, GeoMix] = Field(default_factory=lambda: dict(DEFAULT_GEOS))
    brands: dict[str, Weight] = Field(default_factory=lambda: {"pitwatch": 1.0})
    campaigns: list[Campaign] = Field(default_factory=list)
    deposits: Deposits = Field(default_factory=Deposits)
    casino: Casino = Field(default_factory=Casino)
    sportsbook: Sportsbook = Field(default_factory=Sportsbook)
    withdrawals: Withdrawals = Field(default_factory=Withdrawals)
    curves: Curves = Field(default_factory=Curves)
    incidents: list[Incident] = Field(default_factory=list)

    @field_validator("start")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("start needs a time zone, e.g. 2026-11-02T00:00:00Z")
        return value.astimezone(UTC)

    @field_validator("geos", mode="before")
    @classmethod
    def _geo_defaults(cls, value: Any) -> Any:
        """A GEO may give only its weight: the rest comes from the defaults."""
        if not isinstance(value, dict):
            return value
        out = {}
        for geo, spec in value.items():
            base = DEFAULT_GEOS.get(str(geo))
            if isinstance(spec, int | float) and not isinstance(spec, bool):
                spec = {"weight": spec}
            if base is not None and isinstance(spec, dict):
                spec = base.model_dump() | spec
            out[geo] = spec
        return out

    @field_validator("brands")
    @classmethod
    def _brands(cls, value: dict[str, float]) -> dict[str, float]:
        return _normalised(value, "brands")

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if sum(g.weight for g in self.geos.values()) <= 0:
            raise ValueError("geos: at least one GEO needs a positive weight")
        names = [(c.affiliate, c.campaign) for c in self.campaigns]
        if len(set(names)) != len(names):
            raise ValueError("campaigns: each (affiliate, campaign) once")
        for i, c in enumerate(self.campaigns):
            for geo in c.geos:
                if geo not in self.geos:
                    raise ValueError(
                        f"campaigns[{i}].geos: {geo} is not one of the scenario's geos"
                    )
        campaigns = {c.campaign for c in self.campaigns}
        affiliates = {c.affiliate for c in self.campaigns}
        for i, inc in enumerate(self.incidents):
            if isinstance(inc, TrafficSurge) and inc.campaign and inc.campaign not in campaigns:
                raise ValueError(f"incidents[{i}].campaign: no campaign {inc.campaign!r}")
            if (
                isinstance(inc, PostbackOutage)
                and inc.affiliate
                and inc.affiliate not in affiliates
            ):
                raise ValueError(f"incidents[{i}].affiliate: no campaign of {inc.affiliate!r}")
        return self

    @property
    def existing_players(self) -> int:
        return (
            self.players.existing
            if self.players.existing is not None
            else self.players.daily_active
        )


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in INCIDENT_TYPES or part in ("function-after",):
            continue  # the discriminator's branch name is noise in the path
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _one_line(source: str, exc: ValidationError) -> str:
    err = exc.errors()[0]
    msg = str(err["msg"]).removeprefix("Value error, ")
    if not err["loc"]:  # a check across fields: its message names the fields itself
        return f"scenario {source}: {msg}"
    if err["type"] == "union_tag_invalid":
        tag = err.get("ctx", {}).get("tag")
        loc = (*tuple(err["loc"]), "type")
        msg = f"unknown incident type {tag!r}; one of {', '.join(INCIDENT_TYPES)}"
        return f"scenario {source}: {_where(loc)}: {msg}"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"scenario {source}: {_where(tuple(err['loc']))}: {msg}{more}"


def parse(data: Any, source: str = "<data>") -> Scenario:
    """Validate scenario data (a mapping); ScenarioError names the field at fault."""
    if not isinstance(data, dict):
        raise ScenarioError(f"scenario {source}: expected a mapping of fields at the top level")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_one_line(source, exc)) from None


def builtin_names() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def load(name_or_path: str | Path) -> Scenario:
    """A built-in scenario by name, or a YAML file by path."""
    path = Path(name_or_path)
    if not path.suffix and (SCENARIO_DIR / f"{path.name}.yaml").exists() and not path.exists():
        path = SCENARIO_DIR / f"{path.name}.yaml"
    if not path.is_file():
        known = ", ".join(builtin_names())
        raise ScenarioError(f"scenario {name_or_path}: no such file or built-in ({known})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ScenarioError(f"scenario {path.name}: not valid YAML{where}") from None
    return parse(data, path.name)


INCIDENT_ADAPTER: TypeAdapter[Incident] = TypeAdapter(Incident)
