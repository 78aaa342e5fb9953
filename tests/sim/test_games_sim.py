"""The platform and the game provider simulator speaking the real protocols to each other
(in-process ASGI transports, one shared fake clock): launches, rounds and their faults."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from ground.clock import FakeClock
from igaming.api.app import create_app as create_platform_app
from igaming.casino.catalogue import seed_catalogue
from igaming.casino.gateway import HttpGameProviderGateway
from igaming.casino.launch import (
    GameLaunchRefused,
    install_gateway,
    launch_game,
)
from igaming.casino.models import CasinoRound
from igaming.errors import UpstreamUnavailable
from igaming.sim.games import GamesSimConfig
from igaming.sim.games import create_app as create_games_app
from igaming.sim.games.simulator import GameProviderSimulator
from igaming.wallet.invariants import check_invariants
from tests.conftest import make_platform
from tests.platform.casino_helpers import GAME, cash, funded_player


class _LazyApp:
    """The platform app is built after the simulator's; the transport looks it up per call."""

    def __init__(self, holder: dict) -> None:
        self.holder = holder

    async def __call__(self, scope, receive, send):
        await self.holder["app"](scope, receive, send)


@pytest.fixture
def world(engine):
    clock = FakeClock()
    config = GamesSimConfig(seed=3)
    for knobs in config.providers.values():
        knobs.result_delay_seconds = 5
    holder: dict = {}
    to_platform = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_LazyApp(holder)), base_url="http://platform"
    )
    games_app = create_games_app(config, clock, to_platform, run_loop=False)
    with TestClient(games_app) as games_client:
        platform = make_platform(engine, clock=clock)
        seed_catalogue(platform)
        install_gateway(platform, HttpGameProviderGateway(client=games_client))
        holder["app"] = create_platform_app(platform)
        yield platform, games_app.state.simulator, games_client, clock


def run(coro):
    return asyncio.run(coro)


def rounds(p) -> list[CasinoRound]:
    with p.session_factory() as s:
        return list(s.execute(select(CasinoRound).order_by(CasinoRound.started_at)).scalars())


def ledger_ok(p) -> None:
    with p.session_factory() as s:
        report = check_invariants(s)
    assert report.ok, report.violations()


def test_a_round_debits_at_once_and_settles_after_the_result_delay(world):
    platform, sim, _, clock = world
    player = funded_player(platform)
    token = launch_game(platform, player.id, GAME).session_token
    assert run(sim.balance(token)).body["balance"] == 10_000
    rnd = run(sim.play_round(token, 500))
    assert rnd.state == "awaiting_result" and cash(platform, player) == 9_500
    assert run(sim.step()) == []  # not due yet
    clock.advance(6)
    assert [r.ok for r in run(sim.step())] == [True]
    assert rnd.state == "completed"
    assert cash(platform, player) == 9_500 + rnd.win
    (db_round,) = rounds(platform)
    assert (db_round.status, db_round.result_delay_seconds) == ("completed", 6.0)
    assert (db_round.stake_minor, db_round.win_minor) == (500, rnd.win)
    ledger_ok(platform)


def test_launch_failure_knob_fails_launches_with_the_providers_answer(world):
    platform, sim, games_client, _ = world
    player = funded_player(platform)
    games_client.patch(
        "/admin/providers/spinworks", json={"launch_failure_rate": 1.0, "launch_refusal_share": 1}
    )
    with pytest.raises(GameLaunchRefused):
        launch_game(platform, player.id, GAME)
    games_client.patch("/admin/providers/spinworks", json={"launch_refusal_share": 0.0})
    with pytest.raises(UpstreamUnavailable):
        launch_game(platform, player.id, GAME)
    games_client.patch("/admin/providers/spinworks", json={"launch_failure_rate": 0.0})
    launch_game(platform, player.id, GAME)
    with platform.session_factory() as s:
        seen = s.execute(text("SELECT outcome, reason FROM pw_game_launches ORDER BY at")).all()
    assert sorted(tuple(x) for x in seen) == [
        ("failed", "refused"),
        ("failed", "unavailable"),
        ("launched", None),
    ]
    assert sim.launches[("spinworks", "launched")] == 1


def test_a_timed_out_bet_is_rolled_back_and_its_round_cancelled(world):
    platform, sim, _, clock = world
    player = funded_player(platform)
    token = launch_game(platform, player.id, GAME).session_token
    rnd = run(sim.play_round(token, 700, fault="timeout"))
    assert rnd.state == "rolled_back"
    clock.advance(60)
    run(sim.step())
    assert cash(platform, player) == 10_000
    assert [r.status for r in rounds(platform)] == ["cancelled"]
    ledger_ok(platform)


def test_a_rollback_before_its_bet_leaves_the_late_bet_refused(world):
    platform, sim, _, _ = world
    player = funded_player(platform)
    token = launch_game(platform, player.id, GAME).session_token
    rnd = run(sim.play_round(token, 700, fault="rollback_before_bet"))
    assert rnd.bet_code == "DUPLICATE_TRANSACTION"
    assert cash(platform, player) == 10_000 and rounds(platform) == []
    codes = [(r.action, r.code) for r in sim.sent]
    assert codes == [("rollback", "TRANSACTION_NOT_FOUND"), ("bet", "DUPLICATE_TRANSACTION")]


def test_a_win_sent_before_its_bet_is_retried_and_credited_once(world):
    platform, sim, _, clock = world
    player = funded_player(platform)
    token = launch_game(platform, player.id, GAME).session_token
    sim.patch_provider("spinworks", {"rtp_bps": 20_000})
    for _ in range(5):
        run(sim.play_round(token, 100, fault="win_before_bet"))
    clock.advance(6)
    run(sim.step())
    played = list(sim.rounds)
    assert {r.state for r in played} == {"completed"}
    assert cash(platform, player) == 10_000 - 500 + sum(r.win for r in played)
    assert ("win", "TRANSACTION_NOT_FOUND") in {(r.action, r.code) for r in sim.sent}
    ledger_ok(platform)


def test_duplicated_sends_and_every_fault_together_never_move_money_twice(world):
    platform, sim, _, clock = world
    player = funded_player(platform, 100_000)
    token = launch_game(platform, player.id, GAME).session_token
    sim.patch_provider(
        "spinworks",
        {
            "duplicate_rate": 1.0,
            "timeout_rate": 0.2,
            "rollback_before_bet_rate": 0.2,
            "win_before_bet_rate": 0.2,
        },
    )
    for _ in range(25):
        run(sim.play_round(token))
        clock.advance(2)
        run(sim.step())
    clock.advance(60)
    run(sim.step())
    played = list(sim.rounds)
    assert {r.fault for r in played} >= {None, "timeout", "rollback_before_bet", "win_before_bet"}
    completed = [r for r in played if r.state == "completed"]
    expected = 100_000 - sum(r.stake for r in completed) + sum(r.win for r in completed)
    assert cash(platform, player) == expected
    assert {r.state for r in played} <= {"completed", "rolled_back"}
    assert sum(1 for r in sim.sent if r.duplicate) > 25
    ledger_ok(platform)


def test_bad_signatures_are_refused_and_the_result_is_retried_until_given_up(world):
    platform, sim, _, clock = world
    player = funded_player(platform)
    token = launch_game(platform, player.id, GAME).session_token
    sim.patch_provider("spinworks", {"bad_signature_rate": 1.0})
    refused = run(sim.play_round(token, 300))
    assert (refused.state, refused.bet_code) == ("refused", "INVALID_SIGNATURE")
    sim.patch_provider("spinworks", {"bad_signature_rate": 0.0, "retry_max_attempts": 2})
    pending = run(sim.play_round(token, 300))
    sim.patch_provider("spinworks", {"bad_signature_rate": 1.0})
    for _ in range(3):
        clock.advance(30)
        run(sim.step())
    assert pending.state == "abandoned"
    assert [r.status for r in rounds(platform)] == ["open"]  # a round left without result
    assert cash(platform, player) == 9_700


def test_same_seed_plays_the_same_rounds():
    def results(seed: int) -> list[int]:
        sim = GameProviderSimulator(GamesSimConfig(seed=seed), FakeClock(), None)
        return [sim._result(1_000, 9_600) for _ in range(200)]

    assert results(5) == results(5) != results(6)


def test_results_pay_back_the_configured_rtp_on_average():
    sim = GameProviderSimulator(GamesSimConfig(seed=1), FakeClock(), None)
    paid = sum(sim._result(10_000, 9_600) for _ in range(50_000))
    assert 0.90 < paid / (10_000 * 50_000) < 1.02


def test_admin_knobs_are_validated(world):
    _, _, games_client, _ = world
    r = games_client.patch("/admin/providers/spinworks", json={"timeout_rate": 2})
    assert r.status_code == 422
    assert games_client.patch("/admin/providers/nope", json={}).status_code == 404
    assert games_client.get("/admin/config").json()["providers"]["spinworks"]["timeout_rate"] == 0


def test_admin_endpoint_plays_rounds_for_an_open_session(world):
    platform, _, games_client, _ = world
    player = funded_player(platform)
    token = launch_game(platform, player.id, GAME).session_token
    r = games_client.post(f"/admin/sessions/{token}/rounds", json={"rounds": 3, "stake": 100})
    assert [x["state"] for x in r.json()["rounds"]] == ["awaiting_result"] * 3
    assert cash(platform, player) == 9_700
    assert games_client.post("/admin/sessions/nope/rounds", json={}).status_code == 404
    counts = games_client.get("/admin/requests").json()["counts"]
    assert {"provider": "spinworks", "action": "bet", "code": "OK", "count": 3} in counts
