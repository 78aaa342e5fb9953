"""The reconciliation metrics (collectors/catalog/reconciliation.py), read from the break
ledger and the run records on each scrape, like the state collectors.

Series present at zero: open breaks for every pair and type (psp "none" for the pairs
without a PSP, each configured PSP for wallet ⟷ PSP and clearing residues), the oldest age
for every pair and type, the amount at risk for every currency of the label domain, and
runs for every pair and outcome. Absent until known: the last success timestamp of a pair
that never succeeded (ReconciliationRunStale's absent() depends on it), the duration of a
pair that never ran, the rows of a source no successful run read.

The tables are pitwatch's own state (``database = STATE``: ``Settings.state_url``). A state
database without them yet (a new install, no run so far) reads as one with no runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from prometheus_client.core import Metric
from sqlalchemy import Connection, Engine, func, select

from collectors.catalog import reconciliation as catalog
from collectors.catalog.labels import CURRENCY
from collectors.state.base import (
    STATE,
    Health,
    StateCollector,
    StateConfig,
    age,
    family,
    gauge,
)
from ground.clock import Clock
from ground.money import CURRENCY_EXPONENTS
from ground.relations import missing_views
from ground.vocabulary import DEFAULT_GAME_PROVIDERS, DEFAULT_PSPS
from reconcilers.ledger import SOURCES, recon_breaks, recon_runs, split_pairs

OPEN, OLDEST, AMOUNT, LAST_SUCCESS, DURATION, ROWS, RUNS, LEDGER_CHECK = catalog.METRICS
PAIRS = catalog.PAIR.values
TYPES = catalog.BREAK_TYPE.values


def psps_of(pair: str, kind: str) -> tuple[str, ...]:
    """The psp label values a pair and type has at zero (the game providers for wallet ⟷
    game provider)."""
    if pair == "wallet_psp" or kind == "clearing_residue":  # clearing accounts are per PSP
        return DEFAULT_PSPS
    if pair == "wallet_game_provider":
        return DEFAULT_GAME_PROVIDERS or ("none",)
    return ("none",)


def major(amount_minor: int, currency: str) -> float:
    """Minor units to major units (ISO 4217 exponent); the float only at exposition."""
    return float(Decimal(amount_minor).scaleb(-CURRENCY_EXPONENTS[currency]))


class ReconciliationCollector(StateCollector):
    """pitwatch_reconciliation_*: open breaks, ages, amount at risk, runs."""

    name = "reconciliation"
    metrics = catalog.METRICS
    database = STATE

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        config: StateConfig | None = None,
        health: Health | None = None,
    ) -> None:
        super().__init__(engine, clock, config or StateConfig(), health or Health([self.name]))
        self._tables = False  # the ledger's tables were there at a scrape (they stay)

    def query(self, conn: Connection, now: datetime) -> Iterable[Metric]:
        if not self._tables:
            self._tables = not missing_views(conn, (recon_breaks.name, recon_runs.name))
        if not self._tables:  # nothing ran yet: every series at zero, the rest absent
            yield from self.breaks_and_runs_absent()
            return
        yield from self.breaks(conn, now)
        yield self.amount_at_risk(conn)
        yield from self.runs(conn)

    def breaks_and_runs_absent(self) -> Iterable[Metric]:
        """What a ledger without a break or a run reports."""
        open_family, oldest_family = gauge(OPEN), gauge(OLDEST)
        for pair in PAIRS:
            for kind in TYPES:
                for psp in psps_of(pair, kind):
                    open_family.add_metric([pair, kind, psp], 0.0)
                oldest_family.add_metric([pair, kind], 0.0)
        amount = gauge(AMOUNT)
        for currency in CURRENCY.values:
            amount.add_metric([currency], 0.0)
        runs = family(RUNS)
        for pair in PAIRS:
            for outcome in catalog.RUN_OUTCOME.values:
                runs.add_metric([pair, outcome], 0.0)
        absent = [gauge(LAST_SUCCESS), gauge(DURATION), gauge(ROWS)]
        return [open_family, oldest_family, amount, runs, *absent]

    def breaks(self, conn: Connection, now: datetime) -> Iterable[Metric]:
        b = recon_breaks.c
        counts = {(p, t, psp): 0.0 for p in PAIRS for t in TYPES for psp in psps_of(p, t)}
        oldest = {(p, t): 0.0 for p in PAIRS for t in TYPES}
        rows = conn.execute(
            select(b.pair, b.type, b.psp, func.count(), func.min(b.first_seen_at))
            .where(b.status == "open")
            .group_by(b.pair, b.type, b.psp)
        )
        for pair, kind, psp, n, first_seen in rows:
            # invalid_record (no label value of its own) and unknown values fold into other.
            pt = (catalog.PAIR.bound(pair), catalog.BREAK_TYPE.bound(kind))
            key = (*pt, catalog.RECON_PSP.bound(psp))
            counts[key] = counts.get(key, 0.0) + n
            oldest[pt] = max(oldest.get(pt, 0.0), age(now, first_seen))
        open_family, oldest_family = gauge(OPEN), gauge(OLDEST)
        for labels, n in sorted(counts.items()):
            open_family.add_metric(list(labels), n)
        for pair_type, seconds in sorted(oldest.items()):
            oldest_family.add_metric(list(pair_type), seconds)
        return open_family, oldest_family

    def amount_at_risk(self, conn: Connection) -> Metric:
        b = recon_breaks.c
        totals = {currency: 0.0 for currency in CURRENCY.values}
        rows = conn.execute(
            select(b.currency, func.sum(b.amount_at_risk_minor))
            .where(b.status == "open", b.amount_at_risk_minor.is_not(None))
            .group_by(b.currency)
        )
        for currency, total in rows:
            # Without an ISO exponent (an invalid record's unreadable currency) there is no
            # major amount to add; the break itself still counts in open_breaks.
            if currency in CURRENCY_EXPONENTS and total is not None:
                label = CURRENCY.bound(currency)
                totals[label] += major(int(total), currency)
        fam = gauge(AMOUNT)
        for currency, amount in totals.items():
            fam.add_metric([currency], amount)
        return fam

    def runs(self, conn: Connection) -> Iterable[Metric]:
        r = recon_runs.c
        counts = {(p, o): 0.0 for p in PAIRS for o in catalog.RUN_OUTCOME.values}
        last_success: dict[str, float] = {}
        last_run: dict[str, tuple[int, float]] = {}
        groups = conn.execute(
            select(r.pairs, r.outcome, func.count(), func.max(r.finished_at), func.max(r.run_id))
            .where(r.outcome.in_(catalog.RUN_OUTCOME.values))
            .group_by(r.pairs, r.outcome)
        ).all()
        latest_ids = {row[4] for row in groups}
        durations = {
            run_id: seconds
            for run_id, seconds in conn.execute(
                select(r.run_id, r.duration_seconds).where(r.run_id.in_(sorted(latest_ids)))
            )
        }
        for pairs, outcome, n, finished_at, run_id in groups:
            for pair in split_pairs(pairs):
                if pair not in PAIRS:
                    continue
                counts[pair, outcome] += n
                if outcome == "success" and finished_at is not None:
                    stamp = finished_at.timestamp()
                    last_success[pair] = max(last_success.get(pair, stamp), stamp)
                if run_id > last_run.get(pair, (-1, 0.0))[0]:
                    last_run[pair] = (run_id, float(durations.get(run_id) or 0.0))
        runs_family, success, duration = family(RUNS), gauge(LAST_SUCCESS), gauge(DURATION)
        for (pair, outcome), n in counts.items():
            runs_family.add_metric([pair, outcome], n)
        for pair in PAIRS:
            if pair in last_success:
                success.add_metric([pair], last_success[pair])
            if pair in last_run:
                duration.add_metric([pair], last_run[pair][1])
        yield runs_family
        yield success
        yield duration
        yield self.rows_read(conn)
        yield self.ledger_check(conn)

    def ledger_check(self, conn: Connection) -> Metric:
        """Per kind, the violations of the last successful full ledger check (its breaks:
        every one it found, up to its limit)."""
        r = recon_runs.c
        fam = gauge(LEDGER_CHECK)
        last = conn.execute(
            select(r.breaks_by_type)
            .where(r.outcome == "success", r.pairs == "ledger")
            .order_by(r.run_id.desc())
            .limit(1)
        ).first()
        if last is not None:
            by_type = json.loads(last[0] or "{}")
            for kind in catalog.LEDGER_CHECK_KIND.values:
                fam.add_metric([kind], float(by_type.get(kind, 0)))
        return fam

    def rows_read(self, conn: Connection) -> Metric:
        """Per source, the rows of the last successful run that read it."""
        r = recon_runs.c
        fam = gauge(ROWS)
        for source in SOURCES:
            column = r[f"rows_{source}"]
            value = conn.execute(
                select(column)
                .where(r.outcome == "success", column.is_not(None))
                .order_by(r.run_id.desc())
                .limit(1)
            ).scalar_one_or_none()
            if value is not None:
                fam.add_metric([source], float(value))
        return fam


# What the reconcilers add to the state exporter: their break ledger and run records are
# state too (recon_* tables). pitwatch.state hands them to collectors.exporter.
COLLECTORS: tuple[type[StateCollector], ...] = (ReconciliationCollector,)
