"""The promtool cases of ``alert_rules.domains.casino``: the normal, quiet-night and surge
traffic its alerts stay silent on, the incidents they must fire on in time, the guards."""

from __future__ import annotations

from collections.abc import Sequence

from alert_rules.domains.casino import ALERTS, DELAY, LAUNCH_FAILURES, LAUNCHES, ROLLBACKS, ROUNDS
from alert_rules.model import Case, Fires, Series, Silent, silence
from alert_rules.series import (
    counter,
    counter_from,
    every,
    histogram,
    histogram_from,
    merge,
    series,
)
from alert_rules.series import quantile_in_bucket as q_in
from collectors.catalog.platform import LAUNCH_FAILURE_REASON

FAILURE_REASONS = LAUNCH_FAILURE_REASON.values
NAMES = tuple(a.name for a in ALERTS)

Shape = list[tuple[int, float]]  # (minutes, traffic factor)


def shape(minutes: int, surge: tuple[int, int] | None = None) -> Shape:
    """Traffic factors: 1 throughout, or 5 during ``surge`` (start, length)."""
    if surge is None:
        return [(minutes, 1.0)]
    start, length = surge
    return [(start, 1.0), (length, 5.0), (minutes - start - length, 1.0)]


def launches(
    provider: str, segments: Sequence[tuple[int, float, float]], reason: str = "timeout"
) -> list[Series]:
    """Launches: segments of (minutes, launched/min, failed/min); failures for ``reason``."""
    assert reason in FAILURE_REASONS, reason
    out = [series(LAUNCHES, counter(*[(m, ok) for m, ok, _ in segments]), provider=provider)]
    for r in FAILURE_REASONS:
        per = [(m, bad if r == reason else 0.0) for m, _, bad in segments]
        out.append(series(LAUNCH_FAILURES, counter(*per), provider=provider, reason=r))
    return out


def rounds(provider: str, segments: Sequence[tuple[int, float, float, float]]) -> list[Series]:
    """Rounds and rollbacks: segments of (minutes, completed/min, rollbacks/min, result
    delay seconds); each rollback cancels a round (a one-bet round)."""
    return [
        series(ROUNDS, counter(*[(m, c) for m, c, _, _ in segments]), provider=provider,
               outcome="completed"),
        series(ROUNDS, counter(*[(m, rb) for m, _, rb, _ in segments]), provider=provider,
               outcome="cancelled"),
        series(ROLLBACKS, counter(*[(m, rb) for m, _, rb, _ in segments]), provider=provider),
        *histogram(DELAY.name, DELAY.buckets or (),
                   [(m, c + rb, d) for m, c, rb, d in segments], provider=provider),
    ]  # fmt: skip


# provider: (launched/min, failed/min, completed rounds/min, rollbacks/min, delay seconds)
EVENING = {
    "spinworks": (40, 0.4, 600, 1, 1.5),
    "lucky_labs": (20, 0.2, 300, 0.5, 2),
    "livetable": (10, 0.1, 50, 0.2, 45),
}


def busy_evening(minutes: int, surge: tuple[int, int] | None = None) -> tuple[Series, ...]:
    """A busy evening: 1 % of launches fail, one bet in 600 rolled back, slots end in 1.5-2 s
    and live tables in 45 s. ``surge``: 5x traffic (a kickoff's half-time, a promo)."""
    s = shape(minutes, surge)
    out: list[Series] = []
    for provider, (ok, bad, done, rb, delay) in EVENING.items():
        out += launches(provider, [(m, ok * f, bad * f) for m, f in s])
        out += rounds(provider, [(m, done * f, rb * f, delay) for m, f in s])
    return merge(out)


def quiet_livetable(minutes: int) -> tuple[Series, ...]:
    """The live tables at 4 am: four launches an hour, one of which fails; twelve rounds an
    hour, one cancelled by a rollback and one whose result took two minutes."""
    launched = every(minutes, 15)
    failed = every(minutes, 60, offset=20)
    completed = every(minutes, 5)
    slow = [1.0 if i % 60 == 37 else 0.0 for i in range(minutes)]
    rolled_back = [1.0 if i % 60 == 48 else 0.0 for i in range(minutes)]
    kv = {"provider": "livetable"}
    return merge(
        series(LAUNCHES, counter_from(launched), **kv),
        *[series(LAUNCH_FAILURES, counter_from(failed if r == "timeout" else [0] * minutes),
                 **kv, reason=r) for r in FAILURE_REASONS],
        series(ROUNDS, counter_from([c + s for c, s in zip(completed, slow, strict=True)]), **kv,
               outcome="completed"),
        series(ROUNDS, counter_from(rolled_back), **kv, outcome="cancelled"),
        series(ROLLBACKS, counter_from(rolled_back), **kv),
        histogram_from(DELAY, [(completed, 45), (slow, 120), (rolled_back, 40)], **kv),
    )  # fmt: skip


def cases() -> tuple[Case, ...]:
    total = 180
    t0 = 60
    spin_normal = (600, 1, 1.5)
    return (
        silence(
            "busy evening: three providers, launches and rounds healthy",
            "normal",
            busy_evening(total),
            NAMES,
            at=range(5, total + 1, 5),
        ),
        silence(
            "5x launches and rounds for an hour, same failure and rollback rates",
            "surge",
            busy_evening(total, surge=(t0, 60)),
            NAMES,
            at=range(5, total + 1, 5),
        ),
        silence(
            "live tables at 4 am: four launches an hour, one fails; one round rolled back",
            "quiet_night",
            quiet_livetable(total),
            NAMES,
            at=range(5, total + 1, 5),
        ),
        Case(
            "lucky_labs launches time out: 40% fail for half an hour",
            "incident",
            merge(
                launches("lucky_labs", [(t0, 20, 0), (30, 12, 8), (60, 20, 0)]),
                launches("spinworks", [(150, 40, 0.4)]),
            ),
            (
                Silent(f"{t0 + 6}m"),
                Fires(f"{t0 + 15}m", {"provider": "lucky_labs"}, 0.4),
                Silent(f"{t0 + 40}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 30}m",
            alerts=("CasinoLaunchFailureRate",),
        ),
        Case(
            "livetable is down: every launch fails (unavailable)",
            "incident",
            merge(launches("livetable", [(t0, 10, 0), (30, 0, 10), (60, 10, 0)], "unavailable")),
            (
                Silent(f"{t0 + 3}m"),
                Fires(f"{t0 + 15}m", {"provider": "livetable"}, 1.0),
                Silent(f"{t0 + 45}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 30}m",
            alerts=("CasinoLaunchFailureRate",),
        ),
        Case(
            "spinworks launches fail 15% of the time, under the 20% bound",
            "guard",
            merge(launches("spinworks", [(t0, 40, 0.4), (60, 34, 6), (60, 40, 0.4)])),
            (Silent(f"{t0 + 15}m"), Silent(f"{t0 + 50}m")),
            alerts=("CasinoLaunchFailureRate",),
        ),
        Case(
            "spinworks results arrive 90 s after the first bet for an hour",
            "incident",
            merge(
                rounds("spinworks", [(t0, *spin_normal), (60, 600, 1, 90), (60, *spin_normal)]),
                rounds("livetable", [(total, 50, 0.2, 45)]),
            ),
            (
                Silent(f"{t0 + 5}m"),
                Fires(
                    f"{t0 + 15}m", {"provider": "spinworks"}, q_in(DELAY.buckets or (), 90, 0.95)
                ),
                Silent(f"{t0 + 76}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 60}m",
            alerts=("CasinoRoundResultDelay",),
        ),
        Case(
            "livetable rounds take 58 s (p95 58.5 s), under the 60 s bound",
            "guard",
            merge(rounds("livetable", [(t0, 50, 0.2, 45), (60, 50, 0.2, 58), (60, 50, 0.2, 45)])),
            (Silent(f"{t0 + 15}m"), Silent(f"{t0 + 50}m")),
            alerts=("CasinoRoundResultDelay",),
        ),
        Case(
            "spinworks times out on bets and rolls back 5% of them for 45 minutes",
            "incident",
            merge(
                rounds("spinworks", [(t0, *spin_normal), (45, 570, 30, 1.5), (75, *spin_normal)]),
                rounds("lucky_labs", [(total, 300, 0.5, 2)]),
            ),
            (
                Silent(f"{t0 + 6}m"),
                Fires(f"{t0 + 15}m", {"provider": "spinworks"}, 0.05),
                Silent(f"{t0 + 55}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 45}m",
            alerts=("CasinoRollbackSpike",),
        ),
        Case(
            "lucky_labs rolls back 1.8 bets per 100 rounds, under the 2% bound",
            "guard",
            merge(rounds("lucky_labs", [(t0, 300, 0.5, 2), (60, 491, 9, 2), (60, 300, 0.5, 2)])),
            (Silent(f"{t0 + 15}m"), Silent(f"{t0 + 50}m")),
            alerts=("CasinoRollbackSpike",),
        ),
    )
