"""The platform's metric objects, built from the catalog into one ``CollectorRegistry``.

Code never types a metric name: it asks ``PlatformMetrics`` for the object of a catalog
declaration (``metrics[catalog.platform.DEPOSIT_ATTEMPTS]``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from collectors.catalog import platform as catalog
from collectors.catalog.base import OTHER, LabelDomain, Metric

# Produced by custom collectors (collectors.instrumentation.db, .events), not client objects.
CUSTOM = frozenset(
    {catalog.DB_POOL_CHECKED_OUT, catalog.DB_POOL_SIZE, catalog.BUS_SUBSCRIBER_FAILURES}
)

# An open (top-N) label value must look like a slug. An email, a URL or anything with
# spaces never becomes a label, and neither does a UUID or a long hex/number token (ids).
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_ID_LIKE = re.compile(
    r"^([0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}|[0-9a-f]{16,}|\d{6,})$",
    re.IGNORECASE,
)


# Route labels are templates the app declares ("/cashier/deposits/{deposit_id}").
_TEMPLATE = re.compile(r"^/[A-Za-z0-9_.\-/{}]{0,199}$")


def safe_open_value(value: str) -> bool:
    """Whether a value of an open domain (affiliate, campaign, brand) may be a label."""
    return bool(_SLUG.match(value)) and not _ID_LIKE.match(value)


def safe_route(value: str) -> bool:
    return bool(_TEMPLATE.match(value))


ACCEPT: dict[str, Callable[[str], bool]] = {"route": safe_route}


class TopN:
    """Label values of an open domain: the first N distinct safe values seen keep their
    name, every later one (and every unsafe one) is ``other``. First-seen rather than
    most-active: cheap, stable series, and the bound is what matters for cardinality.

    When the operator's configuration lists the values (``domain.configured``), exactly
    those keep their name, from the start, and nothing else is admitted: anonymous clicks
    right after a deploy cannot take the slots. When it says "database"
    (``domain.from_database``), only ``admit`` (a conversion, which the contract views
    list) gives a value its slot; ``bound`` (a click) only names values already admitted."""

    def __init__(
        self,
        domain: LabelDomain,
        seed: Iterable[str] = (),
        accept: Callable[[str], bool] = safe_open_value,
    ) -> None:
        assert domain.open_top_n is not None
        self.domain = domain
        self.accept = accept
        self.limit = domain.open_top_n
        self.closed = bool(domain.configured)
        self.gated = domain.from_database and not self.closed
        self._seen: set[str] = set(domain.configured)
        self._lock = threading.Lock()
        for value in seed:
            self.admit(value)

    @property
    def seen(self) -> frozenset[str]:
        return frozenset(self._seen)

    def bound(self, value: str | None) -> str:
        """The label for a value seen in passing (a click, a deposit's brand)."""
        if self.gated:
            return value if value is not None and value in self._seen else OTHER
        return self.admit(value)

    def admit(self, value: str | None) -> str:
        """The label for a value the contract views list (a conversion's affiliate)."""
        if value is None:
            return OTHER
        if value in self._seen:
            return value
        if self.closed or not self.accept(value):
            return OTHER
        with self._lock:
            if value in self._seen:
                return value
            if len(self._seen) >= self.limit:
                return OTHER
            self._seen.add(value)
            return value


def _build(metric: Metric, registry: CollectorRegistry) -> Any:
    names = metric.label_names
    if metric.type == "counter":
        return Counter(metric.name, metric.help, names, registry=registry)
    if metric.type == "gauge":
        return Gauge(metric.name, metric.help, names, registry=registry)
    if metric.type == "histogram":
        assert metric.buckets is not None  # the catalog's check: a histogram declares them
        return Histogram(metric.name, metric.help, names, buckets=metric.buckets, registry=registry)
    # info: its one label set (e.g. version) is given with .info({...}), not declared
    return Info(metric.name, metric.help, registry=registry)


class PlatformMetrics:
    """Every metric of ``collectors.catalog.platform`` in a registry of its own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._objects: dict[Metric, Any] = {
            m: _build(m, self.registry) for m in catalog.METRICS if m not in CUSTOM
        }
        self._open: dict[str, TopN] = {}

    def __getitem__(self, metric: Metric) -> Any:
        return self._objects[metric]

    def top(self, domain: LabelDomain, seed: Iterable[str] = ()) -> TopN:
        """The one top-N tracker of an open domain (shared by every metric using it)."""
        if domain.name not in self._open:
            accept = ACCEPT.get(domain.name, safe_open_value)
            self._open[domain.name] = TopN(domain, seed, accept)
        return self._open[domain.name]

    def binder(self, domain: LabelDomain, admit: bool = False) -> Callable[[str | None], str]:
        """value -> exported label value, for a fixed or an open domain. ``admit``: the
        value comes from a record the contract views list (``TopN.admit``)."""
        if domain.open_top_n is not None:
            top = self.top(domain)
            return top.admit if admit else top.bound
        allowed = frozenset(domain.values)

        def bound(value: str | None) -> str:
            return value if value in allowed else OTHER

        return bound
