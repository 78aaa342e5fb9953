"""A reconciliation day at scale: 10M wallet movements, 10M PSP settlement rows and 1M
affiliate conversions, with a known set of planted breaks.

    .venv/bin/python benchmarks/bench_recon.py                 # full scale (make bench-recon)
    .venv/bin/python benchmarks/bench_recon.py --scale 0.1     # a quick run
    .venv/bin/python benchmarks/bench_recon.py --skip-db       # wallet frames fed directly
    .venv/bin/python benchmarks/bench_recon.py --provider-rows 10000000 30000000
        # wallet ⟷ game provider, out of core (make bench-recon-games; bench_recon_games.py)

Generation (not timed) runs in a child process, so that its memory is not the run's: DuckDB
builds the day deterministically from ``--seed`` (hashes of row numbers, no Python loop per
row) and writes one settlement CSV per PSP (docs/psp-settlement-report.md), the affiliate
export (docs/affiliate-conversions-export.md) and the wallet. The wallet goes into a fresh
PostgreSQL schema migrated with the real migrations (``igaming.migrate.upgrade_engine``),
so the run reads the real ``pw_*`` views; the bulk tables lose their constraints and
indexes before ``COPY`` (the reading query scans them whole either way) and are
``VACUUM (FREEZE, ANALYZE)``-ed after it. Only what the views need is written: deposits and
payouts, the chargeback and reversal transactions with their PSP clearing entries (no
player cash legs, no stakes or wins), orphan callbacks, FTD conversions and their postback
jobs. With ``--skip-db`` the same wallet frames are read from Parquet before the run and
fed directly (``RunOptions.wallet``), and the break ledger is a temporary SQLite database.
The wallet-internal pair (balances, clearing residue) runs, as in every run, but its breaks
are not checked: this ledger holds only the clearing legs of status movements, so every
PSP's clearing shows a residue.

Planted (``--breaks`` of each): missing_at_psp, missing_in_wallet, amount_mismatch,
currency_mismatch, status_mismatch, duplicate_at_psp, duplicate_in_wallet,
orphan_callback, missing_postback, phantom_conversion, duplicate_conversion. The breaks the
matchers return are compared with them by (pair, type, PSP, reference).

The timed run is ``reconcilers.run.reconcile_day`` itself, each of its phases timed through
``RunOptions.phase``: record the run, read the PSP reports, the wallet (views) and the
affiliate export, match wallet ⟷ PSP, check the wallet internally, match wallet ⟷
affiliate, apply the breaks to the ledger, write the CSV and HTML reports. Then, over the
same frames read again (not timed), the reference: a bare DuckDB hash join of
the same keys (``--join-repeats`` times, median), compared with the matching step repeated
as often (median; the run's own, first, matching also pays for first-touch memory, and is
shown beside it). Peak memory: VmHWM reset at the start of
the run (``/proc/self/clear_refs``) and a sampling thread (per step). Targets (the issue):
matching within 2x the bare join, the whole run under 90 s, exactly the planted breaks,
peak RSS under 8 GB. A measurement: it exits 0 whatever the figures.
"""

from __future__ import annotations

import _thread
import argparse
import contextlib
import json
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from sqlalchemy import Engine, create_engine, text

from ground.dburl import normalise_url
from igaming.db import make_engine
from igaming.migrate import upgrade_engine
from reconcilers import frames

DEFAULT_URL = (
    os.environ.get("PITWATCH_BENCH_DATABASE_URL")
    or os.environ.get("PITWATCH_TEST_DATABASE_URL")
    or "postgresql://postgres@127.0.0.1:5432/test"
)
PSPS = ("paybridge", "nordpay", "ewallo", "pixgate")  # ground.vocabulary.DEFAULT_PSPS
CURRENCIES = ("EUR", "GBP", "SEK", "NOK", "JPY")  # JPY has no decimals
AFF_CURRENCIES = ("EUR", "GBP", "SEK")
DAY = date(2026, 11, 2)
NOW = datetime(2026, 11, 5, 6, 0, tzinfo=UTC)  # past every settlement window and grace
SETTLEMENT_WINDOW = timedelta(hours=48)
POSTBACK_GRACE = timedelta(hours=6)
MOVEMENTS, CONVERSIONS = 10_000_000, 1_000_000  # at --scale 1
# Shares of the movements; the rest are approved deposits (settled).
SHARES = {"payout": 0.10, "chargeback": 0.01, "refunded": 0.006, "chargeback_reversed": 0.004}

# Planted on approved deposits of the day; duplicate_in_wallet on chargebacks.
PSP_PLANTS = (
    "missing_at_psp",
    "amount_mismatch",
    "currency_mismatch",
    "duplicate_at_psp",
    "status_mismatch",
)
BREAK_TYPES = (
    ("wallet_psp", "missing_at_psp"),
    ("wallet_psp", "missing_in_wallet"),
    ("wallet_psp", "amount_mismatch"),
    ("wallet_psp", "currency_mismatch"),
    ("wallet_psp", "status_mismatch"),
    ("wallet_psp", "duplicate_at_psp"),
    ("wallet_psp", "duplicate_in_wallet"),
    ("wallet_psp", "orphan_callback"),
    ("wallet_affiliate", "missing_postback"),
    ("wallet_affiliate", "phantom_conversion"),
    ("wallet_affiliate", "duplicate_conversion"),
)
TARGET_RATIO, TARGET_SECONDS, TARGET_RSS = 2.0, 90.0, 8 * 1024**3


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- the plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Row counts and planted breaks of one generated day."""

    seed: int
    movements: int
    conversions: int
    breaks: int  # planted of each type

    @property
    def players(self) -> int:
        return max(1_000, self.movements // 10)

    def bounds(self) -> dict[str, int]:
        """Movement kinds by row number: [0, payout) payouts, then chargebacks... settled."""
        out, at = {}, 0
        for kind, share in SHARES.items():
            at += max(1, int(self.movements * share))
            out[kind] = at
        return out

    def plants(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(movement row → plant, conversion row → plant), disjoint, chosen by the seed."""
        rng = np.random.default_rng(self.seed)
        b = self.bounds()
        settled = rng.choice(self.movements - b["chargeback_reversed"], 5 * self.breaks, False)
        charged = rng.choice(b["chargeback"] - b["payout"], self.breaks, False)
        movement = pd.DataFrame(
            {
                "i": np.concatenate(
                    [settled + b["chargeback_reversed"], charged + b["payout"]]
                ).astype(np.int64),
                "plant": np.repeat([*PSP_PLANTS, "duplicate_in_wallet"], self.breaks),
            }
        )
        conv = rng.choice(self.conversions, 2 * self.breaks, False).astype(np.int64)
        conversion = pd.DataFrame(
            {
                "j": conv,
                "plant": np.repeat(["missing_postback", "duplicate_conversion"], self.breaks),
            }
        )
        return movement, conversion

    def check(self) -> None:
        b = self.bounds()
        if self.breaks < 1:
            raise ValueError("--breaks must be at least 1")
        if 5 * self.breaks > (self.movements - b["chargeback_reversed"]) // 2:
            raise ValueError("too many planted breaks for so few movements: lower --breaks")
        if self.breaks > (b["chargeback"] - b["payout"]) // 2:
            raise ValueError("too few chargebacks for --breaks: raise --scale or lower --breaks")
        if 2 * self.breaks > self.conversions // 2:
            raise ValueError("too few conversions for --breaks: raise --scale or lower --breaks")


# -- generation (DuckDB, in a child process) --------------------------------------------------


def _sql_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def macros(seed: int) -> list[str]:
    return [
        f"CREATE MACRO rnd(i, salt) AS hash(i, salt, {int(seed)})",
        # a deterministic UUID-like id from a text: what the platform's ids look like
        """CREATE MACRO uid(t) AS (SELECT substr(m, 1, 8) || '-' || substr(m, 9, 4) || '-'
             || substr(m, 13, 4) || '-' || substr(m, 17, 4) || '-' || substr(m, 21, 12)
             FROM (SELECT md5(t) AS m))""",
        "CREATE MACRO pick(xs, r) AS xs[(r % len(xs))::BIGINT + 1]",
        "CREATE MACRO ms(r, span) AS to_milliseconds((r % span)::BIGINT)",
        # major units with the currency's decimals (JPY none), as the formats want them
        """CREATE MACRO major(a, c) AS CASE WHEN c = 'JPY' THEN a::VARCHAR
             ELSE (CASE WHEN a < 0 THEN '-' ELSE '' END) || (abs(a) // 100)::VARCHAR || '.'
                  || lpad((abs(a) % 100)::VARCHAR, 2, '0') END""",
        "CREATE MACRO iso(t) AS strftime(t, '%Y-%m-%dT%H:%M:%S.%gZ')",
        # PostgreSQL reads DuckDB's naive timestamps in the COPY session's time zone (UTC)
        "CREATE MACRO pgts(t) AS t",
    ]


def build_tables(con: duckdb.DuckDBPyConnection, plan: Plan) -> None:
    """The day as DuckDB tables: mv (movements), wallet, psp_rows, orphans, conv, network."""
    seed, day = int(plan.seed), f"TIMESTAMP '{DAY.isoformat()}'"
    b = plan.bounds()
    kinds = " ".join(f"WHEN i < {at} THEN '{kind}'" for kind, at in b.items())
    movement_plants, conversion_plants = plan.plants()
    con.register("mplants", movement_plants)
    con.register("cplants", conversion_plants)
    con.execute(
        f"""CREATE TABLE mv AS
        SELECT i, kind, psp, currency,
               CAST(CASE WHEN currency = 'JPY' THEN 100 + r % 50000 ELSE 500 + r % 200000 END
                    AS BIGINT) AS amount_minor,
               occurred_at,
               -- the payment's creation at the PSP: a status movement's deposit is older
               CASE WHEN kind IN ('settled', 'payout') THEN occurred_at - INTERVAL 3 SECOND
                    ELSE {day} - INTERVAL 30 DAY + ms(rnd(i, 6), 86400000) END AS origin_at,
               uid('{seed}:m:' || i) AS merchant_reference,
               psp || CASE WHEN kind = 'payout' THEN '_po_' ELSE '_pay_' END
                   || substr(md5('{seed}:r:' || i), 1, 20) AS psp_reference,
               uid('{seed}:p:' || (rnd(i, 4) % {plan.players})) AS player_id,
               CASE WHEN kind NOT IN ('settled', 'payout') THEN uid('{seed}:t:' || i) END
                   AS transaction_id,
               CASE kind WHEN 'settled' THEN 'approved' WHEN 'payout' THEN 'completed'
                         ELSE kind END AS status,
               coalesce(p.plant, '') AS plant, rnd(i, 7) AS r2
        FROM (SELECT i, CASE {kinds} ELSE 'settled' END AS kind,
                     pick({_sql_list(PSPS)}, rnd(i, 1)) AS psp,
                     pick({_sql_list(CURRENCIES)}, rnd(i, 2)) AS currency,
                     {day} + ms(rnd(i, 3), 79200000) AS occurred_at, rnd(i, 5) AS r
              FROM range({plan.movements}) t(i)) m
        LEFT JOIN mplants p USING (i)"""
    )
    # The wallet's movements: a duplicate_in_wallet chargeback was booked twice, an hour apart.
    con.execute(
        """CREATE VIEW wallet AS
        SELECT psp, kind, merchant_reference, psp_reference, player_id, currency, amount_minor,
               status, occurred_at, transaction_id
        FROM mv
        UNION ALL
        SELECT psp, kind, merchant_reference, psp_reference, player_id, currency, amount_minor,
               status, occurred_at + INTERVAL 1 HOUR, uid(transaction_id || '-again')
        FROM mv WHERE plant = 'duplicate_in_wallet'"""
    )
    k = plan.breaks
    type_of = (
        "CASE kind WHEN 'settled' THEN 'Settled' WHEN 'refunded' THEN 'Refunded' "
        "WHEN 'chargeback' THEN 'Chargeback' WHEN 'chargeback_reversed' THEN "
        "'ChargebackReversed' ELSE 'Payout' END"
    )
    sign = "CASE WHEN kind IN ('settled', 'chargeback_reversed') THEN 1 ELSE -1 END"
    con.execute(
        f"""CREATE VIEW psp_raw AS
        SELECT psp, psp_reference, merchant_reference, {type_of} AS type, origin_at AS created_at,
               occurred_at AS event_at,
               CASE WHEN plant = 'currency_mismatch' THEN 'USD' ELSE currency END AS gross_currency,
               {sign} * (amount_minor + CASE WHEN plant = 'amount_mismatch'
                                             THEN CAST(1 + r2 % 99 AS BIGINT) ELSE 0 END)
                   AS gross_minor
        FROM mv WHERE plant <> 'missing_at_psp'
        UNION ALL  -- duplicate_at_psp: the same row again
        SELECT psp, psp_reference, merchant_reference, {type_of}, origin_at,
               occurred_at + INTERVAL 1 MINUTE, currency, {sign} * amount_minor
        FROM mv WHERE plant = 'duplicate_at_psp'
        UNION ALL  -- status_mismatch: a chargeback the wallet never heard of
        SELECT psp, psp_reference, merchant_reference, 'Chargeback', origin_at,
               occurred_at + INTERVAL 30 MINUTE, currency, -amount_minor
        FROM mv WHERE plant = 'status_mismatch'
        UNION ALL  -- missing_in_wallet: money the wallet never saw
        SELECT pick({_sql_list(PSPS)}, rnd(j, 11)) AS psp,
               'x_pay_' || substr(md5('{seed}:u:' || j), 1, 20),
               'unknown-' || substr(md5('{seed}:um:' || j), 1, 24), 'Settled',
               {day} + ms(rnd(j, 12), 79200000),
               {day} + ms(rnd(j, 12), 79200000) + INTERVAL 1 SECOND,
               'EUR', CAST(500 + rnd(j, 13) % 100000 AS BIGINT)
        FROM range({k}) t(j)"""
    )
    con.execute(
        f"""CREATE TABLE psp_rows AS
        SELECT psp, psp_reference, merchant_reference, type, created_at, event_at,
               gross_currency, gross_minor, fee_minor, gross_minor + fee_minor AS net_minor,
               1000 + list_position({_sql_list(PSPS)}, psp) AS batch_number, 0 AS is_fee
        FROM (SELECT *, CASE type
                 WHEN 'Settled' THEN -((abs(gross_minor) * 180 + 5000) // 10000
                                       + CASE WHEN gross_currency = 'JPY' THEN 5 ELSE 10 END)
                 WHEN 'Chargeback' THEN -1500 WHEN 'Payout' THEN -50 ELSE 0 END AS fee_minor
              FROM psp_raw)
        UNION ALL  -- one Fee row per file
        SELECT psp, psp || '_batch_' || (1000 + list_position({_sql_list(PSPS)}, psp)), NULL,
               'Fee', {day} + INTERVAL '23:59:59', {day} + INTERVAL '23:59:59', 'EUR', 0, -500,
               -500, 1000 + list_position({_sql_list(PSPS)}, psp), 1
        FROM unnest({_sql_list(PSPS)}) t(psp)"""
    )
    con.execute(
        f"""CREATE TABLE orphans AS
        SELECT pick({_sql_list(PSPS)}, rnd(j, 21)) AS psp,
               uid('{seed}:o:' || j) AS merchant_reference,
               'x_pay_' || substr(md5('{seed}:or:' || j), 1, 20) AS psp_reference,
               'approved' AS status, 'EUR' AS currency,
               CAST(500 + rnd(j, 22) % 100000 AS BIGINT) AS amount_minor,
               {day} + ms(rnd(j, 23), 79200000) AS occurred_at, 'evt-' || j AS event_id
        FROM range({k}) t(j)"""
    )
    con.execute(
        f"""CREATE TABLE conv AS
        SELECT j, uid('{seed}:c:' || j) AS conversion_id,
               'aff-' || lpad((rnd(j, 31) % 200)::VARCHAR, 3, '0') AS affiliate,
               'camp-' || (rnd(j, 32) % 7) AS campaign,
               substr(md5('{seed}:ck:' || j), 1, 16) AS click_id,
               substr(md5('{seed}:pr:' || j), 1, 24) AS player_ref,
               uid('{seed}:cp:' || j) AS player_id,
               CAST(1000 + rnd(j, 33) % 99000 AS BIGINT) AS amount_minor,
               pick({_sql_list(AFF_CURRENCIES)}, rnd(j, 34)) AS currency,
               {day} + ms(rnd(j, 35), 79200000) AS occurred_at, coalesce(p.plant, '') AS plant
        FROM range({plan.conversions}) t(j) LEFT JOIN cplants p USING (j)"""
    )
    network_cols = (
        "affiliate, campaign, click_id, player_ref, conversion_id, amount_minor, currency, "
        "occurred_at"
    )
    con.execute(
        f"""CREATE TABLE network AS
        SELECT {network_cols}, occurred_at + INTERVAL 2 SECOND AS received_at, 0 AS phantom
        FROM conv WHERE plant <> 'missing_postback'
        UNION ALL  -- duplicate_conversion: booked twice
        SELECT {network_cols}, occurred_at + INTERVAL 1 MINUTE, 0
        FROM conv WHERE plant = 'duplicate_conversion'
        UNION ALL  -- phantom_conversion: a conversion the platform never sent
        SELECT 'aff-' || lpad((rnd(j, 41) % 200)::VARCHAR, 3, '0'), 'camp-0', '',
               substr(md5('{seed}:ppr:' || j), 1, 24), uid('{seed}:ph:' || j),
               CAST(1000 + rnd(j, 42) % 99000 AS BIGINT), 'EUR', {day} + ms(rnd(j, 43), 79200000),
               {day} + ms(rnd(j, 43), 79200000) + INTERVAL 2 SECOND, 1
        FROM range({k}) t(j)"""
    )


EXPECTED_SQL = """
    SELECT 'wallet_psp' AS pair, plant AS type, psp, merchant_reference AS reference
    FROM mv WHERE plant <> ''
    UNION ALL
    SELECT 'wallet_psp', 'missing_in_wallet', psp, merchant_reference
    FROM psp_raw WHERE starts_with(merchant_reference, 'unknown-')
    UNION ALL
    SELECT 'wallet_psp', 'orphan_callback', psp, merchant_reference FROM orphans
    UNION ALL
    SELECT 'wallet_affiliate', plant, 'none', conversion_id FROM conv WHERE plant <> ''
    UNION ALL
    SELECT 'wallet_affiliate', 'phantom_conversion', 'none', conversion_id
    FROM network WHERE phantom = 1"""

PSP_CSV = """
    COPY (SELECT psp, psp_reference, merchant_reference, type, iso(created_at) AS created_at,
                 iso({day} + INTERVAL '23:59:59') AS settled_at, gross_currency,
                 major(gross_minor, gross_currency) AS gross_amount,
                 gross_currency AS net_currency, major(net_minor, gross_currency) AS net_amount,
                 major(fee_minor, gross_currency) AS fee_amount, '1' AS exchange_rate,
                 batch_number
          FROM psp_rows WHERE psp = '{psp}' ORDER BY is_fee, event_at, psp_reference)
    TO '{path}' (FORMAT csv, HEADER true)"""

AFFILIATE_CSV = """
    COPY (SELECT affiliate, campaign, click_id, player_ref, 'ftd' AS event, conversion_id,
                 major(amount_minor, currency) AS amount, currency, 'approved' AS status,
                 iso(occurred_at) AS occurred_at, iso(received_at) AS received_at,
                 '50.00' AS commission_amount, currency AS commission_currency
          FROM network ORDER BY occurred_at, conversion_id, event)
    TO '{path}' (FORMAT csv, HEADER true)"""

# The frames the wallet loaders return, as --skip-db feeds them (same order as the queries).
FRAME_SQL = {
    "wallet": """SELECT psp, kind, merchant_reference, psp_reference, currency,
                        amount_minor, status, occurred_at
                 FROM wallet ORDER BY occurred_at, merchant_reference, kind""",
    "orphans": """SELECT psp, merchant_reference, psp_reference, status, currency, amount_minor,
                         occurred_at FROM orphans ORDER BY occurred_at""",
    "conversions": """SELECT affiliate, campaign, player_ref, 'ftd' AS event, conversion_id,
                             amount_minor, currency, 'approved' AS state,
                             'delivered' AS postback_status, occurred_at
                      FROM conv ORDER BY occurred_at, conversion_id""",
}

# PostgreSQL tables behind the views: (columns, DuckDB SELECT of them).
PG_TABLES: dict[str, tuple[str, str]] = {
    "players": (
        "id, email, password_hash, country, currency, date_of_birth, brand, status, kyc_status,"
        " affiliate, campaign, created_at",
        """SELECT uid('{seed}:p:' || k), 'p' || k || '@example.com', 'x', 'DE', 'EUR',
                  DATE '1990-01-01', 'main', 'active', 'approved', 'aff-000', 'camp-0',
                  pgts({day} - INTERVAL 60 DAY)
           FROM range({players}) t(k)""",
    ),
    "deposits": (
        "id, player_id, psp, method, geo, brand, amount, currency, status, psp_reference,"
        " first_deposit, created_at, updated_at, completed_at",
        # approved in the day, and the older deposits the status movements are about
        """SELECT merchant_reference, player_id, psp, 'card', 'DE', 'main', amount_minor,
                  currency, status, psp_reference, false, pgts(origin_at),
                  pgts(occurred_at),
                  pgts(CASE WHEN kind = 'settled' THEN occurred_at
                            ELSE origin_at + INTERVAL 2 SECOND END)
           FROM mv WHERE kind <> 'payout'""",
    ),
    "withdrawals": (
        "id, player_id, psp, method, geo, brand, amount, currency, status, psp_reference,"
        " created_at, updated_at, completed_at",
        """SELECT merchant_reference, player_id, psp, 'card', 'DE', 'main', amount_minor,
                  currency, status, psp_reference, pgts(origin_at), pgts(occurred_at),
                  pgts(occurred_at)
           FROM mv WHERE kind = 'payout'""",
    ),
    "wallet_transactions": (
        "id, type, status, player_id, currency, amount, idempotency_key, request_hash,"
        " reference, flagged, created_at, updated_at, details",
        """SELECT transaction_id, CASE WHEN kind = 'chargeback' THEN 'chargeback'
                                       ELSE 'reversal' END,
                  'completed', player_id, currency, amount_minor, 'k:' || transaction_id, 'h',
                  merchant_reference, false, pgts(occurred_at), pgts(occurred_at), '{{}}'
           FROM wallet WHERE kind NOT IN ('settled', 'payout')""",
    ),
    "accounts": (
        "id, owner, kind, currency, psp, balance, created_at",
        """SELECT row_number() OVER (ORDER BY psp, currency), 'house', 'psp_clearing', currency,
                  psp, 0, pgts({day} - INTERVAL 365 DAY)
           FROM unnest({psps}) p(psp), unnest({currencies}) c(currency)""",
    ),
    "ledger_entries": (
        "id, transaction_id, account_id, amount, currency, created_at",
        # the PSP clearing leg: money back to the PSP (> 0) for chargebacks and refunds
        """SELECT row_number() OVER (), w.transaction_id, a.id,
                  CASE WHEN w.kind = 'chargeback_reversed' THEN -w.amount_minor
                       ELSE w.amount_minor END,
                  w.currency, pgts(w.occurred_at)
           FROM wallet w JOIN (SELECT row_number() OVER (ORDER BY psp, currency) AS id, psp,
                                      currency
                               FROM unnest({psps}) p(psp), unnest({currencies}) c(currency)) a
             ON a.psp = w.psp AND a.currency = w.currency
           WHERE w.kind NOT IN ('settled', 'payout')""",
    ),
    "psp_callbacks": (
        "id, psp, event_id, kind, status, psp_reference, merchant_reference, amount, currency,"
        " outcome, occurred_at, received_at, body",
        """SELECT row_number() OVER (), psp, event_id, 'payment', status, psp_reference,
                  merchant_reference, amount_minor, currency, 'orphan', pgts(occurred_at),
                  pgts(occurred_at + INTERVAL 1 SECOND), '{{}}'
           FROM orphans""",
    ),
    "affiliate_conversions": (
        "id, dedupe_key, type, state, affiliate, campaign, click_id, player_id, player_ref,"
        " amount, currency, attribution_flagged, occurred_at, created_at, updated_at,"
        " qualified_at",
        """SELECT conversion_id, 'ftd:' || player_id, 'ftd', 'approved', affiliate, campaign,
                  click_id, player_id, player_ref, amount_minor, currency, false,
                  pgts(occurred_at), pgts(occurred_at), pgts(occurred_at), pgts(occurred_at)
           FROM conv""",
    ),
    "postback_jobs": (
        "id, dedupe_key, affiliate, campaign, event, conversion_id, url, status, attempts,"
        " max_attempts, created_at, delivered_at",
        """SELECT row_number() OVER (), 'aff:ftd:' || conversion_id, affiliate, campaign, 'ftd',
                  conversion_id, 'http://network.example/pb', 'delivered', 1, 6,
                  pgts(occurred_at), pgts(occurred_at + INTERVAL 1 SECOND)
           FROM conv""",
    ),
}


@dataclass(frozen=True)
class Layout:
    """Where the generated day lives."""

    root: Path

    @property
    def reports(self) -> Path:
        return self.root / "psp-settlement"

    @property
    def export(self) -> Path:
        return self.root / f"conversions-{DAY.isoformat()}.csv"

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def expected(self) -> Path:
        return self.root / "expected.json"

    def frame(self, name: str) -> Path:
        return self.root / f"{name}.parquet"


def generate(plan: Plan, layout: Layout, url: str | None, schema: str | None) -> None:
    """Write the files, load the wallet (PostgreSQL, or Parquet frames when ``url`` is None)
    and the expected breaks. Runs in a child process."""
    started = time.perf_counter()
    layout.reports.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET temp_directory = '{layout.root / 'duckdb.tmp'}'")
    for statement in macros(plan.seed):
        con.execute(statement)
    build_tables(con, plan)
    say(f"  generated the day in DuckDB ({time.perf_counter() - started:.1f} s)")
    expected = con.execute(EXPECTED_SQL).fetchall()
    layout.expected.write_text(json.dumps(expected))
    day = f"TIMESTAMP '{DAY.isoformat()}'"
    for psp in PSPS:
        path = layout.reports / f"{psp}-settlement-{DAY.isoformat()}.csv"
        con.execute(PSP_CSV.format(day=day, psp=psp, path=path))
    con.execute(AFFILIATE_CSV.format(path=layout.export))
    elapsed = time.perf_counter() - started
    say(f"  wrote {len(PSPS)} PSP reports and the affiliate export ({elapsed:.1f} s)")
    if url is None:
        for name, sql in FRAME_SQL.items():
            con.execute(f"COPY ({sql}) TO '{layout.frame(name)}' (FORMAT parquet)")
        say(f"  wrote the wallet frames ({time.perf_counter() - started:.1f} s)")
    else:
        assert schema is not None
        load_postgres(con, plan, layout, url, schema)
        say(f"  loaded PostgreSQL ({time.perf_counter() - started:.1f} s)")
    con.close()


def load_postgres(
    con: duckdb.DuckDBPyConnection, plan: Plan, layout: Layout, url: str, schema: str
) -> None:
    """COPY every table behind the views into the migrated schema, without constraints."""
    engine = make_engine(url, schema=schema, pool_size=1)
    try:
        with engine.begin() as conn:
            # A throwaway schema: constraints and indexes cost the bulk load and do nothing for
            # the reading query, which scans the tables whole.
            for table in PG_TABLES:
                for (name,) in conn.execute(
                    text(
                        "SELECT conname FROM pg_constraint WHERE conrelid = "
                        "CAST(:t AS regclass) AND contype = 'f'"
                    ),
                    {"t": f"{schema}.{table}"},
                ):
                    conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
            for table in PG_TABLES:
                for (name,) in conn.execute(
                    text("SELECT conname FROM pg_constraint WHERE conrelid = CAST(:t AS regclass)"),
                    {"t": f"{schema}.{table}"},
                ):
                    conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}" CASCADE'))
                for (name,) in conn.execute(
                    text(
                        "SELECT indexname FROM pg_indexes WHERE schemaname = :s AND tablename = :t"
                    ),
                    {"s": schema, "t": table},
                ):
                    conn.execute(text(f'DROP INDEX "{name}"'))
        values = {
            "seed": int(plan.seed),
            "day": f"TIMESTAMP '{DAY.isoformat()}'",
            "players": plan.players,
            "psps": _sql_list(PSPS),
            "currencies": _sql_list(CURRENCIES),
        }
        raw = engine.raw_connection()
        try:
            pg: Any = raw.driver_connection
            for table, (columns, select) in PG_TABLES.items():
                t0 = time.perf_counter()
                path = layout.root / f"{table}.csv"
                con.execute(
                    f"COPY ({select.format(**values)}) TO '{path}' (FORMAT csv, HEADER false)"
                )
                with pg.cursor() as cur:
                    cur.execute("SET TIME ZONE 'UTC'")
                    with (
                        cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy,
                        path.open("rb") as fh,
                    ):
                        while chunk := fh.read(1 << 23):
                            copy.write(chunk)
                    rows = cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                pg.commit()
                path.unlink()
                say(f"    {table}: {rows:,} rows ({time.perf_counter() - t0:.1f} s)")
        finally:
            raw.close()
        t0 = time.perf_counter()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in PG_TABLES:
                conn.execute(text(f"VACUUM (FREEZE, ANALYZE) {table}"))
        say(f"    VACUUM (FREEZE, ANALYZE) ({time.perf_counter() - t0:.1f} s)")
    finally:
        engine.dispose()


def _generate_child(plan: Plan, root: str, url: str | None, schema: str | None) -> None:
    generate(plan, Layout(Path(root)), url, schema)


# -- memory -----------------------------------------------------------------------------------


def _status_kb(field_name: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    return 0


def reset_peak() -> bool:
    """Reset VmHWM (and ru_maxrss) to the current RSS; False where Linux does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class RssSampler(threading.Thread):
    """VmRSS every ``interval`` seconds: the peak overall and per step. Over ``limit`` it
    interrupts the main thread (KeyboardInterrupt): the box has no swap, and the kernel's
    OOM killer might pick the database server instead of us."""

    def __init__(self, limit: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.limit = limit
        self.interval = interval
        self.step = "-"
        self.peaks: dict[str, int] = {}
        self.over: tuple[str, int] | None = None
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            rss = _status_kb("VmRSS") * 1024
            self.peaks[self.step] = max(self.peaks.get(self.step, 0), rss)
            if rss > self.limit and self.over is None:
                self.over = (self.step, rss)
                _thread.interrupt_main()
            self._done.wait(self.interval)

    def stop(self) -> None:
        self._done.set()
        self.join()


# -- the timed run ----------------------------------------------------------------------------


@dataclass
class Measured:
    seconds: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    breaks: pd.DataFrame | None = None
    stats: dict[str, dict[str, int]] = field(default_factory=dict)
    whole: float = 0.0
    hwm: int = 0  # bytes
    sampled: dict[str, int] = field(default_factory=dict)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)


@contextlib.contextmanager
def timed(m: Measured, sampler: RssSampler, name: str, label: str) -> Iterator[None]:
    say(f"  {label}...")
    sampler.step = name
    t0 = time.perf_counter()
    yield
    m.seconds[name] = time.perf_counter() - t0
    # a step shorter than the sampling interval still gets its reading
    sampler.peaks[name] = max(sampler.peaks.get(name, 0), _status_kb("VmRSS") * 1024)
    say(f"  {label}: {m.seconds[name]:.2f} s")


def read_frames(layout: Layout) -> dict[str, pd.DataFrame]:
    """The --skip-db wallet frames, conformed as the loaders conform theirs."""
    schemas = {
        "wallet": frames.WALLET_MOVEMENTS,
        "orphans": frames.ORPHAN_CALLBACKS,
        "conversions": frames.PLATFORM_CONVERSIONS,
    }
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        return {
            name: frames.conform(
                con.execute(f"SELECT * FROM read_parquet('{layout.frame(name)}')").df(),
                schema,
                name,
            )
            for name, schema in schemas.items()
        }


# Phases of reconcile_day and the steps this benchmark has always reported them as.
STEP_OF_PHASE = {
    "record_run": "ledger",
    "read_psp": "read_psp",
    "read_affiliate": "read_affiliate",
    "read_wallet": "read_db",
    "match_psp": "match_psp",
    "match_internal": "match_internal",
    "match_affiliate": "match_affiliate",
    "write_breaks": "write_breaks",
    "write_reports": "write_reports",
}
CHECKED_PAIRS = {pair for pair, _ in BREAK_TYPES}  # the pairs with planted breaks


def run_day(
    m: Measured,
    sampler: RssSampler,
    layout: Layout,
    ledger_engine: Engine,
    fed: dict[str, Any] | None,
) -> None:
    """One reconciliation of the day: ``reconcile_day`` itself, each phase timed through its
    ``phase`` hook. ``fed``: the --skip-db wallet frames, given to the run instead of the
    views."""
    from reconcilers.run import RunOptions, WalletFrames, read_wallet, reconcile_day

    def phase(name: str) -> contextlib.AbstractContextManager[None]:
        step = STEP_OF_PHASE.get(name, name)
        if fed is not None and step == "read_db":
            step = "read_fed"  # no reading: not a step of the table
        return timed(m, sampler, step, dict(STEPS).get(step, name))

    def wallet(engine: Engine, day: date, conversions: bool) -> WalletFrames:
        if fed is None:
            frames_read = read_wallet(engine, day, conversions)
        else:
            # The generated ledger has no balances or clearing of its own to check.
            frames_read = WalletFrames(
                movements=fed["wallet"],
                orphans=fed["orphans"],
                balances=frames.empty(frames.BALANCES),
                clearing=frames.empty(frames.CLEARING),
                conversions=fed["conversions"] if conversions else None,
            )
        conversions_read = frames_read.conversions
        m.rows["conversions"] = 0 if conversions_read is None else len(conversions_read)
        return frames_read

    options = RunOptions(
        psp_reports_dir=layout.reports,
        out_dir=layout.out,
        psps=PSPS,
        affiliate_export=layout.export,
        settlement_window=SETTLEMENT_WINDOW,
        postback_grace=POSTBACK_GRACE,
        phase=phase,
        wallet=wallet,
    )
    reset_ok = reset_peak()
    if not reset_ok:
        m.notes.append("could not reset VmHWM: peak RSS includes what came before the run")
    sampler.start()
    began = time.perf_counter()
    result = reconcile_day(ledger_engine, ledger_engine, DAY, options, NOW)
    m.whole = time.perf_counter() - began
    m.hwm = _status_kb("VmHWM") * 1024
    sampler.stop()
    m.sampled = dict(sampler.peaks)
    assert result.found is not None
    found = result.found
    m.rows.update(result.summary.rows)
    rejected = found.rejects["source"].value_counts()
    if len(found.rejects):
        m.notes.append(
            f"rejected rows: {int(rejected.get('psp_report', 0))} PSP, "
            f"{int(rejected.get('affiliate_export', 0))} affiliate"
        )
    unchecked = found.breaks[~found.breaks["pair"].isin(CHECKED_PAIRS)]
    for pair, count in unchecked["pair"].value_counts().items():
        m.notes.append(
            f"{pair}: {count} breaks, not checked (the generated ledger holds only the "
            "clearing legs of status movements)"
        )
    m.breaks = found.breaks[found.breaks["pair"].isin(CHECKED_PAIRS)]
    m.stats = found.stats_by_pair
    say(f"  whole run: {m.whole:.2f} s ({len(found.breaks):,} breaks)")


def read_inputs(
    m: Measured, layout: Layout, ledger_engine: Engine, fed: dict[str, Any] | None
) -> None:
    """The run's input frames again, for the reference (not timed: the run let go of its own,
    as it does in production)."""
    from reconcilers.run import read_wallet
    from reconcilers.sources import affiliate_export, psp_reports

    if fed is None:
        wallet = read_wallet(ledger_engine, DAY, True)
        fed = {"wallet": wallet.movements, "orphans": wallet.orphans}
        fed["conversions"] = wallet.conversions
    psp_rows, _, _ = psp_reports.read_psp_reports(layout.reports, DAY, PSPS)
    network, _ = affiliate_export.read_affiliate_export(layout.export)
    m.frames = {**fed, "psp": psp_rows, "network": network}


# -- the reference ----------------------------------------------------------------------------


def rematch(m: Measured, repeats: int) -> float:
    """Median seconds of the matching step (both pairs) run again on the run's frames.

    The run's own matching is the first large join of the process: it also pays for the
    memory its hash tables touch for the first time (page faults), which the bare joins,
    run after it and repeated, do not. Matching repeated the same way compares like with
    like; the run's time (cold) is reported beside it."""
    from reconcilers.match.affiliate import match_wallet_affiliate
    from reconcilers.match.psp import match_wallet_psp

    f = m.frames
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        match_wallet_psp(
            f["wallet"], f["psp"], f["orphans"], day=DAY, now=NOW,
            settlement_window=SETTLEMENT_WINDOW,
        )  # fmt: skip
        if "wallet_affiliate" in m.stats:
            match_wallet_affiliate(
                f["conversions"], f["network"], day=DAY, now=NOW, grace=POSTBACK_GRACE
            )
        times.append(time.perf_counter() - t0)
    say(f"  matching again: {statistics.median(times):.2f} s (median of {repeats})")
    return statistics.median(times)


KIND_OF_TYPE = (
    "CASE type WHEN 'Settled' THEN 'settled' WHEN 'Refunded' THEN 'refunded' "
    "WHEN 'Chargeback' THEN 'chargeback' WHEN 'ChargebackReversed' THEN 'chargeback_reversed' "
    "WHEN 'Payout' THEN 'payout' END"
)
BARE_JOINS = {
    "psp": f"""SELECT count(*) FROM w JOIN (SELECT psp, merchant_reference, {KIND_OF_TYPE} AS kind
                                           FROM p) q USING (psp, merchant_reference, kind)""",
    "affiliate": """SELECT count(*) FROM c JOIN n
                    ON c.affiliate = n.affiliate AND c.event = n.event
                       AND c.conversion_id = n.conversion_id""",
}


def bare_joins(m: Measured, repeats: int) -> dict[str, tuple[float, float, int]]:
    """(median, min seconds, joined rows) of each pair's bare hash join over the run's frames."""
    out = {}
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        for name, frame in (
            ("w", m.frames["wallet"]),
            ("p", m.frames["psp"]),
            ("c", m.frames["conversions"]),
            ("n", m.frames["network"]),
        ):
            con.register(name, frame)
        for pair, sql in BARE_JOINS.items():
            if pair == "affiliate" and "wallet_affiliate" not in m.stats:
                continue
            times, count = [], 0
            for _ in range(repeats):
                t0 = time.perf_counter()
                row = con.execute(sql).fetchone()
                assert row is not None  # a count's one row
                count = row[0]
                times.append(time.perf_counter() - t0)
            out[pair] = (statistics.median(times), min(times), int(count))
            say(f"  bare join {pair}: {statistics.median(times):.2f} s (median of {repeats})")
    return out


# -- checking and printing --------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    expected: int
    found: int
    missing: list[tuple[str, ...]]
    extra: list[tuple[str, ...]]


def check_breaks(
    breaks: pd.DataFrame, expected: list[list[str]], pairs: set[str]
) -> dict[tuple[str, str], Check]:
    """Per (pair, type) of the pairs run: planted breaks found by (pair, type, psp,
    reference), and extras."""

    def ident(pair: str, kind: str, psp: str, reference: str) -> tuple[str, ...]:
        # The affiliate pair names no PSP: compare it by reference alone.
        return (pair, kind, psp if pair == "wallet_psp" else "none", reference)

    want = {ident(*row) for row in expected if row[0] in pairs}
    got = {
        ident(str(r.pair), str(r.type), str(r.psp), str(r.reference))
        for r in breaks[["pair", "type", "psp", "reference"]].itertuples(index=False)
    }
    kinds = sorted({k[:2] for k in want | got}, key=_type_order)
    out = {}
    for pair, kind in kinds:
        w = {k for k in want if k[:2] == (pair, kind)}
        g = {k for k in got if k[:2] == (pair, kind)}
        out[(pair, kind)] = Check(len(w), len(w & g), sorted(w - g), sorted(g - w))
    return out


def _type_order(key: tuple[str, ...]) -> tuple[int, str]:
    return (BREAK_TYPES.index(key) if key in BREAK_TYPES else len(BREAK_TYPES), key[1])


def table(head: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)
    ]
    line = "  ".join(
        h.ljust(w) if i == 0 else h.rjust(w)
        for i, (h, w) in enumerate(zip(head, widths, strict=True))
    )
    print(line)
    print("-" * len(line))
    for row in rows:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    print()


def gib(n: float) -> str:
    return f"{n / 1024**3:.2f} GiB"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


STEPS = (
    ("ledger", "record the run (start_run)"),
    ("read_psp", "read PSP reports (CSV)"),
    ("read_affiliate", "read affiliate export (CSV)"),
    ("read_db", "read wallet (pw_* views)"),
    ("match_psp", "match wallet ⟷ PSP"),
    ("match_internal", "check wallet internal"),
    ("match_affiliate", "match wallet ⟷ affiliate"),
    ("write_breaks", "write breaks (apply_breaks)"),
    ("write_reports", "write reports (CSV + HTML)"),
)


def print_results(
    args: argparse.Namespace,
    plan: Plan,
    mode: str,
    generation: float,
    m: Measured,
    warm: float,
    bare: dict[str, tuple[float, float, int]],
    checks: dict[tuple[str, str], Check],
) -> None:
    rows_in = sum(m.rows[k] for k in ("wallet", "psp_report", "conversions", "affiliate_export"))
    print()
    print(
        f"reconciliation of {DAY} at scale {args.scale:g} (seed {plan.seed}), wallet {mode}; "
        f"{os.cpu_count()} cores; generation {generation:.0f} s (not counted)"
    )
    print()
    table(
        ("input", "rows"),
        [
            ("wallet movements (pw_* views)", f"{m.rows['wallet']:,}"),
            ("PSP settlement rows (4 files)", f"{m.rows['psp_report']:,}"),
            ("platform conversions", f"{m.rows['conversions']:,}"),
            ("affiliate export rows", f"{m.rows['affiliate_export']:,}"),
            ("all", f"{rows_in:,}"),
        ],
    )
    matched_rows = {
        "match_psp": m.rows["wallet"] + m.rows["psp_report"],
        "match_affiliate": m.rows["conversions"] + m.rows["affiliate_export"],
        "read_psp": m.rows["psp_report"],
        "read_affiliate": m.rows["affiliate_export"],
        "read_db": m.rows["wallet"] + m.rows["conversions"],
    }
    step_rows = []
    for name, label in STEPS:
        if name not in m.seconds:
            if name == "read_db":
                step_rows.append((label, "skipped", "-", "-"))
            continue
        s = m.seconds[name]
        rate = f"{matched_rows[name] / s:,.0f}" if name in matched_rows and s else "-"
        step_rows.append((label, f"{s:.2f}", rate, gib(m.sampled.get(name, 0))))
    match_s = m.seconds.get("match_psp", 0) + m.seconds.get("match_affiliate", 0)
    match_rows = matched_rows["match_psp"] + (
        matched_rows["match_affiliate"] if "match_affiliate" in m.seconds else 0
    )
    match_rate = f"{match_rows / match_s:,.0f}" if match_s else "-"
    step_rows.append(("matching (psp + affiliate)", f"{match_s:.2f}", match_rate, "-"))
    step_rows.append(
        (
            f"matching again (median of {args.join_repeats})",
            f"{warm:.2f}",
            f"{match_rows / warm:,.0f}" if warm else "-",
            "-",
        )
    )
    step_rows.append(("whole run", f"{m.whole:.2f}", f"{rows_in / m.whole:,.0f}", gib(m.hwm)))
    bare_s = sum(v[0] for v in bare.values())
    for pair, (median, best, count) in bare.items():
        label = f"bare DuckDB join {pair} ({count:,} rows)"
        step_rows.append((label, f"{median:.2f}", f"(min {best:.2f})", "-"))
    table(("step", "seconds", "rows/s", "peak RSS"), step_rows)

    check_rows = [
        (
            f"{pair} {kind}",
            str(c.expected),
            str(c.found),
            str(len(c.missing)),
            str(len(c.extra)),
        )
        for (pair, kind), c in checks.items()
    ]
    table(("break type", "expected", "found", "missing", "extra"), check_rows)
    for (pair, kind), c in checks.items():
        for what, keys in (("missing", c.missing), ("extra", c.extra)):
            if keys:
                print(f"  {pair} {kind} {what}, e.g. {[k[2:] for k in keys[:3]]}")
    for pair, stats in m.stats.items():
        print(f"  {pair}: {stats}")
    for note in m.notes:
        print(f"  note: {note}")
    print()

    ratio = warm / bare_s if bare_s else float("inf")
    cold = match_s / bare_s if bare_s else float("inf")
    exact = all(not c.missing and not c.extra for c in checks.values()) and all(
        (p, t) in checks for p, t in BREAK_TYPES if p in m.stats
    )
    planted = sum(c.expected for c in checks.values())
    found = sum(c.found for c in checks.values())
    extra = sum(len(c.extra) for c in checks.values())
    table(
        ("target", "measured", "verdict"),
        [
            (
                "matching within 2× the bare join",
                f"{ratio:.2f}× ({warm:.1f} / {bare_s:.1f} s; in the run {cold:.2f}×)",
                verdict(ratio <= TARGET_RATIO),
            ),
            ("whole run under 90 s", f"{m.whole:.1f} s", verdict(m.whole < TARGET_SECONDS)),
            (
                "all planted breaks found, no others",
                f"{found}/{planted} found, {extra} extra",
                verdict(exact),
            ),
            ("peak RSS under 8 GB", gib(m.hwm), verdict(m.hwm < TARGET_RSS)),
        ],
    )
    if "wallet_affiliate" not in m.stats:
        print("the affiliate pair was not measured (no matcher): the figures are incomplete")


# -- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Reconciliation at scale: 10M wallet movements, 10M PSP rows, 1M affiliate "
        "conversions with planted breaks; whole run, matching vs a bare DuckDB join, peak RSS."
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="fraction of 10M movements / 10M PSP rows / 1M conversions (default 1; 0.1 quick)",
    )
    parser.add_argument("--seed", type=int, default=20261102, help="generation seed")
    parser.add_argument(
        "--breaks", type=int, default=300, help="planted breaks of each type (default 300)"
    )
    parser.add_argument(
        "--skip-db",
        action="store_true",
        help="feed the wallet frames directly (no PostgreSQL; the ledger is a SQLite file)",
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_URL,
        help="PostgreSQL server; a throwaway schema is created and dropped (default: "
        "$PITWATCH_BENCH_DATABASE_URL, $PITWATCH_TEST_DATABASE_URL, or the local server)",
    )
    parser.add_argument(
        "--join-repeats", type=int, default=3, help="bare join runs per pair (median; default 3)"
    )
    parser.add_argument(
        "--max-rss",
        type=float,
        default=20.0,
        help="stop the run when its RSS passes this many GiB (default 20; the box has no swap)",
    )
    parser.add_argument(
        "--provider-rows",
        type=int,
        nargs="+",
        metavar="N",
        help="instead: the wallet ⟷ game provider pair with N transactions a side, out of "
        "core, at each size given (benchmarks/bench_recon_games.py)",
    )
    parser.add_argument(
        "--games-memory-limit",
        default="4GB",
        help="--provider-rows: DuckDB's memory_limit (it spills past it; default 4GB)",
    )
    parser.add_argument(
        "--games-wallet-postgres",
        action="store_true",
        help="--provider-rows: the wallet in --database-url's PostgreSQL behind the view "
        "pw_casino_wallet_transactions, read as a run reads it (timed), instead of a table",
    )
    parser.add_argument("--workdir", type=Path, help="where the files go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the files and the schema")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="run on the day a --keep run left in --workdir (same --scale, --seed, --breaks "
        "and mode) instead of generating it again",
    )
    args = parser.parse_args(argv)
    if args.reuse and args.workdir is None:
        parser.error("--reuse needs the --workdir of a --keep run")
    if args.scale <= 0:
        parser.error("--scale must be positive")
    if args.provider_rows and min(args.provider_rows) < 1000:
        parser.error("--provider-rows: at least 1000 rows a side")
    if not args.provider_rows and not args.skip_db and not args.database_url.startswith("postgres"):
        parser.error("a PostgreSQL --database-url is needed (or --skip-db)")
    if args.join_repeats < 1:
        parser.error("--join-repeats must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.provider_rows:
        from bench_recon_games import run_games

        return run_games(args)
    plan = Plan(
        seed=args.seed,
        movements=max(1, round(MOVEMENTS * args.scale)),
        conversions=max(1, round(CONVERSIONS * args.scale)),
        breaks=args.breaks,
    )
    try:
        plan.check()
    except ValueError as exc:
        print(f"bench_recon: {exc}", file=sys.stderr)
        return 2
    root = args.workdir or Path(tempfile.mkdtemp(prefix="bench_recon_"))
    root.mkdir(parents=True, exist_ok=True)
    layout = Layout(root)
    kept = root / "schema.txt"  # what --reuse runs on
    if args.reuse and not (layout.expected.is_file() and kept.is_file()):
        print(f"bench_recon: {root} holds no day of a --keep run to reuse", file=sys.stderr)
        return 2
    schema = None if args.skip_db else f"pwrecon_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    if args.reuse:
        schema = kept.read_text().strip() or None
        args.keep = True  # what is reused stays for the next run
    admin = None if args.skip_db else create_engine(normalise_url(args.database_url))
    engines: list[Engine] = []
    try:
        if admin is not None:
            if not args.reuse:
                with admin.begin() as conn:
                    conn.execute(text(f"CREATE SCHEMA {schema}"))
            ledger_url = args.database_url
        else:
            ledger_url = f"sqlite:///{root / 'ledger.db'}"
        ledger_engine = make_engine(ledger_url, schema=schema, pool_size=2)
        engines.append(ledger_engine)
        if args.reuse:
            say(f"reusing the day in {root}" + (f", schema {schema}" if schema else ""))
            with ledger_engine.begin() as conn:  # the breaks of the earlier run
                for table in ("recon_breaks", "recon_runs"):
                    conn.execute(text(f"DELETE FROM {table}"))
        else:
            say(f"migrating {'schema ' + str(schema) if schema else ledger_url}")
            upgrade_engine(ledger_engine)
        t0 = time.perf_counter()
        if not args.reuse:
            kept.write_text(schema or "")
            say(
                f"generating {plan.movements:,} movements, {plan.conversions:,} conversions, "
                f"{plan.breaks} planted breaks of each type in {root}"
            )
            child = mp.get_context("spawn").Process(
                target=_generate_child,
                args=(plan, str(root), None if args.skip_db else args.database_url, schema),
            )
            child.start()
            child.join()
            if child.exitcode != 0:
                print(f"bench_recon: generation failed (exit {child.exitcode})", file=sys.stderr)
                return 1
        fed: dict[str, Any] = {}
        if args.skip_db:
            fed = read_frames(layout)
        generation = time.perf_counter() - t0
        expected = json.loads(layout.expected.read_text())
        mode = (
            "fed directly (--skip-db; ledger on SQLite)"
            if args.skip_db
            else ("from PostgreSQL (real migrations, pw_* views)")
        )
        say(f"the run (wallet {mode})")
        m = Measured()
        sampler = RssSampler(int(args.max_rss * 1024**3))
        try:
            run_day(m, sampler, layout, ledger_engine, fed if args.skip_db else None)
        except KeyboardInterrupt:
            if sampler.over is None:
                raise
            sampler.stop()
            step, rss = sampler.over
            done = ", ".join(f"{k} {v:.1f} s" for k, v in m.seconds.items())
            print(f"ABORTED: RSS {gib(rss)} over --max-rss {args.max_rss:g} GiB in step {step}")
            print(f"steps done: {done or 'none'}; rows read: {m.rows}")
            print(f"peak RSS under 8 GB: FAIL ({gib(rss)} and rising when stopped)")
            return 0
        say("the inputs again (not timed), the matching step again, and the reference")
        read_inputs(m, layout, ledger_engine, fed if args.skip_db else None)
        warm = rematch(m, args.join_repeats)
        bare = bare_joins(m, args.join_repeats)
        assert m.breaks is not None
        checks = check_breaks(m.breaks, expected, set(m.stats))
        print_results(args, plan, mode, generation, m, warm, bare, checks)
        if args.keep:
            print(f"kept: {root}" + (f", schema {schema}" if schema else ""))
        return 0
    finally:
        for engine in engines:
            engine.dispose()
        if admin is not None:
            if not args.keep:
                with admin.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            admin.dispose()
        if not args.keep and args.workdir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
