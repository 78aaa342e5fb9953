"""What a native stack is made of: its ports, its run folder, its database, its rule
profile and, optionally, the traffic that drives it."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Literal

from alert_rules.alertmanager import Delivery
from ground.ports import (
    AFFILIATE_SIM_PORT,
    ALERTMANAGER_PORT,
    COLLECT_PORT,
    GAMES_SIM_PORT,
    KYC_SIM_PORT,
    NODE_EXPORTER_PORT,
    NOTIFY_PORT,
    ODDS_SIM_PORT,
    PLATFORM_METRICS_PORT,
    PLATFORM_PORT,
    POSTGRES_EXPORTER_PORT,
    PROMETHEUS_PORT,
    PSP_SIM_PORT,
)
from pitwatch.settings import get_settings

ALERT_RULES_DIR = Path(__file__).resolve().parents[2] / "alert_rules"
PROFILE_DIRS = {"production": ALERT_RULES_DIR / "rules", "demo": ALERT_RULES_DIR / "demo"}

Profile = Literal["production", "demo"]


class StackConfigError(ValueError):
    """A stack setting that cannot work; the message is one line."""


@dataclass(frozen=True)
class StackPorts:
    """The port of every component, all on 127.0.0.1."""

    platform: int = PLATFORM_PORT
    psp: int = PSP_SIM_PORT
    kyc: int = KYC_SIM_PORT
    odds: int = ODDS_SIM_PORT
    games: int = GAMES_SIM_PORT
    affiliates: int = AFFILIATE_SIM_PORT
    notify: int = NOTIFY_PORT
    state: int = COLLECT_PORT
    prometheus: int = PROMETHEUS_PORT
    alertmanager: int = ALERTMANAGER_PORT
    platform_metrics: int = PLATFORM_METRICS_PORT  # the platform's internal /metrics
    node_exporter: int = NODE_EXPORTER_PORT  # the host's metrics
    postgres_exporter: int = POSTGRES_EXPORTER_PORT  # the database's (PostgreSQL only)

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def shifted(self, offset: int) -> StackPorts:
        """Every port plus ``offset`` (a second stack beside the first)."""
        return StackPorts(**{n: getattr(self, n) + offset for n in self.names()})

    def with_spec(self, spec: str) -> StackPorts:
        """Override ports from ``name=port,name=port`` (``platform=8700,prometheus=9190``)."""
        changes: dict[str, int] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, sep, value = item.partition("=")
            name = name.strip()
            if not sep or name not in self.names():
                raise StackConfigError(
                    f"ports: {item!r} is not name=port with a name of {', '.join(self.names())}"
                )
            try:
                port = int(value)
            except ValueError:
                raise StackConfigError(f"ports: {name}={value!r} is not a number") from None
            changes[name] = port
        return replace(self, **changes).checked()

    def checked(self) -> StackPorts:
        for name in self.names():
            port = getattr(self, name)
            if not 1 <= port <= 65535:
                raise StackConfigError(f"ports: {name}={port} is not a TCP port (1-65535)")
        seen: dict[int, str] = {}
        for name in self.names():
            port = getattr(self, name)
            if port in seen:
                raise StackConfigError(f"ports: {seen[port]} and {name} both use port {port}")
            seen[port] = name
        return self


def _database_url() -> str:
    return get_settings().database_url


@dataclass(frozen=True)
class StackConfig:
    """A native stack. ``scenario`` None: no traffic (the platform waits for requests)."""

    run_dir: Path = Path("var/stack")
    database_url: str = field(default_factory=_database_url)
    scenario: str | None = None  # a built-in traffic scenario's name or a YAML file
    rate: float = 5.0  # live traffic: player actions per second
    traffic_days: float | None = None  # None: the scenario's duration
    profile: Profile = "production"
    ports: StackPorts = field(default_factory=StackPorts)
    host: str = "127.0.0.1"
    # None: 15s for production, 5s for the demo profile
    scrape_interval: str | None = None
    evaluation_interval: str | None = None
    # None: Alertmanager's production timings (Delivery), or the demo's short ones
    group_wait: str | None = None
    group_interval: str | None = None
    repeat_interval: str | None = None
    prometheus: bool = True  # start Prometheus when it is on PATH
    alertmanager: bool = True  # start Alertmanager when it is on PATH
    # With Prometheus: the host's exporter and, on PostgreSQL, the database's, when on PATH
    exporters: bool = True
    ready_timeout: float = 60.0  # seconds each component has to answer its health URL

    def __post_init__(self) -> None:
        if self.profile not in PROFILE_DIRS:
            raise StackConfigError(f"profile: {self.profile!r} is not demo or production")
        if self.rate <= 0:
            raise StackConfigError(f"rate: must be greater than 0, not {self.rate}")
        if self.host not in ("127.0.0.1", "localhost"):
            raise StackConfigError(f"host: the native stack listens on 127.0.0.1, not {self.host}")
        self.ports.checked()

    @property
    def demo(self) -> bool:
        return self.profile == "demo"

    @property
    def scrape(self) -> str:
        return self.scrape_interval or ("5s" if self.demo else "15s")

    @property
    def evaluation(self) -> str:
        return self.evaluation_interval or ("5s" if self.demo else "15s")

    def rules_dir(self) -> tuple[Path, str | None]:
        """The profile's rule folder, and a note when the demo's is missing (the production
        rules stand in for it: the same alerts, with their longer windows)."""
        wanted = PROFILE_DIRS[self.profile]
        if any(wanted.glob("*.yml")):
            return wanted, None
        fallback = PROFILE_DIRS["production"]
        return fallback, (
            f"no {self.profile} rules in {wanted}: using {fallback} (production windows: "
            "alerts take longer to fire)"
        )

    def delivery(self, secrets_dir: Path, notify_url: str) -> Delivery:
        """How Alertmanager delivers: secrets in the run folder, PagerDuty at the sink."""
        base = Delivery()
        short = self.demo
        return Delivery(
            secrets_dir=str(secrets_dir.resolve()),
            pagerduty_url=f"{notify_url}/v2/enqueue",
            group_wait=self.group_wait or ("10s" if short else base.group_wait),
            group_interval=self.group_interval or ("1m" if short else base.group_interval),
            repeat_interval=self.repeat_interval or ("1h" if short else base.repeat_interval),
            page_group_wait=self.group_wait or ("20s" if short else base.page_group_wait),
            page_group_interval=self.group_interval
            or ("3m" if short else base.page_group_interval),
        )
