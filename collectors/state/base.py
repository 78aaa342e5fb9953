"""What every state collector shares: thresholds, the time budget, error handling, health.

A state collector is a ``prometheus_client`` custom collector: ``describe()`` yields its
families without touching the database, ``collect()`` queries the pw_* contract views on
each scrape within a time budget. A failing collector yields nothing of its own and
reports ``pitwatch_collector_up{collector} 0``; the others still report, and the next
scrape tries again (the engine's pool pre-pings, so a database that comes back is used).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
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
from ground.sqltypes import UTCDateTime

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
    top_n: dict[str, int] = field(default_factory=dict)  # label -> N, else the domain's


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
    rows: Iterable[tuple[tuple[str, ...], float, float, float]], n: int
) -> dict[tuple[str, ...], tuple[float, float]]:
    """Fold (key, activity, count, oldest_age) rows: the n most active keys keep their
    labels, the rest add up under ("other", ...); oldest is the max of what folds."""
    ranked = sorted(rows, key=lambda r: (-r[1], r[0]))
    out: dict[tuple[str, ...], tuple[float, float]] = {}
    for i, (key, _activity, count, oldest) in enumerate(ranked):
        if i >= n or OTHER in key:
            key = tuple(OTHER for _ in key)
        c, o = out.get(key, (0.0, 0.0))
        out[key] = (c + count, max(o, oldest))
    return out


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

    def snapshot(self) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
        with self._lock:
            return dict(self.up), dict(self.duration), dict(self.errors)


class StateCollector(Collector):
    """Base of the state collectors: subclasses set ``name``, ``metrics`` and ``query``."""

    name: str = ""
    metrics: tuple[catalog.Metric, ...] = ()

    def __init__(self, engine: Engine, clock: Clock, config: StateConfig, health: Health):
        self.engine, self.clock, self.config, self.health = engine, clock, config, health

    def describe(self) -> Iterable[Metric]:
        return [family(metric) for metric in self.metrics]

    def collect(self) -> Iterable[Metric]:
        started = time.perf_counter()
        try:
            with (
                self.engine.connect() as conn,
                conn.begin(),
                time_budget(conn, self.config.time_budget_seconds),
            ):
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
        return self.config.top_n.get(domain.name, domain.open_top_n or 0)


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
