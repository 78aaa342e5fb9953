"""benchmarks/profile_split.py sorts a py-spy profile's samples by layer: the figures the
README gives for where a simulated day's time goes rest on it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "profile_split", ROOT / "benchmarks" / "profile_split.py"
)
assert _spec is not None and _spec.loader is not None
profile_split = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(profile_split)

# py-spy's raw format: the stack, outermost first, and the samples that had it.
_OUTER = "<module> (bench_sim.py:250);run (igaming/traffic/model.py:200)"
_GENERATED = "<sqlalchemy generated _go() wrapper for sqlalchemy.orm.session.Session._flush>:2"
RAW = "".join(
    f"{_OUTER};{frames} {n}\n"
    for frames, n in [
        ("_apply (igaming/casino/seamless.py:230);_run (igaming/fastsql.py:218)", 30),
        (
            "commit (igaming/uow.py:60);DefaultDialect.do_commit (sqlalchemy/engine/default.py:9)",
            10,
        ),
        ("get (igaming/kyc/service.py:40);Session._get_impl (sqlalchemy/orm/session.py:4121)", 25),
        (f"flush ({_GENERATED})", 15),
        ("_fingerprint (igaming/casino/seamless.py:200)", 8),
        ("JSONEncoder.iterencode (json/encoder.py:258)", 4),
        ("AsyncClient.send (httpx/_client.py:1600)", 3),
        ("EpollSelector.select (selectors.py:468)", 2),
        ("UUID.__str__ (uuid.py:280)", 3),
    ]
)


def test_each_sample_counts_once_in_the_layer_of_its_innermost_frame(tmp_path: Path):
    raw = tmp_path / "profile.txt"
    raw.write_text(RAW, encoding="utf-8")
    counts, total = profile_split.split(raw)
    assert total == 100
    assert counts[profile_split.SQLITE] == 40  # fastsql's cursor call and the driver commit
    assert counts[profile_split.SQLALCHEMY] == 40  # the ORM's get and a generated wrapper
    assert counts[profile_split.OURS] == 8
    assert counts[profile_split.JSON] == 4
    assert counts[profile_split.HTTP] == 3
    assert counts[profile_split.ASYNCIO] == 2
    assert counts[profile_split.REST] == 3


def test_a_missing_profile_is_one_line_and_exit_code_2(tmp_path: Path, capsys):
    assert profile_split.main(["--raw", str(tmp_path / "nope.txt")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no such file" in err


def test_the_floor_without_sqlalchemy_is_scaled_to_the_wall_time(tmp_path: Path, capsys):
    raw = tmp_path / "profile.txt"
    raw.write_text(RAW, encoding="utf-8")
    assert profile_split.main(["--raw", str(raw), "--wall", "200"]) == 0
    out = capsys.readouterr().out
    assert "at least 120.0 s of its 200.0 s (60%)" in out  # 40 of 100 samples were SQLAlchemy
