"""The promtool cases of ``alert_rules.domains.kyc``: the normal, quiet-night and surge traffic
its alerts stay silent on, the incidents they must fire on in time, the guards."""

from __future__ import annotations

from alert_rules.domains.kyc import ALERTS, BACKLOG, ERR, OLDEST, OUT, REVIEW_BACKLOG, VENDOR_DOWN
from alert_rules.model import Case, Fires, Series, Silent, silence
from alert_rules.series import counter, counter_from, every, gauge, merge, series

NAMES = tuple(a.name for a in ALERTS)

STATUSES = ("approved", "rejected", "manual_review", "provider_unavailable")
DAY = 86400


def checks(geo: str, segments: list[tuple[int, float, float]]) -> list[Series]:
    """KYC outcomes and vendor errors of one GEO: segments of (minutes, decided per minute,
    vendor errors per minute). Decided checks are 90 % approved, 5 % rejected, 5 % manual
    review; each vendor error is an outcome provider_unavailable."""
    share = {"approved": 0.9, "rejected": 0.05, "manual_review": 0.05}
    out = [
        series(OUT, counter(*[(m, d * share[s]) for m, d, _ in segments]), status=s, geo=geo)
        for s in share
    ]
    return [
        *out,
        series(
            OUT,
            counter(*[(m, e) for m, _, e in segments]),
            status="provider_unavailable",
            geo=geo,
        ),
        series(ERR, counter(*[(m, e) for m, _, e in segments]), geo=geo),
    ]


def ramp(start: float, per_minute: float, minutes: int) -> str:
    """A gauge growing ``per_minute`` from ``start`` at minute 0 (an age)."""
    return counter((minutes, per_minute), start=start)


def healthy(minutes: int, surge: tuple[int, int] | None = None) -> tuple[Series, ...]:
    """A busy evening in DE and GB: 4 and 2 checks a minute, 1 in 40 a vendor error; a
    review queue of 40, the oldest waiting 6 hours. ``surge``: (start, length) of a 5x
    kickoff (registrations, hence checks and reviews)."""

    def seg(decided: float, errors: float) -> list[tuple[int, float, float]]:
        if surge is None:
            return [(minutes, decided, errors)]
        start, length = surge
        return [(start, decided, errors), (length, 5 * decided, 5 * errors),
                (minutes - start - length, decided, errors)]  # fmt: skip

    backlog = (
        gauge((minutes, 40))
        if surge is None
        else gauge((surge[0], 40), (surge[1], 150), (minutes - surge[0] - surge[1], 60))
    )
    return merge(
        checks("DE", seg(3.9, 0.1)),
        checks("GB", seg(1.95, 0.05)),
        series(BACKLOG, backlog),
        series(OLDEST, ramp(6 * 3600, 60, minutes)),
    )


def quiet(minutes: int) -> tuple[Series, ...]:
    """A quiet night in FI: four checks an hour, one of them a vendor error; one check in
    review for two hours."""
    thirds = [every(minutes, 20, offset=o) for o in (0, 7, 14)]
    approved = [sum(x) for x in zip(*thirds, strict=True)]
    error = every(minutes, 60, offset=31)
    return merge(
        series(OUT, counter_from(approved), status="approved", geo="FI"),
        series(OUT, counter((minutes, 0)), status="rejected", geo="FI"),
        series(OUT, counter((minutes, 0)), status="manual_review", geo="FI"),
        series(OUT, counter_from(error), status="provider_unavailable", geo="FI"),
        series(ERR, counter_from(error), geo="FI"),
        series(BACKLOG, gauge((minutes, 1))),
        series(OLDEST, ramp(2 * 3600, 60, minutes)),
    )


def _outage(
    t0: int, length: int, total: int, decided: float, errors: float
) -> list[tuple[int, float, float]]:
    """Normal (decided, 1 in 40 errors), then ``length`` minutes where every attempt errors."""
    return [(t0, decided, errors), (length, 0, 3), (total - t0 - length, decided, errors)]


def cases() -> tuple[Case, ...]:
    t0, total = 60, 150
    return (
        silence(
            "busy evening: 6 checks a minute, 1 in 40 a vendor error",
            "normal",
            healthy(300),
            NAMES,
            at=(30, 120, 200, 300),
        ),
        silence(
            "5x registrations at kickoff: 5x checks and vendor errors, review queue at 150",
            "surge",
            healthy(300, surge=(120, 60)),
            NAMES,
            at=(130, 150, 180, 200),
        ),
        silence(
            "quiet night in FI: four checks an hour, one vendor error",
            "quiet_night",
            quiet(300),
            NAMES,
            at=(60, 120, 240, 300),
        ),
        # -- the vendor
        Case(
            "the KYC vendor is down: every attempt and retry fails in DE and GB",
            "incident",
            merge(
                checks("DE", _outage(t0, 30, total, 3.9, 0.1)),
                checks("GB", _outage(t0, 30, total, 1.95, 0.05)),
            ),
            (
                Silent(f"{t0 + 5}m"),
                Fires(f"{t0 + 15}m", {}, 1.0),
                Fires(f"{t0 + 28}m", {}, 1.0),
                Silent(f"{t0 + 45}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 30}m",
            alerts=(VENDOR_DOWN.name,),
        ),
        Case(
            "the vendor is down and the outcome series are lost: the errors alone fire",
            "incident",
            merge(
                # outcomes stop being exported at the outage and come back after it
                *[
                    series(
                        OUT,
                        f"0+1x{t0} stale _x29 {t0 + 30}+1x{total - t0 - 30}",
                        status=s,
                        geo="DE",
                    )
                    for s in ("approved", "provider_unavailable")
                ],
                series(ERR, counter((t0, 0.1), (30, 6), (total - t0 - 30, 0.1)), geo="DE"),
            ),
            (
                Silent(f"{t0 + 2}m"),
                Fires(f"{t0 + 15}m", {}, 1.0),
                Fires(f"{t0 + 25}m", {}, 1.0),
                Silent(f"{t0 + 45}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 30}m",
            alerts=(VENDOR_DOWN.name,),
        ),
        Case(
            "a flaky vendor: 40% of attempts fail, below the 50% share",
            "guard",
            merge(checks("DE", [(t0, 3.9, 0.1), (60, 3, 2)])),
            (Silent(f"{t0 + 15}m"), Silent(f"{t0 + 40}m")),
            alerts=(VENDOR_DOWN.name,),
        ),
        Case(
            "a vendor hiccup on a quiet night: 4 vendor errors in 30 minutes, under the guard",
            "guard",
            merge(checks("FI", [(t0, 0.1, 0), (4, 0, 1), (56, 0.1, 0)])),
            (Silent(f"{t0 + 12}m"), Silent(f"{t0 + 25}m")),
            alerts=(VENDOR_DOWN.name,),
        ),
        # -- the review queue
        Case(
            "reviews stop over the weekend: the oldest check passes the 24h SLA",
            "incident",
            (
                series(BACKLOG, gauge((150, 30))),
                series(OLDEST, ramp(DAY - 3600, 60, 90) + " 18000+0x59"),
            ),
            (
                Silent(f"{t0 + 5}m"),
                Fires(f"{t0 + 15}m", {}, DAY + 15 * 60),
                Silent(f"{t0 + 35}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 30}m",
            alerts=(REVIEW_BACKLOG.name,),
        ),
        Case(
            "a vendor outage floods the review queue: 260 checks, the oldest 3h old",
            "incident",
            (
                series(BACKLOG, gauge((59, 50), (61, 260), (30, 40))),
                series(OLDEST, gauge((150, 3 * 3600))),
            ),
            (
                Silent(f"{t0 + 5}m"),
                Fires(f"{t0 + 15}m", {}, 3 * 3600),
                Silent(f"{t0 + 65}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 60}m",
            alerts=(REVIEW_BACKLOG.name,),
        ),
        Case(
            "the oldest review at 23h50m and 200 in the queue: just inside both limits",
            "guard",
            (
                series(BACKLOG, gauge((120, 200))),
                series(OLDEST, gauge((120, DAY - 600))),
            ),
            (Silent("30m"), Silent("100m")),
            alerts=(REVIEW_BACKLOG.name,),
        ),
    )
