"""The wallet ⟷ game provider pair out of core: the benchmark's day (benchmarks/
bench_recon_games.py: hashed rounds, the reports as the providers write them, six break
types planted), small, through the run's own workspace (32 MB of memory) and report
loader, finds exactly the planted breaks. The README's figures
at 10M to 100M rows rest on this path."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
_spec = importlib.util.spec_from_file_location(
    "bench_recon_games", ROOT / "benchmarks" / "bench_recon_games.py"
)
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_the_planted_breaks_and_only_they_are_found_in_a_small_workspace(tmp_path: Path):
    (tmp_path / "spill").mkdir()
    info = bench.generate(tmp_path, 60_000, 4, "256MB")
    seconds: dict[str, float] = {}

    result = bench.run(tmp_path, "32MB", SimpleNamespace(step=""), seconds)

    got = sorted(zip(result.breaks["type"], result.breaks["reference"], strict=True))
    expected = sorted(tuple(e) for e in info["expected"])
    assert len(expected) == 6 * 4
    assert got == expected
    # every clean pair is counted: the report's rows less its broken ones (missing in the
    # wallet, amount mismatch, a rollback on one side: four each)
    assert result.stats["matched"] == info["report_rows"] - 3 * 4
    assert seconds.pop("workspace_bytes") > 0  # the workspace's peak on disk, measured
    assert set(seconds) == {"read", "match", "write"}
