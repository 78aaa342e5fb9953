"""Settings from environment variables (prefix PITWATCH_), one object for the whole suite."""

from __future__ import annotations

from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ground.ports import (
    AFFILIATE_SIM_PORT,
    GAMES_SIM_PORT,
    KYC_SIM_PORT,
    PLATFORM_METRICS_PORT,
    PLATFORM_PORT,
    PSP_SIM_PORT,
)

DEFAULT_DB_PATH = Path("var/pitwatch.db")
# Where placeholder secrets, the API docs, fault injection and postbacks to private
# addresses are allowed. Anything else (including no PITWATCH_ENVIRONMENT at all) is run
# as production: a deploy that forgets the variable fails closed.
DEVELOPMENT_ENVIRONMENTS = ("development", "test")
MIN_SECRET_BYTES = 32


def _operator() -> Any:
    """The operator configuration in force (ground.vocabulary, read on first use: the
    command line imports these settings before ``--config`` has chosen the file)."""
    from ground import vocabulary

    return vocabulary


# Whether this process uses the platform's secrets (it serves the platform, a partner
# simulator or traffic). pitwatch's operator-side commands (contract check, reconcile,
# collect, backup, generate) read an operator's views and files and sign nothing: they set
# it False, so that an operator's production run does not need the reference platform's
# PSP, game-provider and odds-feed secrets (pitwatch.cli.main).
PLATFORM_SECRETS_USED: ContextVar[bool] = ContextVar("platform_secrets_used", default=True)


class SettingsError(ValueError):
    """Settings the suite refuses to start with; the message is one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PITWATCH_", env_file=None, extra="ignore")

    environment: str = Field("production", description="development | test | production")
    # The operator configuration file (docs/operator-config.md); None: the reference
    # operator's. Read by ground.vocabulary from the environment at import, so it is named
    # here for --help and the docs; --config FILE on a command sets it.
    operator_config: Path | None = None
    # The platform's database: pitwatch reads the pw_* contract views through it (on an
    # operator's platform, a read-only login on a replica will do).
    database_url: str = f"sqlite:///{DEFAULT_DB_PATH}"
    # pitwatch's own state: break ledger, run records, scheduler jobs, backup records,
    # watermarks. None: the platform's database (the reference platform, one database).
    state_database_url: str | None = None
    # Views mode (docs/metrics.md): the state exporter also derives the platform's business
    # counters from the contract views (for a platform that exports none of its own).
    views_mode: bool = False
    platform_url: str = f"http://127.0.0.1:{PLATFORM_PORT}"
    psp_base_url: str = f"http://127.0.0.1:{PSP_SIM_PORT}"
    kyc_base_url: str = f"http://127.0.0.1:{KYC_SIM_PORT}"
    psp_secrets: dict[str, str] = Field(
        default_factory=lambda: {p: f"dev-secret-{p}" for p in _operator().DEFAULT_PSPS}
    )
    odds_feed_secret: str = "dev-secret-oddsfeed"
    game_provider_secrets: dict[str, str] = Field(
        default_factory=lambda: {p: f"dev-secret-{p}" for p in _operator().DEFAULT_GAME_PROVIDERS}
    )
    games_base_url: str = f"http://127.0.0.1:{GAMES_SIM_PORT}"
    games_timeout_seconds: float = 5.0
    affiliate_network_url: str = f"http://127.0.0.1:{AFFILIATE_SIM_PORT}"
    # Key of the keyed hash that turns a player id into the player_ref partners see.
    player_ref_key: str = "dev-player-ref-key"
    # Sportsbook limits in minor units of the bet's currency (None: the built-in defaults of
    # igaming.sportsbook.limits.SportsbookLimits).
    sportsbook_min_stake: int | None = None
    sportsbook_max_stake: int | None = None
    sportsbook_max_market_liability: int | None = None
    sportsbook_odds_tolerance_bps: int | None = None
    sportsbook_cashout_margin_bps: int | None = None
    blocked_countries: list[str] = Field(default_factory=lambda: ["US", "FR", "IR", "KP", "SY"])
    minimum_age: int = 18
    psp_timeout_seconds: float = 5.0
    kyc_timeout_seconds: float = 3.0
    version: str = "0.1.0"
    # Largest request body the platform reads (igaming.api.body_limit): larger ones are 413.
    max_request_body_bytes: int = Field(64 * 1024, ge=1024)
    # Affiliate clicks per client address (igaming.affiliates.clicks.ClickLimiter): at most
    # click_burst at once, click_rate_per_second on average; more is 429.
    click_rate_per_second: float = Field(10.0, gt=0)
    click_burst: int = Field(200, ge=1)
    # Reconcilers (reconcilers/, docs/reconciliation.md)
    recon_psp_reports_dir: Path = Path("var/psp-settlement")
    # {date} is the reconciled day; a missing file skips the wallet ⟷ affiliate pair.
    recon_affiliate_export: str | None = "var/affiliate-exports/conversions-{date}.csv"
    recon_out_dir: Path = Path("var/reconciliation")
    # Default: the operator file's PSPs and [thresholds] (docs/operator-config.md).
    recon_psps: list[str] = Field(default_factory=lambda: list(_operator().DEFAULT_PSPS))
    # PSP → the format its settlement files come in: pitwatch (ours, the default), adyen,
    # paypal_stl, trustly, or a path to a mapping .toml (docs/psp-settlement-formats.md)
    recon_psp_formats: dict[str, str] = Field(default_factory=dict)
    # the affiliate export's format: pitwatch (ours, the default), affise, or a mapping path
    recon_affiliate_format: str | None = None
    recon_settlement_window_hours: float = Field(
        default_factory=lambda: _operator().OPERATOR.thresholds.settlement_window_hours
    )
    recon_postback_grace_hours: float = Field(
        default_factory=lambda: _operator().OPERATOR.thresholds.postback_grace_hours
    )
    # wallet ⟷ game provider (docs/game-provider-reports.md): the folder of the providers'
    # daily transaction reports and GGR statements; None: the pair is not run.
    recon_game_reports_dir: Path | None = None
    recon_game_providers: list[str] = Field(
        default_factory=lambda: list(_operator().DEFAULT_GAME_PROVIDERS)
    )
    recon_game_round_window_hours: float = Field(
        default_factory=lambda: _operator().OPERATOR.thresholds.game_round_window_hours
    )
    # The out-of-core pairs' workspace (wallet ⟷ game provider): DuckDB's memory limit (it
    # spills to disk past it) and the folder its temporary database and spill files go in
    # (None: the system's temporary folder).
    recon_work_memory: str = Field(
        "4GB", pattern=r"^[0-9]+(\.[0-9]+)? ?(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$"
    )
    recon_work_dir: Path | None = None
    recon_slack_token: str | None = None
    recon_slack_channel: str = "#finance-recon"
    recon_slack_base_url: str = "https://slack.com/api/"
    recon_daily_at: str = "06:00"  # local time of recon_timezone
    recon_timezone: str = "UTC"
    recon_intraday_minutes: int = 60
    # Backups proven by restore (pitwatch/backup/, docs/backup.md): where the dumps go, how
    # many are kept, the recovery targets the metrics compare with, and the schedule beside
    # the reconciliations. backup_restore_url: the server the restore test creates its
    # scratch database on (None: the platform's own server).
    backup_dir: Path = Path("var/backups")
    backup_keep: int = Field(7, ge=1)
    backup_rpo_seconds: float = Field(86_400.0, gt=0)
    backup_rto_seconds: float = Field(3_600.0, gt=0)
    backup_every_hours: float = Field(6.0, gt=0)
    backup_verify_every_hours: float = Field(24.0, gt=0)
    backup_restore_url: str | None = None
    # Accounts (docs/accounts.md). scrypt's N for new password hashes: unset, 2**15, or 2**10
    # in the test environment only (the suite registers hundreds of players); a value below
    # 2**15 is refused in every other environment.
    password_scrypt_n: int | None = Field(None, validate_default=True)
    # Log-in and registration attempts per sliding window, on the platform's clock, per
    # client IP and per e-mail (each attempt costs a scrypt); 0 turns a limit off. A live
    # simulation from one IP at more than ~10 actions/s needs the per-IP limits raised.
    login_rate_per_ip: int = Field(60, ge=0)
    login_rate_per_ip_seconds: float = Field(60.0, gt=0)
    login_rate_per_email: int = Field(10, ge=0)
    login_rate_per_email_seconds: float = Field(900.0, gt=0)
    registration_rate_per_ip: int = Field(30, ge=0)
    registration_rate_per_ip_seconds: float = Field(60.0, gt=0)
    # New KYC checks a player may open in 24 hours (retries of an unanswered one are free).
    kyc_checks_per_day: int = Field(3, ge=1)

    @field_validator("password_scrypt_n")
    @classmethod
    def _scrypt_cost(cls, n: int | None, info: ValidationInfo) -> int:
        environment = info.data.get("environment", "development")
        if n is None:
            return 2**10 if environment == "test" else 2**15
        if n < 2 or n & (n - 1):
            raise ValueError("password_scrypt_n must be a power of two")
        if n < 2**15 and environment != "test":
            raise ValueError(
                f"password_scrypt_n below 2**15 is allowed in the test environment only, "
                f"not in {environment}"
            )
        return n

    # -- hardening (ops): secrets, docs, faults, postback destinations, metrics listener --
    # None: on in development/test, off elsewhere (see _environment_defaults).
    docs_enabled: bool | None = None  # /docs, /redoc and /openapi.json on the platform
    faults_enabled: bool | None = None  # GET/PUT /admin/faults (igaming.faults)
    # Postbacks to loopback/private/link-local/reserved addresses (the reference stack's
    # affiliate network simulator is on 127.0.0.1).
    postback_allow_private: bool | None = None
    # The platform's /metrics: a listener of its own, never on the player-facing port.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = PLATFORM_METRICS_PORT

    @property
    def is_development(self) -> bool:
        return self.environment in DEVELOPMENT_ENVIRONMENTS

    @property
    def state_url(self) -> str:
        """Where pitwatch keeps its own state (``state_database_url``, else the platform's)."""
        return self.state_database_url or self.database_url

    @model_validator(mode="after")
    def _environment_defaults(self) -> Settings:
        for name in ("docs_enabled", "faults_enabled", "postback_allow_private"):
            if getattr(self, name) is None:
                setattr(self, name, self.is_development)
        return self

    def _secrets(self) -> dict[str, str]:
        secrets = {f"psp {p}": v for p, v in self.psp_secrets.items()}
        secrets |= {f"game provider {g}": v for g, v in self.game_provider_secrets.items()}
        return secrets | {"odds feed": self.odds_feed_secret, "player_ref": self.player_ref_key}

    @model_validator(mode="after")
    def _no_weak_secrets_outside_development(self) -> Settings:
        if self.is_development or not PLATFORM_SECRETS_USED.get():
            return self
        weak = [
            f"{name} ({why})"
            for name, value in self._secrets().items()
            if (why := _weakness(value))
        ]
        if weak:
            raise ValueError(
                f"environment {self.environment!r} refuses placeholder, empty or short "
                f"(< {MIN_SECRET_BYTES} bytes) secrets: {', '.join(weak)}; set "
                "PITWATCH_PSP_SECRETS, PITWATCH_GAME_PROVIDER_SECRETS, "
                "PITWATCH_ODDS_FEED_SECRET, PITWATCH_PLAYER_REF_KEY, or "
                "PITWATCH_ENVIRONMENT=development for a local run"
            )
        return self


def _weakness(value: str) -> str | None:
    """Why a secret is unfit for production (never the value itself), or None."""
    if not value:
        return "empty"
    if value.startswith("dev-"):
        return "placeholder"
    if len(value.encode()) < MIN_SECRET_BYTES:
        return "short"
    return None


def _one_line(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    parts = []
    for e in errors:
        where = ".".join(str(x) for x in e.get("loc", ()))
        msg = str(e.get("msg", "")).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return "settings: " + "; ".join(parts).replace("\n", " ")


class _GetSettings:
    """``get_settings()``: the settings; SettingsError (one line, no secret values) when they
    are refused. Cached per PLATFORM_SECRETS_USED, so that settings read without the
    secrets check never reach a command that uses them; ``cache_clear()`` as lru_cache's."""

    def __call__(self) -> Settings:
        return _settings(PLATFORM_SECRETS_USED.get())

    def cache_clear(self) -> None:
        _settings.cache_clear()


get_settings = _GetSettings()


@lru_cache
def _settings(platform_secrets_used: bool) -> Settings:
    token = PLATFORM_SECRETS_USED.set(platform_secrets_used)
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None
    finally:
        PLATFORM_SECRETS_USED.reset(token)
