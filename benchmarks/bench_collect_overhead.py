"""Cost of the platform's instrumentation on the wallet hot path, side by side in one run.

    .venv/bin/python benchmarks/bench_collect_overhead.py                 # both backends
    .venv/bin/python benchmarks/bench_collect_overhead.py --backend sqlite -s 3 -r 1

It runs benchmarks/bench_wallet.py's ``run_one`` (real stakes and wins, ~5 % idempotent
replays, writers as threads in one process per core) with the instrumentation off and on.
The switch is the environment variable PITWATCH_INSTRUMENTATION (``0``:
pitwatch.compose.build_platform subscribes nothing and installs no engine events; default
on), which the writer processes inherit. Each run gets a fresh database, and the order
alternates between repeats so that drift (page cache, autovacuum) does not always hit the
same side. Target: < 5 % overhead
in tx/s.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ENV = "PITWATCH_INSTRUMENTATION"
TARGET_OVERHEAD = 0.05


def load_bench_wallet() -> ModuleType:
    path = Path(__file__).with_name("bench_wallet.py")
    spec = importlib.util.spec_from_file_location("bench_wallet", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_wallet"] = module  # the spawned writers import it by this name
    spec.loader.exec_module(module)
    return module


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Wallet throughput with the platform's instrumentation off and on."
    )
    parser.add_argument("--backend", choices=("postgres", "sqlite", "both"), default="both")
    parser.add_argument("--mode", choices=("distinct", "hot"), default="distinct")
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--seconds", "-s", type=float, default=5.0, help="per run (default 5)")
    parser.add_argument(
        "--repeats", "-r", type=int, default=2, help="off/on pairs per backend (default 2)"
    )
    parser.add_argument("--executor", choices=("hybrid", "threads"), default="hybrid")
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL server (default: bench_wallet's: $PITWATCH_BENCH_DATABASE_URL, "
        "$PITWATCH_TEST_DATABASE_URL or postgresql://postgres@127.0.0.1:5432/test)",
    )
    args = parser.parse_args(argv)
    if args.writers < 1 or args.repeats < 1 or args.seconds <= 0:
        parser.error("--writers and --repeats must be >= 1, --seconds > 0")
    return args


def measure(bw: ModuleType, backend: str, url: str, instrumented: bool, args) -> Any:
    os.environ[ENV] = "1" if instrumented else "0"
    db = bw.Database.create(backend, url)
    try:
        probe = bw.platform_for(db, pool_size=1)
        assert (probe.metrics is not None) == instrumented, "the switch did not take"
        probe.engine.dispose()
        label = "on" if instrumented else "off"
        print(f"{backend}/{args.mode}: instrumentation {label}", file=sys.stderr)
        return bw.run_one(db, args.mode, args.writers, args.seconds, None, args.executor)
    finally:
        db.drop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bw = load_bench_wallet()
    url = args.database_url or bw.DEFAULT_URL
    backends = ["postgres", "sqlite"] if args.backend == "both" else [args.backend]
    previous = os.environ.get(ENV)
    rows = []
    failed = False
    try:
        for backend in backends:
            runs: dict[bool, list] = {False: [], True: []}
            for i in range(args.repeats):
                for instrumented in (False, True) if i % 2 == 0 else (True, False):
                    run = measure(bw, backend, url, instrumented, args)
                    failed |= bool(run.errors) or not run.invariants_ok
                    runs[instrumented].append(run)
            rows.append((backend, runs))
    finally:
        if previous is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = previous

    print()
    head = f"{'backend':<9}{'instrumentation':<17}{'tx/s (runs)':<26}{'p50 ms':>8}{'p99 ms':>8}"
    print(head)
    print("-" * len(head))
    verdicts = []
    for backend, runs in rows:
        tps = {k: statistics.mean(r.tps for r in v) for k, v in runs.items()}
        for instrumented in (False, True):
            rs = runs[instrumented]
            each = ", ".join(f"{r.tps:.0f}" for r in rs)
            p50 = statistics.mean(r.pct(0.5) for r in rs)
            p99 = statistics.mean(r.pct(0.99) for r in rs)
            label = "on" if instrumented else "off"
            print(f"{backend:<9}{label:<17}{f'{tps[instrumented]:.0f} ({each})':<26}"
                  f"{p50:>8.2f}{p99:>8.2f}")  # fmt: skip
        overhead = (tps[False] - tps[True]) / tps[False] if tps[False] else float("nan")
        verdict = "met" if overhead < TARGET_OVERHEAD else "NOT met"
        verdicts.append(f"{backend}: overhead {overhead * 100:+.1f} % (target < 5 %: {verdict})")
    print()
    for line in verdicts:
        print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
