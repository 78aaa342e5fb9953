"""Accelerated mode: the platform's service layer in-process on a simulated clock.

The clock jumps from one action to the next; on the way it stops every ``tick`` to let the
outside world deliver what is due (PSP callbacks, odds feed messages, game results) and
every ``jobs_every`` to run the platform's background jobs (outbox, postbacks, KYC retries,
deferred settlements, bonus expiry, daily revenue). A simulated day runs in minutes and
writes the same database a live run would.

Determinism: the platform draws ids from ``uuid.uuid4`` and tokens from ``secrets``; for the
length of a run both come from the scenario's seed, so the PSP simulator (whose outcomes are
keyed by the deposit id) answers the same way twice. Simulated players share one password,
hashed once: scrypt at 50 ms a player would cost a 10,000-player population eight minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from ground.clock import FakeClock
from igaming.accounts import service as accounts
from igaming.bootstrap import Platform
from igaming.cashier.deposits import request_deposit
from igaming.cashier.withdrawals import request_withdrawal
from igaming.casino.launch import launch_game
from igaming.errors import DomainError, InsufficientFunds, UpstreamUnavailable
from igaming.kyc.service import request_verification
from igaming.sportsbook.bets import place_bet
from igaming.sportsbook.catalogue import open_fixtures
from igaming.sportsbook.odds import format_odds
from igaming.traffic import incidents as fx
from igaming.traffic.model import NewPlayer, Player
from igaming.traffic.partners import setup_in_process
from igaming.traffic.scenario import Scenario
from igaming.traffic.world import World, build_world, default_configs, kyc_patch, network_patch
from igaming.wallet.service import balances

log = logging.getLogger(__name__)
PASSWORD = "simulated player 1"
# A job pass sends every postback due, in dispatch_due calls of its BATCH, at most
# DISPATCH_CALLS of them (a backlog of 5,000 goes out in one pass).
DISPATCH_CALLS = 50
NETWORK_URL = "http://affiliates"  # the in-process network simulator (world.build_world)


@contextlib.contextmanager
def seeded_ids(seed: int) -> Iterator[None]:
    """uuid4 and secrets' tokens from the seed for the length of the run (see module doc)."""
    rng = random.Random(f"ids-{seed}")
    saved = (uuid.uuid4, secrets.token_urlsafe, secrets.token_hex, accounts.hash_password)
    cache: dict[tuple[str, object], str] = {}

    def uuid4() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    def token_urlsafe(nbytes: int | None = 32) -> str:
        return rng.randbytes(nbytes or 32).hex()

    def token_hex(nbytes: int | None = 32) -> str:
        return rng.randbytes(nbytes or 32).hex()

    def hash_once(password: str, params: Any) -> str:
        if (password, params) not in cache:
            cache[password, params] = saved[3](password, params)
        return cache[password, params]

    uuid.uuid4, secrets.token_urlsafe, secrets.token_hex = uuid4, token_urlsafe, token_hex
    accounts.hash_password = hash_once
    try:
        yield
    finally:
        uuid.uuid4, secrets.token_urlsafe, secrets.token_hex, accounts.hash_password = saved


class RunObserver(Protocol):
    """Watches an accelerated run on its simulated clock (the backtest's recorder): it is
    attached to the platform before the first action, then looks at every ``interval`` of
    simulated time, from the run's first instant, after what was due then has landed."""

    interval: timedelta

    def attach(self, platform: Platform) -> None: ...

    def look(self, now: datetime) -> None: ...

    def answered(self, method: str, route: str, status: int, seconds: float) -> None:
        """A player-facing call the API would have answered with ``status``."""


class AcceleratedDriver:
    """Carries out the model's actions on the service layer, on a fake clock."""

    def __init__(
        self,
        p: Platform,
        scenario: Scenario,
        *,
        tick: timedelta = timedelta(seconds=5),
        jobs_every: timedelta = timedelta(seconds=30),
        idle_jobs_every: timedelta = timedelta(minutes=1),
        observer: RunObserver | None = None,
    ) -> None:
        if not isinstance(p.clock, FakeClock):
            raise TypeError("accelerated mode needs the platform on a FakeClock")
        self.p = p
        self.clock: FakeClock = p.clock
        self.scenario = scenario
        self.tick = tick
        self.jobs_every = jobs_every
        self.idle_jobs_every = idle_jobs_every
        self._busy = True  # something happened since the last job pass
        self.observer = observer
        self._next_look: datetime | None = None
        configs = default_configs(scenario.seed, scenario.sportsbook.fixture_interval)
        self.loop = asyncio.new_event_loop()
        self.world: World = build_world(p, configs, self.loop)
        self._faults: dict[str, Any] = p.faults.current.model_dump()
        self._next_tick = self.clock.now()
        self._next_jobs = self.clock.now()
        if observer is not None:
            observer.attach(p)
            self._next_look = self.clock.now()
        self._revenue_done: date | None = None
        self.deliveries = 0
        for effect in fx.baseline(scenario):
            self._apply(effect)
        setup_in_process(p, scenario, NETWORK_URL)

    def close(self) -> None:
        self.world.close()
        self.loop.close()

    # -- time --------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def advance_to(self, when: datetime) -> None:
        """Move the clock to ``when``, stopping at every tick and job pass on the way."""
        while True:
            stop = min(self._next_tick, self._next_jobs)
            if self._next_look is not None:
                stop = min(stop, self._next_look)
            if stop > when:
                break
            if stop > self.clock.now():
                self.clock.set(stop)
            if stop == self._next_tick:
                delivered = self.loop.run_until_complete(self.world.deliver())
                self.deliveries += delivered
                self._busy = self._busy or delivered > 0
                self._next_tick = stop + self.tick
            if stop == self._next_jobs:
                # A quiet night has little for the jobs to do: look less often, but every
                # minute, so that the dispatcher's heartbeat (a pass a second live) is never
                # older than a minute and a half at a scrape while nothing is stalled.
                self.run_jobs()
                every = self.jobs_every if self._busy else self.idle_jobs_every
                self._busy = False
                self._next_jobs = stop + every
            if stop == self._next_look and self.observer is not None:
                # After what was due at this instant landed, as a scrape would see it.
                self.observer.look(stop)
                self._next_look = stop + self.observer.interval
        if when > self.clock.now():
            self.clock.set(when)
        self._busy = True  # the model acts at ``when``: the jobs look again soon
        self._next_jobs = min(self._next_jobs, self.clock.now() + self.jobs_every)

    def run_jobs(self) -> None:
        """One pass of the platform's background jobs, as ``platform serve`` runs them."""
        from igaming.affiliates.dispatcher import BATCH, dispatch_due
        from igaming.affiliates.outbox_consumer import consume_all
        from igaming.affiliates.revenue import record_daily_revenue
        from igaming.bonus.service import expire_due
        from igaming.kyc.service import retry_due
        from igaming.sportsbook.feed import settle_deferred
        from igaming.traffic.desk import review_due

        faults = self.p.faults.current
        consume_all(self.p)
        if not faults.postbacks_paused:
            # ``platform serve``'s worker calls dispatch_due every second: a pass stands for
            # many of its calls, so it sends everything due, not one call's limit.
            for _ in range(DISPATCH_CALLS):
                if len(dispatch_due(self.p, self.world.postback_client)) < BATCH:
                    break
        retry_due(self.p)
        if not faults.settlement_paused:
            settle_deferred(self.p)
        expire_due(self.p)
        review_due(self.p, self.clock.now())  # the operator's compliance desk
        yesterday = self.clock.now().date() - timedelta(days=1)
        if self._revenue_done != yesterday:
            # A night's revenue postbacks are queued now: the next pass comes soon, as the
            # worker would send them within seconds.
            self._busy = record_daily_revenue(self.p, yesterday) > 0 or self._busy
            self._revenue_done = yesterday

    def drain(self, seconds: float = 600) -> None:
        """Let what is in flight land: callbacks, results, postbacks (after the last action).
        The job passes keep their busy pace (a pass every ``jobs_every``), as the platform's
        workers do, not the idle pace: a batch queued at the run's end (the daily revenue
        postbacks at midnight) is sent within the drain's first passes."""
        end = self.clock.now() + timedelta(seconds=seconds)
        while self.clock.now() < end:
            self.advance_to(min(end, self.clock.now() + self.jobs_every))

    # -- players -----------------------------------------------------------------------

    def click(self, affiliate: str, campaign: str, geo: str) -> str | None:
        from igaming.affiliates.clicks import record_click

        try:
            return record_click(self.p, affiliate=affiliate, campaign=campaign, geo=geo).click_id
        except DomainError:
            return None

    def register(self, new: NewPlayer) -> str | None:
        reg = accounts.Registration(
            email=f"{new.key}@players.example",
            password=PASSWORD,
            country=new.geo,
            currency=new.currency,
            date_of_birth=date.fromisoformat(new.born),
            brand=new.brand,
            click_id=new.click_id,
            affiliate=new.affiliate,
            campaign=new.campaign,
        )
        try:
            return accounts.register(self.p, reg).id
        except DomainError:
            return None

    def verify(self, player: Player) -> str | None:
        try:
            return request_verification(self.p, player.handle).status
        except DomainError:
            return None

    def deposit(self, player: Player, amount: int, method: str, key: str) -> str:
        started = time.perf_counter()
        try:
            d = request_deposit(
                self.p,
                player.handle,
                amount=amount,
                currency=player.currency,
                method=method,
                idempotency_key=key,
            )
        except UpstreamUnavailable as exc:
            self._answered("POST", "/cashier/deposits", exc.status, started)
            return str(exc.extra.get("reason") or "failed")
        except DomainError as exc:
            self._answered("POST", "/cashier/deposits", exc.status, started)
            return exc.type
        self._answered("POST", "/cashier/deposits", 201, started)
        return d.status

    def cash(self, player: Player) -> int:
        return sum(b.cash for b in balances(self.p, player.handle) if b.currency == player.currency)

    def launch(self, player: Player, game_id: str) -> str | None:
        try:
            return launch_game(self.p, player.handle, game_id).session_token
        except DomainError:
            return None

    def play_round(self, token: str, stake: int) -> str:
        rnd = self.loop.run_until_complete(self.world.games.play_round(token, stake))
        if rnd.bet_code == "INSUFFICIENT_FUNDS":
            return "insufficient_funds"
        return rnd.state

    def selections(self) -> list[tuple[str, str]]:
        with self.p.session_factory() as session:
            views = open_fixtures(session)
        return [
            (sel.id, format_odds(sel.odds_milli))
            for f in views
            for m in f.markets
            if m.market.status == "active"
            for sel in m.selections
        ]

    def bet(self, player: Player, selection: tuple[str, str], stake: int, key: str) -> str:
        started = time.perf_counter()
        try:
            bet = place_bet(
                self.p,
                player.handle,
                selection_id=selection[0],
                stake=stake,
                currency=player.currency,
                odds=selection[1],
                idempotency_key=key,
            )
        except InsufficientFunds as exc:
            self._answered("POST", "/sportsbook/bets", exc.status, started)
            return "insufficient_funds"
        except DomainError as exc:
            self._answered("POST", "/sportsbook/bets", exc.status, started)
            return exc.type
        self._answered("POST", "/sportsbook/bets", 201, started)
        return bet.status if bet.status != "rejected" else f"rejected:{bet.reason}"

    def withdraw(self, player: Player, amount: int, method: str, key: str) -> str:
        started = time.perf_counter()
        try:
            w = request_withdrawal(
                self.p,
                player.handle,
                amount=amount,
                currency=player.currency,
                method=method,
                idempotency_key=key,
            )
        except DomainError as exc:
            self._answered("POST", "/cashier/withdrawals", exc.status, started)
            return exc.type
        self._answered("POST", "/cashier/withdrawals", 201, started)
        return w.status

    def _answered(self, method: str, route: str, status: int, started: float) -> None:
        """What the API would have answered to this call (its route, the status its error
        handler maps the outcome to, the call's wall time), for an observer that records
        HTTP metrics: in-process calls pass no HTTP middleware."""
        if self.observer is not None:
            self.observer.answered(method, route, status, time.perf_counter() - started)

    # -- incidents ---------------------------------------------------------------------

    def incident(self, incident: Any, active: bool) -> None:
        for effect in fx.effects(incident, active, self.scenario):
            self._apply(effect)

    def _apply(self, e: fx.Effect) -> None:
        w = self.world
        if e.target == "psp":
            w.psp.patch_psp(e.name, e.change or {})
        elif e.target == "kyc":
            kyc_patch(w, **(e.change or {}))
        elif e.target == "games":
            w.games.patch_provider(e.name, e.change or {})
        elif e.target == "odds":
            w.odds.patch_config(e.change or {})
        elif e.target == "network":
            network_patch(w, e.name, e.change)
        elif e.target == "faults":
            from igaming.fault_injection import apply_faults
            from igaming.faults import Faults

            self._faults = fx.merge_faults(self._faults, e.change or {})
            apply_faults(self.p, Faults.model_validate(self._faults), actor="simulator")
        else:  # pragma: no cover - Effect.target is a closed set
            raise ValueError(e.target)
