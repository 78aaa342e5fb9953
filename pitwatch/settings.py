"""Settings from environment variables (prefix PITWATCH_), one object for the whole suite."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB_PATH = Path("var/pitwatch.db")
PLATFORM_PORT = 8600
PSP_SIM_PORT = 8601
KYC_SIM_PORT = 8602
COLLECT_PORT = 9108
ODDS_SIM_PORT = 8603
GAMES_SIM_PORT = 8604
AFFILIATE_SIM_PORT = 8605
NOTIFY_PORT = 8606  # the stack's Slack/PagerDuty receiver
PROMETHEUS_PORT = 9090
ALERTMANAGER_PORT = 9093
DEFAULT_PSPS = ("paybridge", "nordpay", "ewallo", "pixgate")
DEFAULT_GAME_PROVIDERS = ("spinworks", "lucky_labs", "livetable")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PITWATCH_", env_file=None, extra="ignore")

    environment: str = Field("development", description="development | test | production")
    database_url: str = f"sqlite:///{DEFAULT_DB_PATH}"
    platform_url: str = f"http://127.0.0.1:{PLATFORM_PORT}"
    psp_base_url: str = f"http://127.0.0.1:{PSP_SIM_PORT}"
    kyc_base_url: str = f"http://127.0.0.1:{KYC_SIM_PORT}"
    psp_secrets: dict[str, str] = Field(
        default_factory=lambda: {p: f"dev-secret-{p}" for p in DEFAULT_PSPS}
    )
    odds_feed_secret: str = "dev-secret-oddsfeed"
    game_provider_secrets: dict[str, str] = Field(
        default_factory=lambda: {p: f"dev-secret-{p}" for p in DEFAULT_GAME_PROVIDERS}
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
    recon_psps: list[str] = Field(default_factory=lambda: list(DEFAULT_PSPS))
    recon_settlement_window_hours: float = 48.0
    recon_postback_grace_hours: float = 6.0
    recon_slack_token: str | None = None
    recon_slack_channel: str = "#finance-recon"
    recon_slack_base_url: str = "https://slack.com/api/"
    recon_daily_at: str = "06:00"  # local time of recon_timezone
    recon_timezone: str = "UTC"
    recon_intraday_minutes: int = 60

    @model_validator(mode="after")
    def _no_placeholder_secrets_outside_development(self) -> Settings:
        if self.environment not in ("development", "test"):
            secrets = {f"psp {p}": v for p, v in self.psp_secrets.items()}
            secrets |= {f"game provider {g}": v for g, v in self.game_provider_secrets.items()}
            secrets |= {"odds feed": self.odds_feed_secret, "player_ref": self.player_ref_key}
            placeholders = [name for name, value in secrets.items() if value.startswith("dev-")]
            if placeholders:
                raise ValueError(
                    f"placeholder secrets are refused in {self.environment}: set "
                    f"{', '.join(placeholders)} (PITWATCH_PSP_SECRETS, "
                    "PITWATCH_GAME_PROVIDER_SECRETS, PITWATCH_ODDS_FEED_SECRET, "
                    "PITWATCH_PLAYER_REF_KEY)"
                )
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
