"""Accelerated simulation speed: one simulated day of a 10,000-daily-active-player operator.

    .venv/bin/python benchmarks/bench_sim.py                      # make bench-sim: both backends
    .venv/bin/python benchmarks/bench_sim.py --days 0.1           # a tenth of the day
    .venv/bin/python benchmarks/bench_sim.py --backend sqlite --players 2000

The day is the built-in ``baseline`` scenario's Friday from noon (busier than a Monday) with
``players.daily_active`` set to ``--players`` and as many existing players, run by
``igaming.traffic.run.run_accelerated`` exactly as ``pitwatch simulate --accelerated`` runs
it: the platform's service layer in-process on a simulated clock, the PSP, KYC, game
provider, odds feed and affiliate network simulators in-process, the background jobs on
their schedule. SQLite is a fresh file; PostgreSQL a fresh schema of
``PITWATCH_BENCH_DATABASE_URL`` (else ``PITWATCH_TEST_DATABASE_URL``, else the local
``postgresql://postgres@127.0.0.1:5432/test``), dropped afterwards.

Reported per backend: wall time, split into the warm-up (the existing players registered,
verified and funded before the day starts) and the day itself; simulator actions per
second during the day (an action is one thing a player did: a deposit, a bet, a casino
round, a registration, ...); what the day held (deposits, bets, rounds); the time a full
day would take at that rate when ``--days`` < 1; and the ledger invariants. Target (the
issue): a full day in under 5 minutes on the 2-core machine.
A measurement: it exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from ground.dburl import normalise_url
from igaming.db import make_engine
from igaming.traffic.model import Tally, warmup_share
from igaming.traffic.run import run_accelerated
from igaming.traffic.scenario import load
from pitwatch.compose import simulation_settings

TARGET_SECONDS = 300.0
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


@contextlib.contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="bench-sim-") as tmp:
        yield f"sqlite:///{tmp}/sim.db"


@contextlib.contextmanager
def pg_engine() -> Iterator[Any]:
    url = (
        os.environ.get("PITWATCH_BENCH_DATABASE_URL")
        or os.environ.get("PITWATCH_TEST_DATABASE_URL")
        or DEFAULT_PG
    )
    schema = f"bench_sim_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(url))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(url, schema=schema)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def progress_printer(start: datetime, end: datetime, marks: dict[str, float]):
    """Prints progress; records when the warm-up ended (the clock reached the day's start)."""
    began = time.monotonic()
    total = (end - start).total_seconds()

    def show(now: datetime, tally: Tally) -> None:
        if now >= start and "day_began" not in marks:
            marks["day_began"], marks["warmup_actions"] = time.perf_counter(), tally.actions
            marks["warmup_deposits"] = count(tally.as_dict()["flows"], "deposit")
        rate = tally.actions / max(time.monotonic() - began, 1e-9)
        if now < start:
            what = f"warm-up {warmup_share(now, start):6.1%}"
        else:
            what = f"{(now - start).total_seconds() / total:6.1%} simulated"
        print(
            f"\r  {what}  {tally.actions:>9,} actions  {rate:7,.0f}/s",
            end="",
            file=sys.stderr,
            flush=True,
        )

    return show


def count(flows: dict[str, dict[str, int]], flow: str) -> int:
    return sum(flows.get(flow, {}).values())


def run(backend: str, players: int, days: float, seed: int) -> dict[str, Any]:
    base = load("baseline")
    # From noon, where the daily curve is near its mean: a slice of the day (--days < 1)
    # then extrapolates fairly to the whole day.
    friday = datetime(2026, 11, 6, 12, tzinfo=UTC)
    scenario = base.model_copy(
        update={
            "seed": seed,
            "start": friday,
            "players": base.players.model_copy(
                update={"daily_active": players, "existing": players}
            ),
        }
    )
    duration = timedelta(days=days)
    marks: dict[str, float] = {}
    progress = progress_printer(friday, friday + duration, marks)
    print(f"{backend}: {players:,} daily active players, {days:g} simulated day(s)", flush=True)
    with sqlite_url() if backend == "sqlite" else pg_engine() as database:
        began = time.perf_counter()
        result = run_accelerated(
            scenario,
            database,
            settings_for=simulation_settings,
            duration=duration,
            progress=progress,
        )
        wall = time.perf_counter() - began
    print(file=sys.stderr)
    flows = result.tally.as_dict()["flows"]
    actions = result.tally.actions
    warmup = marks["day_began"] - began
    day = wall - warmup
    day_actions = actions - int(marks["warmup_actions"])
    figures: dict[str, Any] = {
        "backend": backend,
        "players": players,
        "simulated_days": days,
        "wall_seconds": round(wall, 1),
        "warmup_seconds": round(warmup, 1),
        "warmup_actions": int(marks["warmup_actions"]),
        "day_seconds": round(day, 1),
        "actions": actions,
        "actions_per_second": round(day_actions / day, 1),
        "deposits": count(flows, "deposit"),
        "warmup_deposits": int(marks["warmup_deposits"]),
        "bets": count(flows, "bet"),
        "casino_rounds": count(flows, "casino_round"),
        "registrations": count(flows, "registration"),
        "full_day_seconds_at_this_rate": round(day / days, 1),
        "target_seconds": TARGET_SECONDS,
        "ledger_invariants_ok": result.invariants_ok,
    }
    figures["target_met"] = figures["full_day_seconds_at_this_rate"] < TARGET_SECONDS
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--players", type=int, default=10_000)
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.players < 1 or not 0 < args.days <= 7:
        parser.error("--players >= 1 and 0 < --days <= 7")
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    results = [run(b, args.players, args.days, args.seed) for b in backends]
    for r in results:
        print(
            f"{r['backend']:>8}: {r['wall_seconds']:>8.1f} s wall (warm-up {r['warmup_seconds']} s "
            f"for {r['warmup_actions']:,} actions), {r['actions']:,} actions; the day "
            f"{r['day_seconds']} s at {r['actions_per_second']:,.0f} actions/s: "
            f"{r['deposits']:,} deposits ({r['warmup_deposits']:,} in the warm-up), "
            f"{r['bets']:,} bets, "
            f"{r['casino_rounds']:,} rounds; a full day "
            f"{r['full_day_seconds_at_this_rate']:,.0f} s "
            f"(target < {TARGET_SECONDS:.0f} s: {'met' if r['target_met'] else 'NOT met'}); "
            f"ledger invariants {'hold' if r['ledger_invariants_ok'] else 'VIOLATED'}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
