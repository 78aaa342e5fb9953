"""Time a views-mode scrape (collectors.views: business counters derived from the contract
views) with N rows in the views' tables on PostgreSQL.

Builds a throwaway schema with what views mode reads: players, deposits, withdrawals and
PSP callbacks tables behind pw_deposits (a join with players, as the reference platform's),
pw_withdrawals and pw_callbacks, with the indexes migration 0013 adds, filled with
INSERT ... SELECT generate_series over 30 days (60% deposits, 20% withdrawals, 20%
callbacks), VACUUM ANALYZE. Then, on a simulated clock: a first scrape (the watermarks at
"now"), and ``--scrapes`` rounds of one minute of new traffic (``--per-minute`` new
deposits, as many callbacks, a tenth as many withdrawals, and the deposits of the minute
before approved or declined: status changes) followed by one incremental scrape, timed.
Reports p50/p95/max of the incremental scrape and the rows it read. The schema is dropped.

    .venv/bin/python benchmarks/bench_views_scrape.py --rows 10000000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine

from collectors.exporter import create_exporter
from collectors.views import VIEWS_COLLECTORS
from collectors.views.base import ViewsCollector
from ground.clock import FakeClock
from ground.dburl import normalise_url

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
DAYS = 30

SCHEMA = """
CREATE TABLE players (id text PRIMARY KEY, affiliate text, campaign text);
CREATE TABLE deposits (id text PRIMARY KEY, player_id text NOT NULL, geo text NOT NULL,
    brand text NOT NULL, psp text NOT NULL, method text NOT NULL, currency text NOT NULL,
    amount bigint NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL, completed_at timestamptz);
CREATE TABLE withdrawals (id text PRIMARY KEY, player_id text NOT NULL, psp text NOT NULL,
    currency text NOT NULL, amount bigint NOT NULL, status text NOT NULL,
    created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
    completed_at timestamptz);
CREATE TABLE psp_callbacks (id bigint PRIMARY KEY, psp text NOT NULL, outcome text NOT NULL,
    occurred_at timestamptz, received_at timestamptz NOT NULL);
CREATE VIEW pw_deposits AS
    SELECT d.id AS deposit_id, d.player_id, d.geo, d.brand, d.psp, d.method, d.currency,
           d.amount AS amount_minor, d.status, p.affiliate, p.campaign, d.created_at,
           d.updated_at, d.completed_at
    FROM deposits d JOIN players p ON p.id = d.player_id;
CREATE VIEW pw_withdrawals AS
    SELECT w.id AS withdrawal_id, w.player_id, w.psp, w.currency, w.amount AS amount_minor,
           w.status, w.created_at, w.updated_at, w.completed_at
    FROM withdrawals w;
CREATE VIEW pw_callbacks AS
    SELECT c.id AS callback_id, c.psp, c.outcome, c.occurred_at, c.received_at
    FROM psp_callbacks c;
"""
INDEXES = """
CREATE INDEX ix_deposits_updated_id ON deposits (updated_at, id);
CREATE INDEX ix_deposits_created_id ON deposits (created_at, id);
CREATE INDEX ix_deposits_completed_id ON deposits (completed_at, id);
CREATE INDEX ix_withdrawals_updated_id ON withdrawals (updated_at, id);
CREATE INDEX ix_withdrawals_created_id ON withdrawals (created_at, id);
"""
GEOS = "(ARRAY['DE','BR','SE','GB','CA'])[1 + mod(g, 5)]"
PSPS = "(ARRAY['paybridge','nordpay','pixgate','cardstream','trustpay'])[1 + mod(g, 5)]"
STATUS = "(ARRAY['approved','approved','approved','declined','failed'])[1 + mod(g, 5)]"


def fill(conn, rows: int, start: datetime) -> None:
    deposits, withdrawals = rows * 6 // 10, rows * 2 // 10
    callbacks = rows - deposits - withdrawals
    span = DAYS * 86_400
    at = f"TIMESTAMPTZ '{start.isoformat()}' + interval '1 second' * ({span}.0 * g / {{n}})"
    steps = [
        ("players", "INSERT INTO players SELECT 'p' || g, 'aff' || mod(g, 60), 'c' || mod(g, 9) "
                    "FROM generate_series(1, 100000) g"),
        (f"{deposits:,} deposits",
         f"""INSERT INTO deposits SELECT 'd' || g, 'p' || (1 + mod(g, 100000)), {GEOS},
                'pitwatch', {PSPS}, 'card', 'EUR', 1000 + mod(g, 9000), {STATUS},
                {at.format(n=deposits)}, {at.format(n=deposits)} + interval '20 seconds',
                {at.format(n=deposits)} + interval '20 seconds'
             FROM generate_series(1, {deposits}) g"""),
        (f"{withdrawals:,} withdrawals",
         f"""INSERT INTO withdrawals SELECT 'w' || g, 'p' || (1 + mod(g, 100000)), {PSPS},
                'EUR', 5000, 'completed', {at.format(n=withdrawals)},
                {at.format(n=withdrawals)} + interval '1 hour',
                {at.format(n=withdrawals)} + interval '1 hour'
             FROM generate_series(1, {withdrawals}) g"""),
        (f"{callbacks:,} callbacks",
         f"""INSERT INTO psp_callbacks SELECT g, {PSPS}, 'applied',
                {at.format(n=callbacks)} - interval '2 seconds', {at.format(n=callbacks)}
             FROM generate_series(1, {callbacks}) g"""),
        ("indexes", INDEXES),
    ]  # fmt: skip
    for label, sql in steps:
        started = time.perf_counter()
        conn.exec_driver_sql(sql)
        print(f"  fill {label}: {time.perf_counter() - started:.1f} s", file=sys.stderr)


def minute_of_traffic(conn, i: int, per_minute: int, t0: datetime, next_callback: int) -> int:
    """Rows of the minute starting at ``t0``: new deposits (pending), the previous minute's
    deposits approved or declined, callbacks, a few withdrawals. Returns the next callback id."""
    at = f"TIMESTAMPTZ '{t0.isoformat()}' + interval '1 millisecond' * mod(g * 7, 60000)"
    conn.exec_driver_sql(
        f"""INSERT INTO deposits SELECT 'n{i}-' || g, 'p' || (1 + mod(g, 100000)), {GEOS},
               'pitwatch', {PSPS}, 'card', 'EUR', 2500, 'pending', {at}, {at}, NULL
            FROM generate_series(1, {per_minute}) g;
            UPDATE deposits SET status = CASE WHEN mod(length(id), 4) = 0 THEN 'declined'
                                             ELSE 'approved' END,
                   updated_at = updated_at + interval '60 seconds',
                   completed_at = updated_at + interval '60 seconds'
            WHERE updated_at >= TIMESTAMPTZ '{(t0 - timedelta(seconds=60)).isoformat()}'
              AND updated_at < TIMESTAMPTZ '{t0.isoformat()}' AND status = 'pending';
            INSERT INTO psp_callbacks SELECT {next_callback} + g, {PSPS}, 'applied',
               {at} - interval '2 seconds', {at}
            FROM generate_series(0, {per_minute - 1}) g;
            INSERT INTO withdrawals SELECT 'nw{i}-' || g, 'p' || g, {PSPS}, 'EUR', 5000,
               'requested', {at}, {at}, NULL
            FROM generate_series(1, {max(1, per_minute // 10)}) g"""
    )
    return next_callback + per_minute


def explain(engine, collectors) -> None:
    """The plans of the incremental statements at the collectors' current watermarks."""
    from sqlalchemy import text

    from collectors.views.base import Once

    with engine.connect() as conn:
        for collector in collectors:
            if collector.off:
                continue
            for stream in vars(collector).values():
                if not isinstance(stream, Once):
                    continue
                statement = stream.statement
                plan = conn.execute(
                    text("EXPLAIN ANALYZE " + statement.text).bindparams(
                        *statement._bindparams.values()
                    ),
                    {"t": stream.mark.at, "id": stream.mark.id,
                     "cutoff": stream.mark.at + timedelta(minutes=1), "n": 20_000},
                )  # fmt: skip
                print("\n".join(row[0] for row in plan), file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--scrapes", type=int, default=30)
    parser.add_argument("--per-minute", type=int, default=600, help="new deposits a minute")
    parser.add_argument(
        "--database",
        default=os.environ.get("PITWATCH_BENCH_DATABASE_URL", DEFAULT_URL),
        help="PostgreSQL URL (a scratch schema is created and dropped in it)",
    )
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    args = parser.parse_args()
    if args.rows < 100 or args.scrapes < 1 or args.per_minute < 1:
        parser.error("--rows >= 100, --scrapes >= 1 and --per-minute >= 1")
    schema = f"bench_views_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(args.database))
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = normalise_url(args.database)
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        start = now - timedelta(days=DAYS, hours=1)
        print(f"building {args.rows:,} rows over {DAYS} days", file=sys.stderr)
        with engine.begin() as conn:
            conn.exec_driver_sql(SCHEMA)
            fill(conn, args.rows, start)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        clock = FakeClock(now)
        registry, _app = create_exporter(engine, clock=clock, collectors=VIEWS_COLLECTORS)
        collectors = [c for c in registry._collector_to_names if isinstance(c, ViewsCollector)]
        started = time.perf_counter()
        list(registry.collect())
        first = time.perf_counter() - started
        next_callback = args.rows + 1
        seconds, rows = [], []
        settle = timedelta(seconds=ViewsCollector.settle_seconds)
        for i in range(args.scrapes):
            with engine.begin() as conn:
                next_callback = minute_of_traffic(
                    conn, i, args.per_minute, clock.now() - settle, next_callback
                )
            clock.advance(60)
            before = sum(c.rows_read for c in collectors)
            started = time.perf_counter()
            families = list(registry.collect())
            seconds.append(time.perf_counter() - started)
            if args.explain:
                durations = collectors[0].health.snapshot()[1]
                print({k: round(v * 1000, 1) for k, v in durations.items()}, file=sys.stderr)
            rows.append(sum(c.rows_read for c in collectors) - before)
            up = [s.value for f in families for s in f.samples if s.name.endswith("_up")]
            if not up or min(up) != 1:
                print(f"a collector is down at scrape {i}: {up}")
                return 1
        if args.explain:
            explain(engine, collectors)
        ms = sorted(s * 1000 for s in seconds)
        p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
        print(
            f"views-mode scrape over {args.rows:,} rows: first (watermarks at now) "
            f"{first * 1000:.1f} ms; incremental p50 {statistics.median(ms):.1f} ms  "
            f"p95 {p95:.1f} ms  max {ms[-1]:.1f} ms over {len(ms)} scrapes "
            f"(median {statistics.median(rows):,.0f} rows read a scrape)"
        )
        return 0 if statistics.median(ms) < 100 else 1
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
