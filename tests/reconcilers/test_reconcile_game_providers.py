"""Wallet ⟷ game provider (docs/game-provider-reports.md): the platform and the game provider
simulator play a day over the real seamless-wallet protocol, the simulator writes its
transaction reports and GGR statements with errors planted, and ``reconcile_day`` finds
each planted error exactly once and nothing else; a bad row is quarantined; a file cut
short is one line, exit 2 and a failed run."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from ground.vocabulary import DEFAULT_GAME_PROVIDERS, DEFAULT_PSPS
from igaming.sim.games.reports import PLANTABLE, ggr_name, transactions_name
from reconcilers import ledger
from reconcilers.errors import SourceError
from reconcilers.run import RunOptions, reconcile_day
from reconcilers.sources.game_reports import GGR_COLUMNS, TRANSACTION_COLUMNS
from tests.reconcilers.state_db_helpers import empty_reports, reconcile_cli
from tests.reconcilers.test_reconcile_cli import assert_one_error_line_last, runs
from tests.sim.test_game_reports_sim import play_a_day_of_every_fault
from tests.sim.test_games_sim import world  # noqa: F401 (the fixture)

PAIR = "wallet_game_provider"


def options(tmp_path: Path, games: Path) -> RunOptions:
    return RunOptions(
        psp_reports_dir=tmp_path / "psp",
        out_dir=tmp_path / "out",
        psps=(),
        game_reports_dir=games,
        game_providers=DEFAULT_GAME_PROVIDERS,
        round_window=timedelta(hours=6),
    )


def game_breaks(engine, now):
    with engine.connect() as conn:
        found = ledger.ledger_breaks(conn, status="open", now=now)
    return found[found["pair"] == PAIR]


def clean_day_reports(played, tmp_path: Path) -> tuple[date, Path, Path]:
    """A day of every fault played and its reports written without a planted error: the
    day, the reports' folder and spinworks' transaction report (for a test to spoil)."""
    platform, sim, _, clock = played
    play_a_day_of_every_fault(platform, sim, clock)
    day = clock.now().date()
    games = tmp_path / "games"
    sim.write_reports(day, games, {})
    return day, games, games / transactions_name("spinworks", day)


def test_each_planted_error_is_found_exactly_once_and_nothing_else(world, engine, tmp_path):  # noqa: F811
    platform, sim, _, clock = world
    play_a_day_of_every_fault(platform, sim, clock)
    day = clock.now().date()
    games = tmp_path / "games"
    plant = {"spinworks": {kind: 1 for kind in PLANTABLE}}
    (spinworks,) = [r for r in sim.write_reports(day, games, plant) if r.provider == "spinworks"]
    open_rounds = [r.round_id for r in sim.rounds if r.fault == "no_result"]
    assert open_rounds and len(spinworks.discrepancies) == len(PLANTABLE)

    now = clock.now() + timedelta(days=1)
    result = reconcile_day(engine, engine, day, options(tmp_path, games), now)

    found = game_breaks(engine, now)
    got = sorted(zip(found["type"], found["reference"], strict=True))
    expected = sorted(
        [(d.kind, d.reference) for d in spinworks.discrepancies]
        + [("round_open_past_window", r) for r in open_rounds]
    )
    assert got == expected
    assert set(found["psp"]) == {"spinworks"}
    s = result.summary
    assert s.outcome == "success"
    booked = len(sim.book)
    # every booked transaction matched but the two the planted errors are about
    assert s.matched[PAIR] == booked - 2
    assert s.rows["game_report"] == len(spinworks.rows) + len(spinworks.ggr)
    # a re-run finds the same breaks, no new one
    again = reconcile_day(engine, engine, day, options(tmp_path, games), now + timedelta(hours=1))
    assert again.summary.new_breaks == 0
    assert len(game_breaks(engine, now)) == len(expected)


def test_a_clean_day_has_no_break_once_the_rounds_are_inside_the_window(world, engine, tmp_path):  # noqa: F811
    platform, sim, _, clock = world
    play_a_day_of_every_fault(platform, sim, clock)
    day = clock.now().date()
    sim.write_reports(day, tmp_path / "games", {})
    now = clock.now() + timedelta(hours=1)  # the open rounds are younger than the window
    result = reconcile_day(engine, engine, day, options(tmp_path, tmp_path / "games"), now)
    assert game_breaks(engine, now).empty
    assert result.summary.matched[PAIR] == len(sim.book)


def test_a_bad_row_is_quarantined_counted_and_reported(world, engine, tmp_path):  # noqa: F811
    clock = world[3]
    day, games, path = clean_day_reports(world, tmp_path)
    lines = path.read_text().splitlines()
    bad = "spinworks,t-bad,r-bad,ref,spinworks:pit-of-gold,bet,1.5,EUR,2026-11-02T12:00:00.000Z"
    path.write_text("\n".join([*lines, bad]) + "\n")
    now = clock.now() + timedelta(hours=1)

    result = reconcile_day(engine, engine, day, options(tmp_path, games), now)

    found = game_breaks(engine, now)
    assert list(zip(found["type"], found["reference"], found["psp"], strict=True)) == [
        ("invalid_record", f"{path.name}:{len(lines) + 1}", "spinworks")
    ]
    assert "amount '1.5' has 1 decimals (EUR has 2)" in found["details"].iloc[0]
    # every data row of both files, the quarantined one too
    assert result.summary.rows["game_report"] == len(lines) + _lines(games, day) - 1
    assert result.rejects is not None and "t-bad" in result.rejects.read_text()


def test_a_line_break_inside_quotes_keeps_every_line_number(world, engine, tmp_path):  # noqa: F811
    # Not one record per line: the report is split by Python's csv module, and its rows
    # keep their own (first) line numbers, the quarantined one after the break included.
    clock = world[3]
    day, games, path = clean_day_reports(world, tmp_path)
    lines = path.read_text().splitlines()
    fields = lines[3].split(",")
    fields[3] = '"ref\nwith a break"'  # player_ref: not compared, the row still matches
    lines[3] = ",".join(fields)
    bad = "spinworks,t-bad,r-bad,ref,spinworks:pit-of-gold,bet,1.5,EUR,2026-11-02T12:00:00.000Z"
    path.write_text("\n".join([*lines, bad]) + "\n")
    now = clock.now() + timedelta(hours=1)
    work = tmp_path / "work"
    work.mkdir()

    run = replace(options(tmp_path, games), work_dir=work, work_memory="64MB")
    result = reconcile_day(engine, engine, day, run, now)

    found = game_breaks(engine, now)
    # the bad row is the file's last record: its line is after the quoted break
    assert list(zip(found["type"], found["reference"], strict=True)) == [
        ("invalid_record", f"{path.name}:{len(lines) + 2}")
    ]
    assert result.summary.rows["game_report"] == len(lines) + _lines(games, day) - 1
    assert list(work.iterdir()) == []  # the workspace is gone with the run


def _lines(games: Path, day: date) -> int:
    return len((games / ggr_name("spinworks", day)).read_text().splitlines())


def test_a_file_cut_short_fails_the_run(world, engine, tmp_path):  # noqa: F811
    clock = world[3]
    day, games, path = clean_day_reports(world, tmp_path)
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(SourceError, match="cut short") as raised:
        reconcile_day(engine, engine, day, options(tmp_path, games), clock.now())
    with engine.connect() as conn:
        (run,) = [r for r in ledger.last_runs(conn) if r["run_id"] == raised.value.run_id]
    assert run["outcome"] == "failed" and PAIR in run["pairs"]
    assert "cut short" in run["error"]


DAY = date(2026, 11, 2)


def test_the_cli_says_one_line_exits_2_and_records_the_failed_run(
    sqlite_url, tmp_path, monkeypatch, capsys
):
    psp = empty_reports(tmp_path / "psp", DAY, DEFAULT_PSPS)
    games = tmp_path / "games"
    games.mkdir()
    for provider in DEFAULT_GAME_PROVIDERS:
        (games / transactions_name(provider, DAY)).write_text(",".join(TRANSACTION_COLUMNS) + "\n")
        (games / ggr_name(provider, DAY)).write_text(",".join(GGR_COLUMNS) + "\n")
    cut = games / transactions_name(DEFAULT_GAME_PROVIDERS[0], DAY)
    cut.write_text(
        ",".join(TRANSACTION_COLUMNS) + "\nspinworks,t1,r1,ref,g1,bet,1.00,EUR,2026-11-02T12:0"
    )
    code, _out, err = reconcile_cli(
        monkeypatch, capsys, sqlite_url, None, "--date", str(DAY), "--psp-reports", str(psp),
        "--game-reports", str(games), "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert code == 2
    assert_one_error_line_last(err, cut.name, "cut short", "recorded as failed")
    (last, *_) = runs(sqlite_url)
    assert last["outcome"] == "failed" and PAIR in last["pairs"]


def test_the_slack_summary_names_the_game_provider_breaks(world, engine, tmp_path):  # noqa: F811
    from dataclasses import replace

    from reconcilers.run import SlackTarget
    from tests.reconcilers.fake_slack import TOKEN, running_fake_slack

    platform, sim, _, clock = world
    play_a_day_of_every_fault(platform, sim, clock)
    day = clock.now().date()
    sim.write_reports(day, tmp_path / "games", {"spinworks": {"missing_in_wallet": 1}})
    now = clock.now() + timedelta(hours=1)
    with running_fake_slack() as slack:
        target = SlackTarget(TOKEN, "#finance-recon", slack.url + "/api/")
        run_options = replace(options(tmp_path, tmp_path / "games"), slack=target)
        result = reconcile_day(engine, engine, day, run_options, now)
    [message] = slack.messages
    text = str(message["blocks"])
    assert "Missing in wallet" in text and "spinworks 1" in text
    assert list(slack.uploads.values()) == [result.csv.read_bytes()]
    assert "wallet_game_provider" in result.csv.read_text()
    page = result.html.read_text()
    assert "Wallet ⟷ game provider" in page and "Game provider reports" in page


def test_an_older_ledger_gains_the_game_reports_row_count(tmp_path):
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(f"sqlite:///{tmp_path / 'state.db'}")
    ledger.create_tables(engine)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE recon_runs DROP COLUMN rows_game_report"))
    assert "rows_game_report" not in {c["name"] for c in inspect(engine).get_columns("recon_runs")}
    ledger.create_tables(engine)
    assert "rows_game_report" in {c["name"] for c in inspect(engine).get_columns("recon_runs")}
    engine.dispose()


def test_a_transaction_reported_twice_is_one_duplicate_break(world, engine, tmp_path):  # noqa: F811
    clock = world[3]
    day, games, path = clean_day_reports(world, tmp_path)
    lines = path.read_text().splitlines()
    again = next(line for line in lines[1:] if ",bet," in line)
    path.write_text("\n".join([*lines, again]) + "\n")
    now = clock.now() + timedelta(hours=1)

    reconcile_day(engine, engine, day, options(tmp_path, games), now)

    found = game_breaks(engine, now)
    tx = again.split(",")[1]
    assert list(zip(found["type"], found["reference"], strict=True)) == [
        ("duplicate_at_provider", tx)
    ]
    assert found["other_value"].iloc[0] == "2"
    assert f"{path.name}:{len(lines) + 1}" in found["details"].iloc[0]
