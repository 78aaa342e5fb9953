"""The traffic model: players arriving on daily and weekly curves, their journeys, and the
incident timeline, as one ordered stream of actions on a driver.

The model decides *what* happens and *when*; a driver (accelerated: the service layer on a
simulated clock; live: the platform's HTTP API in real time) carries it out and tells the
model what the platform answered. Every random choice comes from one seeded generator and
events are ordered by (time, sequence), so one seed and one scenario give one sequence of
actions.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from igaming.casino.catalogue import DEFAULT_CATALOGUE
from igaming.traffic.scenario import Campaign, GeoMix, Scenario, TrafficSurge

GAME_IDS = tuple(g.id for g in DEFAULT_CATALOGUE)
MINUTE = timedelta(minutes=1)
WARMUP = timedelta(hours=2)  # the existing players join over this before the start
WARMUP_REPORT, RUN_REPORT = timedelta(minutes=5), timedelta(minutes=15)  # progress, simulated
# What the drivers answer when a stake is refused for want of cash (a casino round's bet,
# or a sportsbook bet the platform records as rejected).
BROKE = frozenset({"insufficient_funds", "rejected:insufficient_funds"})


@dataclass
class Player:
    handle: str  # the driver's reference (player id, or id + token)
    geo: str
    currency: str
    mix: GeoMix
    kyc: str | None = None  # approved | rejected | manual_review | pending | None
    funded: bool = False


@dataclass(frozen=True)
class NewPlayer:
    key: str  # unique per run: emails and idempotency keys derive from it
    geo: str
    currency: str
    brand: str
    born: str
    affiliate: str | None = None
    campaign: str | None = None
    click_id: str | None = None


class Driver(Protocol):
    """What the model asks of the platform; answers are what the platform said."""

    def now(self) -> datetime: ...
    def advance_to(self, when: datetime) -> None: ...
    def click(self, affiliate: str, campaign: str, geo: str) -> str | None: ...
    def register(self, new: NewPlayer) -> str | None: ...
    def verify(self, player: Player) -> str | None: ...
    def deposit(self, player: Player, amount: int, method: str, key: str) -> str: ...
    def cash(self, player: Player) -> int: ...
    def launch(self, player: Player, game_id: str) -> str | None: ...
    def play_round(self, token: str, stake: int) -> str: ...
    def selections(self) -> list[tuple[str, str]]: ...
    def bet(self, player: Player, selection: tuple[str, str], stake: int, key: str) -> str: ...
    def withdraw(self, player: Player, amount: int, method: str, key: str) -> str: ...
    def incident(self, incident: Any, active: bool) -> None: ...


@dataclass
class Tally:
    """What the simulator did, per flow and outcome, and per GEO."""

    flows: Counter[tuple[str, str]] = field(default_factory=Counter)  # (flow, outcome)
    by_geo: Counter[tuple[str, str]] = field(default_factory=Counter)  # (geo, flow)

    def add(self, flow: str, outcome: str, geo: str | None = None) -> None:
        self.flows[(flow, outcome)] += 1
        if geo is not None:
            self.by_geo[(geo, flow)] += 1

    @property
    def actions(self) -> int:
        return sum(self.flows.values())

    def as_dict(self) -> dict[str, Any]:
        flows: dict[str, dict[str, int]] = {}
        for (flow, outcome), n in sorted(self.flows.items()):
            flows.setdefault(flow, {})[outcome] = n
        geos: dict[str, dict[str, int]] = {}
        for (geo, flow), n in sorted(self.by_geo.items()):
            geos.setdefault(geo, {})[flow] = n
        return {"actions": self.actions, "flows": flows, "by_geo": geos}


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth below 30, a rounded normal above: plenty for arrival counts)."""
    if lam <= 0:
        return 0
    if lam < 30:
        limit, k, prod = math.exp(-lam), 0, rng.random()
        while prod > limit:
            k += 1
            prod *= rng.random()
        return k
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def pick(rng: random.Random, weights: dict[str, float]) -> str:
    u, acc = rng.random() * sum(weights.values()), 0.0
    last = ""
    for key, w in weights.items():
        acc += w
        last = key
        if u < acc:
            return key
    return last


def whole_units(amount: float, currency: str) -> int:
    """Round a deposit to whole units of the currency, as people type them."""
    from ground.money import CURRENCY_EXPONENTS

    unit = 10 ** CURRENCY_EXPONENTS.get(currency, 2)
    return max(unit, round(amount / unit) * unit)


def kickoff_factor(scenario: Scenario, when: datetime) -> float:
    """The scenario's betting surge at ``when``: its kick-off factor in the window before a
    kick-off (and five minutes after), else 1."""
    sb = scenario.sportsbook
    for hhmm in sb.kickoffs:
        h, m = (int(x) for x in hhmm.split(":"))
        kickoff = when.replace(hour=h, minute=m, second=0, microsecond=0)
        if kickoff - sb.kickoff_window <= when < kickoff + timedelta(minutes=5):
            return sb.kickoff_factor
    return 1.0


def warmup_share(now: datetime, start: datetime, warmup: timedelta = WARMUP) -> float:
    """How far through the warm-up before ``start`` a run is, truncated to a thousandth
    (a report just before the start does not read as done)."""
    return max(0.0, int(1000 * (now - (start - warmup)) / warmup) / 1000)


class Simulation:
    """Runs a scenario on a driver from ``start`` for ``duration``."""

    def __init__(
        self,
        scenario: Scenario,
        driver: Driver,
        *,
        duration: timedelta | None = None,
        scale: float = 1.0,
        warmup: timedelta = WARMUP,
        progress: Callable[[datetime, Tally], None] | None = None,
    ) -> None:
        self.s = scenario
        self.d = driver
        self.rng = random.Random(scenario.seed)
        self.start = scenario.start
        self.end = scenario.start + (duration if duration is not None else scenario.duration)
        self.scale = scale
        self.warmup = warmup
        self.progress = progress
        self.tally = Tally()
        self.active: list[Player] = []
        self.incidents: list[dict[str, Any]] = []  # the ground truth, in start order
        self._open: dict[int, dict[str, Any]] = {}
        self._heap: list[tuple[datetime, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self._keys = itertools.count(1)
        self._surges: list[TrafficSurge] = []
        self._selection_cache: tuple[datetime, list[tuple[str, str]]] | None = None
        self._geo_weights = {g: m.weight for g, m in scenario.geos.items() if m.weight > 0}

    # -- the event loop ----------------------------------------------------------------

    def at(self, when: datetime, fn: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self._heap, (when, next(self._seq), fn, args))

    def after(self, seconds: float, fn: Callable[..., None], *args: Any) -> None:
        self.at(self.d.now() + timedelta(seconds=seconds), fn, *args)

    def run(self) -> Tally:
        self._seed_population()
        self.at(self.start, self._arrivals)
        for inc in self.s.incidents:
            begin, until = self.start + inc.start, self.start + inc.until
            if begin < self.end:
                self.at(begin, self._incident, inc, True)
                self.at(min(until, self.end), self._incident, inc, False)
        # Progress from the warm-up on (it can take minutes of its own): every 5 simulated
        # minutes of the warm-up, every 15 of the run.
        next_report = self.start - self.warmup
        while self._heap and self._heap[0][0] < self.end:
            when, _, fn, args = heapq.heappop(self._heap)
            self.d.advance_to(when)
            fn(*args)
            if self.progress is not None and when >= next_report:
                self.progress(when, self.tally)
                if when < self.start:
                    next_report = min(when + WARMUP_REPORT, self.start)
                else:
                    next_report = when + RUN_REPORT
        self.d.advance_to(self.end)
        if self.progress is not None:
            self.progress(self.end, self.tally)
        return self.tally

    # -- arrivals ----------------------------------------------------------------------

    def curve(self, when: datetime) -> float:
        c = self.s.curves
        return c.daily[when.hour] * c.weekly[when.weekday()]

    def _surge(self, when: datetime, kind: str, campaign: str | None = None) -> float:
        factor = 1.0
        for s in self._surges:
            if s.scope_kind == kind and (kind == "kickoff" or s.campaign == campaign):
                factor *= s.factor
        return factor

    def _arrivals(self) -> None:
        """Schedule the next minute's arrivals, spread uniformly inside the minute."""
        now = self.d.now()
        per_minute = self.scale * self.curve(now) / 1440
        p = self.s.players
        sessions = poisson(self.rng, p.daily_active * p.sessions_per_day * per_minute)
        for _ in range(sessions):
            self.after(self.rng.random() * 60, self._returning_session, False)
        # Around kick-off, bettors come in numbers: extra betting-only sessions.
        kick = kickoff_factor(self.s, now) * self._surge(now, "kickoff")
        if kick > 1:
            extra = p.daily_active * p.sessions_per_day * per_minute * self.s.sportsbook.share
            for _ in range(poisson(self.rng, extra * (kick - 1))):
                self.after(self.rng.random() * 60, self._returning_session, True)
        for c in self.s.campaigns:
            lam = c.clicks_per_day * per_minute * self._surge(now, "campaign", c.campaign)
            for _ in range(poisson(self.rng, lam)):
                self.after(self.rng.random() * 60, self._click, c)
        for _ in range(poisson(self.rng, p.organic_registrations_per_day * per_minute)):
            self.after(self.rng.random() * 60, self._register, self._geo(), None, None)
        if now + MINUTE < self.end:
            self.at(now + MINUTE, self._arrivals)

    def _geo(self, among: list[str] | None = None) -> str:
        if among:
            return pick(self.rng, {g: self._geo_weights.get(g, 0.0) or 1e-9 for g in among})
        return pick(self.rng, self._geo_weights)

    # -- the existing population -------------------------------------------------------

    def _seed_population(self) -> None:
        """Players who were already here: registered, verified and funded before the start."""
        n = round(self.s.existing_players * min(1.0, self.scale))
        if n == 0:
            return
        step = self.warmup / max(n, 1)
        t0 = self.start - self.warmup
        for i in range(n):
            self.at(t0 + step * i, self._register, self._geo(), None, None, True)

    # -- journeys ----------------------------------------------------------------------

    def _key(self, what: str) -> str:
        return f"sim{self.s.seed}-{what}-{next(self._keys)}"

    def _click(self, c: Campaign) -> None:
        geo = self._geo(c.geos)
        click_id = self.d.click(c.affiliate, c.campaign, geo)
        self.tally.add("click", "recorded" if click_id else "refused", geo)
        if click_id and self.rng.random() < c.click_to_registration:
            self.after(60 + self.rng.random() * 600, self._register, geo, c, click_id)

    def _register(
        self, geo: str, campaign: Campaign | None, click_id: str | None, existing: bool = False
    ) -> None:
        mix = self.s.geos[geo]
        born = f"{self.rng.randint(1960, 2004)}-{self.rng.randint(1, 12):02d}-15"
        new = NewPlayer(
            key=self._key("p"),
            geo=geo,
            currency=mix.currency,
            brand=pick(self.rng, self.s.brands),
            born=born,
            affiliate=campaign.affiliate if campaign else None,
            campaign=campaign.campaign if campaign else None,
            click_id=click_id,
        )
        handle = self.d.register(new)
        self.tally.add("registration", "ok" if handle else "refused", geo)
        if handle is None:
            return
        player = Player(handle, geo, mix.currency, mix)
        if existing:
            self._verify(player)
            self._deposit(player, first=True, then_play=False)
            return
        if self.rng.random() < self.s.players.kyc_before_deposit:
            self.after(30 + self.rng.random() * 300, self._verify, player)
        ftd = (
            campaign.registration_to_ftd if campaign else None
        ) or self.s.players.registration_to_ftd
        # Some first deposits are declined and not retried: intend a little more often.
        if self.rng.random() < min(1.0, ftd / 0.8):
            self.after(120 + self.rng.random() * 1800, self._deposit, player, True, True)

    def _verify(self, player: Player) -> None:
        status = self.d.verify(player)
        player.kyc = status
        self.tally.add("kyc", status or "refused", player.geo)

    def _amount(self, player: Player) -> int:
        median = player.mix.deposit_median
        return whole_units(median * math.exp(self.rng.gauss(0, 0.6)), player.currency)

    def _deposit(
        self,
        player: Player,
        first: bool,
        then_play: bool,
        attempt: int = 1,
        method: str = "",
        betting_only: bool = False,
    ) -> None:
        method = method or pick(self.rng, player.mix.methods)
        key = self._key("dep")
        status = self.d.deposit(player, self._amount(player), method, key)
        self.tally.add("deposit", status, player.geo)
        # The PSP answers by callback; look again once it has had time to.
        self.after(
            45, self._after_deposit, player, first, then_play, attempt, method, status, betting_only
        )

    def _after_deposit(
        self,
        player: Player,
        first: bool,
        then_play: bool,
        attempt: int,
        method: str,
        status: str,
        betting_only: bool = False,
    ) -> None:
        cash = self.d.cash(player)
        if cash > 0:
            if not player.funded:
                player.funded = True
                self.active.append(player)
            if then_play:  # a kick-off bettor who topped up goes on betting only
                self._play(player, cash, betting_only)
            return
        if attempt < 3 and self.rng.random() < self.s.deposits.retry_after_decline:
            others = {m: w for m, w in player.mix.methods.items() if m != method} or {method: 1.0}
            self.after(
                20 + self.rng.random() * 60,
                self._deposit,
                player,
                first,
                then_play,
                attempt + 1,
                pick(self.rng, others),
                betting_only,
            )

    def _returning_session(self, betting_only: bool) -> None:
        if not self.active:
            return
        player = self.active[self.rng.randrange(len(self.active))]
        cash = self.d.cash(player)
        low = self.s.deposits.redeposit_below * player.mix.deposit_median
        if cash < low and not betting_only:
            self._deposit(player, first=False, then_play=True)
        elif cash > 0:
            self._play(player, cash, betting_only)
        if self.rng.random() < self.s.players.churn_per_session and len(self.active) > 1:
            self.active.remove(player)

    def _play(self, player: Player, cash: int, betting_only: bool) -> None:
        s = self.s
        casino = not betting_only and self.rng.random() < s.casino.share
        sports = betting_only or self.rng.random() < s.sportsbook.share
        if casino:
            rounds = 1 + int(self.rng.expovariate(1 / s.casino.rounds_per_session))
            self.after(5, self._casino, player, rounds)
        if sports:
            bets = 1 + int(self.rng.expovariate(1 / s.sportsbook.bets_per_session))
            self.after(10 + self.rng.random() * 60, self._bet, player, bets, betting_only)
        if not betting_only and self.rng.random() < s.withdrawals.per_session:
            wait = 60 * (1 + (rounds if casino else 3))
            self.after(wait, self._withdraw, player)

    def _stake(self, player: Player, share: float) -> int:
        return whole_units(player.mix.deposit_median * share, player.currency)

    def _casino(self, player: Player, rounds: int) -> None:
        game = GAME_IDS[self.rng.randrange(len(GAME_IDS))]
        token = self.d.launch(player, game)
        self.tally.add("casino_launch", "ok" if token else "failed", player.geo)
        if token:
            self.after(2, self._round, player, token, rounds)

    def _round(self, player: Player, token: str, left: int) -> None:
        stake = self._stake(player, self.s.casino.stake_share)
        outcome = self.d.play_round(token, stake)
        self.tally.add("casino_round", outcome, player.geo)
        if outcome in BROKE:
            self._broke(player)
        elif left > 1:
            gap = self.s.casino.seconds_between_rounds * (0.5 + self.rng.random())
            self.after(gap, self._round, player, token, left - 1)

    def _selections(self) -> list[tuple[str, str]]:
        now = self.d.now()
        if self._selection_cache is None or now - self._selection_cache[0] > MINUTE:
            self._selection_cache = (now, self.d.selections())
        return self._selection_cache[1]

    def _bet(self, player: Player, left: int, betting_only: bool = False) -> None:
        options = self._selections()
        if not options:
            self.tally.add("bet", "no_market", player.geo)
            return
        selection = options[self.rng.randrange(len(options))]
        stake = self._stake(player, self.s.sportsbook.stake_share)
        outcome = self.d.bet(player, selection, stake, self._key("bet"))
        self.tally.add("bet", outcome, player.geo)
        if outcome in BROKE:
            self._broke(player, betting_only)
        elif left > 1:
            self.after(20 + self.rng.random() * 90, self._bet, player, left - 1, betting_only)

    def _broke(self, player: Player, betting_only: bool = False) -> None:
        """A stake refused for want of cash ends what the player was doing; some deposit
        again at once and play on (the repeat deposits of an operator's day), a kick-off
        bettor at the sportsbook only."""
        if self.rng.random() < self.s.deposits.redeposit_when_broke:
            self._deposit(player, first=False, then_play=True, betting_only=betting_only)

    def _withdraw(self, player: Player) -> None:
        if player.kyc == "rejected":
            return  # a new check needs compliance's leave (igaming.admin.allow_kyc_retry)
        if player.kyc != "approved":
            self._verify(player)
            if player.kyc != "approved":
                return
        cash = self.d.cash(player)
        amount = whole_units(cash * self.s.withdrawals.share_of_cash, player.currency)
        if cash <= 0 or amount > cash:
            return
        method = pick(self.rng, player.mix.methods)
        self.tally.add(
            "withdrawal", self.d.withdraw(player, amount, method, self._key("wd")), player.geo
        )

    # -- incidents ---------------------------------------------------------------------

    def _incident(self, inc: Any, active: bool) -> None:
        if isinstance(inc, TrafficSurge):
            if active:
                self._surges.append(inc)
            elif inc in self._surges:
                self._surges.remove(inc)
        self.d.incident(inc, active)
        now = self.d.now().isoformat()
        if active:
            row = {
                "type": inc.type,
                "scope": inc.scope(),
                "start": now,
                "end": None,
                "parameters": inc.parameters(),
                "note": inc.note,
            }
            self.incidents.append(row)
            self._open[id(inc)] = row
        elif (ended := self._open.pop(id(inc), None)) is not None:
            ended["end"] = now
