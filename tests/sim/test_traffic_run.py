"""Accelerated runs: deterministic, ground truth written, the ledger holds after a mixed week,
and ``pitwatch simulate`` behaves as a command line should."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select

from igaming.models import Deposit, Player
from igaming.traffic.run import run_accelerated
from igaming.traffic.scenario import parse
from igaming.traffic.truth import db_dump, read_incident_log
from pitwatch.cli import main
from pitwatch.compose import simulation_settings

SMALL = {
    "name": "small",
    "seed": 5,
    "start": "2026-11-06T18:00:00Z",  # a Friday evening
    "duration": "1h",
    "players": {"daily_active": 400, "existing": 40, "organic_registrations_per_day": 200},
    "campaigns": [
        {"affiliate": "aff17", "campaign": "spring-de", "clicks_per_day": 3000, "geos": ["DE"]}
    ],
    "incidents": [
        {
            "type": "psp_degradation",
            "start": "15m",
            "duration": "20m",
            "psp": "paybridge",
            "geo": "DE",
            "approval_rate": 0.1,
        },
        {"type": "deploy", "start": "40m", "version": "9.9.9"},
    ],
}
WARMUP = timedelta(minutes=20)


def _run(url: str | Engine, tmp: Path, **changes):
    scenario = parse(SMALL | changes)
    return run_accelerated(
        scenario, url, settings_for=simulation_settings, out_dir=tmp, warmup=WARMUP
    )


@pytest.mark.slow
def test_one_seed_gives_one_run_and_another_seed_another(tmp_path: Path):
    first = _run(f"sqlite:///{tmp_path}/a.db", tmp_path / "a")
    second = _run(f"sqlite:///{tmp_path}/b.db", tmp_path / "b")
    other = _run(f"sqlite:///{tmp_path}/c.db", tmp_path / "c", seed=6)

    assert first.tally.actions > 300  # enough traffic for the comparison to mean something
    assert first.database == second.database
    assert first.tally.as_dict() == second.tally.as_dict()
    assert first.database["deposits"] and first.database["bets"]
    assert first.database != other.database
    # Not only the counts: every row of every table (but the unseeded columns) is the same.
    dumps = {}
    for name in ("a", "b", "c"):
        engine = create_engine(f"sqlite:///{tmp_path}/{name}.db")
        dumps[name] = db_dump(engine)
        engine.dispose()
    assert len(dumps["a"]["ledger_entries"]) > 300 and dumps["a"]["outbox"]
    for table, rows in dumps["a"].items():
        assert rows == dumps["b"][table], table
    assert dumps["a"]["ledger_entries"] != dumps["c"]["ledger_entries"]


def test_a_run_writes_its_incident_log_and_summary(tmp_path: Path):
    result = _run(f"sqlite:///{tmp_path}/db.sqlite", tmp_path / "out")

    rows = read_incident_log(tmp_path / "out" / "incidents.jsonl")
    assert [r["type"] for r in rows] == ["psp_degradation", "deploy"]
    degradation = rows[0]
    assert degradation["scope"] == {"psp": "paybridge", "geo": "DE"}
    assert degradation["parameters"] == {"approval_rate": 0.1}
    assert degradation["start"] == "2026-11-06T18:15:00+00:00"
    assert degradation["end"] == "2026-11-06T18:35:00+00:00"
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["scenario"] == "small" and summary["seed"] == 5
    assert summary["ledger_invariants_ok"] is True
    assert summary["simulator"]["actions"] == result.tally.actions
    assert summary["database"]["players"]["DE"]  # counted per GEO
    assert summary["incidents"] == 2


def test_accelerated_mode_writes_the_platforms_own_tables(tmp_path: Path, engine: Engine):
    """On SQLite and on PostgreSQL: the run's players and deposits are in the database."""
    result = _run(engine, tmp_path / "out", duration="30m")

    with engine.connect() as conn:
        players = conn.execute(select(func.count()).select_from(Player)).scalar_one()
        deposits = conn.execute(select(Deposit.status, func.count()).group_by(Deposit.status)).all()
    registered = sum(n for (flow, outcome), n in result.tally.flows.items()
                     if flow == "registration" and outcome == "ok")  # fmt: skip
    assert players == registered > 40
    assert dict(deposits).get("approved", 0) > 0
    assert result.invariants_ok is True


# The ledger invariant after the built-in mixed week is checked on the week that the
# reconcilers' test reconciles (tests/reconcilers/test_reconcile_simulated_traffic.py):
# one run of the week for both.


def test_simulate_lists_the_built_in_scenarios(capsys):
    assert main(["simulate", "--list"]) == 0
    out = capsys.readouterr().out
    for name in ("baseline", "psp-outage-de", "mixed-week", "kickoff-surge"):
        assert name in out


def test_simulate_has_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "--help"])
    assert exit_.value.code == 0
    assert "--accelerated" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["simulate", "--scenario", "nope"], "no such file or built-in"),
        (["simulate", "--scenario", "baseline", "--days", "-1"], "must be greater than 0"),
        (["simulate", "--scenario", "baseline", "--live", "u", "--accelerated"], "not allowed"),
        (["simulate"], "give --scenario"),
    ],
)
def test_simulate_refuses_bad_input_in_one_line_with_exit_code_2(argv, words, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err


def test_simulate_refuses_a_bad_scenario_file_naming_the_field(tmp_path: Path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nplayers: {daily_active: -4}\n", encoding="utf-8")
    assert main(["simulate", "--scenario", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pitwatch: scenario s.yaml: players.daily_active: ")


def test_simulate_runs_a_fraction_of_a_day_and_prints_a_summary(tmp_path, monkeypatch, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps(SMALL | {"duration": "1d"}), encoding="utf-8")  # JSON is YAML
    monkeypatch.setenv("PITWATCH_DATABASE_URL", f"sqlite:///{tmp_path}/db.sqlite")
    out = tmp_path / "truth"

    code = main(["simulate", "--scenario", str(path), "--days", "0.02", "--out", str(out)])

    assert code == 0
    printed = capsys.readouterr()
    assert "ledger invariants: hold" in printed.out
    assert "100.0%" in printed.err  # the progress bar reached the end
    # ... after showing the warm-up, where the 40 existing players join before the start
    warmup = printed.err.split("100.0%")[0]
    assert "[warm-up: existing players" in warmup
    # ... with its share: the 2-hour warm-up reported every 5 simulated minutes
    shares = [float(x) for x in re.findall(r"existing players\s*\]\s+(\d+\.\d)%", warmup)]
    assert len(shares) >= 20 and shares == sorted(shares) and 0 <= shares[0] < shares[-1] < 100
    summary = json.loads((out / "summary.json").read_text())
    assert summary["end"] == "2026-11-06T18:28:48+00:00"  # 0.02 d = 28 min 48 s
    assert (out / "incidents.jsonl").read_text().count("\n") == 1  # only the first began
