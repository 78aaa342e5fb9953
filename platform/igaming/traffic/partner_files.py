"""The files a simulated run's partners send the operator, written from their own books as
they would for a real one: each PSP's daily settlement report (docs/psp-settlement-report.md)
and the affiliate network's daily conversions export (docs/affiliate-conversions-export.md).
What the reconcilers read: ``pitwatch simulate --psp-reports DIR --affiliate-export DIR
--game-reports DIR`` (each game provider's transaction report and GGR statement,
docs/game-provider-reports.md)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from igaming.sim.affiliate_network.network import export_csv

if TYPE_CHECKING:
    from igaming.traffic.world import World


def conversions_name(day: date) -> str:
    """The affiliate export's file name for ``day`` (UTC)."""
    return f"conversions-{day.isoformat()}.csv"


def run_days(first: datetime, end: datetime) -> list[date]:
    """The UTC days from ``first`` to ``end`` (exclusive), and the day before and after:
    reconciling a day reads its neighbours' settlement reports too."""
    last = (end - timedelta(microseconds=1)).date()
    day, days = first.date() - timedelta(days=1), []
    while day <= last + timedelta(days=1):
        days.append(day)
        day += timedelta(days=1)
    return days


@dataclass
class PartnerFiles:
    psp_reports: list[Path] = field(default_factory=list)
    affiliate_exports: list[Path] = field(default_factory=list)
    game_reports: list[Path] = field(default_factory=list)


def write_partner_files(
    world: World,
    days: Iterable[date],
    *,
    psp_reports: Path | None = None,
    affiliate_exports: Path | None = None,
    game_reports: Path | None = None,
) -> PartnerFiles:
    """Every PSP's settlement report of each of ``days`` into ``psp_reports`` (one file per
    PSP per day, header only on a quiet day) and the network's conversions export of each
    day into ``affiliate_exports`` (``conversions-YYYY-MM-DD.csv``), and every game
    provider's transaction report and GGR statement of each day into ``game_reports``
    (docs/game-provider-reports.md); atomic per file. The PSP reports hold what happened
    up to the simulated clock's now."""
    written = PartnerFiles()
    for day in days:
        if psp_reports is not None:
            reports = world.psp.write_settlement_reports(day, psp_reports)
            written.psp_reports.extend(r.path for r in reports if r.path is not None)
        if affiliate_exports is not None:
            path = affiliate_exports / conversions_name(day)
            _write_atomic(path, export_csv(world.network.conversions(day)))
            written.affiliate_exports.append(path)
        if game_reports is not None:
            for files in world.games.write_reports(day, game_reports):
                written.game_reports.extend(files.paths or ())
    return written


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
