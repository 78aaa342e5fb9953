"""Settings of the generated rules: links, scrape job names, and per-GEO / per-PSP
parameter overrides, read from the operator's configuration file (ground.operator,
docs/operator-config.md; the reference operator's ``ground/reference-operator.toml`` by
default).

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

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ground.operator import OperatorConfig, OperatorConfigError
from ground.operator import load as load_operator


class ConfigError(ValueError):
    """The operator file's overrides name an unknown alert, label or parameter."""


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
    key: str = "override"  # where the operator file says it: override[2]


@dataclass(frozen=True)
class RulesConfig:
    links: Links = field(default_factory=Links)
    overrides: tuple[Override, ...] = ()
    source: str = "ground/reference-operator.toml"  # the operator file, for messages and docs

    def overrides_for(self, alert: str) -> tuple[Override, ...]:
        return tuple(o for o in self.overrides if o.alert == alert)


def from_operator(operator: OperatorConfig, source: str | None = None) -> RulesConfig:
    """The rules' settings of an operator configuration (links and overrides). Validation
    against the alert declarations happens in ``alert_rules.render`` where the alerts are
    known."""
    overrides = []
    for i, o in enumerate(operator.override, start=1):
        label = "geo" if o.geo is not None else "psp"
        value = o.geo if o.geo is not None else o.psp
        assert value is not None  # ground.operator checked: exactly one of geo, psp
        overrides.append(Override(o.alert, label, value, o.params, key=f"override[{i}]"))
    links = Links(operator.links.runbook_base, operator.links.grafana_base)
    return RulesConfig(links=links, overrides=tuple(overrides), source=source or RulesConfig.source)


def load(path: Path | str | None = None) -> RulesConfig:
    """The rules' settings of the operator file at ``path`` (None: the operator in force,
    ground.vocabulary.OPERATOR)."""
    if path is None:
        from ground.operator import REFERENCE
        from ground.vocabulary import OPERATOR, OPERATOR_SOURCE

        source = RulesConfig.source if OPERATOR_SOURCE == REFERENCE else OPERATOR_SOURCE.name
        return from_operator(OPERATOR, source)
    try:
        return from_operator(load_operator(path), Path(path).name)
    except OperatorConfigError as exc:
        raise ConfigError(str(exc)) from None
