"""Live mode: the traffic model drives a running platform over HTTP, in real time.

``LiveDriver`` composes the players' HTTP calls on the platform's public API
(``player_client.PlayerClient``: registration, log-in, KYC, cashier, wallet, casino launch,
sportsbook, and the casino rounds the game provider simulator plays) with the incidents'
knob changes through the simulators' admin APIs and the platform's ``PUT /admin/faults``
(``incident_applier.IncidentApplier``). Answers map to the outcome strings of the
accelerated driver: a 4xx is an outcome, never an exception; a transport error (the
platform down) is the outcome ``unreachable`` and the run goes on. A failing *admin* call is
different: the incident cannot be played, so the run stops with a one-line ``LiveError``
naming the simulator and the URL.

``run_live`` starts the run now: the scenario's start becomes the current time plus a short
warm-up in which (a few of) the existing players register, verify and deposit; ``rate``
(player actions per second) sets the model's scale (see ``live_scale``). When the run ends,
normally or not (Ctrl-C, an error), every incident still active is undone and the PSP
overrides of the scenario's baseline are put back, so the simulators are left as found.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from igaming.traffic.incident_applier import (
    MODEL_DEPOSIT_CHECK_SECONDS,
    OPERATOR_KEY_ENV,
    IncidentApplier,
    SimUrls,
)
from igaming.traffic.live_http import LiveError, one_line
from igaming.traffic.model import NewPlayer, Player, Simulation, Tally, kickoff_factor
from igaming.traffic.player_client import UNREACHABLE, PlayerClient
from igaming.traffic.run import Progress, RunResult
from igaming.traffic.scenario import (
    DbSlowdown,
    Deploy,
    PostbackDispatcherStall,
    Scenario,
    SettlementStall,
)

log = logging.getLogger(__name__)

# Incidents played through the platform's PUT /admin/faults: they need an operator key.
FAULT_INCIDENTS = (Deploy, SettlementStall, PostbackDispatcherStall, DbSlowdown)
# Deposits a returning session makes, on average (a redeposit when cash runs low or a stake
# is refused for want of it, a retry after a decline): a rough figure for the rate estimate,
# not a model parameter (a baseline day measured 0.28).
DEPOSITS_PER_SESSION = 0.3


# -- the rate ----------------------------------------------------------------------------


def actions_per_second(scenario: Scenario, when: datetime, scale: float = 1.0) -> float:
    """The expected player actions per second of ``scenario`` at ``when``.

    Per returning session (the model's ``_returning_session`` and ``_play``)::

        a = 1                                          # the session: a launch or a deposit
            + casino.share * (rounds_per_session + 0.5)  # rounds: 1 + int(Exp(mean))
            + sportsbook.share * (bets_per_session + 0.5)
            + withdrawals.per_session + 0.3              # the 0.3: redeposits and retries

    Sessions per second are ``daily_active * sessions_per_day * curve(when) / 86400`` with
    ``curve`` the scenario's hour-of-day times day-of-week factor; around a kick-off, betting
    sessions come ``kickoff_factor - 1`` times more on top (``sportsbook.share`` of them,
    ``1 + bets_per_session + 0.5`` actions each). Campaign clicks add ``1 +
    click_to_registration * (1 + kyc_before_deposit + registration_to_ftd)`` actions per
    click, organic registrations ``1 + kyc_before_deposit + registration_to_ftd`` each. The
    whole is proportional to the model's ``scale``. It is the steady state: a live run
    reaches it after a session's length (a few minutes), and follows the daily curve after.
    """
    p, casino, sb = scenario.players, scenario.casino, scenario.sportsbook
    curve = scenario.curves.daily[when.hour] * scenario.curves.weekly[when.weekday()]
    per_session = (
        1
        + casino.share * (casino.rounds_per_session + 0.5)
        + sb.share * (sb.bets_per_session + 0.5)
        + scenario.withdrawals.per_session
        + DEPOSITS_PER_SESSION
    )
    sessions = p.daily_active * p.sessions_per_day / 86_400
    kick_extra = sessions * sb.share * (kickoff_factor(scenario, when) - 1)
    journey = 1 + p.kyc_before_deposit + p.registration_to_ftd
    clicks = 0.0
    for c in scenario.campaigns:
        ftd = c.registration_to_ftd or p.registration_to_ftd
        registered = 1 + p.kyc_before_deposit + ftd
        clicks += c.clicks_per_day * (1 + c.click_to_registration * registered) / 86_400
    organic = p.organic_registrations_per_day * journey / 86_400
    base = sessions * per_session + kick_extra * (1.5 + sb.bets_per_session) + clicks + organic
    return scale * curve * base


def live_scale(scenario: Scenario, rate: float, when: datetime) -> float:
    """The model's ``scale`` that makes the expected action rate at ``when`` about ``rate``
    actions per second (see ``actions_per_second``)."""
    if rate <= 0:
        raise LiveError(f"live: the rate must be greater than 0, not {rate}")
    base = actions_per_second(scenario, when)
    if base <= 0:  # a curve at zero this hour: nothing would happen at any scale
        raise LiveError(f"live: scenario {scenario.name} has no activity at {when:%H:00} UTC")
    return rate / base


# -- the driver --------------------------------------------------------------------------


class LiveDriver:
    """The model's driver in live mode: real time, the players' calls (``PlayerClient``)
    and the incidents (``IncidentApplier``)."""

    def __init__(
        self,
        base_url: str,
        scenario: Scenario,
        *,
        sims: SimUrls | None = None,
        operator_key: str | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.scenario = scenario
        self.sims = sims or SimUrls()
        self.client = PlayerClient(
            self.base_url, self.sims.games, timeout=timeout, transport=transport
        )
        self.incidents = IncidentApplier(
            self.base_url,
            scenario,
            self.sims,
            operator_key=operator_key,
            timeout=timeout,
            transport=transport,
        )
        self.tally: Tally | None = None
        self.progress: Progress | None = None
        self.progress_every = 1.0
        self._last_report = 0.0

    @property
    def unreachable(self) -> Counter[str]:
        """Per flow, the player actions that got no answer."""
        return self.client.unreachable

    # -- set-up and tear-down ----------------------------------------------------------

    def start(self) -> None:
        """Check the platform answers, read the simulators' normal state, apply the
        scenario's baseline."""
        try:
            status = self.client.health()
        except httpx.TransportError as exc:
            where = f"{self.base_url}/healthz"
            why = one_line(exc)
            raise LiveError(f"live: the platform at {where} is not reachable: {why}") from None
        if status != 200:
            raise LiveError(f"live: the platform at {self.base_url}/healthz answered {status}")
        self.incidents.start()

    def close(self) -> None:
        self.client.close()
        self.incidents.close()

    # -- time --------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.now(UTC)

    def advance_to(self, when: datetime) -> None:
        """Sleep until ``when`` (at once if it has passed), reporting progress each second."""
        while True:
            self._report()
            left = (when - self.now()).total_seconds()
            if left <= 0:
                return
            time.sleep(min(left, self.progress_every / 2))

    def _report(self) -> None:
        if self.progress is None or self.tally is None:
            return
        mono = time.monotonic()
        if mono - self._last_report >= self.progress_every:
            self._last_report = mono
            self.progress(self.now(), self.tally)

    # -- the model's actions -----------------------------------------------------------

    def click(self, affiliate: str, campaign: str, geo: str) -> str | None:
        return self.client.click(affiliate, campaign, geo)

    def register(self, new: NewPlayer) -> str | None:
        return self.client.register(new)

    def verify(self, player: Player) -> str | None:
        return self.client.verify(player)

    def deposit(self, player: Player, amount: int, method: str, key: str) -> str:
        return self.client.deposit(player, amount, method, key)

    def cash(self, player: Player) -> int:
        return self.client.cash(player)

    def launch(self, player: Player, game_id: str) -> str | None:
        return self.client.launch(player, game_id)

    def play_round(self, token: str, stake: int) -> str:
        return self.client.play_round(token, stake)

    def selections(self) -> list[tuple[str, str]]:
        return self.client.selections()

    def bet(self, player: Player, selection: tuple[str, str], stake: int, key: str) -> str:
        return self.client.bet(player, selection, stake, key)

    def withdraw(self, player: Player, amount: int, method: str, key: str) -> str:
        return self.client.withdraw(player, amount, method, key)

    def incident(self, incident: Any, active: bool) -> None:
        self.incidents.incident(incident, active)


# -- the run -----------------------------------------------------------------------------


class LiveSimulation(Simulation):
    """The model, unchanged but for one wait: it looks at a deposit's outcome
    ``deposit_check_seconds`` after asking (the PSP simulator's callback delay and a margin)
    rather than 45 s, so that players who deposit in the warm-up play seconds later."""

    deposit_check_seconds = MODEL_DEPOSIT_CHECK_SECONDS

    def after(self, seconds: float, fn: Callable[..., None], *args: Any) -> None:
        if getattr(fn, "__func__", None) is Simulation._after_deposit:
            seconds = min(seconds, self.deposit_check_seconds)
        super().after(seconds, fn, *args)


def _fault_incidents(scenario: Scenario, duration: timedelta) -> list[str]:
    return [
        i.type for i in scenario.incidents if isinstance(i, FAULT_INCIDENTS) and i.start < duration
    ]


def _relabel_unreachable(tally: Tally, unreachable: Counter[str]) -> None:
    """Actions the model tallied as refused/failed because the platform did not answer."""
    labels = {"registration": "refused", "click": "refused", "casino_launch": "failed"}
    for flow, label in labels.items():
        n = min(unreachable.get(flow, 0), tally.flows.get((flow, label), 0))
        if n:
            tally.flows[(flow, label)] -= n
            if not tally.flows[(flow, label)]:
                del tally.flows[(flow, label)]
            tally.flows[(flow, UNREACHABLE)] += n


def run_live(
    scenario: Scenario,
    base_url: str,
    *,
    rate: float,
    duration: timedelta,
    progress: Progress | None = None,
    out_dir: Path | None = None,
    sims: SimUrls | None = None,
    operator_key: str | None = None,
    warmup: timedelta | None = None,
    existing_per_rate: float = 20.0,
) -> RunResult:
    """Drive the platform at ``base_url`` with ``scenario`` for ``duration`` of real time at
    about ``rate`` player actions per second.

    The run starts now: a warm-up (``warmup``; by default 2 s plus a quarter second per
    player) registers ``min(existing players, existing_per_rate * rate)`` existing players,
    then the scenario's start is the end of the warm-up and incident times count from it.
    Platform-fault incidents (deploy, settlement_stall, postback_dispatcher_stall,
    db_slowdown) need an operator key with the faults role (``operator_key`` or
    PITWATCH_OPERATOR_KEY). With a key, the result's ``invariants_ok`` is the platform's
    GET /admin/invariants; ``database`` stays empty (the database is the platform's).
    """
    if rate <= 0:
        raise LiveError(f"live: the rate must be greater than 0, not {rate}")
    key = operator_key or os.environ.get(OPERATOR_KEY_ENV) or None
    needs_key = _fault_incidents(scenario, duration)
    if needs_key and not key:
        raise LiveError(
            f"live: scenario {scenario.name} injects platform faults ({', '.join(needs_key)}): "
            f"give a faults operator's API key in {OPERATOR_KEY_ENV} "
            "(pitwatch platform operator create --role faults)"
        )
    started = time.perf_counter()
    driver = LiveDriver(base_url, scenario, sims=sims, operator_key=key)
    sim: LiveSimulation | None = None
    try:
        driver.start()
        existing = min(scenario.existing_players, math.ceil(existing_per_rate * rate))
        warm = warmup if warmup is not None else timedelta(seconds=2 + 0.25 * existing)
        begin = driver.now() + warm
        scale = live_scale(scenario, rate, begin)
        # The model seeds existing * min(1, scale) players: ask for enough to get `existing`.
        wanted = math.ceil(existing / min(1.0, scale)) if existing else 0
        players = scenario.players.model_copy(update={"existing": wanted})
        live = scenario.model_copy(update={"start": begin, "players": players})
        sim = LiveSimulation(
            live, driver, duration=duration, scale=scale, warmup=warm, progress=progress
        )
        sim.deposit_check_seconds = driver.incidents.callback_wait()
        driver.tally, driver.progress = sim.tally, progress
        log.info(
            "live run of %s on %s: %.1f actions/s, scale %.3g, %d existing players",
            scenario.name,
            base_url,
            rate,
            scale,
            existing,
        )
        tally = sim.run()
    except BaseException:  # Ctrl-C too: leave the simulators as they were found
        _wind_down(sim, driver, strict=False)
        driver.close()
        raise
    try:
        _wind_down(sim, driver, strict=True)
        _relabel_unreachable(tally, driver.unreachable)
        invariants = driver.incidents.invariants_ok()
    finally:
        driver.close()
    result = RunResult(
        scenario=scenario.name,
        mode="live",
        seed=scenario.seed,
        start=sim.start,
        end=sim.end,
        tally=tally,
        incidents=sim.incidents,
        database={},
        invariants_ok=invariants,
        wall_seconds=time.perf_counter() - started,
    )
    if out_dir is not None:
        result.write(out_dir)
    return result


def _wind_down(sim: Simulation | None, driver: LiveDriver, *, strict: bool) -> None:
    """Undo every incident still in force (its end goes in the log) and the baseline.
    Every undo is tried; with ``strict`` the first failure is raised after."""
    errors: list[Exception] = []
    for inc in reversed(list(driver.incidents.active)):
        try:
            if sim is not None:
                sim._incident(inc, False)  # the model logs the end
            else:
                driver.incident(inc, False)
        except Exception as exc:  # keep undoing the others
            log.error("could not undo incident %s: %s", inc.type, exc)
            errors.append(exc)
    try:
        driver.incidents.restore_baseline()
    except Exception as exc:
        log.error("could not restore the PSP baseline: %s", exc)
        errors.append(exc)
    if strict and errors:
        raise errors[0]
