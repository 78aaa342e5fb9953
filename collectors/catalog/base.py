"""The shape of a metric declaration, and the checks every declaration must pass.

Every metric pitwatch exports is declared once (``collectors.catalog``); the platform's
instrumentation, the state collectors, the dashboards and the alert rules all read the
declarations, so that no metric name is typed twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

MetricType = Literal["counter", "gauge", "histogram", "info"]
Source = Literal["platform", "state", "reconciler", "backup"]

NAME = re.compile(r"^(igaming|pitwatch)_[a-z][a-z0-9_]*$")
# Label values that name a person or a transaction are never labels (privacy, cardinality).
FORBIDDEN_LABELS = frozenset(
    {"player", "player_id", "email", "click_id", "transaction_id", "deposit_id", "bet_id",
     "round_id", "session_id", "user", "user_id", "ip", "psp_reference", "conversion_id"}
)  # fmt: skip
OTHER = "other"


@dataclass(frozen=True)
class LabelDomain:
    """The values a label can take. ``open_top_n`` domains (affiliate, campaign, brand)
    keep the first N values seen and fold the rest into ``other``, unless the operator's
    configuration lists them (``configured``: exactly those keep their name, whatever comes
    first) or says they come from the database (``from_database``: a value earns its name
    from a conversion the contract views list, never from a click). Every other domain is
    a fixed set of values."""

    name: str
    values: tuple[str, ...] = ()
    open_top_n: int | None = None
    description: str = ""
    configured: tuple[str, ...] = ()
    from_database: bool = False

    @property
    def bounded(self) -> bool:
        return bool(self.values) or (self.open_top_n is not None and self.open_top_n > 0)

    def bound(self, value: str | None, known: Iterable[str] = ()) -> str:
        """The label value to export for ``value``: itself when in the domain, else other."""
        if value is None:
            return OTHER
        if self.values:
            return value if value in self.values else OTHER
        if self.configured:
            return value if value in self.configured else OTHER
        return value if value in set(known) else OTHER


@dataclass(frozen=True)
class Metric:
    name: str
    type: MetricType
    help: str
    labels: tuple[LabelDomain, ...] = ()
    unit: str = ""
    buckets: tuple[float, ...] | None = None
    source: Source = "platform"
    team: str = ""  # payments, wallet, sportsbook, casino, affiliates, kyc, platform, ...
    extra: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def label_names(self) -> tuple[str, ...]:
        return tuple(label.name for label in self.labels)

    @property
    def exposed_name(self) -> str:
        """The name Prometheus sees (counters get ``_total``, info ``_info``)."""
        if self.type == "counter":
            return self.name + "_total"
        if self.type == "info":
            return self.name + "_info"
        return self.name


class CatalogError(ValueError):
    """A declaration breaks the conventions (docs/design.md, metrics conventions)."""


def validate(metrics: Iterable[Metric]) -> None:
    """Raise CatalogError on a clash, a bad name, an unbounded or forbidden label."""
    seen: dict[str, Metric] = {}
    problems: list[str] = []
    for m in metrics:
        if not NAME.match(m.name):
            problems.append(f"{m.name}: name must match {NAME.pattern}")
        if m.name.endswith("_total") or m.name.endswith("_info"):
            problems.append(f"{m.name}: declare without _total/_info; the type adds it")
        if m.unit and not m.name.endswith("_" + m.unit):
            problems.append(f"{m.name}: a metric in {m.unit} ends with _{m.unit}")
        if m.type == "histogram" and not m.buckets:
            problems.append(f"{m.name}: a histogram declares its buckets")
        if m.exposed_name in seen or m.name in seen:
            problems.append(f"{m.name}: declared twice")
        seen[m.exposed_name] = seen[m.name] = m
        names = m.label_names
        if len(set(names)) != len(names):
            problems.append(f"{m.name}: a label is listed twice")
        for label in m.labels:
            if label.name in FORBIDDEN_LABELS:
                problems.append(f"{m.name}: label {label.name} identifies a person or a payment")
            if not label.bounded:
                problems.append(f"{m.name}: label {label.name} has no bounded set of values")
    if problems:
        raise CatalogError("; ".join(problems))
