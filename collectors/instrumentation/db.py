"""Database instrumentation: statement duration from SQLAlchemy engine events, and the
connection pool's checked-out and size gauges from a custom collector (read per scrape)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.metrics_core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event

from collectors.catalog import platform as catalog
from collectors.catalog.labels import DB_STATEMENT
from collectors.instrumentation.registry import PlatformMetrics

_VERBS = tuple(v for v in DB_STATEMENT.values if v != "other")


def statement_verb(statement: str) -> str:
    head = statement.lstrip()[:6].lower()
    for verb in _VERBS:
        if head.startswith(verb):
            return verb
    return "other"


def instrument_engine(engine: Engine, metrics: PlatformMetrics) -> None:
    """Time every statement on this engine; a failed statement is timed too."""
    histogram = metrics[catalog.DB_QUERY_DURATION]
    children = {verb: histogram.labels(verb) for verb in DB_STATEMENT.values}

    # The start time rides on the statement's execution context (one per execution).
    def before(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: Any
    ) -> None:
        if context is not None:
            context.pitwatch_started = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: Any) -> None:
        started = getattr(context, "pitwatch_started", None)
        if started is not None:
            children[statement_verb(statement)].observe(time.perf_counter() - started)

    def failed(exc_context: Any) -> None:
        context = exc_context.execution_context
        started = getattr(context, "pitwatch_started", None)
        if started is not None:
            statement = exc_context.statement or ""
            children[statement_verb(statement)].observe(time.perf_counter() - started)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(engine, "handle_error", failed)
    metrics.registry.register(PoolCollector(engine))


class PoolCollector(Collector):
    """Checked-out connections and pool size, read from the engine's pool per scrape."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def describe(self) -> list[GaugeMetricFamily]:
        return list(self._families(0, 0))

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pool = self._engine.pool
        return self._families(_read(pool, "checkedout"), _read(pool, "size"))

    @staticmethod
    def _families(checked_out: int, size: int) -> Iterator[GaugeMetricFamily]:
        for metric, value in (
            (catalog.DB_POOL_CHECKED_OUT, checked_out),
            (catalog.DB_POOL_SIZE, size),
        ):
            yield GaugeMetricFamily(metric.name, metric.help, value=value)


def _read(pool: Any, name: str) -> int:
    """QueuePool has checkedout() and size(); other pools have less (or a plain int)."""
    value = getattr(pool, name, 0)
    value = value() if callable(value) else value
    return value if isinstance(value, int) else 0
