"""How much of a seamless-wallet request is SQLite's own work, and how much the platform's.

    .venv/bin/python benchmarks/bench_wallet_floor.py                     # make bench-floor
    .venv/bin/python benchmarks/bench_wallet_floor.py --players 10000 --days 0.1

Runs the accelerated ``baseline`` Friday from noon (as ``bench_sim.py``) on a fresh SQLite
file. After ``--skip`` wallet requests (the game providers' bets and wins) it takes a copy
of the database with SQLite's backup API, between two requests, and from then on records
every statement the platform hands the driver (SQL and parameters, BEGIN, COMMIT,
ROLLBACK) until ``--requests`` more wallet requests have been served, marking the
statements those requests made and timing each request in the platform
(``casino.seamless.handle``: signature, parsing, the unit of work, the answer). It then
replays the whole record on the copy with the bare ``sqlite3`` driver, same pragmas, and
adds up the time of the marked statements: what those requests cost SQLite itself, with
nothing of ours around it. The platform's figure includes the recording listener (well
under a microsecond a statement). A measurement: it exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from igaming.casino import seamless
from igaming.db import make_engine
from igaming.traffic.run import run_accelerated
from igaming.traffic.scenario import load
from pitwatch.compose import simulation_settings

REPLAY_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=OFF", "PRAGMA foreign_keys=ON")


class Recorder:
    """The statements after the snapshot, each marked with the wallet request it served."""

    def __init__(self, path: Path, snapshot: Path, skip: int, requests: int) -> None:
        self.path, self.snapshot = path, snapshot
        self.skip, self.wanted = skip, requests
        self.seen = 0
        self.recording = False
        self.current: int | None = None  # the index of the wallet request being served
        self.served: list[float] = []  # seconds in the platform, per recorded request
        self.statements: list[tuple[str, Any, bool, int | None]] = []

    def attach(self, engine: Any) -> None:
        def record(sql: str, params: Any, many: bool) -> None:
            if self.recording:
                self.statements.append((sql, params, many, self.current))

        @event.listens_for(engine, "before_cursor_execute")
        def _statement(conn, cursor, sql, params, context, many):
            record(sql, params, many)

        @event.listens_for(engine, "commit")
        def _commit(conn):
            record("COMMIT", None, False)

        @event.listens_for(engine, "rollback")
        def _rollback(conn):
            record("ROLLBACK", None, False)

    def wrap(self, handle: Any) -> Any:
        def timed(*args: Any) -> Any:
            self.seen += 1
            if self.seen == self.skip:
                self._snapshot()
                self.recording = True
            if not self.recording:
                return handle(*args)
            self.current = len(self.served)
            began = time.perf_counter()
            try:
                return handle(*args)
            finally:
                self.served.append(time.perf_counter() - began)
                self.current = None
                if len(self.served) >= self.wanted:
                    self.recording = False
                    print(f"  recorded {len(self.served):,} wallet requests", file=sys.stderr)

        return timed

    def _snapshot(self) -> None:
        src, dst = sqlite3.connect(self.path), sqlite3.connect(self.snapshot)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        print(f"  snapshot after {self.seen - 1:,} wallet requests", file=sys.stderr)


def replay(recorder: Recorder) -> tuple[float, int]:
    """Seconds and statements of the marked requests, replayed on the bare driver."""
    con = sqlite3.connect(recorder.snapshot, isolation_level=None)
    for pragma in REPLAY_PRAGMAS:
        con.execute(pragma)
    cur = con.cursor()
    clock = time.perf_counter
    spent, marked = 0.0, 0
    for sql, params, many, request in recorder.statements:
        began = clock()
        if sql in ("COMMIT", "ROLLBACK"):
            if con.in_transaction:
                con.execute(sql)
        elif many and params and isinstance(params[0], list | tuple | dict):
            cur.executemany(sql, params)
        else:
            cur.execute(sql, params)
        if request is not None:
            spent += clock() - began
            marked += 1
    con.close()
    return spent, marked


def _progress() -> Any:
    def show(now: datetime, tally: Any) -> None:
        print(f"\r  {now:%a %H:%M} simulated, {tally.actions:,} actions", end="", file=sys.stderr)

    return show


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--players", type=int, default=3_000)
    parser.add_argument("--days", type=float, default=0.2, help="the slice run (from noon)")
    parser.add_argument("--skip", type=int, default=10_000, help="wallet requests before")
    parser.add_argument("--requests", type=int, default=10_000, help="wallet requests timed")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if min(args.players, args.skip, args.requests) < 1 or not 0 < args.days <= 7:
        parser.error("--players, --skip, --requests >= 1 and 0 < --days <= 7")
    base = load("baseline")
    scenario = base.model_copy(
        update={
            "seed": args.seed,
            "start": datetime(2026, 11, 6, 12, tzinfo=UTC),
            "players": base.players.model_copy(
                update={"daily_active": args.players, "existing": args.players}
            ),
        }
    )
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        path, snapshot = Path(tmp) / "sim.db", Path(tmp) / "snapshot.db"
        engine = make_engine(f"sqlite:///{path}", durable=False)
        recorder = Recorder(path, snapshot, args.skip, args.requests)
        recorder.attach(engine)
        handle, seamless.handle = seamless.handle, recorder.wrap(seamless.handle)
        try:
            print(f"running {args.players:,} players, {args.days:g} day(s)", file=sys.stderr)
            run_accelerated(
                scenario,
                engine,
                settings_for=simulation_settings,
                duration=timedelta(days=args.days),
                progress=_progress(),
            )
            print(file=sys.stderr)
        finally:
            seamless.handle = handle
            engine.dispose()
        n = len(recorder.served)
        if n == 0:
            print(f"fewer than --skip {args.skip:,} wallet requests in the run: lengthen --days")
            return 0
        print(f"  replaying {len(recorder.statements):,} statements", file=sys.stderr)
        floor, marked = replay(recorder)
    platform = sum(recorder.served)
    print(
        f"{n:,} wallet requests ({marked / n:.1f} statements each, BEGIN and COMMIT "
        f"included): the platform {platform / n * 1e6:,.0f} µs a request; the same "
        f"statements on the bare driver {floor / n * 1e6:,.0f} µs ({floor / platform:.0%})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
