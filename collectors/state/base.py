"""What every state collector shares: thresholds, the time budget, error handling, health.

A state collector is a ``prometheus_client`` custom collector: ``describe()`` yields its
families without touching the database, ``collect()`` queries the pw_* contract views on
each scrape within a time budget. A failing collector yields nothing of its own and
reports ``pitwatch_collector_up{collector} 0``; the others still report, and the next
scrape tries again (the engine's pool pre-pings, so a database that comes back is used).

Two databases: a collector reads the platform's contract views (``database = "source"``,
a read-only login will do) or pitwatch's own tables (``"state"``: the break ledger, the
run records; ``Settings.state_url``). A collector of an optional product (an outbox, a
sportsbook) lists the views it needs in ``optional_views``: on a platform without them it
is switched off (one log line, no ``pitwatch_collector_up`` of its own) instead of failing
for ever; it looks again every ``views_recheck_seconds`` and comes on once they are there.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine, bindparam
from sqlalchemy.sql.elements import BindParameter

from collectors.catalog import base as catalog
from collectors.catalog import state as m
from collectors.catalog.base import OTHER
from ground.clock import Clock
from ground.operator import OperatorConfig
from ground.relations import missing_views
from ground.sqltypes import UTCDateTime
from ground.vocabulary import OPERATOR

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StateConfig:
    """Thresholds and budgets of the state collectors (docs/state-metrics.md)."""

    ftd_postback_grace_seconds: float = 600.0
    ftd_lookback_seconds: float = 7 * 86_400.0
    deposit_pending_seconds: float = 900.0
    withdrawal_sla_seconds: float = 86_400.0
    odds_stale_seconds: float = 120.0
    outbox_consumers: tuple[str, ...] = ("affiliates",)
    outbox_count_cap: int = 100_000
    ledger_initial_entries: int = 1_000
    ledger_max_entries_per_scrape: int = 5_000
    ledger_overlap_entries: int = 1_000
    ledger_accounts_per_scrape: int = 100
    ledger_max_tracked_violations: int = 1_000
    time_budget_seconds: float = 1.0
    # How often a collector switched off for want of its optional views looks again.
    views_recheck_seconds: float = 300.0
    top_n: dict[str, int] = field(default_factory=dict)  # label -> N, else the domain's

    @classmethod
    def from_operator(cls, operator: OperatorConfig | None = None, **changes: Any) -> StateConfig:
        """The thresholds of the operator's configuration file (ground.vocabulary.OPERATOR
        by default; docs/operator-config.md ``[thresholds]``), the budgets' defaults."""
        t = (operator or OPERATOR).thresholds
        return cls(
            ftd_postback_grace_seconds=t.ftd_postback_grace_seconds,
            ftd_lookback_seconds=t.ftd_lookback_seconds,
            deposit_pending_seconds=t.deposit_pending_seconds,
            withdrawal_sla_seconds=t.withdrawal_sla_seconds,
            odds_stale_seconds=t.odds_stale_seconds,
            **changes,
        )


SOURCE = "source"  # the platform's database: the pw_* contract views, read only
STATE = "state"  # pitwatch's own database (Settings.state_url)
DATABASES = (SOURCE, STATE)


def at(name: str) -> BindParameter[datetime]:
    """A timestamp bind parameter that compares right on SQLite (naive text) and PG."""
    return bindparam(name, type_=UTCDateTime)


def as_utc(value: Any) -> datetime | None:
    """A timestamp from a raw row: SQLite gives text or naive datetimes, PG aware ones."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def age(now: datetime, then: Any) -> float:
    t = as_utc(then)
    return max(0.0, (now - t).total_seconds()) if t is not None else 0.0


def gauge(metric: catalog.Metric) -> GaugeMetricFamily:
    return GaugeMetricFamily(metric.name, metric.help, labels=list(metric.label_names))


def counter(metric: catalog.Metric) -> CounterMetricFamily:
    return CounterMetricFamily(metric.name, metric.help, labels=list(metric.label_names))


def family(metric: catalog.Metric) -> CounterMetricFamily | GaugeMetricFamily:
    return counter(metric) if metric.type == "counter" else gauge(metric)


def top_n(
    rows: Iterable[tuple[tuple[str, ...], float, float, float]],
    n: int,
    keep: Callable[[tuple[str, ...]], bool] | None = None,
) -> dict[tuple[str, ...], tuple[float, float]]:
    """Fold (key, activity, count, oldest_age) rows: the n most active keys keep their
    labels, the rest add up under ("other", ...); oldest is the max of what folds.
    ``keep``: only keys it accepts may keep their labels (the operator's configured
    affiliates), however active the others are."""
    ranked = sorted(rows, key=lambda r: (-r[1], r[0]))
    out: dict[tuple[str, ...], tuple[float, float]] = {}
    kept = 0
    for key, _activity, count, oldest in ranked:
        if OTHER in key or kept >= n or (keep is not None and not keep(key)):
            key = tuple(OTHER for _ in key)
        else:
            kept += 1
        c, o = out.get(key, (0.0, 0.0))
        out[key] = (c + count, max(o, oldest))
    return out


def configured(*domains: catalog.LabelDomain) -> Callable[[tuple[str, ...]], bool] | None:
    """``top_n``'s keep for keys of these open domains: each configured domain's value
    must be one of its configured values (None when no domain is configured)."""
    if not any(d.configured for d in domains):
        return None

    def keep(key: tuple[str, ...]) -> bool:
        return all(not d.configured or v in d.configured for d, v in zip(domains, key, strict=True))

    return keep


@contextmanager
def time_budget(conn: Connection, seconds: float) -> Iterator[None]:
    """Abort this connection's statements after ``seconds``: PostgreSQL's
    statement_timeout (SET LOCAL: this transaction only), SQLite's progress handler."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, int(seconds * 1000))}")
        yield
        return
    raw = conn.connection.driver_connection
    deadline = time.monotonic() + seconds
    raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)  # type: ignore[union-attr]
    try:
        yield
    finally:
        raw.set_progress_handler(None, 0)  # type: ignore[union-attr]


class Health:
    """Up, last duration and error count of each collector, shared with HealthCollector."""

    def __init__(self, names: Iterable[str]) -> None:
        self._lock = threading.Lock()
        self.up = {n: 0.0 for n in names}
        self.duration = dict.fromkeys(self.up, 0.0)
        self.errors = dict.fromkeys(self.up, 0.0)

    def record(self, name: str, ok: bool, seconds: float) -> None:
        with self._lock:
            self.up[name] = 1.0 if ok else 0.0
            self.duration[name] = seconds
            if not ok:
                self.errors[name] = self.errors.get(name, 0.0) + 1

    def forget(self, name: str) -> None:
        """A collector switched off: no health series of its own until it comes back."""
        with self._lock:
            for values in (self.up, self.duration, self.errors):
                values.pop(name, None)

    def snapshot(self) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
        with self._lock:
            return dict(self.up), dict(self.duration), dict(self.errors)


class StateCollector(Collector):
    """Base of the state collectors: subclasses set ``name``, ``metrics`` and ``query``."""

    name: str = ""
    metrics: tuple[catalog.Metric, ...] = ()
    database: str = SOURCE  # which engine the exporter gives it (SOURCE or STATE)
    optional_views: tuple[str, ...] = ()  # without them: switched off, not failing

    def __init__(self, engine: Engine, clock: Clock, config: StateConfig, health: Health):
        self.engine, self.clock, self.config, self.health = engine, clock, config, health
        self.off = False  # switched off: the database lacks optional_views
        self._views_seen_at: float | None = None  # when they were last looked for

    def describe(self) -> Iterable[Metric]:
        return [family(metric) for metric in self.metrics]

    def _switched_off(self, conn: Connection) -> bool:
        """Whether the database lacks this collector's optional views; looked up at the
        first scrape and, while they are missing, every ``views_recheck_seconds``."""
        if not self.optional_views or (self._views_seen_at is not None and not self.off):
            return False
        now = time.monotonic()
        if self.off and now - (self._views_seen_at or now) < self.config.views_recheck_seconds:
            return True
        missing = missing_views(conn, self.optional_views)
        self._views_seen_at = now
        if missing and not self.off:
            log.warning(
                "state collector %s is off: the platform database has no %s "
                "(an optional product; see docs/contract-views.md)",
                self.name,
                ", ".join(missing),
            )
            self.health.forget(self.name)
        elif not missing and self.off:
            log.warning("state collector %s is on: its views are there now", self.name)
        self.off = bool(missing)
        return self.off

    def collect(self) -> Iterable[Metric]:
        started = time.perf_counter()
        try:
            with (
                self.engine.connect() as conn,
                conn.begin(),
                time_budget(conn, self.config.time_budget_seconds),
            ):
                if self._switched_off(conn):
                    return []
                families = list(self.query(conn, self.clock.now()))
        except Exception as exc:  # the exporter keeps serving whatever fails (docs/design.md)
            log.warning("state collector %s failed: %s", self.name, str(exc).splitlines()[0])
            self.health.record(self.name, False, time.perf_counter() - started)
            return []
        self.health.record(self.name, True, time.perf_counter() - started)
        return families

    def query(self, conn: Connection, now: datetime) -> Iterable[Metric]:
        raise NotImplementedError

    def n_for(self, domain: catalog.LabelDomain) -> int:
        n = self.config.top_n.get(domain.name, domain.open_top_n or 0)
        return max(n, len(domain.configured))  # a configured value always has its slot


class HealthCollector(Collector):
    """pitwatch_collector_{up,duration_seconds,errors_total}; registered after the others,
    so that a scrape reports the health of that same scrape."""

    def __init__(self, health: Health) -> None:
        self.health = health

    def describe(self) -> Iterable[Metric]:
        return [family(x) for x in (m.COLLECTOR_UP, m.COLLECTOR_DURATION, m.COLLECTOR_ERRORS)]

    def collect(self) -> Iterable[Metric]:
        up, duration, errors = self.health.snapshot()
        families = []
        for metric, values in (
            (m.COLLECTOR_UP, up),
            (m.COLLECTOR_DURATION, duration),
            (m.COLLECTOR_ERRORS, errors),
        ):
            fam = family(metric)
            for name, value in sorted(values.items()):
                fam.add_metric([name], value)
            families.append(fam)
        return families
