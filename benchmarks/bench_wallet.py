"""Wallet throughput: concurrent stakes and wins through the service layer.

    .venv/bin/python benchmarks/bench_wallet.py                   # both backends, both modes
    .venv/bin/python benchmarks/bench_wallet.py --backend postgres --mode distinct -s 10

Each run gets a throwaway database (a fresh PostgreSQL schema, dropped at the end, or a
temporary SQLite file), migrates it, builds a Platform (system clock, a PSP fake that
accepts everything), registers players and gives them cash through approved deposits
(request + signed callback, the real path). Then N writers drive ``place_stake`` and
``pay_win`` (plus a few idempotent replays) for a fixed time or number of transactions:

* ``distinct``: one player per writer (no lock contention: measures per-transaction cost);
* ``hot``: every writer on ONE player (all queue on one cash row lock).

At the end it checks the ledger invariants and prints a table with transactions, tx/s,
p50/p99 latency per transaction.

Writers run, by default, as threads in one process per core (``--executor hybrid``), the
way a web server runs workers x threads; ``processes`` (one process per writer) and
``threads`` (one process) are there to compare. On the 2-core development box, 16 writers
as 16 processes spend the CPU on contention (~420-640 tx/s); hybrid and threads, where
the database waits release the GIL, reach 1,100-1,360 tx/s. Figures: README.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import queue as queue_module
import random
import shutil
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Engine, create_engine, text

from ground.dburl import normalise_url
from igaming.accounts.service import Registration, register
from igaming.bootstrap import Platform
from igaming.cashier.callbacks import handle_callback
from igaming.cashier.deposits import request_deposit
from igaming.cashier.gateway import PaymentRequest
from igaming.db import make_engine
from igaming.errors import InsufficientFunds
from igaming.migrate import upgrade_engine
from igaming.partners.signing import sign
from igaming.wallet.invariants import check_invariants
from igaming.wallet.service import pay_win, place_stake
from pitwatch.compose import build_platform, start_platform
from pitwatch.settings import Settings

DEFAULT_URL = (
    os.environ.get("PITWATCH_BENCH_DATABASE_URL")
    or os.environ.get("PITWATCH_TEST_DATABASE_URL")
    or "postgresql://postgres@127.0.0.1:5432/test"
)
SEED_CASH = 10_000_000_00  # minor units per player: stakes never run out of funds
TARGET_TPS = 1_000


class AcceptingPsp:
    """Every payment accepted with a fresh reference (the callback is sent by the bench)."""

    def submit(self, request: PaymentRequest) -> str:
        return f"{request.psp}-{uuid.uuid4().hex[:16]}"


# -- databases --------------------------------------------------------------------------


@dataclass
class Database:
    backend: str
    url: str
    schema: str | None = None
    tmpdir: str | None = None

    def engine(self, pool_size: int) -> Engine:
        return make_engine(self.url, schema=self.schema, pool_size=pool_size)

    @classmethod
    def create(cls, backend: str, pg_url: str) -> Database:
        if backend == "sqlite":
            tmpdir = tempfile.mkdtemp(prefix="bench_wallet_")
            db = cls(backend, f"sqlite:///{tmpdir}/bench.db", tmpdir=tmpdir)
        else:
            schema = f"bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            admin = create_engine(normalise_url(pg_url))
            with admin.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            admin.dispose()
            db = cls(backend, pg_url, schema=schema)
        engine = db.engine(4)
        upgrade_engine(engine)
        engine.dispose()
        return db

    def drop(self) -> None:
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        if self.schema:
            admin = create_engine(normalise_url(self.url))
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"))
            admin.dispose()


def platform_for(db: Database, pool_size: int) -> Platform:
    engine = db.engine(pool_size)
    settings = Settings(environment="test", database_url=str(engine.url))
    p = build_platform(settings, engine=engine, psp=AcceptingPsp())
    start_platform(p)
    return p


def seed_players(p: Platform, n: int) -> list[str]:
    """Register n players and credit each through an approved deposit."""
    ids = []
    for _ in range(n):
        player = register(
            p,
            Registration(
                email=f"bench-{uuid.uuid4().hex[:12]}@example.com",
                password="correct horse battery",
                country="DE",
                currency="EUR",
                date_of_birth=date(1990, 5, 17),
            ),
        )
        deposit = request_deposit(
            p, player.id, amount=SEED_CASH, currency="EUR", method="card", idempotency_key="seed"
        )
        now = p.clock.now()
        body = json.dumps(
            {
                "event_id": str(uuid.uuid4()),
                "psp": deposit.psp,
                "psp_reference": deposit.psp_reference,
                "merchant_reference": deposit.id,
                "kind": "payment",
                "status": "approved",
                "amount": SEED_CASH,
                "currency": "EUR",
                "occurred_at": now.isoformat(),
            }
        ).encode()
        secret = p.settings.psp_secrets[deposit.psp]
        result = handle_callback(p, deposit.psp, body, sign(secret, int(now.timestamp()), body))
        assert result.status == "approved", result
        ids.append(player.id)
    return ids


# -- writers ----------------------------------------------------------------------------


@dataclass
class WriterResult:
    latencies: list[float] = field(default_factory=list)  # seconds per transaction
    insufficient: int = 0
    errors: list[str] = field(default_factory=list)


def drive(
    p: Platform, player_id: str, writer: int, seconds: float, transactions: int | None
) -> WriterResult:
    """Stakes and wins (and ~5 % replays of an earlier key) until time or count is up."""
    rng = random.Random(writer)
    out = WriterResult()
    keys: list[tuple[str, int, str]] = []
    deadline = time.perf_counter() + seconds
    n = 0
    while (n < transactions) if transactions else (time.perf_counter() < deadline):
        roll = rng.random()
        if roll < 0.05 and keys:
            kind, amount, key = rng.choice(keys)
        else:
            kind = "stake" if roll < 0.53 else "win"
            amount, key = rng.randint(100, 5_000), f"w{writer}-{n}-{uuid.uuid4().hex[:8]}"
            keys.append((kind, amount, key))
        fn = place_stake if kind == "stake" else pay_win
        started = time.perf_counter()
        try:
            fn(p, player_id, product="casino", amount=amount, currency="EUR", idempotency_key=key)
        except InsufficientFunds:
            out.insufficient += 1
        except Exception as exc:  # counted and shown: a benchmark must not hide failures
            out.errors.append(f"{type(exc).__name__}: {exc}"[:300])
        out.latencies.append(time.perf_counter() - started)
        n += 1
    return out


def _process_writers(
    db: Database,
    group: list[tuple[int, str]],
    seconds: float,
    transactions: int | None,
    barrier: Any,
    queue: Any,
    progress: Any,
) -> None:
    """One process driving its writers (``(writer, player)``), one thread each."""
    results = {w: WriterResult() for w, _ in group}
    try:
        p = platform_for(db, pool_size=len(group) + 1)
        for _, player_id in group:  # warm-up outside the measurement (connections, caches)
            pay_win(
                p,
                player_id,
                product="casino",
                amount=1,
                currency="EUR",
                idempotency_key=uuid.uuid4().hex,
            )
        barrier.wait()

        def run(w: int, player_id: str) -> None:
            try:
                results[w] = drive_with_progress(p, player_id, w, seconds, transactions, progress)
            except BaseException as exc:  # reported in the table, never a silent hang
                results[w].errors.append(f"writer {w} crashed: {type(exc).__name__}: {exc}"[:300])

        threads = [threading.Thread(target=run, args=pair) for pair in group]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        p.engine.dispose()
    except BaseException as exc:  # reported in the table, never a silent hang
        for w, _ in group:
            results[w].errors.append(f"writer {w} crashed: {type(exc).__name__}: {exc}"[:300])
        barrier.abort()
    finally:
        for w, result in results.items():
            queue.put((w, result))


def drive_with_progress(
    p: Platform,
    player_id: str,
    writer: int,
    seconds: float,
    transactions: int | None,
    progress: Any,
) -> WriterResult:
    # Count done transactions in a shared value the parent prints every second.
    result = WriterResult()
    end = time.perf_counter() + seconds
    done = 0
    while True:
        if transactions is not None:
            step = min(50, transactions - done)
            if step <= 0:
                break
            part = drive(p, player_id, writer * 100_000 + done, 0, step)
        else:
            left = end - time.perf_counter()
            if left <= 0:
                break
            part = drive(p, player_id, writer * 100_000 + done, min(0.5, left), None)
        result.latencies += part.latencies
        result.insufficient += part.insufficient
        result.errors += part.errors
        done += len(part.latencies)
        with progress.get_lock():
            progress.value += len(part.latencies)
    return result


@dataclass
class Run:
    backend: str
    mode: str
    executor: str
    writers: int
    transactions: int
    seconds: float
    latencies: list[float]
    insufficient: int
    errors: list[str]
    invariants_ok: bool

    @property
    def tps(self) -> float:
        return self.transactions / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def run_one(
    db: Database, mode: str, writers: int, seconds: float, transactions: int | None, executor: str
) -> Run:
    setup = platform_for(db, pool_size=writers + 4)
    players = seed_players(setup, 1 if mode == "hot" else writers)
    assignment = [players[0] if mode == "hot" else players[w] for w in range(writers)]
    ctx = mp.get_context("spawn")
    progress = ctx.Value("l", 0)
    label = f"{db.backend}/{mode}/{executor}"

    if executor in ("processes", "hybrid"):
        setup.engine.dispose()
        # processes: one process per writer. hybrid: as many processes as cores, the
        # writers spread over them as threads (a web server's workers × threads).
        n_procs = writers if executor == "processes" else min(writers, os.cpu_count() or 1)
        groups: list[list[tuple[int, str]]] = [[] for _ in range(n_procs)]
        for w in range(writers):
            groups[w % n_procs].append((w, assignment[w]))
        barrier = ctx.Barrier(n_procs + 1, timeout=300)
        queue = ctx.Queue()
        procs = [
            ctx.Process(
                target=_process_writers,
                args=(db, group, seconds, transactions, barrier, queue, progress),
            )
            for group in groups
        ]
        for proc in procs:
            proc.start()
        with contextlib.suppress(threading.BrokenBarrierError):  # a writer crashed: reported
            barrier.wait()
        started = time.perf_counter()
        results: list[WriterResult] = []
        last = started
        while len(results) < writers:
            with contextlib.suppress(queue_module.Empty):  # wake up to print progress
                results.append(queue.get(timeout=1.0)[1])
                continue
            if not any(proc.is_alive() for proc in procs) and queue.empty():
                results.append(WriterResult(errors=["a writer died without a result"]))
            if time.perf_counter() - last >= 1.0:
                last = time.perf_counter()
                _progress(label, progress.value, last - started)
        elapsed = time.perf_counter() - started
        for proc in procs:
            proc.join()
    else:
        barrier_t = threading.Barrier(writers + 1, timeout=300)
        results = [WriterResult() for _ in range(writers)]

        def worker(w: int) -> None:
            try:
                pay_win(
                    setup, assignment[w], product="casino", amount=1, currency="EUR",
                    idempotency_key=uuid.uuid4().hex,
                )  # fmt: skip
                barrier_t.wait()
                results[w] = drive_with_progress(
                    setup, assignment[w], w, seconds, transactions, progress
                )
            except BaseException as exc:  # reported in the table, never a silent hang
                results[w].errors.append(f"writer {w} crashed: {type(exc).__name__}: {exc}")
                barrier_t.abort()

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(writers)]
        for t in threads:
            t.start()
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier_t.wait()
        started = last = time.perf_counter()
        while any(t.is_alive() for t in threads):
            time.sleep(0.25)
            if time.perf_counter() - last >= 1.0:
                last = time.perf_counter()
                _progress(label, progress.value, last - started)
        elapsed = time.perf_counter() - started

    check = setup if executor == "threads" else platform_for(db, pool_size=2)
    with check.session_factory() as session:
        report = check_invariants(session)
    check.engine.dispose()
    latencies = [x for r in results for x in r.latencies]
    print(file=sys.stderr)
    return Run(
        backend=db.backend,
        mode=mode,
        executor=executor,
        writers=writers,
        transactions=len(latencies),
        seconds=elapsed,
        latencies=latencies,
        insufficient=sum(r.insufficient for r in results),
        errors=[e for r in results for e in r.errors],
        invariants_ok=report.ok,
    )


def _progress(label: str, done: int, elapsed: float) -> None:
    rate = done / elapsed if elapsed else 0.0
    print(
        f"\r  {label}: {done:>7} tx in {elapsed:5.1f} s ({rate:7.0f} tx/s)", end="", file=sys.stderr
    )


def print_table(runs: list[Run]) -> None:
    head = (
        "backend",
        "mode",
        "executor",
        "writers",
        "transactions",
        "tx/s",
        "p50 ms",
        "p99 ms",
        "invariants",
        "insufficient",
        "errors",
    )
    rows = [
        (
            r.backend,
            r.mode,
            r.executor,
            str(r.writers),
            str(r.transactions),
            f"{r.tps:.0f}",
            f"{r.pct(0.50):.2f}",
            f"{r.pct(0.99):.2f}",
            "held" if r.invariants_ok else "BROKEN",
            str(r.insufficient),
            str(len(r.errors)),
        )
        for r in runs
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    for r in runs:
        for e in sorted(set(r.errors))[:3]:
            print(f"{r.backend}/{r.mode}: {e}")
        if r.backend == "postgres" and r.mode == "distinct":
            verdict = "met" if r.tps >= TARGET_TPS else "NOT met"
            print(f"target {TARGET_TPS} tx/s on postgres/distinct ({r.executor}): {verdict}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Concurrent wallet throughput (stakes and wins) on PostgreSQL and SQLite."
    )
    parser.add_argument("--backend", choices=("postgres", "sqlite", "both"), default="both")
    parser.add_argument(
        "--mode",
        choices=("distinct", "hot", "both"),
        default="both",
        help="distinct: one player per writer; hot: all writers on one player",
    )
    parser.add_argument("--writers", type=int, default=16)
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument(
        "--seconds", "-s", type=float, default=5.0, help="run each writer this long (default 5)"
    )
    budget.add_argument(
        "--transactions", "-n", type=int, help="run this many transactions per writer instead"
    )
    parser.add_argument(
        "--executor",
        choices=("hybrid", "processes", "threads", "all"),
        default="hybrid",
        help="hybrid (default): one process per core, writers as threads in them; "
        "processes: one process per writer; threads: one process",
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_URL,
        help="PostgreSQL server; a throwaway schema is created and dropped "
        "(default: $PITWATCH_BENCH_DATABASE_URL, $PITWATCH_TEST_DATABASE_URL, "
        "or postgresql://postgres@127.0.0.1:5432/test)",
    )
    args = parser.parse_args(argv)
    if args.writers < 1:
        parser.error("--writers must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    backends = ["postgres", "sqlite"] if args.backend == "both" else [args.backend]
    modes = ["distinct", "hot"] if args.mode == "both" else [args.mode]
    executors = ["hybrid", "processes", "threads"] if args.executor == "all" else [args.executor]
    runs: list[Run] = []
    for backend in backends:
        db = Database.create(backend, args.database_url)
        try:
            for mode in modes:
                for executor in executors:
                    print(f"{backend}/{mode}/{executor}: {args.writers} writers", file=sys.stderr)
                    runs.append(
                        run_one(db, mode, args.writers, args.seconds, args.transactions, executor)
                    )
        finally:
            db.drop()
    print()
    print_table(runs)
    broken = any(not r.invariants_ok or r.errors for r in runs)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
