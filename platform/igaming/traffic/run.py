"""One simulation run, accelerated or live, with its ground truth written at the end."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from igaming.traffic.model import WARMUP, Simulation, Tally
from igaming.traffic.scenario import Scenario
from igaming.traffic.truth import db_summary, write_incident_log

if TYPE_CHECKING:
    from igaming.traffic.accelerated import AcceleratedDriver, RunObserver
    from igaming.traffic.partner_files import PartnerFiles
    from pitwatch.settings import Settings

Progress = Callable[[datetime, Tally], None]


@dataclass
class RunResult:
    scenario: str
    mode: str
    seed: int
    start: datetime
    end: datetime
    tally: Tally
    incidents: list[dict[str, Any]]
    database: dict[str, Any] = field(default_factory=dict)
    invariants_ok: bool | None = None
    wall_seconds: float = 0.0
    out_dir: Path | None = None
    partner_files: PartnerFiles | None = None  # the PSPs' reports, the network's exports

    def summary(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "mode": self.mode,
            "seed": self.seed,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "wall_seconds": round(self.wall_seconds, 1),
            "actions_per_second": round(self.tally.actions / self.wall_seconds, 1)
            if self.wall_seconds
            else None,
            "simulator": self.tally.as_dict(),
            "database": self.database,
            "ledger_invariants_ok": self.invariants_ok,
            "incidents": len(self.incidents),
        }

    def write(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_incident_log(out_dir / "incidents.jsonl", self.incidents)
        (out_dir / "summary.json").write_text(
            json.dumps(self.summary(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        self.out_dir = out_dir


@contextmanager
def accelerated_driver(
    scenario: Scenario,
    engine: Engine,
    settings: Settings,
    start: datetime,
    *,
    observer: RunObserver | None = None,
) -> Iterator[AcceleratedDriver]:
    """The platform on ``engine`` (already migrated) on a simulated clock from ``start``, its ids
    seeded from the scenario, with the accelerated driver on it; closed on the way out."""
    from ground.clock import FakeClock
    from igaming.assembly import build_platform, start_platform
    from igaming.bus import MessageBus
    from igaming.traffic.accelerated import AcceleratedDriver, seeded_ids

    with seeded_ids(scenario.seed):
        platform = build_platform(settings, engine=engine, clock=FakeClock(start), bus=MessageBus())
        start_platform(platform)
        driver = AcceleratedDriver(platform, scenario, observer=observer)
        try:
            yield driver
        finally:
            driver.close()


def run_accelerated(
    scenario: Scenario,
    database: str | Engine,
    *,
    settings_for: Callable[[str], Settings],
    duration: timedelta | None = None,
    scale: float = 1.0,
    progress: Progress | None = None,
    out_dir: Path | None = None,
    warmup: timedelta = WARMUP,
    observer: RunObserver | None = None,
    psp_reports: Path | None = None,
    affiliate_exports: Path | None = None,
    game_reports: Path | None = None,
) -> RunResult:
    """Run the scenario on the service layer with a simulated clock, writing the database
    (a URL, or an engine the caller owns). ``settings_for`` makes the platform's settings
    for the database's URL (``pitwatch.compose.simulation_settings``: the simulated
    partners sign with the development placeholders). An ``observer`` (the backtest's
    recorder) is attached to the platform and looks at it on the simulated clock. At the
    end, the PSPs write their settlement reports into ``psp_reports`` and the affiliate
    network its conversions exports into ``affiliate_exports`` and the game providers their
    transaction reports and GGR statements into ``game_reports`` (when given), for every day
    of the run, warm-up included, and the day before and after (``partner_files``)."""
    from igaming.db import make_engine
    from igaming.migrate import upgrade_engine
    from igaming.wallet.invariants import check_invariants

    started = time.perf_counter()
    owned = isinstance(database, str)
    # A run is written again from its seed: it need not wait for the disk (make_engine).
    engine = make_engine(database, durable=False) if isinstance(database, str) else database
    settings = settings_for(engine.url.render_as_string(hide_password=False))
    upgrade_engine(engine)
    with accelerated_driver(
        scenario, engine, settings, scenario.start - warmup, observer=observer
    ) as driver:
        sim = Simulation(
            scenario,
            driver,
            duration=duration,
            scale=scale,
            warmup=warmup,
            progress=progress,
        )
        tally = sim.run()
        driver.drain()
    files = None
    if psp_reports is not None or affiliate_exports is not None or game_reports is not None:
        from igaming.traffic.partner_files import run_days, write_partner_files

        files = write_partner_files(
            driver.world,
            run_days(sim.start - warmup, sim.end),
            psp_reports=psp_reports,
            affiliate_exports=affiliate_exports,
            game_reports=game_reports,
        )
    with driver.p.session_factory() as session:
        report = check_invariants(session)
    result = RunResult(
        scenario=scenario.name,
        mode="accelerated",
        seed=scenario.seed,
        start=sim.start,
        end=sim.end,
        tally=tally,
        incidents=sim.incidents,
        database=db_summary(engine, since=sim.start - warmup),
        invariants_ok=report.ok,
        wall_seconds=time.perf_counter() - started,
        partner_files=files,
    )
    if owned:
        engine.dispose()
    if out_dir is not None:
        result.write(out_dir)
    return result
