"""The odds feed simulator: seeded world, knobs, and the platform driven by it in-process
(one shared fake clock): lag, outages, bad signatures, duplicates, reordering, rollbacks."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ground.clock import FakeClock
from igaming.api.app import create_app as create_platform_app
from igaming.sim.odds import FeedWorld, OddsSimConfig
from igaming.sim.odds import create_app as create_odds_app
from igaming.sportsbook import bets
from igaming.sportsbook.models import Bet, FeedMessage, Market, Selection
from igaming.wallet.invariants import check_invariants
from igaming.wallet.service import balances
from tests.conftest import make_platform
from tests.platform.sportsbook_helpers import funded_player


def quiet_config(**changes) -> OddsSimConfig:
    """One football fixture: kick-off in 10 min, 20 min match, odds every minute."""
    base = {
        "seed": 7,
        "feed_url": "http://platform/sportsbook/feed",
        "lag_seconds": 5.0,
        "lag_jitter_seconds": 0.0,
        "open_fixtures": 1,
        "sports": {"football": 1.0},
        "pre_match_seconds": 600.0,
        "match_seconds": 1200.0,
        "odds_change_interval_seconds": 60.0,
    }
    return OddsSimConfig.model_validate(base | changes)


# -- the simulator alone -----------------------------------------------------------------


def run_world(seed: int) -> list[dict]:
    clock = FakeClock()
    world = FeedWorld(quiet_config(seed=seed), random.Random(seed))
    out = []
    for _ in range(40):
        out += world.due(clock.now())
        clock.advance(60)
    return out


def test_the_same_seed_produces_the_same_messages():
    assert run_world(3) == run_world(3)
    assert run_world(3) != run_world(4)


def test_a_fixture_unfolds_from_creation_to_results_with_decimal_string_odds():
    messages = run_world(5)
    first = messages[0]
    types = [
        m["type"]
        for m in messages
        if m.get("fixture_id", m.get("market_id", "")).startswith(first["fixture_id"])
    ]
    assert types[0] == "fixture" and "odds_change" in types
    assert types.index("bet_stop") < types.index("result")
    assert types.count("result") == 2  # match result and over/under
    sequences = [m["sequence"] for m in messages]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    for m in messages:
        for odds in m.get("odds", {}).values():
            assert Decimal(odds) > 1 and Decimal(odds).as_tuple().exponent >= -2


def test_knobs_are_changed_through_admin_and_validated():
    client = TestClient(create_odds_app(quiet_config(), FakeClock(), run_dispatcher=False))
    r = client.patch("/admin/config", json={"lag_seconds": 30, "down": True})
    assert r.status_code == 200 and (r.json()["lag_seconds"], r.json()["down"]) == (30, True)
    assert client.get("/healthz").json()["down"] is True
    bad = client.patch("/admin/config", json={"duplicate_rate": 2})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"


# -- the platform driven by the simulator ------------------------------------------------


class _LazyApp:
    def __init__(self, holder: dict) -> None:
        self.holder = holder

    async def __call__(self, scope, receive, send):
        await self.holder["app"](scope, receive, send)


@pytest.fixture
def world(engine):
    clock = FakeClock()
    holder: dict = {}
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_LazyApp(holder)), base_url="http://platform"
    )
    odds_app = create_odds_app(quiet_config(), clock, client, run_dispatcher=False)
    platform = make_platform(engine, clock=clock)
    holder["app"] = create_platform_app(platform)
    admin = TestClient(odds_app)
    return platform, odds_app, admin, clock


def pump(odds_app) -> list:
    return asyncio.run(odds_app.state.simulator.pump())


def run_for(odds_app, clock, seconds: float, step: float = 5.0) -> None:
    for _ in range(int(seconds / step)):
        clock.advance(step)
        pump(odds_app)


def first_selection(platform) -> Selection:
    with platform.session_factory() as s:
        return s.execute(select(Selection).order_by(Selection.id)).scalars().first()


def place(platform, player, sel: Selection, stake: int = 1_000) -> Bet:
    with platform.session_factory() as s:
        odds = s.get(Selection, sel.id).odds_milli
    return bets.place_bet(
        platform,
        player.id,
        selection_id=sel.id,
        stake=stake,
        currency="EUR",
        odds=str(Decimal(odds) / 1000),
        idempotency_key=f"{sel.id}-{stake}",
    )


def test_feed_builds_the_book_after_its_lag_and_settles_with_that_lag(world):
    platform, odds_app, _, clock = world
    assert pump(odds_app) == []  # produced, but not due for 5 s
    clock.advance(5)
    assert [d.feed_outcome for d in pump(odds_app)] == ["applied"]
    player = funded_player(platform, 10_000)
    b = place(platform, player, first_selection(platform))
    assert b.status == "accepted"
    run_for(odds_app, clock, 600)  # kick-off: bet stop
    with platform.session_factory() as s:
        assert set(s.execute(select(Market.status)).scalars()) == {"suspended"}
    run_for(odds_app, clock, 1200)  # the final whistle, results 5 s later
    with platform.session_factory() as s:
        settled = s.get(Bet, b.id)
        assert settled.status in ("settled_won", "settled_lost")
        assert settled.settlement_lag_seconds == pytest.approx(5.0)
        assert check_invariants(s).ok


def test_an_outage_holds_the_feed_back_and_settlement_lag_grows_by_its_length(world):
    platform, odds_app, admin, clock = world
    run_for(odds_app, clock, 10)
    player = funded_player(platform, 10_000)
    b = place(platform, player, first_selection(platform))
    run_for(odds_app, clock, 1790)  # 5 s before the final whistle
    admin.patch("/admin/config", json={"down": True})
    run_for(odds_app, clock, 300)
    with platform.session_factory() as s:
        assert s.get(Bet, b.id).status == "accepted"  # the result is stuck at the feed
        stale_for = clock.now() - s.get(Market, b.market_id).odds_updated_at
    assert stale_for > timedelta(seconds=250)
    admin.patch("/admin/config", json={"down": False})
    clock.advance(1)
    pump(odds_app)
    with platform.session_factory() as s:
        assert s.get(Bet, b.id).settlement_lag_seconds == pytest.approx(296.0)


def test_bad_signatures_are_refused_recorded_and_the_retry_applies(world):
    platform, odds_app, admin, clock = world
    admin.patch("/admin/config", json={"bad_signature_rate": 1.0})
    pump(odds_app)
    clock.advance(5)
    assert [d.status_code for d in pump(odds_app)] == [401]
    admin.patch("/admin/config", json={"bad_signature_rate": 0.0})
    clock.advance(2)  # the first retry's back-off
    assert [d.feed_outcome for d in pump(odds_app)] == ["applied"]
    with platform.session_factory() as s:
        outcomes = sorted(s.execute(select(FeedMessage.outcome)).scalars())
    assert outcomes == ["applied", "bad_signature"]


def test_duplicated_reordered_and_rolled_back_feed_pays_every_bet_once_net(world):
    platform, odds_app, admin, clock = world
    admin.patch(
        "/admin/config",
        json={
            "duplicate_rate": 1.0,
            "lag_jitter_seconds": 60.0,
            "odds_change_interval_seconds": 20.0,
            "rollback_rate": 1.0,
            "open_fixtures": 3,
            "sports": {"football": 1, "tennis": 1},
        },
    )
    run_for(odds_app, clock, 120)
    player = funded_player(platform, 100_000)
    with platform.session_factory() as s:
        selections = list(s.execute(select(Selection)).scalars())
    placed = [place(platform, player, sel, stake=500) for sel in selections]
    assert all(b.status == "accepted" for b in placed)
    run_for(odds_app, clock, 2400, step=10)
    answers = {d.feed_outcome for d in odds_app.state.dispatcher.records}
    assert {"applied", "duplicate", "stale"} <= answers, answers  # jitter reorders odds
    with platform.session_factory() as s:
        final = list(s.execute(select(Bet)).scalars())
        outcomes = set(s.execute(select(FeedMessage.outcome)).scalars())
        duplicates = s.execute(select(func.sum(FeedMessage.duplicates))).scalar_one()
        report = check_invariants(s)
    assert report.ok, report.violations()
    assert "applied" in outcomes and duplicates > 0  # every message was delivered twice
    assert all(b.status in ("settled_won", "settled_lost", "void") for b in final)
    assert all(b.generation == 2 for b in final if b.status != "void")  # re-settled
    expected = 100_000 - 500 * len(final) + sum(b.payout or 0 for b in final)
    assert balances(platform, player.id)[0].cash == expected
