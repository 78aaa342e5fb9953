"""The game provider simulator's books and daily files (docs/game-provider-reports.md): on a
day of every fault the provider's transaction report lists exactly what the seamless wallet
booked (pw_casino_wallet_transactions), and planted errors are planted once each."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

import pytest

from igaming.casino.launch import launch_game
from igaming.sim.games.reports import (
    GGR_COLUMNS,
    PLANTABLE,
    TRANSACTION_COLUMNS,
    build_game_reports,
    ggr_name,
    transactions_name,
)
from reconcilers.sources.wallet import load_game_transactions
from tests.platform.casino_helpers import GAME, funded_player
from tests.sim.test_games_sim import run, world  # noqa: F401 (the fixture)


def play_a_day_of_every_fault(platform, sim, clock) -> None:
    player = funded_player(platform, 1_000_000)
    token = launch_game(platform, player.id, GAME).session_token
    sim.patch_provider(
        "spinworks",
        {
            "duplicate_rate": 0.5,
            "timeout_rate": 0.15,
            "rollback_before_bet_rate": 0.15,
            "win_before_bet_rate": 0.15,
            "no_result_rate": 0.1,
        },
    )
    for _ in range(40):
        run(sim.play_round(token))
        clock.advance(2)
        run(sim.step())
    clock.advance(60)
    run(sim.step())


def test_the_providers_book_is_what_the_wallet_booked(world):  # noqa: F811
    platform, sim, _, clock = world
    start = clock.now()
    play_a_day_of_every_fault(platform, sim, clock)
    played = {r.fault for r in sim.rounds}
    assert played >= {None, "timeout", "rollback_before_bet", "win_before_bet", "no_result"}
    wallet = load_game_transactions(platform.engine, start, clock.now() + timedelta(seconds=1))
    ours = sorted(
        zip(wallet["provider_transaction_id"], wallet["kind"], wallet["amount_minor"], strict=True)
    )
    theirs = sorted((t.transaction_id, t.kind, t.amount) for t in sim.book)
    assert theirs == ours
    assert {k for _, k, _ in theirs} == {"bet", "win", "rollback"}
    assert set(wallet["player_ref"]) == {t.player_ref for t in sim.book}


def test_the_day_files_are_written_with_each_planted_error_once(world, tmp_path):  # noqa: F811
    platform, sim, _, clock = world
    play_a_day_of_every_fault(platform, sim, clock)
    day = clock.now().date()
    plant = {kind: 1 for kind in PLANTABLE}
    written = sim.write_reports(day, tmp_path, {"spinworks": plant})
    (spinworks,) = [r for r in written if r.provider == "spinworks"]
    assert sorted(d.kind for d in spinworks.discrepancies) == sorted(PLANTABLE)
    with (tmp_path / transactions_name("spinworks", day)).open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == TRANSACTION_COLUMNS and len(rows) == len(spinworks.rows) + 1
    ids = {r[1] for r in rows[1:]}
    truth = {d.kind: d for d in spinworks.discrepancies}
    assert truth["missing_at_provider"].reference not in ids
    assert truth["missing_in_wallet"].reference in ids
    assert truth["rollback_one_sided"].reference in ids
    with (tmp_path / ggr_name("spinworks", day)).open(newline="") as fh:
        lines = list(csv.reader(fh))
    assert tuple(lines[0]) == GGR_COLUMNS and len(lines) >= 2
    quiet = tmp_path / transactions_name("livetable", day)
    assert quiet.read_text() == ",".join(TRANSACTION_COLUMNS) + "\n"  # header only


def test_the_statement_adds_up_to_the_report_unless_a_difference_is_planted(world):  # noqa: F811
    platform, sim, _, clock = world
    play_a_day_of_every_fault(platform, sim, clock)
    day = clock.now().date()
    clean = build_game_reports(sim.book, "spinworks", day, seed=1)
    assert clean.discrepancies == []
    bets = sum(t.amount for t in clean.rows if t.kind == "bet")
    bets -= sum(t.amount for t in clean.rows if t.kind == "rollback")
    wins = sum(t.amount for t in clean.rows if t.kind == "win")
    assert [(g.bets, g.wins, g.ggr) for g in clean.ggr] == [(bets, wins, bets - wins)]
    off = build_game_reports(sim.book, "spinworks", day, seed=1, plant={"ggr_difference": 1})
    (d,) = off.discrepancies
    assert d.expected_minor == bets - wins != d.reported_minor == off.ggr[0].ggr


def test_an_unknown_error_cannot_be_planted():
    with pytest.raises(ValueError, match="cannot plant"):
        build_game_reports([], "spinworks", datetime(2026, 1, 1, tzinfo=UTC).date(), plant={"x": 1})
