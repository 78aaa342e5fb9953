"""Wallet ⟷ game provider at scale (``bench_recon.py --provider-rows N``; ``make
bench-recon-games``: 10M, 30M and 100M transactions a side), out of core.

Generation (not timed) runs in DuckDB from hashes of row numbers, no Python loop per row:
N seamless-wallet transactions (rounds of a bet and a win, one round in 50 a bet and its
rollback; three providers, 100 games each, EUR, GBP, SEK) as a DuckDB table in its own
database file (what ``pw_casino_wallet_transactions`` would give; the wallet is fed as a
table, as ``--skip-db`` feeds the PSP run its frames), and the providers' transaction
reports and GGR statements as the CSV files of docs/game-provider-reports.md, with
``--breaks`` of each break type planted: missing_at_provider, missing_in_wallet,
amount_mismatch, rollback_one_sided, round_open_past_window, ggr_difference.

The timed run, end to end, is the production run's path (``reconcilers.run``'s
``_match_games``) but for the wallet, which is given as a table: a workspace
(``reconcilers.match.engine.workspace``: a DuckDB database file with a ``memory_limit``
and a ``temp_directory``, so that its tables, joins and aggregates spill to disk rather
than grow), the reports loaded and checked by ``load_game_reports`` (the strict reader's
SQL into a table per file, rejected rows kept with their line numbers; the GGR statements
in memory), the match (``reconcilers.match.game_provider.find_breaks``), the breaks kept in
a break ledger (SQLite) and the CSV report written.
Peak RSS: VmHWM reset at the start and a sampling thread. Targets (the issue): peak RSS
under 8 GB at every size, at least 350 000 rows a second end to end (rows a side: the
provider's report rows), exactly the planted breaks. A measurement: exit 0 whatever the
figures."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

DAY = date(2026, 11, 2)
NOW = datetime(2026, 11, 4, 6, 0, tzinfo=UTC)
WINDOW = timedelta(hours=6)
PROVIDERS = ("spinworks", "lucky_labs", "livetable")
CURRENCIES = ("EUR", "GBP", "SEK")  # two decimals each
GAMES = 100  # per provider
# Planted rounds: round = j * STRIDE + offset (offset 1..6 per kind), never a rollback
# round (round % 50 = 49): distinct rounds, one break each.
KINDS = (
    "missing_at_provider",
    "missing_in_wallet",
    "amount_mismatch",
    "rollback_one_sided",
    "round_open_past_window",
    "ggr_difference",
)
TARGET_RATE, TARGET_RSS = 350_000, 8 * 1024**3


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _connect(path: Path, memory_limit: str, temp: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{temp}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET TimeZone = 'UTC'")
    return con


def generate(root: Path, n: int, breaks: int, memory_limit: str) -> dict[str, Any]:
    """The wallet table (wallet.duckdb), the report files (reports/), the expected breaks."""
    rounds = n // 2
    stride = max(50, (rounds // max(breaks, 1)) // 50 * 50)
    con = _connect(root / "gen.duckdb", memory_limit, root / "spill")
    plants = {
        kind: f"(r % {stride} = {i + 1} AND r // {stride} < {breaks})"
        for i, kind in enumerate(KINDS)
    }
    start = datetime.combine(DAY, datetime.min.time(), tzinfo=UTC)
    # One row per transaction of the clean day: round r = i // 2; i even: its bet.
    con.execute(f"""
        CREATE TABLE base AS
        SELECT i, i // 2 AS r,
               ['{"','".join(PROVIDERS)}'][1 + (i // 2) % 3] AS provider,
               'tx' || i AS tx, 'r' || (i // 2) AS round_id,
               'p' || lpad(CAST((i // 2) // 7 AS VARCHAR), 12, '0') AS player_ref,
               CASE WHEN i % 2 = 0 THEN 'bet'
                    WHEN (i // 2) % 50 = 49 THEN 'rollback' ELSE 'win' END AS kind,
               100 * (1 + hash(i // 2) % 50) AS stake,
               ['{"','".join(CURRENCIES)}'][1 + (i // 6) % 3] AS currency,
               TIMESTAMPTZ '{start.isoformat()}' + to_microseconds(
                   CAST(i * (86400000000 // {n}) AS BIGINT)) AS created_at,
               'g' || ((i // 2) % {GAMES}) AS game_id
        FROM range({n}) AS t(i)""")
    amount = """CASE kind WHEN 'bet' THEN stake WHEN 'rollback' THEN stake
                     ELSE stake * (hash(r, 7) % 3) END"""
    con.execute("ALTER TABLE base ADD COLUMN amount BIGINT DEFAULT 0")
    con.execute(f"UPDATE base SET amount = {amount}")
    wins = "kind = 'win'"
    # the wallet: without the missing_in_wallet wins, without the open rounds' wins
    con.execute(f"ATTACH '{root / 'wallet.duckdb'}' AS w")
    con.execute(f"""
        CREATE TABLE w.gw AS
        SELECT provider, tx AS provider_transaction_id, round_id, player_ref, kind,
               amount AS amount_minor, currency, created_at, game_id,
               CASE WHEN {plants["round_open_past_window"]} THEN 'open'
                    WHEN r % 50 = 49 THEN 'cancelled' ELSE 'completed' END AS round_status
        FROM base
        WHERE NOT ({wins} AND ({plants["missing_in_wallet"]}
                               OR {plants["round_open_past_window"]}))""")
    con.execute("DETACH w")
    # the providers' reports: without the missing_at_provider wins and the open rounds'
    # wins, amount off on amount_mismatch wins, a rollback of the rollback_one_sided bets
    con.execute(f"""
        CREATE TABLE report AS
        SELECT provider, tx, round_id, player_ref, game_id, kind,
               amount + CASE WHEN {wins} AND {plants["amount_mismatch"]} THEN 1 ELSE 0 END
                   AS amount,
               currency, created_at, i
        FROM base
        WHERE NOT ({wins} AND ({plants["missing_at_provider"]}
                               OR {plants["round_open_past_window"]}))
        UNION ALL
        SELECT provider, 'rb' || r, round_id, player_ref, game_id, 'rollback', amount,
               currency, created_at + INTERVAL 1 SECOND, i
        FROM base WHERE kind = 'bet' AND {plants["rollback_one_sided"]}""")
    reports = root / "reports"
    reports.mkdir(exist_ok=True)
    for provider in PROVIDERS:
        con.execute(f"""
            COPY (SELECT provider, tx AS transaction_id, round_id, player_ref, game_id,
                         kind AS type, printf('%d.%02d', amount // 100, amount % 100) AS amount,
                         currency, strftime(created_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS created_at
                  FROM report WHERE provider = '{provider}' ORDER BY i, tx)
            TO '{reports / f"{provider}-transactions-{DAY}.csv"}' (HEADER, DELIMITER ',')""")
    # the statements: the reports' sums, ggr_difference lines off by 1.00 in wins
    lines = con.sql("""
        SELECT provider, game_id, currency,
               sum(CASE kind WHEN 'bet' THEN amount WHEN 'rollback' THEN -amount END)
                   FILTER (WHERE kind <> 'win') AS bets,
               coalesce(sum(amount) FILTER (WHERE kind = 'win'), 0) AS wins
        FROM report GROUP BY ALL ORDER BY ALL""").df()
    off = lines.index[: min(breaks, len(lines))]
    lines.loc[off, "wins"] += 100
    for provider in PROVIDERS:
        mine = lines[lines["provider"] == provider]
        text = "provider,day,game_id,currency,bets,wins,ggr\n" + "".join(
            f"{provider},{DAY},{g.game_id},{g.currency},{_major(g.bets)},{_major(g.wins)},"
            f"{_major(g.bets - g.wins)}\n"
            for g in mine.itertuples()
        )
        (reports / f"{provider}-ggr-{DAY}.csv").write_text(text)
    expected: list[list[str]] = []
    for kind, column, table_where in (
        ("missing_at_provider", "tx", f"{wins} AND {plants['missing_at_provider']}"),
        ("missing_in_wallet", "tx", f"{wins} AND {plants['missing_in_wallet']}"),
        ("amount_mismatch", "tx", f"{wins} AND {plants['amount_mismatch']}"),
        ("rollback_one_sided", "'rb' || r", f"kind = 'bet' AND {plants['rollback_one_sided']}"),
        (
            "round_open_past_window",
            "round_id",
            f"kind = 'bet' AND {plants['round_open_past_window']}",
        ),
    ):
        for (ref,) in con.sql(f"SELECT {column} FROM base WHERE {table_where}").fetchall():
            expected.append([kind, str(ref)])
    for g in lines.loc[off].itertuples():
        expected.append(["ggr_difference", str(g.game_id)])
    report_rows = con.execute("SELECT count(*) FROM report").fetchone()
    wallet_rows = con.execute(
        f"SELECT count(*) FROM base WHERE NOT ({wins} AND ({plants['missing_in_wallet']} "
        f"OR {plants['round_open_past_window']}))"
    ).fetchone()
    con.close()
    (root / "gen.duckdb").unlink()
    info = {
        "expected": expected,
        "report_rows": int(report_rows[0]) if report_rows else 0,
        "wallet_rows": int(wallet_rows[0]) if wallet_rows else 0,
        "bytes": sum(p.stat().st_size for p in reports.iterdir()),
    }
    (root / "expected.json").write_text(json.dumps(info))
    return info


def _major(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(int(minor)) // 100}.{abs(int(minor)) % 100:02d}"


def run(
    root: Path,
    memory_limit: str,
    sampler: Any,
    seconds: dict[str, float],
    wallet: tuple[str, str] | None = None,
) -> Any:
    """The timed run: read and check the reports, match, keep the breaks, write the CSV.
    ``wallet``: (PostgreSQL URL, schema) of a ``to_postgres`` copy, read through the view
    as a run reads it (``load_game_transactions_into``: COPY into the workspace) instead
    of attaching the wallet's DuckDB table."""
    from sqlalchemy import create_engine

    from reconcilers import ledger
    from reconcilers.match.engine import workspace
    from reconcilers.match.game_provider import find_breaks
    from reconcilers.report import write_csv
    from reconcilers.sources.game_reports import load_game_reports

    def step(name: str) -> Any:
        sampler.step = name
        return time.perf_counter()

    # The run's own workspace (reconcilers.run._match_games), in the bench's folder; its
    # disk (database file, spill) sampled as the run goes.
    with workspace(memory_limit, root) as (con, folder), DiskSampler(folder) as disk:
        if wallet is None:
            con.execute(f"ATTACH '{root / 'wallet.duckdb'}' AS w (READ_ONLY)")
            con.execute("CREATE VIEW gw AS SELECT * FROM w.gw")
        else:
            t0 = step("wallet")
            _read_wallet(con, folder, *wallet)
            seconds["wallet"] = time.perf_counter() - t0
            say(f"  read the wallet from PostgreSQL: {seconds['wallet']:.1f} s")
        t0 = step("read")
        reports = load_game_reports(con, root / "reports", DAY, PROVIDERS, neighbours=False)
        seconds["read"] = time.perf_counter() - t0
        rejected = len(reports.rejects)
        say(f"  read and checked the reports: {seconds['read']:.1f} s ({rejected} rejected)")
        t0 = step("match")
        con.execute("SET preserve_insertion_order = false")
        result = find_breaks(con, day=DAY, now=NOW, round_window=WINDOW, providers=list(PROVIDERS))
        seconds["match"] = time.perf_counter() - t0
        say(f"  matched: {seconds['match']:.1f} s, {len(result.breaks)} breaks")
    seconds["workspace_bytes"] = disk.peak
    t0 = step("write")
    state = create_engine(f"sqlite:///{root / 'ledger.db'}")
    ledger.create_tables(state)
    with state.begin() as conn:
        run_id = ledger.start_run(
            conn,
            kind="manual",
            period_start=datetime.combine(DAY, datetime.min.time(), tzinfo=UTC),
            period_end=datetime.combine(DAY, datetime.min.time(), tzinfo=UTC) + timedelta(days=1),
            pairs=["wallet_game_provider"],
            now=NOW,
        )
        ledger.apply_breaks(
            conn,
            result.breaks,
            run_id=run_id,
            scope_day=DAY,
            pairs=["wallet_game_provider"],
            psps=[*PROVIDERS, "none"],
            now=NOW,
        )
        open_breaks = ledger.ledger_breaks(conn, status="open", now=NOW)
    write_csv(open_breaks, root / "reconciliation.csv")
    state.dispose()
    seconds["write"] = time.perf_counter() - t0
    return result


class DiskSampler(threading.Thread):
    """The peak size of a folder's files, sampled every half second while in use."""

    def __init__(self, folder: Path) -> None:
        super().__init__(daemon=True)
        self.folder, self.peak, self.done = folder, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.5):
            self.sample()

    def sample(self) -> None:
        size = 0
        for path in self.folder.rglob("*"):
            with contextlib.suppress(OSError):  # a spill file removed while we looked
                size += path.stat().st_size if path.is_file() else 0
        self.peak = max(self.peak, size)

    def __enter__(self) -> DiskSampler:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.sample()
        self.done.set()
        self.join()


def to_postgres(root: Path, url: str, schema: str) -> None:
    """The wallet's table copied into ``schema`` (created) on PostgreSQL, behind a view
    ``pw_casino_wallet_transactions``, as an operator's platform would show it."""
    from sqlalchemy import text

    from igaming.db import make_engine

    path = root / "wallet.csv"
    with duckdb.connect(str(root / "wallet.duckdb"), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"COPY gw TO '{path}' (FORMAT csv, HEADER false)")
    columns = (
        "provider text, provider_transaction_id text, round_id text, player_ref text, "
        "kind text, amount_minor bigint, currency text, created_at timestamptz, "
        "game_id text, round_status text"
    )
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
            conn.execute(text(f"CREATE TABLE {schema}.casino_wallet ({columns})"))
        raw = engine.raw_connection()
        try:
            pg: Any = raw.driver_connection
            with pg.cursor() as cur:
                cur.execute("SET TIME ZONE 'UTC'")
                target = f"{schema}.casino_wallet"
                with (
                    cur.copy(f"COPY {target} FROM STDIN (FORMAT csv)") as copy,
                    path.open("rb") as fh,
                ):
                    while chunk := fh.read(1 << 23):
                        copy.write(chunk)
            pg.commit()
        finally:
            raw.close()
        with engine.begin() as conn:
            conn.execute(
                text(
                    f"CREATE VIEW {schema}.pw_casino_wallet_transactions AS "
                    f"SELECT * FROM {schema}.casino_wallet"
                )
            )
            conn.execute(text(f"ANALYZE {schema}.casino_wallet"))
    finally:
        engine.dispose()
        path.unlink(missing_ok=True)


def drop_postgres(url: str, schema: str) -> None:
    from sqlalchemy import text

    from igaming.db import make_engine

    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    finally:
        engine.dispose()


def _read_wallet(con: duckdb.DuckDBPyConnection, folder: Path, url: str, schema: str) -> None:
    """The wallet's rows of the day and its neighbours into ``gw``, as a run reads them."""
    from igaming.db import make_engine
    from reconcilers.run import load_game_wallet

    engine = make_engine(url, schema=schema, pool_size=1)
    try:
        with engine.connect() as conn:
            load_game_wallet(con, conn, DAY, folder)
    finally:
        engine.dispose()


def run_games(args: argparse.Namespace) -> int:
    """``bench_recon.py --provider-rows N [N ...]``: one line of figures per size."""
    from bench_recon import RssSampler, _status_kb, gib, reset_peak

    results = []
    for n in args.provider_rows:
        root = (args.workdir or Path(tempfile.mkdtemp(prefix="bench_games_"))) / f"n{n}"
        root.mkdir(parents=True, exist_ok=True)
        (root / "spill").mkdir(exist_ok=True)
        if args.reuse and (root / "expected.json").is_file():
            info = json.loads((root / "expected.json").read_text())
            say(f"reusing the day of {n:,} rows a side in {root}")
        else:
            say(f"generating {n:,} transactions a side, {args.breaks} breaks of each type")
            t0 = time.perf_counter()
            info = generate(root, n, args.breaks, args.games_memory_limit)
            say(f"  generated in {time.perf_counter() - t0:.0f} s ({gib(info['bytes'])} of CSV)")
        wallet = None
        if args.games_wallet_postgres:
            wallet = (args.database_url, f"bench_games_{os.getpid()}")
            t0 = time.perf_counter()
            to_postgres(root, *wallet)
            say(f"  the wallet copied into PostgreSQL ({time.perf_counter() - t0:.0f} s)")
        reset_peak()
        sampler = RssSampler(int(args.max_rss * 1024**3))
        sampler.start()
        seconds: dict[str, float] = {}
        t0 = time.perf_counter()
        try:
            result = run(root, args.games_memory_limit, sampler, seconds, wallet)
        finally:
            sampler.stop()
            if wallet is not None:
                drop_postgres(*wallet)
        whole = time.perf_counter() - t0
        workspace_peak = int(seconds.pop("workspace_bytes", 0))
        hwm = _status_kb("VmHWM") * 1024
        peak = max([hwm, *sampler.peaks.values()])
        got = sorted(zip(result.breaks["type"], result.breaks["reference"], strict=True))
        expected = sorted(tuple(e) for e in info["expected"])
        rate = info["report_rows"] / whole
        results.append(
            {
                "rows_a_side": n,
                "report_rows": info["report_rows"],
                "wallet_rows": info["wallet_rows"],
                "seconds": round(whole, 1),
                "steps": {k: round(v, 1) for k, v in seconds.items()},
                "rows_per_second": round(rate),
                "peak_rss": peak,
                "workspace_peak": workspace_peak,
                "breaks_ok": got == expected,
                "breaks": len(got),
                "expected": len(expected),
                "memory_limit": args.games_memory_limit,
                "load": os.getloadavg()[0],
                "matched": result.stats["matched"],
            }
        )
        say(
            f"{n:,} a side: {whole:.1f} s end to end ({rate:,.0f} rows/s a side), peak RSS "
            f"{gib(peak)}, workspace on disk at most {gib(workspace_peak)}, breaks "
            f"{'exactly the planted' if got == expected else 'WRONG'} "
            f"({len(got)} of {len(expected)}); steps "
            + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items())
        )
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print()
    print(
        "| rows a side | end to end | rows/s a side | wallet | read | match | ledger+CSV "
        "| peak RSS | breaks |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        read_wallet = f"{r['steps']['wallet']} s" if "wallet" in r["steps"] else "a table"
        print(
            f"| {r['rows_a_side']:,} | {r['seconds']} s | {r['rows_per_second']:,} "
            f"{'✓' if r['rows_per_second'] >= TARGET_RATE else '✗'} | {read_wallet} | "
            f"{r['steps']['read']} s | "
            f"{r['steps']['match']} s | {r['steps']['write']} s | {gib(r['peak_rss'])} "
            f"{'✓' if r['peak_rss'] < TARGET_RSS else '✗'} | "
            f"{'exact' if r['breaks_ok'] else 'WRONG'} ({r['breaks']}) |"
        )
    print(json.dumps(results))
    return 0
