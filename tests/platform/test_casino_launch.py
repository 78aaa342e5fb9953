"""The game catalogue and game launch: the platform opens a session at the provider, and a
provider that refuses or is down gives a clear problem and a recorded, evented failure."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from ground.vocabulary import DEFAULT_GAME_PROVIDERS
from igaming.accounts.service import self_exclude
from igaming.api.app import create_app
from igaming.casino.catalogue import DEFAULT_CATALOGUE, list_games, seed_catalogue
from igaming.casino.launch import (
    ProviderRefused,
    ProviderUnavailable,
    install_gateway,
)
from igaming.casino.models import CasinoSession
from igaming.models import OutboxEvent
from pitwatch.compose import start_platform
from tests.conftest import bearer, register_player
from tests.platform.casino_helpers import GAME, FakeProvider, Provider


@pytest.fixture
def client(platform):
    seed_catalogue(platform)
    install_gateway(platform, FakeProvider())
    return TestClient(create_app(platform))


def test_platform_start_seeds_the_catalogue_once(platform):
    # start_platform (run by the fixture) seeded every game; seeding again adds none.
    assert len(list_games(platform)) == len(DEFAULT_CATALOGUE)
    assert seed_catalogue(platform) == 0
    start_platform(platform)
    assert len(list_games(platform)) == len(DEFAULT_CATALOGUE)


def test_games_endpoint_lists_every_provider_with_types_and_integer_rtp(client):
    games = client.get("/casino/games").json()
    assert {g["provider"] for g in games} == set(DEFAULT_GAME_PROVIDERS)
    assert {g["type"] for g in games} == {"slots", "table", "live"}
    assert all(isinstance(g["rtp_bps"], int) and 9000 < g["rtp_bps"] < 10_000 for g in games)
    live = client.get("/casino/games", params={"provider": "livetable"}).json()
    assert {g["type"] for g in live} == {"live"}


def test_launch_opens_a_session_at_the_provider_with_a_pseudonymous_player(platform, client):
    player = register_player(platform)
    r = client.post("/casino/launch", json={"game_id": GAME}, headers=bearer(client, player))
    assert r.status_code == 201
    body = r.json()
    assert (body["provider"], body["game_id"], body["currency"]) == ("spinworks", GAME, "EUR")
    sent = platform.games.opened[0]
    assert sent.session_token == body["session_token"] and sent.game_id == GAME
    assert player.id not in sent.player_ref
    assert len(sent.player_ref) == 32  # what providers have always been sent
    assert sent.wallet_url.endswith("/casino/seamless/spinworks")
    # The session is what the provider's wallet calls authenticate with.
    balance = Provider(platform, body["session_token"]).call("balance")
    assert balance.body == {"status": "OK", "balance": 0, "currency": "EUR"}


def test_launch_needs_a_player_token(client):
    r = client.post("/casino/launch", json={"game_id": GAME})
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"


def test_launch_of_an_unknown_game_is_404(platform, client):
    player = register_player(platform)
    r = client.post("/casino/launch", json={"game_id": "nope"}, headers=bearer(client, player))
    assert r.status_code == 404


def test_self_excluded_player_cannot_launch(platform, client):
    player = register_player(platform)
    self_exclude(platform, player.id, 30)
    r = client.post("/casino/launch", json={"game_id": GAME}, headers=bearer(client, player))
    assert r.status_code == 403 and platform.games.opened == []


@pytest.mark.parametrize(
    ("failure", "status", "reason"),
    [
        (ProviderRefused("refused", "answered 422"), 502, "refused"),
        (ProviderUnavailable("unavailable", "answered 503"), 503, "unavailable"),
        (ProviderUnavailable("timeout", "timed out"), 503, "timeout"),
    ],
)
def test_failed_launch_is_a_problem_recorded_with_its_reason_and_an_event(
    platform, client, failure, status, reason
):
    install_gateway(platform, FakeProvider(fail=failure))
    player = register_player(platform)
    r = client.post("/casino/launch", json={"game_id": GAME}, headers=bearer(client, player))
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    assert (r.json()["provider"], r.json()["reason"]) == ("spinworks", reason)
    with platform.session_factory() as s:
        launches = s.execute(text("SELECT outcome, reason FROM pw_game_launches")).all()
        events = (
            s.execute(
                select(OutboxEvent.payload).where(
                    OutboxEvent.event_type == "casino.game_launch_failed"
                )
            )
            .scalars()
            .all()
        )
        session = s.execute(select(CasinoSession)).scalar_one()
    assert [tuple(x) for x in launches] == [("failed", reason)]
    assert [(e["provider"], e["reason"]) for e in events] == [("spinworks", reason)]
    # The provider may have opened it anyway: the platform's refusal of the session stands.
    token = platform.games.opened[0].session_token
    assert Provider(platform, token).call("balance").body["code"] == "INVALID_SESSION"
    assert session.status == "failed"


def test_launch_sessions_expire(platform, client):
    player = register_player(platform)
    body = client.post(
        "/casino/launch", json={"game_id": GAME}, headers=bearer(client, player)
    ).json()
    platform.clock.advance(hours=4, seconds=1)
    assert Provider(platform, body["session_token"]).call("balance").body["code"] == (
        "INVALID_SESSION"
    )
