"""Synthetic recorded samples for the engine's tests and its measurement: deposit counters
per GEO / PSP / outcome that grow, ``up`` for both scrape jobs, a gauge with a hole, and
optionally filler counters to reach a realistic series count. Deterministic per seed.

Episodes (seconds from the start, half-open): ``psp_down`` (a PSP approves nothing),
``geo_drop`` (a GEO approves 30 %), ``platform_down`` (``up`` 0 for the platform job),
``stuck`` (withdrawals stuck, with a 3-minute hole in the gauge's samples).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from alert_rules.config import Jobs

Window = tuple[float, float]


@dataclass(frozen=True)
class Synth:
    start: float  # Unix seconds
    seconds: float
    step: float = 30.0
    seed: int = 1
    geos: tuple[str, ...] = ("DE", "BR", "IN")
    psps: tuple[str, ...] = ("paybridge", "nordpay", "pixgate")
    psp_down: tuple[str, Window] | None = None
    geo_drop: tuple[str, Window] | None = None
    platform_down: Window | None = None
    stuck: tuple[str, Window] | None = None
    filler: int = 0  # extra counters no rule reads
    extra: dict[str, float] = field(default_factory=dict)

    def times(self) -> list[float]:
        n = int(self.seconds // self.step) + 1
        return [self.start + k * self.step for k in range(n)]


def _inside(window: Window | None, offset: float) -> bool:
    return window is not None and window[0] <= offset < window[1]


def _series(s: Synth) -> Iterator[tuple[str, list[tuple[float, float]]]]:
    rng = random.Random(s.seed)
    times = s.times()
    jobs = Jobs()
    for geo in s.geos:
        for psp in s.psps:
            attempts = approved = declined = 0.0
            pa: list[tuple[float, float]] = []
            pok: list[tuple[float, float]] = []
            pno: list[tuple[float, float]] = []
            for t in times:
                off = t - s.start
                n = rng.randint(0, 4)
                p_ok = 0.9
                if s.geo_drop and s.geo_drop[0] == geo and _inside(s.geo_drop[1], off):
                    p_ok = 0.3
                if s.psp_down and s.psp_down[0] == psp and _inside(s.psp_down[1], off):
                    p_ok = 0.0
                ok = sum(rng.random() < p_ok for _ in range(n))
                attempts += n
                approved += ok
                declined += n - ok
                pa.append((t, attempts))
                pok.append((t, approved))
                pno.append((t, declined))
            base = f'geo="{geo}",psp="{psp}"'
            yield f"igaming_deposit_attempts_total{{{base}}}", pa
            yield f'igaming_deposit_outcomes_total{{{base},outcome="approved"}}', pok
            yield f'igaming_deposit_outcomes_total{{{base},outcome="declined"}}', pno
    for job, instance, down in (
        (jobs.platform, "platform:8000", s.platform_down),
        (jobs.state, "state:9108", None),
    ):
        yield (
            f'up{{instance="{instance}",job="{job}"}}',
            [(t, 0.0 if _inside(down, t - s.start) else 1.0) for t in times],
        )
    for psp in s.psps:
        points = []
        for t in times:
            off = t - s.start
            if s.stuck and s.stuck[0] == psp:
                w = s.stuck[1]
                if w[0] + 600 <= off < w[0] + 780:
                    continue  # a hole: no sample for 3 minutes
                points.append((t, 2.0 if _inside(w, off) else 0.0))
            else:
                points.append((t, 0.0))
        yield f'igaming_withdrawals_stuck{{psp="{psp}"}}', points
    for i in range(s.filler):
        value, points = 0.0, []
        rate = rng.choice((0, 1, 5, 20))
        for t in times:
            value += rng.randint(0, rate) if rate else 0
            points.append((t, value))
        yield f'igaming_casino_rounds_total{{game="g{i % 97}",provider="p{i // 97}"}}', points


def write(s: Synth, path: Path) -> tuple[int, int]:
    """Write the samples as OpenMetrics (grouped by metric family); (series, samples)."""
    by_family: dict[str, list[tuple[str, list[tuple[float, float]]]]] = {}
    for head, points in _series(s):
        by_family.setdefault(head.split("{", 1)[0], []).append((head, points))
    series = samples = 0
    with path.open("w", encoding="utf-8") as f:
        for family, members in by_family.items():
            f.write(f"# TYPE {family} unknown\n")
            for head, points in members:
                series += 1
                samples += len(points)
                f.writelines(f"{head} {v:.15g} {t:.3f}\n" for t, v in points)
        f.write("# EOF\n")
    return series, samples
