"""Where an accelerated run's time goes, by layer: SQLite's own work, SQLAlchemy, our code.

    .venv/bin/python benchmarks/profile_split.py                        # make bench-profile
    .venv/bin/python benchmarks/profile_split.py --players 3000 --days 0.2
    .venv/bin/python benchmarks/profile_split.py --raw profile.txt      # a recorded profile

Runs ``bench_sim.py`` (SQLite) under py-spy, a sampling profiler (100 samples a second,
from another process: the run is not instrumented, so call-heavy code is not inflated as
under cProfile), and sorts every sample by the frame it was in (its own time):

- SQLite: the statements, fetches, commits and rollbacks handed to the ``sqlite3`` driver
  (its C code shows up as the Python line that called it);
- SQLAlchemy: the ORM (sessions, unit of work, identity map, flush, ``get``) and Core
  (statement compilation and caching, parameter and result processing, the pool);
- ours: the platform, the simulators and the traffic model (``igaming``, ``collectors``);
- the libraries and the standard library we call: JSON, httpx and the ASGI stack, pydantic,
  asyncio, the rest.

It then says what the run would take with no SQLAlchemy at all (every other layer as
measured): a lower bound for any rewrite of the data access, since a rewrite would still
bind parameters and build rows. The samples include the process's start-up (imports, about
a second), which bench_sim's wall time does not: negligible for a day, not for a minute.
A measurement: it exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

LAYERS = (
    "SQLite (the driver's own work)",
    "SQLAlchemy",
    "ours (platform, simulators, model)",
    "JSON (stdlib)",
    "httpx and the ASGI stack",
    "pydantic",
    "asyncio",
    "the rest (stdlib, imports)",
)
SQLITE, SQLALCHEMY, OURS, JSON, HTTP, PYDANTIC, ASYNCIO, REST = LAYERS

# Frames whose own time is the driver's: the lines of ours and of SQLAlchemy's that call
# the sqlite3 cursor or connection (py-spy without --native attributes C to its caller).
_DRIVER_FRAMES = re.compile(
    r"^(_run \(igaming/fastsql\.py"
    r"|DefaultDialect\.do_(execute|executemany|commit|rollback) \(sqlalchemy/engine/default\.py"
    r"|(CursorFetchStrategy|BufferedRowCursorFetchStrategy)\.fetch\w* "
    r"\(sqlalchemy/engine/cursor\.py)"
)
_FRAME_PATH = re.compile(r"\(([^():]*)(?::\d+)?\)$")


def layer(frame: str) -> str:
    """The layer of a sample's innermost frame (``function (path:line)``)."""
    if _DRIVER_FRAMES.match(frame):
        return SQLITE
    if "<sqlalchemy generated" in frame:
        return SQLALCHEMY
    found = _FRAME_PATH.search(frame)
    path = found.group(1) if found else ""
    top = path.split("/", 1)[0]
    if top == "sqlalchemy":
        return SQLALCHEMY
    if top in ("igaming", "collectors", "pitwatch", "reconcilers"):
        return OURS
    if top == "json":
        return JSON
    if top in ("httpx", "httpcore", "starlette", "fastapi", "anyio", "h11"):
        return HTTP
    if top in ("pydantic", "pydantic_core"):
        return PYDANTIC
    if top == "asyncio" or path in ("selectors.py",):
        return ASYNCIO
    return REST


def split(raw: Path) -> tuple[Counter[str], int]:
    """Samples per layer in a py-spy ``--format raw`` file (``frame;frame;... count``)."""
    counts: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        counts[layer(stack.rsplit(";", 1)[-1])] += int(n)
        total += int(n)
    return counts, total


def record(players: int, days: float, out: Path) -> float | None:
    """Runs bench_sim under py-spy; the run's wall seconds as bench_sim reported them."""
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        sys.exit(f"profile_split: py-spy is not installed ({spy}); make bench-profile installs it")
    bench = Path(__file__).with_name("bench_sim.py")
    cmd = [str(spy), "record", "--rate", "100", "--format", "raw", "--output", str(out), "--"]
    cmd += [sys.executable, str(bench), "--backend", "sqlite"]
    cmd += ["--players", str(players), "--days", str(days)]
    print(f"profiling bench_sim: {players:,} players, {days} day(s), SQLite", file=sys.stderr)
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:  # py-spy's or the run's own message is on stderr above
        sys.exit(f"profile_split: the profiled run failed (exit {done.returncode})")
    wall = re.search(r"sqlite:\s+([\d.]+) s wall", done.stdout)
    print(done.stdout.strip())
    return float(wall.group(1)) if wall else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--players", type=int, default=10_000)
    parser.add_argument("--days", type=float, default=0.15)
    parser.add_argument("--raw", type=Path, help="analyse this py-spy raw profile instead")
    parser.add_argument("--wall", type=float, help="seconds to scale the split to")
    args = parser.parse_args(argv)
    wall = args.wall
    if args.raw is not None:
        if not args.raw.is_file():
            print(f"profile_split: no such file: {args.raw}", file=sys.stderr)
            return 2
        counts, total = split(args.raw)
    else:
        with tempfile.TemporaryDirectory(prefix="profile-split-") as tmp:
            out = Path(tmp) / "profile.txt"
            measured = record(args.players, args.days, out)
            wall = wall or measured
            counts, total = split(out)
    if total == 0:
        print("profile_split: the profile holds no samples", file=sys.stderr)
        return 2
    print(f"\n{total:,} samples; share of the run by the layer it was in:")
    for name in LAYERS:
        share = counts[name] / total
        seconds = f"{share * wall:8.1f} s" if wall else ""
        print(f"  {name:<38} {share:6.1%} {seconds}")
    without = 1 - counts[SQLALCHEMY] / total
    if wall:
        print(
            f"\nwith no SQLAlchemy at all (every other layer as measured) the run would take "
            f"at least {without * wall:.1f} s of its {wall:.1f} s ({without:.0%})"
        )
    else:
        print(f"\nwith no SQLAlchemy at all the run would take at least {without:.0%} of its time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
