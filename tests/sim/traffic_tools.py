"""Helpers for the incident tests of the traffic simulator (tests/sim/test_traffic_incidents.py).

``run_scenario`` runs a scenario in accelerated mode on a SQLite file and keeps what the
tests read afterwards: the ``RunResult``, an engine on the run's database, and the
in-process world (the simulators, among them the affiliate network's own books, and the
platform with its clock and faults), captured where the driver builds it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

import igaming.faults
import igaming.traffic.accelerated as accelerated
from igaming.db import make_engine
from igaming.migrate import upgrade_engine
from igaming.traffic.run import RunResult, run_accelerated
from igaming.traffic.scenario import Scenario, parse
from igaming.traffic.world import World
from pitwatch.compose import simulation_settings

FLAT = {"daily": [1.0] * 24, "weekly": [1.0] * 7}


def scenario(name: str, **fields: Any) -> Scenario:
    """A scenario with flat daily and weekly curves and no kick-offs unless given: a window
    of the run is then comparable with any other of the same length."""
    data: dict[str, Any] = {
        "name": name,
        "seed": 7,
        "start": "2026-11-03T12:00:00Z",
        "curves": FLAT,
    }
    data.update(fields)
    data.setdefault("sportsbook", {})
    data["sportsbook"] = {"kickoffs": [], **data["sportsbook"]}
    return parse(data)


@dataclass
class DelayRecorder:
    """Stands in for ``time`` in igaming.faults: each delayed SQL statement is recorded with
    the simulated time it ran at, and nobody waits in wall-clock time."""

    worlds: list[World]
    sleeps: list[tuple[datetime, float]] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        when = self.worlds[-1].p.clock.now() if self.worlds else datetime.min
        self.sleeps.append((when, seconds))


@contextlib.contextmanager
def capture_world() -> Iterator[tuple[list[World], DelayRecorder]]:
    """Keep the world the accelerated driver builds, and record db_slowdown's delays."""
    worlds: list[World] = []
    recorder = DelayRecorder(worlds)
    original = accelerated.build_world

    def keeping(*args: Any, **kwargs: Any) -> World:
        world = original(*args, **kwargs)
        worlds.append(world)
        return world

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(accelerated, "build_world", keeping)
        mp.setattr(igaming.faults, "time", recorder)
        yield worlds, recorder


@dataclass
class Run:
    result: RunResult
    engine: Engine
    world: World
    delays: list[tuple[datetime, float]]

    @property
    def start(self) -> datetime:
        return self.result.start

    def at(self, offset: str | timedelta) -> datetime:
        """The moment ``offset`` after the scenario's start (``30m``, ``1h30m``)."""
        from igaming.traffic.scenario import parse_duration

        return self.start + parse_duration(offset)

    def incident(self, type_: str, **scope: Any) -> dict[str, Any]:
        """The one ground-truth row of that type (and scope, and parameters if given)."""
        rows = [
            r
            for r in self.result.incidents
            if r["type"] == type_
            and all(r["scope"].get(k, r["parameters"].get(k)) == v for k, v in scope.items())
        ]
        assert len(rows) == 1, rows
        return rows[0]

    def window(self, type_: str, **scope: Any) -> tuple[datetime, datetime]:
        row = self.incident(type_, **scope)
        return datetime.fromisoformat(row["start"]), datetime.fromisoformat(row["end"])


def run_scenario(s: Scenario, tmp: Path, *, warmup: timedelta) -> Run:
    """Run ``s`` on a fresh SQLite file under ``tmp`` (the run registers the scenario's
    affiliates with postback URLs on the network simulator itself)."""
    url = f"sqlite:///{tmp}/db.sqlite"
    engine = make_engine(url)
    upgrade_engine(engine)
    with capture_world() as (worlds, recorder):
        result = run_accelerated(s, url, settings_for=simulation_settings, warmup=warmup)
    return Run(result, engine, worlds[-1], recorder.sleeps)


def rate(part: int, whole: int) -> float:
    assert whole > 0, "nothing to take a rate of"
    return part / whole


def within(when: datetime | None, window: tuple[datetime, datetime]) -> bool:
    return when is not None and window[0] <= when < window[1]
