"""Settings of the generated rules: links, scrape job names, and per-GEO / per-PSP
parameter overrides read from a TOML file (``alert_rules/overrides.toml`` by default).

An override names an alert, one value of the label the alert is overridable by, and
the parameters to change::

    [[override]]
    alert = "DepositSuccessRateDropGeo"
    geo = "IN"
    floor = 0.55

The alert then renders as one branch per overridden value plus a default branch for
every other value, so the rule file shows exactly which threshold applies where.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_OVERRIDES = Path(__file__).resolve().parent / "overrides.toml"


class ConfigError(ValueError):
    """The overrides file names an unknown alert, label or parameter."""


@dataclass(frozen=True)
class Links:
    runbook_base: str = "https://github.com/pitwatch/pitwatch/blob/main/alert_rules/runbooks"
    grafana_base: str = "http://localhost:3000"


@dataclass(frozen=True)
class Jobs:
    """Prometheus job names the platform, the state exporter and the host and database
    exporters are scraped under: the Prometheus configuration (stack) and the rules both
    take them from here."""

    platform: str = "igaming-platform"
    state: str = "pitwatch-state"
    node: str = "node"  # prometheus-node-exporter: the host
    postgres: str = "postgres"  # prometheus-postgres-exporter: the platform's database


@dataclass(frozen=True)
class Override:
    alert: str
    label: str
    value: str
    params: Mapping[str, float | int | str]


@dataclass(frozen=True)
class RulesConfig:
    links: Links = field(default_factory=Links)
    overrides: tuple[Override, ...] = ()

    def overrides_for(self, alert: str) -> tuple[Override, ...]:
        return tuple(o for o in self.overrides if o.alert == alert)


def load(path: Path | None = DEFAULT_OVERRIDES) -> RulesConfig:
    """Read the overrides file (missing file: defaults). Validation against the alert
    declarations happens in ``alert_rules.render`` where the alerts are known."""
    if path is None or not path.exists():
        return RulesConfig()
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    try:
        links = Links(**data.get("links", {}))
    except TypeError as exc:
        raise ConfigError(f"{path}: [links]: {exc}") from None
    unknown = set(data) - {"links", "override"}
    if unknown:
        raise ConfigError(f"{path}: unknown section {sorted(unknown)} (links, override)")
    overrides = []
    for i, raw in enumerate(data.get("override", []), start=1):
        raw = dict(raw)
        alert = raw.pop("alert", None)
        scope = [k for k in ("geo", "psp") if k in raw]
        if not alert or len(scope) != 1:
            raise ConfigError(f"{path}: override #{i} needs alert and exactly one of geo, psp")
        label = scope[0]
        value = str(raw.pop(label))
        if not raw:
            raise ConfigError(f"{path}: override #{i} ({alert}) changes no parameter")
        overrides.append(Override(alert, label, value, raw))
    return RulesConfig(links=links, overrides=tuple(overrides))
