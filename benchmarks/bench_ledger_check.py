"""Time the full ledger check (reconcilers.ledger_check.check_ledger) over N ledger entries
on PostgreSQL, and its peak memory.

Builds a throwaway schema holding only what the check reads: a ledger table and an account
table behind the two views ``pw_ledger_entries`` and ``pw_balances`` (not the platform),
filled with INSERT ... SELECT generate_series: N entries in N/2 transactions of two legs
(a player account and a house account), player balances equal to their entries, then one
planted unbalanced transaction and one tampered balance, VACUUM ANALYZE. Times the check
(which must find exactly the two plants) and reports the Python process's peak RSS; the
database's own memory is PostgreSQL's (work_mem per sort/hash). The schema is dropped.

    .venv/bin/python benchmarks/bench_ledger_check.py --entries 10000000
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import uuid

from sqlalchemy import create_engine, text

from ground.dburl import normalise_url
from reconcilers.ledger_check import check_ledger

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def fill(conn, entries: int, players: int) -> None:
    txs = entries // 2
    steps = [
        (
            "accounts",
            f"""INSERT INTO accounts (account_id, owner, kind, currency, balance)
                SELECT g, 'p' || g, 'cash', 'EUR', 0 FROM generate_series(1, {players}) g
                UNION ALL SELECT {players} + 1, 'house', 'psp_clearing', 'EUR', 0""",
        ),
        (
            f"{entries:,} entries",
            f"""INSERT INTO ledger (entry_id, transaction_id, account_id, currency, amount,
                                    created_at)
                SELECT 2 * t - 1 + leg, 'tx-' || t,
                       CASE WHEN leg = 0 THEN 1 + mod(t, {players}) ELSE {players} + 1 END,
                       'EUR', CASE WHEN leg = 0 THEN 1 + mod(t, 9973) ELSE -(1 + mod(t, 9973)) END,
                       now() - interval '1 second' * ({txs} - t)
                FROM generate_series(1, {txs}) t, generate_series(0, 1) leg""",
        ),
        (
            "player balances",
            """UPDATE accounts a SET balance = s.total
               FROM (SELECT account_id, SUM(amount) AS total FROM ledger
                     GROUP BY account_id) s
               WHERE s.account_id = a.account_id AND a.owner <> 'house'""",
        ),
        (
            "plants",
            f"""INSERT INTO ledger VALUES ({entries + 1}, 'tx-1', {players} + 1, 'EUR', 7, now());
                UPDATE accounts SET balance = balance + 5 WHERE account_id = 2""",
        ),
    ]
    for label, sql in steps:
        started = time.perf_counter()
        conn.exec_driver_sql(sql)
        print(f"  fill {label}: {time.perf_counter() - started:.1f} s", file=sys.stderr)


SCHEMA = """
CREATE TABLE accounts (account_id integer PRIMARY KEY, owner text NOT NULL,
                       kind text NOT NULL, currency text NOT NULL, balance bigint NOT NULL);
CREATE TABLE ledger (entry_id bigint PRIMARY KEY, transaction_id text NOT NULL,
                     account_id integer NOT NULL, currency text NOT NULL,
                     amount bigint NOT NULL, created_at timestamptz NOT NULL);
CREATE VIEW pw_ledger_entries AS
    SELECT e.entry_id, e.transaction_id, e.account_id, a.owner AS account_owner,
           a.kind AS account_kind, e.currency, e.amount AS amount_minor, e.created_at
    FROM ledger e JOIN accounts a ON a.account_id = e.account_id;
CREATE VIEW pw_balances AS
    SELECT account_id, owner AS account_owner, kind AS account_kind, currency,
           balance AS balance_minor FROM accounts;
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--players", type=int, default=0, help="default: entries / 50")
    parser.add_argument(
        "--database",
        default=os.environ.get("PITWATCH_BENCH_DATABASE_URL", DEFAULT_URL),
        help="PostgreSQL URL (a scratch schema is created and dropped in it)",
    )
    args = parser.parse_args()
    if args.entries < 4:
        parser.error("--entries must be at least 4")
    players = args.players or max(100, args.entries // 50)
    schema = f"bench_ledger_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(args.database))
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine = create_engine(
        normalise_url(args.database), connect_args={"options": f"-csearch_path={schema}"}
    )
    try:
        print(f"building {args.entries:,} entries, {players:,} players", file=sys.stderr)
        with engine.begin() as conn:
            conn.exec_driver_sql(SCHEMA)
            fill(conn, args.entries, players)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with engine.connect() as conn:
            work_mem = conn.execute(text("SHOW work_mem")).scalar_one()
            started = time.perf_counter()
            check = check_ledger(conn)
            seconds = time.perf_counter() - started
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        found = (check.unbalanced_count, check.mismatch_count)
        print(f"full ledger check: {check.summary()}")
        print(
            f"entries {check.entries:,}  time {seconds:.1f} s  "
            f"({check.entries / seconds:,.0f} entries/s)  python peak RSS {rss / 1024:.0f} MiB "
            f"(before the check {rss_before / 1024:.0f} MiB)  PostgreSQL work_mem {work_mem}"
        )
        if found != (1, 1):
            print(f"expected 1 unbalanced transaction and 1 mismatch, found {found}")
            return 1
        return 0
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
