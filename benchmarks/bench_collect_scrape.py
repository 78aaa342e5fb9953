"""Time the state exporter's scrape over a big PostgreSQL database.

Fills the tables behind the contract views of a throwaway schema with --rows rows in all
(INSERT ... SELECT generate_series; most rows old and settled, a few thousand open or
pending), VACUUM ANALYZE, then times --scrapes full scrapes (every state collector).
Target: p50 and max under 250 ms.

    .venv/bin/python benchmarks/bench_collect_scrape.py --rows 1000000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid

from prometheus_client import generate_latest
from sqlalchemy import create_engine, text

from collectors.exporter import create_exporter
from collectors.state import COLLECTORS
from ground.clock import SystemClock
from ground.dburl import normalise_url
from igaming.db import make_engine
from igaming.migrate import upgrade_engine
from pitwatch.state import STATE_COLLECTORS

OPEN = 2_000  # open / pending rows of each kind, whatever --rows


def fill_statements(rows: int) -> list[tuple[str, str]]:
    """(label, SQL) filling every table behind the views; about ``rows`` rows in all."""
    players = max(1_000, rows // 50)
    txs = rows // 5  # two ledger entries each
    deps = rows // 10
    wds = rows // 100
    fixtures = max(100, rows // 1_000)
    bets = rows // 10
    ftds = rows // 100
    outbox = rows // 10
    ago = "now() - interval '30 days' + (i % 2000000) * interval '1 second'"
    return [
        (
            f"players {players:,}",
            f"""INSERT INTO players (id, email, password_hash, country, currency,
                date_of_birth, brand, status, kyc_status, affiliate, campaign, created_at)
            SELECT 'p' || i, 'p' || i || '@example.com', 'x', 'DE', 'EUR', '1990-01-01',
                'main', 'active',
                CASE WHEN i % 500 = 0 THEN 'manual_review' ELSE 'approved' END,
                'aff' || (i % 80), 'camp' || (i % 7), {ago}
            FROM generate_series(1, {players}) i""",
        ),
        (
            f"accounts {players:,}",
            f"""INSERT INTO accounts (id, owner, kind, currency, psp, balance, created_at)
            SELECT i, 'p' || i, 'cash', 'EUR', '', 0, now() - interval '30 days'
            FROM generate_series(1, {players}) i;
            INSERT INTO accounts (id, owner, kind, currency, psp, balance, created_at)
            VALUES ({players} + 1, 'house', 'psp_clearing', 'EUR', 'paybridge', 0, now())""",
        ),
        (
            f"wallet_transactions {txs:,}",
            f"""INSERT INTO wallet_transactions (id, type, status, player_id, currency, amount,
                idempotency_key, request_hash, flagged, created_at, updated_at, details)
            SELECT 'tx' || i, 'deposit', 'completed', 'p' || (i % {players} + 1), 'EUR',
                1000 + i % 5000, 'k' || i, 'h', false, {ago}, {ago}, '{{}}'
            FROM generate_series(1, {txs}) i""",
        ),
        (
            f"ledger_entries {2 * txs:,}",
            f"""INSERT INTO ledger_entries (transaction_id, account_id, amount, currency,
                created_at)
            SELECT 'tx' || i, CASE WHEN leg = 1 THEN i % {players} + 1 ELSE {players} + 1 END,
                CASE WHEN leg = 1 THEN 1000 + i % 5000 ELSE -(1000 + i % 5000) END, 'EUR', {ago}
            FROM generate_series(1, {txs}) i, generate_series(1, 2) leg ORDER BY i, leg;
            UPDATE accounts a SET balance = s.total FROM (SELECT account_id, SUM(amount) total
                FROM ledger_entries GROUP BY account_id) s
            WHERE a.id = s.account_id AND a.owner <> 'house'""",
        ),
        (
            f"deposits {deps:,}",
            f"""INSERT INTO deposits (id, player_id, psp, method, geo, brand, amount, currency,
                status, first_deposit, created_at, updated_at, completed_at)
            SELECT 'tx' || i, 'p' || (i % {players} + 1),
                (ARRAY['paybridge','stripeish','pixpay'])[i % 3 + 1], 'card', 'DE', 'main',
                1000, 'EUR', CASE WHEN i > {deps - OPEN} THEN 'pending' ELSE 'approved' END,
                false,
                CASE WHEN i > {deps - OPEN} THEN now() - (i % 60) * interval '1 minute'
                     ELSE {ago} END, now(), NULL
            FROM generate_series(1, {deps}) i""",
        ),
        (
            f"withdrawals {wds:,}",
            f"""INSERT INTO withdrawals (id, player_id, psp, method, geo, brand, amount,
                currency, status, created_at, updated_at)
            SELECT 'tx' || ({deps} + i), 'p' || (i % {players} + 1), 'paybridge', 'card',
                'DE', 'main', 1000, 'EUR',
                CASE WHEN i > {wds} - 200 THEN 'processing' ELSE 'completed' END,
                CASE WHEN i > {wds} - 200 THEN now() - (i % 48) * interval '1 hour'
                     ELSE {ago} END, now()
            FROM generate_series(1, {wds}) i""",
        ),
        (
            f"fixtures {fixtures:,}, markets and selections",
            f"""INSERT INTO sb_fixtures (id, sport, competition, home, away, starts_at,
                created_at, updated_at)
            SELECT 'f' || i, (ARRAY['football','tennis','basketball'])[i % 3 + 1], 'L', 'H',
                'A', CASE WHEN i > {fixtures} - 50 THEN now() + (i % 50 - 25) * interval '1 hour'
                          ELSE {ago} END, now(), now()
            FROM generate_series(1, {fixtures}) i;
            INSERT INTO sb_markets (id, fixture_id, type, status, feed_sequence,
                settle_sequence, odds_updated_at, generation, result_at, settled_at,
                created_at, updated_at)
            SELECT 'm' || i, 'f' || i, 'match_result',
                CASE WHEN i > {fixtures} - 50 THEN 'active' ELSE 'settled' END, 1, 1,
                now() - (i % 300) * interval '1 second', 1,
                CASE WHEN i > {fixtures} - 50 THEN NULL ELSE now() - interval '1 day' END,
                CASE WHEN i > {fixtures} - 50 THEN NULL ELSE now() - interval '1 day' END,
                now(), now()
            FROM generate_series(1, {fixtures}) i;
            INSERT INTO sb_selections (id, market_id, name, odds_milli, updated_at)
            SELECT 's' || i, 'm' || i, 'Home', 2000, now()
            FROM generate_series(1, {fixtures}) i""",
        ),
        (
            f"bets {bets:,}",
            f"""INSERT INTO sb_bets (id, player_id, idempotency_key, request_hash,
                selection_id, market_id, sport, stake, currency, requested_odds_milli,
                odds_milli, potential_payout, status, placed_at, updated_at)
            SELECT 'b' || i, 'p' || (i % {players} + 1), 'k' || i, 'h',
                's' || f, 'm' || f, 'football', 1000, 'EUR', 2000, 2000, 2000,
                CASE WHEN i > {bets - OPEN} THEN 'accepted' ELSE 'settled_lost' END,
                {ago}, now()
            FROM (SELECT i, CASE WHEN i > {bets - OPEN} THEN {fixtures} - (i % 50)
                                 ELSE i % ({fixtures} - 50) + 1 END AS f
                  FROM generate_series(1, {bets}) i) g""",
        ),
        (
            f"ftd conversions and postbacks {2 * ftds:,}",
            f"""INSERT INTO affiliate_conversions (id, dedupe_key, type, state, affiliate,
                campaign, player_id, player_ref, amount, attribution_flagged, occurred_at,
                created_at, updated_at, qualified_at)
            SELECT 'c' || i, 'ftd:' || i, 'ftd', 'approved', 'aff' || (i % 80),
                'camp' || (i % 7), 'p' || i, 'r' || i, 2500, false, {ago}, {ago}, {ago},
                CASE WHEN i > {ftds} - 200 THEN now() - (i % 120) * interval '1 minute'
                     ELSE {ago} END
            FROM generate_series(1, {ftds}) i;
            INSERT INTO postback_jobs (dedupe_key, affiliate, campaign, event, conversion_id,
                url, status, attempts, max_attempts, created_at, delivered_at)
            SELECT 'aff:ftd:' || i, 'aff' || (i % 80), 'camp' || (i % 7), 'ftd', 'c' || i,
                'http://x', CASE WHEN i > {ftds} - 200 THEN 'pending'
                                 WHEN i % 1000 = 0 THEN 'dead_letter' ELSE 'delivered' END,
                1, 6, {ago}, {ago}
            FROM generate_series(1, {ftds}) i""",
        ),
        (
            f"outbox {outbox:,}",
            f"""INSERT INTO outbox (event_id, event_type, payload, occurred_at, published_at)
            SELECT md5(i::text), 'deposit.approved', '{{}}', {ago}, NULL
            FROM generate_series(1, {outbox}) i;
            INSERT INTO outbox_cursors (consumer, last_id, updated_at)
            VALUES ('affiliates', {outbox} - 50, now())""",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows in all (10M)")
    parser.add_argument("--scrapes", type=int, default=20, help="timed scrapes (20)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("PITWATCH_BENCH_DATABASE_URL")
        or os.environ.get("PITWATCH_TEST_DATABASE_URL")
        or "postgresql://postgres@127.0.0.1:5432/test",
        help="PostgreSQL server; a throwaway schema is created and dropped (default: "
        "$PITWATCH_BENCH_DATABASE_URL, $PITWATCH_TEST_DATABASE_URL, or the local server)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    args = parser.parse_args(argv)
    if not args.database_url.startswith("postgres"):
        parser.error("a PostgreSQL --database-url is needed")
    schema = f"pwbench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(args.database_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(args.database_url, schema=schema)
    try:
        print(f"schema {schema}: migrating", flush=True)
        upgrade_engine(engine)
        started = time.perf_counter()
        for label, sql in fill_statements(args.rows):
            t0 = time.perf_counter()
            with engine.begin() as conn:
                for statement in sql.split(";"):
                    conn.execute(text(statement))
            print(f"  filled {label} in {time.perf_counter() - t0:.1f} s", flush=True)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            t0 = time.perf_counter()
            conn.execute(text("VACUUM ANALYZE"))
            total = conn.execute(
                text("SELECT SUM(n_live_tup) FROM pg_stat_user_tables WHERE schemaname = :s"),
                {"s": schema},
            ).scalar_one()
        print(f"  VACUUM ANALYZE {time.perf_counter() - t0:.1f} s; {total:,} rows "
              f"(fill {time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip

        registry, _app = create_exporter(engine, SystemClock(), collectors=STATE_COLLECTORS)
        t0 = time.perf_counter()
        generate_latest(registry)
        print(f"first scrape (ledger watermark set up): {1000 * (time.perf_counter() - t0):.0f} ms")
        times = []
        for i in range(args.scrapes):
            t0 = time.perf_counter()
            body = generate_latest(registry).decode()
            times.append(time.perf_counter() - t0)
            print(f"\r  scrape {i + 1}/{args.scrapes}", end="", flush=True)
        print()
        down = [n for n in (c.name for c in COLLECTORS) if f'up{{collector="{n}"}} 1.0' not in body]
        per = {
            c.name: registry.get_sample_value(
                "pitwatch_collector_duration_seconds", {"collector": c.name}
            )
            for c in COLLECTORS
        }
        p50, worst = statistics.median(times) * 1000, max(times) * 1000
        print(f"scrape over {total:,} rows: p50 {p50:.1f} ms, max {worst:.1f} ms "
              f"(target < 250 ms): {'OK' if worst < 250 else 'OVER'}")  # fmt: skip
        print("last scrape per collector (ms): "
              + ", ".join(f"{k} {1000 * (v or 0):.1f}" for k, v in per.items()))  # fmt: skip
        if down:
            print(f"collectors down: {down}", file=sys.stderr)
            return 1
        return 0
    finally:
        engine.dispose()
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
