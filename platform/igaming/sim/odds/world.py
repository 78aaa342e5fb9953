"""The sporting world the feed describes: fixtures with markets and odds that drift, bet
stops at kick-off, results at the final whistle, occasional cancellations and rollbacks.

Seeded and driven by the injected clock: the same seed and the same clock steps produce the
same messages. Odds are decimal strings computed with Decimal (never floats on the wire).
"""

from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from igaming.sim.odds.config import COMPETITIONS, OddsSimConfig

TEAMS = (
    "Aurora", "Borealis", "Cobalt", "Dynamo", "Eagles", "Falcons", "Granite", "Harbour",
    "Ironside", "Juniper", "Kestrel", "Lynx", "Meridian", "Northwind", "Orion", "Pioneers",
)  # fmt: skip
THREE_WAY = ("football", "ice_hockey", "handball")
TWO_DP = Decimal("0.01")


@dataclass
class SimMarket:
    market_id: str
    type: str
    selections: list[str]
    names: list[str]
    probabilities: list[float]
    status: str = "active"
    winner: str | None = None


@dataclass
class SimFixture:
    fixture_id: str
    sport: str
    competition: str
    home: str
    away: str
    starts_at: datetime
    markets: list[SimMarket] = field(default_factory=list)
    finished: bool = False


@dataclass(order=True)
class _Action:
    at: datetime
    seq: int
    kind: str = field(compare=False)
    fixture_id: str = field(compare=False)
    market_id: str | None = field(default=None, compare=False)


class FeedWorld:
    def __init__(self, config: OddsSimConfig, rng: random.Random) -> None:
        self.config = config
        self.rng = rng
        self.fixtures: dict[str, SimFixture] = {}
        self._actions: list[_Action] = []
        self._seq = itertools.count(1)  # the feed's message sequence
        self._ids = itertools.count(1)
        self._last_opened: datetime | None = None

    # -- messages -----------------------------------------------------------------------

    def due(self, now: datetime) -> list[dict[str, Any]]:
        """Every message the feed produces up to ``now``, in production order."""
        open_count = sum(1 for f in self.fixtures.values() if not f.finished)
        wanted = max(0, self.config.open_fixtures - open_count)
        stagger = timedelta(seconds=self.config.stagger_seconds)
        if stagger and wanted:
            due = self._last_opened is None or now - self._last_opened >= stagger
            wanted = 1 if due else 0
        for _ in range(wanted):
            self._new_fixture(now)
            self._last_opened = now
        out: list[dict[str, Any]] = []
        while self._actions and self._actions[0].at <= now:
            action = heapq.heappop(self._actions)
            out.extend(self._run(action))
        return out

    def _message(self, type_: str, at: datetime, **fields: Any) -> dict[str, Any]:
        seq = next(self._seq)
        return {
            "message_id": f"feed-{self.config.seed}-{seq}",
            "type": type_,
            "sequence": seq,
            "sent_at": at.isoformat(),
            **fields,
        }

    def _schedule(self, at: datetime, kind: str, fixture_id: str, market_id: str | None = None):
        heapq.heappush(self._actions, _Action(at, next(self._ids), kind, fixture_id, market_id))

    # -- lifecycle ----------------------------------------------------------------------

    def _new_fixture(self, now: datetime) -> None:
        cfg, rng = self.config, self.rng
        sports = sorted(cfg.sports)
        sport = rng.choices(sports, weights=[cfg.sports[s] for s in sports])[0]
        n = next(self._ids)
        home, away = rng.sample(TEAMS, 2)
        fixture = SimFixture(
            fixture_id=f"{sport}-{cfg.seed}-{n}",
            sport=sport,
            competition=rng.choice(COMPETITIONS.get(sport, ("Open",))),
            home=home,
            away=away,
            starts_at=now + timedelta(seconds=cfg.pre_match_seconds),
        )
        fid = fixture.fixture_id
        if sport in THREE_WAY:
            names = [home, "Draw", away]
            result = SimMarket(f"{fid}-1x2", "match_result", [], names, self._probabilities(3))
        else:
            names = [home, away]
            result = SimMarket(f"{fid}-mw", "match_winner", [], names, self._probabilities(2))
        totals = SimMarket(f"{fid}-ou", "over_under", [], ["Over", "Under"], self._probabilities(2))
        for market in (result, totals):
            market.selections = [f"{market.market_id}-{i}" for i in range(len(market.names))]
        fixture.markets = [result, totals]
        self.fixtures[fid] = fixture
        self._schedule(now, "create", fid)
        step = timedelta(seconds=cfg.odds_change_interval_seconds)
        at = now + step
        while at < fixture.starts_at:
            self._schedule(at, "odds", fid)
            at += step
        self._schedule(fixture.starts_at, "bet_stop", fid)
        end = fixture.starts_at + timedelta(seconds=cfg.match_seconds)
        self._schedule(end, "result", fid)

    def _probabilities(self, n: int) -> list[float]:
        weights = [self.rng.uniform(0.5, 3.0) for _ in range(n)]
        total = sum(weights)
        return [w / total for w in weights]

    def _odds(self, probability: float) -> str:
        # Odds are prices, built from a float probability; the wire gets a decimal string.
        margin = Decimal(10_000 + self.config.margin_bps) / Decimal(10_000)
        price = (Decimal(1) / (Decimal(str(round(probability, 6))) * margin)).quantize(
            TWO_DP, rounding=ROUND_DOWN
        )
        return str(max(price, Decimal("1.01")))

    def _market_body(self, market: SimMarket) -> dict[str, Any]:
        return {
            "market_id": market.market_id,
            "type": market.type,
            "selections": [
                {"selection_id": sid, "name": name, "odds": self._odds(prob)}
                for sid, name, prob in zip(
                    market.selections, market.names, market.probabilities, strict=True
                )
            ],
        }

    def _run(self, action: _Action) -> list[dict[str, Any]]:
        fixture = self.fixtures[action.fixture_id]
        at = action.at
        if action.kind == "create":
            return [
                self._message(
                    "fixture",
                    at,
                    fixture_id=fixture.fixture_id,
                    sport=fixture.sport,
                    competition=fixture.competition,
                    home=fixture.home,
                    away=fixture.away,
                    starts_at=fixture.starts_at.isoformat(),
                    markets=[self._market_body(m) for m in fixture.markets],
                )
            ]
        if action.kind == "odds":
            out = []
            for market in fixture.markets:
                if market.status != "active":
                    continue
                drift = [p * self.rng.uniform(0.9, 1.1) for p in market.probabilities]
                total = sum(drift)
                market.probabilities = [p / total for p in drift]
                odds = {
                    sid: self._odds(p)
                    for sid, p in zip(market.selections, market.probabilities, strict=True)
                }
                out.append(self._message("odds_change", at, market_id=market.market_id, odds=odds))
            return out
        if action.kind == "bet_stop":
            for market in fixture.markets:
                market.status = "suspended"
            return [self._message("bet_stop", at, fixture_id=fixture.fixture_id)]
        if action.kind == "result":
            fixture.finished = True
            return [self._result(fixture, m, at) for m in fixture.markets]
        if action.kind == "rollback":
            market = next(m for m in fixture.markets if m.market_id == action.market_id)
            rollback = self._message("rollback", at, market_id=market.market_id)
            return [rollback, self._result(fixture, market, at, allow_rollback=False)]
        raise ValueError(f"unknown action {action.kind}")

    def _result(
        self, fixture: SimFixture, market: SimMarket, at: datetime, *, allow_rollback: bool = True
    ) -> dict[str, Any]:
        cfg, rng = self.config, self.rng
        if allow_rollback and rng.random() < cfg.cancel_rate:
            market.status = "cancelled"
            return self._message("cancel", at, market_id=market.market_id, result_at=at.isoformat())
        candidates = [
            (sid, prob)
            for sid, prob in zip(market.selections, market.probabilities, strict=True)
            if sid != market.winner  # a corrected result names another winner
        ]
        winner = rng.choices([c[0] for c in candidates], weights=[c[1] for c in candidates])[0]
        market.status, market.winner = "settled", winner
        if allow_rollback and rng.random() < cfg.rollback_rate:
            later = at + timedelta(seconds=cfg.rollback_delay_seconds)
            self._schedule(later, "rollback", fixture.fixture_id, market.market_id)
        return self._message(
            "result",
            at,
            market_id=market.market_id,
            result_at=at.isoformat(),
            results={winner: "won"},
        )
