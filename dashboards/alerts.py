"""What the dashboards take from the alert declarations: thresholds, runbook links and the
recording rules, looked up by name.

A threshold is never typed twice: a panel asks for ``DepositSuccessRateDropGeo``'s
``floor`` and draws whatever the declaration (and the operator file's ``[[override]]``) says. An
alert that is not registered in ``alert_rules.DOMAINS`` yet gives no threshold line and no
runbook link (and is remembered in ``missing``); a registered alert without the parameter
asked for is a mistake and fails the generation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import alert_rules
from alert_rules.config import RulesConfig
from alert_rules.model import Alert, Domain
from alert_rules.render import runbook_url

Op = Literal[">", ">=", "<", "<="]


@dataclass(frozen=True)
class Limit:
    """One alert parameter drawn as a threshold; ``op`` is the alert's comparison (the
    value fires when ``value op limit``)."""

    alert: str
    param: str
    value: float
    op: Op
    runbook: str
    counts: bool = False  # the panel shows whole counts (stuck withdrawals, dead letters)
    overrides: tuple[str, ...] = ()

    @property
    def bad(self) -> Literal["above", "below"]:
        return "above" if self.op in (">", ">=") else "below"

    @property
    def step(self) -> float:
        """Where the colour changes (Grafana steps apply from their value up): a count
        that fires above N turns red at N + 1."""
        if self.op == ">" and self.counts:
            return self.value + 1
        return self.value

    def describe(self) -> str:
        text = f"Threshold: {self.alert} fires at {self.op} {self.value:g} (`{self.param}`)"
        if self.overrides:
            text += "; overridden: " + ", ".join(self.overrides)
        return text + "."


@dataclass
class AlertSource:
    """The registered alerts, recording rules and links the dashboards read."""

    alerts: Mapping[str, Alert]
    recordings: frozenset[str]
    config: RulesConfig
    missing: set[str] = field(default_factory=set)

    @classmethod
    def from_domains(cls, domains: Iterable[Domain], config: RulesConfig) -> AlertSource:
        domains = tuple(domains)
        return cls(
            alerts={a.name: a for d in domains for a in d.alerts},
            recordings=frozenset(r.record for d in domains for r in d.recordings),
            config=config,
        )

    @classmethod
    def registered(cls) -> AlertSource:
        return cls.from_domains(alert_rules.operator_domains(), alert_rules.load())

    def _alert(self, name: str) -> Alert | None:
        alert = self.alerts.get(name)
        if alert is None:
            self.missing.add(name)
        return alert

    def _default(self, name: str, param: str) -> float | int | str | None:
        alert = self._alert(name)
        if alert is None:
            return None
        if param not in alert.params:
            raise KeyError(f"{name} has no parameter {param!r} (has {sorted(alert.params)})")
        return alert.params[param].default

    def param(self, name: str, param: str) -> float | None:
        """The alert's numeric parameter; None only while the alert is not registered."""
        value = self._default(name, param)
        if isinstance(value, str):
            raise TypeError(f"{name}.{param} is {value!r}, not a number to draw")
        return None if value is None else float(value)

    def window(self, name: str, param: str, fallback: str) -> str:
        """The alert's window (a PromQL duration), so that a panel shows what it evaluates;
        ``fallback`` while the alert is not registered."""
        value = self._default(name, param)
        if value is None:
            return fallback
        if not isinstance(value, str):
            raise TypeError(f"{name}.{param} is {value!r}, not a duration")
        return value

    def limit(self, name: str, param: str, op: Op = ">", counts: bool = False) -> Limit | None:
        """The parameter as a threshold; None only while the alert is not registered.
        ``counts``: the panel shows whole counts, so "fires above N" turns red at N + 1."""
        value = self.param(name, param)
        if value is None:
            return None
        overrides = tuple(f"{lbl}={val}: {v:g}" for lbl, val, v in self.overrides(name, param))
        runbook = self.runbook_url(name) or ""
        return Limit(name, param, value, op, runbook, counts, overrides)

    def overrides(self, name: str, param: str) -> tuple[tuple[str, str, float], ...]:
        """(label, value, parameter) of each override of the parameter in force."""
        return tuple(
            (o.label, o.value, float(o.params[param]))
            for o in self.config.overrides_for(name)
            if param in o.params and name in self.alerts
        )

    def runbook_url(self, name: str) -> str | None:
        alert = self._alert(name)
        return None if alert is None else runbook_url(alert, self.config)

    def recording(self, record: str) -> str | None:
        """The recording rule's name when a registered domain records it, else None."""
        return record if record in self.recordings else None

    @property
    def runbook_base(self) -> str:
        return self.config.links.runbook_base
