"""What every views-mode collector shares: cumulative counters and histograms kept in the
exporter, fed from the contract views through a watermark per view.

Views mode (``pitwatch collect serve --views-mode``, docs/metrics.md) derives the business
counters the platform's instrumentation would export (``collectors.catalog.platform``:
same names, types, labels and buckets) from the ``pw_*`` views, so that every rule and
dashboard works unchanged on a platform that exports nothing of its own.

How a view is read (docs/metrics.md, "Views mode"):

* a watermark per view: ``(updated_at, id)`` for rows that change status (deposits,
  withdrawals), the row id for append-only ones (callbacks); index-backed range scans in
  watermark order;
* at most ``batch_rows`` rows per view per scrape (the rest next scrape: a backlog shows as
  a burst, never as a slow scrape);
* only rows older than ``settle_seconds`` (a row committed late with an earlier timestamp
  or id than one already read would otherwise be skipped for ever): the delay the
  derivation adds, on top of the scrape interval;
* counters start at 0 from the first scrape ("now"; history is not replayed): after an
  exporter restart they start again at 0, which ``rate()``/``increase()`` treat as a
  counter reset, so the rules lose nothing but the rows of the restart's own gap;
* each replica counts every row: two replicas scraped into one Prometheus would double
  every ``sum by (...)``. Run one views-mode exporter per Prometheus (an HA pair of
  Prometheus servers each scrapes its own replica, and both replicas report the same
  values for the rows both have read).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prometheus_client.core import HistogramMetricFamily, Metric
from sqlalchemy import Connection, bindparam, text

from collectors.catalog import base as catalog
from collectors.catalog.base import OTHER, LabelDomain
from collectors.state.base import StateCollector, as_utc, counter
from ground.sqltypes import UTCDateTime

Labels = tuple[str, ...]


@dataclass(frozen=True)
class Mark:
    """A watermark: the last (time, id) read of a view, in the view's order."""

    at: datetime
    id: Any


class FirstSeen:
    """An open label domain (brand, affiliate, campaign): the first N values seen keep
    their name, the rest are ``other`` (as the platform's instrumentation does)."""

    def __init__(self, domain: LabelDomain, n: int) -> None:
        self.domain, self.n = domain, n
        self.seen: set[str] = set()
        # An operator configuration that lists the values (issue 19 §1): exactly those.
        self.configured = frozenset(getattr(domain, "configured", ()) or ())

    def __call__(self, value: str | None) -> str:
        if value is None or value == "":
            return OTHER
        if self.configured:
            return value if value in self.configured else OTHER
        if value in self.seen:
            return value
        if len(self.seen) >= self.n or not value.isprintable() or len(value) > 64:
            return OTHER
        self.seen.add(value)
        return value


class Counters:
    """Cumulative values of counters and histograms, per label values."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[Labels, float]] = {}
        self.hists: dict[str, dict[Labels, list[float]]] = {}  # bucket counts..., sum

    def zero(self, metric: catalog.Metric, labels: Labels) -> None:
        if metric.type == "histogram":
            assert metric.buckets is not None
            self.hists.setdefault(metric.name, {}).setdefault(
                labels, [0.0] * (len(metric.buckets) + 2)
            )
        else:
            self.counts.setdefault(metric.name, {}).setdefault(labels, 0.0)

    def inc(self, metric: catalog.Metric, labels: Labels, by: float = 1.0) -> None:
        series = self.counts.setdefault(metric.name, {})
        series[labels] = series.get(labels, 0.0) + by

    def observe(self, metric: catalog.Metric, labels: Labels, value: float) -> None:
        assert metric.buckets is not None
        self.zero(metric, labels)
        cells = self.hists[metric.name][labels]
        for i, le in enumerate(metric.buckets):
            if value <= le:
                cells[i] += 1
        cells[-2] += 1  # +Inf, the count
        cells[-1] += value

    def families(self, metrics: Sequence[catalog.Metric]) -> Iterable[Metric]:
        for metric in metrics:
            if metric.type == "histogram":
                assert metric.buckets is not None
                fam = HistogramMetricFamily(
                    metric.name, metric.help, labels=list(metric.label_names)
                )
                for labels, cells in sorted(self.hists.get(metric.name, {}).items()):
                    buckets = [(str(le), cells[i]) for i, le in enumerate(metric.buckets)]
                    buckets.append(("+Inf", cells[-2]))
                    fam.add_metric(list(labels), buckets, cells[-1])
                yield fam
            else:
                cf = counter(metric)
                for labels, value in sorted(self.counts.get(metric.name, {}).items()):
                    cf.add_metric(list(labels), value)
                yield cf


def seconds_between(start: Any, end: Any) -> float | None:
    a, b = as_utc(start), as_utc(end)
    if a is None or b is None:
        return None
    return max(0.0, (b - a).total_seconds())


class ViewsCollector(StateCollector):
    """Base of the views-mode collectors: ``advance`` reads what is new in the views since
    the watermarks and adds it to ``self.counters``; ``metrics`` are exported from them.
    A failed scrape (the database is down, the time budget ran out) changes no watermark
    and no count: the next scrape reads the same rows again."""

    settle_seconds: float = 10.0
    batch_rows: int = 20_000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counters = Counters()
        self._lock = threading.Lock()  # two scrapes at once read one after the other
        self.started: datetime | None = None
        self.rows_read = 0  # rows read over the exporter's life (tests, the benchmark)
        self.zero_init()

    def collect(self) -> Iterable[Metric]:
        """This scrape's counters; after a failed scrape (up 0, the reason logged) the
        counters as they were, so that a database that is away for a scrape leaves no gap
        in the series (and no false "stopped" alert)."""
        families = list(super().collect())
        if families or self.off or self.started is None:
            return families
        with self._lock:
            return list(self.counters.families(self.metrics))

    def zero_init(self) -> None:
        """Create at zero the series of the fixed label domains (overridden)."""

    def cutoff(self, now: datetime) -> datetime:
        return now - timedelta(seconds=self.settle_seconds)

    def query(self, conn: Connection, now: datetime) -> Iterable[Metric]:
        with self._lock:
            if self.started is None:
                self.start(conn, now)
                self.started = now
            else:
                self.advance(conn, now)
            return list(self.counters.families(self.metrics))

    def start(self, conn: Connection, now: datetime) -> None:
        """Set the watermarks at ``now`` (counters start at 0; overridden)."""

    def advance(self, conn: Connection, now: datetime) -> None:
        raise NotImplementedError


def once_statement(sql: str) -> Any:
    """A statement of a ``Once`` view: ``row_id``, ``row_at`` and the columns counted, with
    the parameters ``t`` and ``cutoff`` (timestamps), ``id`` and ``n``."""
    return text(sql).bindparams(
        bindparam("t", type_=UTCDateTime),
        bindparam("cutoff", type_=UTCDateTime),
        bindparam("id"),
        bindparam("n"),
    )


class Once:
    """A view whose rows are read once, in ``(at, id)`` order past a watermark, where
    ``at`` never changes (a creation or placement time). ``statement`` selects ``row_id``
    and ``row_at`` with the parameters ``t``, ``id``, ``cutoff`` and ``n``.

    The first watermark's id is NULL, not a "smallest id": ids are text or integers
    (docs/contract-views.md), and no one value compares with both (PostgreSQL refuses
    ``bigint > ''``). A row comparison ``(at, id) > (:t, NULL)`` is true for every later
    ``at`` and unknown (not read) at ``:t`` itself, which is before the start: history."""

    def __init__(self, statement: Any, start: datetime) -> None:
        self.statement = statement
        self.mark = Mark(start, None)

    def read(self, conn: Connection, cutoff: datetime, n: int) -> Sequence[Any]:
        params = {"t": self.mark.at, "id": self.mark.id, "cutoff": cutoff, "n": n}
        rows = conn.execute(self.statement, params).all()
        if rows:
            last = as_utc(rows[-1].row_at)
            assert last is not None
            self.mark = Mark(last, rows[-1].row_id)
        return rows


class Appended:
    """An append-only view read by its increasing integer id, up to the first row younger
    than the cutoff. ``statement`` selects ``row_id`` and ``row_at`` (parameters ``id``,
    ``n``); ``last`` the largest id (where the first scrape starts)."""

    def __init__(self, statement: Any, last: Any, conn: Connection) -> None:
        self.statement = statement
        self.last_id = conn.execute(last).scalar() or 0

    def read(self, conn: Connection, cutoff: datetime, n: int) -> list[Any]:
        out = []
        for row in conn.execute(self.statement, {"id": self.last_id, "n": n}):
            at = as_utc(row.row_at)
            if at is None or at > cutoff:
                break
            out.append(row)
            self.last_id = row.row_id
        return out
