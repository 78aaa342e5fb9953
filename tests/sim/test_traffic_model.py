"""The traffic model on a driver that answers from a script (no platform): what a player
does when a stake is refused for want of cash, and the progress it reports."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from igaming.traffic.model import Player, Simulation
from igaming.traffic.scenario import Scenario, load

START = datetime(2026, 11, 6, 12, tzinfo=UTC)


class ScriptedDriver:
    """Every player has cash enough to start a session; every stake is refused for want of
    it (``refusal``). Counts what the model asked for."""

    def __init__(self, refusal: str) -> None:
        self.clock = START - timedelta(hours=2)
        self.refusal = refusal
        self.calls: Counter[str] = Counter()
        self.deposits: list[tuple[str, bool]] = []  # (player, first deposit of the run)
        self._seen: set[str] = set()

    def now(self) -> datetime:
        return self.clock

    def advance_to(self, when: datetime) -> None:
        self.clock = max(self.clock, when)

    def click(self, affiliate: str, campaign: str, geo: str) -> str | None:
        return None

    def register(self, new: Any) -> str | None:
        return new.key

    def verify(self, player: Player) -> str | None:
        return "approved"

    def deposit(self, player: Player, amount: int, method: str, key: str) -> str:
        self.deposits.append((player.handle, player.handle not in self._seen))
        self._seen.add(player.handle)
        return "pending"

    def cash(self, player: Player) -> int:
        self.calls["cash"] += 1  # once a returning session, once after each deposit
        return 10 * player.mix.deposit_median  # never under redeposit_below

    def launch(self, player: Player, game_id: str) -> str | None:
        self.calls["launch"] += 1
        return f"token-{player.handle}"

    def play_round(self, token: str, stake: int) -> str:
        self.calls["round"] += 1
        return self.refusal

    def selections(self) -> list[tuple[str, str]]:
        return [("sel-1", "2.00")]

    def bet(self, player: Player, selection: tuple[str, str], stake: int, key: str) -> str:
        self.calls["bet"] += 1
        return self.refusal

    def withdraw(self, player: Player, amount: int, method: str, key: str) -> str:
        return "processing"

    def incident(self, incident: Any, active: bool) -> None:
        pass


def _scenario(*, casino: bool, redeposit_when_broke: float) -> Scenario:
    base = load("baseline")
    return base.model_copy(
        update={
            "seed": 11,
            "start": START,
            "campaigns": [],
            "players": base.players.model_copy(
                update={"daily_active": 40, "existing": 20, "organic_registrations_per_day": 0}
            ),
            "deposits": base.deposits.model_copy(
                update={"redeposit_when_broke": redeposit_when_broke}
            ),
            "casino": base.casino.model_copy(
                update={"share": 1.0 if casino else 0.0, "rounds_per_session": 20.0}
            ),
            "sportsbook": base.sportsbook.model_copy(
                update={"share": 0.0 if casino else 1.0, "bets_per_session": 20.0}
            ),
            "withdrawals": base.withdrawals.model_copy(update={"per_session": 0.0}),
        }
    )


def _run(casino: bool, redeposit_when_broke: float, refusal: str) -> tuple[ScriptedDriver, Any]:
    driver = ScriptedDriver(refusal)
    sim = Simulation(
        _scenario(casino=casino, redeposit_when_broke=redeposit_when_broke),
        driver,
        duration=timedelta(hours=6),
    )
    return driver, sim.run()


@pytest.mark.parametrize(
    ("casino", "refusal"),
    [(True, "insufficient_funds"), (False, "rejected:insufficient_funds")],
    ids=["casino-round", "sportsbook-bet"],
)
def test_a_player_refused_for_want_of_cash_stops_and_deposits_again_when_told_to(
    casino: bool, refusal: str
):
    kind = "round" if casino else "bet"
    stays_broke, _ = _run(casino, 0.0, refusal)
    chases, _ = _run(casino, 1.0, refusal)
    # Without a redeposit, a session ends at its first refusal: one stake a session, not
    # the ~20 it meant to play, and no deposit but the existing players' first ones.
    assert all(first for _, first in stays_broke.deposits)
    sessions = stays_broke.calls["cash"] - len(stays_broke.deposits)
    assert sessions > 10
    assert stays_broke.calls[kind] == sessions
    # Told to chase, every refusal is followed by a deposit (and, once it lands, a new
    # stake that is refused again, and so on).
    redeposits = sum(1 for _, first in chases.deposits if not first)
    assert redeposits == chases.calls[kind] > 2 * sessions


def test_half_the_refused_players_deposit_again_at_a_rate_of_one_half():
    driver, tally = _run(False, 0.5, "rejected:insufficient_funds")
    redeposits = sum(1 for _, first in driver.deposits if not first)
    refused = tally.as_dict()["flows"]["bet"]["rejected:insufficient_funds"]
    assert refused == driver.calls["bet"]
    assert 0.35 < redeposits / refused < 0.65


def test_a_kick_off_bettor_who_tops_up_goes_on_betting_only():
    # A casino-only operator (every ordinary session plays the casino) with no arrivals:
    # only the kick-off bettor scheduled here plays; every bet is refused for want of cash
    # and every refusal is followed by a deposit.
    scenario = _scenario(casino=True, redeposit_when_broke=1.0)
    scenario = scenario.model_copy(
        update={"players": scenario.players.model_copy(update={"daily_active": 0, "existing": 0})}
    )
    driver = ScriptedDriver("rejected:insufficient_funds")
    sim = Simulation(scenario, driver, duration=timedelta(hours=1))
    mix = scenario.geos["DE"]
    bettor = Player("kick-off-bettor", "DE", mix.currency, mix, kyc="approved", funded=True)
    sim.at(START, sim._play, bettor, 10 * mix.deposit_median, True)

    sim.run()

    redeposits = [handle for handle, _ in driver.deposits]
    assert driver.calls["bet"] > 3 and redeposits == ["kick-off-bettor"] * driver.calls["bet"]
    assert driver.calls["launch"] == 0  # topped up, the bettor did not turn to the casino


def test_progress_is_shown_through_the_warm_up_and_the_run():
    calls: list[tuple[datetime, int]] = []
    driver = ScriptedDriver("insufficient_funds")
    sim = Simulation(
        _scenario(casino=True, redeposit_when_broke=0.0),
        driver,
        duration=timedelta(hours=1),
        progress=lambda now, tally: calls.append((now, tally.actions)),
    )
    tally = sim.run()
    warmup = [now for now, _ in calls if now < START]
    # The warm-up (two simulated hours, 20 existing players) reports every 5 minutes at
    # most, the run every 15, the end once; actions only grow.
    assert len(warmup) >= 10
    assert all(b - a >= timedelta(minutes=5) for a, b in pairwise(warmup))
    run = [now for now, _ in calls if now >= START]
    assert run[0] < START + timedelta(minutes=1) and run[-1] == START + timedelta(hours=1)
    assert [n for _, n in calls] == sorted(n for _, n in calls)
    assert calls[-1][1] == tally.actions
