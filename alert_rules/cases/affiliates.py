"""The promtool cases of ``alert_rules.domains.affiliates``: the normal, quiet-night and surge
traffic its alerts stay silent on, the incidents they must fire on in time, the guards."""

from __future__ import annotations

from typing import Any

from alert_rules.domains.affiliates import (
    ALERTS,
    DEAD,
    FTDS,
    GAP,
    LAST_PASS,
    PENDING_AGE,
    POSTBACKS,
    QUALIFIED,
    REGS,
)
from alert_rules.model import Case, Fires, Series, Silent, silence
from alert_rules.series import (
    counter,
    counter_from,
    every,
    gauge,
    gauge_from,
    merge,
    series,
    stale_after,
)

NAMES = tuple(a.name for a in ALERTS)


def funnel(
    affiliate: str, campaign: str, segments: list[tuple[int, float, float, float]]
) -> list[Series]:
    """Registrations, FTDs and qualified FTDs: segments of (minutes, regs/min, FTDs/min,
    qualified/min)."""
    kv = {"affiliate": affiliate, "campaign": campaign}
    return [
        series(REGS, counter(*[(m, r) for m, r, _, _ in segments]), **kv),
        series(FTDS, counter(*[(m, f) for m, _, f, _ in segments]), **kv),
        series(QUALIFIED, counter(*[(m, q) for m, _, _, q in segments]), **kv),
    ]


def postbacks(affiliate: str, segments: list[tuple[int, float, float]]) -> list[Series]:
    """Postback attempts: segments of (minutes, delivered/min, failed/min); none dead."""
    total = sum(m for m, _, _ in segments)
    return [
        series(
            POSTBACKS,
            counter(*[(m, d) for m, d, _ in segments]),
            affiliate=affiliate,
            outcome="delivered",
        ),
        series(
            POSTBACKS,
            counter(*[(m, f) for m, _, f in segments]),
            affiliate=affiliate,
            outcome="failed",
        ),
        series(POSTBACKS, counter((total, 0)), affiliate=affiliate, outcome="dead_lettered"),
    ]


def gap(affiliate: str, campaign: str, *segments: tuple[int, float | None]) -> Series:
    return series(GAP, gauge(*segments), affiliate=affiliate, campaign=campaign)


def pending_age(affiliate: str, per_minute: list[float]) -> Series:
    """The age of the affiliate's oldest pending postback at each minute."""
    return series(PENDING_AGE, gauge_from(per_minute), affiliate=affiliate)


def retried(minutes: int, start: int, failures: int, idle: float = 3) -> list[float]:
    """Oldest pending postback ages: ``idle`` seconds (one in flight at the scrape), and a
    postback queued at ``start`` that fails ``failures`` times in a row (back-off 30 s, 1,
    2, 4 ... minutes) before it is delivered."""
    waited = sum(30 * 2**i for i in range(failures))
    ages = [idle] * (minutes + 1)
    for m in range(start, min(minutes, start + waited // 60) + 1):
        ages[m] = max(idle, 60.0 * (m - start))
    return ages


def heartbeat(minutes: int, age: float = 20, held: tuple[int, int] | None = None) -> Series:
    """The dispatcher's last pass at each minute, ``age`` seconds before the scrape (a
    pass a second live, every 30 s in the simulator when busy, a minute when quiet). ``held``:
    (from, to) minutes in which no pass ends (the last one before ``from`` stays)."""
    values = [max(0.0, 60.0 * m - age) for m in range(minutes + 1)]
    if held is not None:
        start, end = held
        values[start:end] = [values[start]] * (end - start)
    return series(LAST_PASS, gauge_from(values))


def healthy(minutes: int, surge: tuple[int, int] | None = None) -> tuple[Series, ...]:
    """A busy evening: topcasinos (two campaigns) and betguide convert 20 to 30 % of their
    registrations, 2 % of postback attempts fail and are retried, one FTD postback of
    topcasinos takes a few retries (gap of 1 for 8 minutes, pending for 3.5), no dead letter.
    ``surge``: (start, length) of a 5x kickoff, same ratios."""

    def seg(*rates: float) -> list[tuple[Any, ...]]:  # a funnel's or a postbacks' segments
        if surge is None:
            return [(minutes, *rates)]
        start, length = surge
        return [
            (start, *rates),
            (length, *[5 * r for r in rates]),
            (minutes - start - length, *rates),
        ]

    return merge(
        funnel("topcasinos", "spring", seg(2, 0.5, 0.45)),
        funnel("topcasinos", "brand", seg(1, 0.2, 0.2)),
        funnel("betguide", "tips", seg(1.5, 0.45, 0.4)),
        postbacks("topcasinos", seg(5, 0.1)),
        postbacks("betguide", seg(2.5, 0.05)),
        gap("topcasinos", "spring", (100, 0), (8, 1), (minutes - 108, 0)),
        gap("topcasinos", "brand", (minutes, 0)),
        gap("betguide", "tips", (minutes, 0)),
        pending_age("topcasinos", retried(minutes, 100, 3)),
        pending_age("betguide", [3.0] * (minutes + 1)),
        heartbeat(minutes),
    )


def quiet_affiliate(minutes: int, fail_at: int = 74) -> tuple[Series, ...]:
    """nightowl at night: a registration every 4 minutes, an FTD every 15 (four an hour,
    all qualified); one FTD postback fails once and is delivered on its retry a minute
    later."""
    regs = every(minutes, 4)
    ftds = every(minutes, 15)
    delivered = [r + f for r, f in zip(regs, ftds, strict=True)]
    failed = [0.0] * minutes
    delivered[fail_at] -= 1  # the FTD postback of minute fail_at fails ...
    failed[fail_at] = 1
    delivered[fail_at + 1] += 1  # ... and is delivered on the retry
    kv = {"affiliate": "nightowl", "campaign": "default"}
    return (
        series(REGS, counter_from(regs), **kv),
        series(FTDS, counter_from(ftds), **kv),
        series(QUALIFIED, counter_from(ftds), **kv),
        series(POSTBACKS, counter_from(delivered), affiliate="nightowl", outcome="delivered"),
        series(POSTBACKS, counter_from(failed), affiliate="nightowl", outcome="failed"),
        series(POSTBACKS, counter((minutes, 0)), affiliate="nightowl", outcome="dead_lettered"),
        gap("nightowl", "default", (minutes, 0)),
        # pending only while the failed FTD postback waits for its retry
        series(
            PENDING_AGE,
            gauge((fail_at, None), (2, 60), (minutes - fail_at - 2, None)),
            affiliate="nightowl",
        ),
        heartbeat(minutes, age=85),  # the quiet-night pace: a pass a minute, a late scrape
    )


def cases() -> tuple[Case, ...]:
    total = 360  # six hours: the 3h conversion window is full twice over
    t0 = 240
    fraud_start, fraud_end = 180, 380
    # stale case: topcasinos' postback series vanish after minute 60 and come back (from 0,
    # a restarted process) at minute 110; FTDs keep qualifying throughout.
    gone = 48  # samples 62..109: no series at all
    stale_postbacks = [
        series(
            POSTBACKS,
            f"{stale_after(counter((60, r)))} _x{gone} {counter((40, r))}",
            affiliate="topcasinos",
            outcome=o,
        )
        for o, r in (("delivered", 5), ("failed", 0.1), ("dead_lettered", 0))
    ]
    return (
        silence(
            "busy evening, every affiliate healthy",
            "normal",
            healthy(total),
            NAMES,
            at=(30, 104, 120, 200, t0, 300, total),
        ),
        silence(
            "5x registrations, FTDs and postbacks at kickoff, same conversion and failure rates",
            "surge",
            healthy(total, surge=(t0, 60)),
            NAMES,
            at=(t0 + 10, t0 + 30, t0 + 60, t0 + 75, total),
        ),
        silence(
            "quiet night: nightowl, four FTDs an hour, one FTD postback fails once",
            "quiet_night",
            quiet_affiliate(total),
            NAMES,
            at=(60, 75, 80, 100, 200, total),
        ),
        # -- FtdPostbacksStopped
        Case(
            "topcasinos' endpoint answers 503 to every postback; FTDs keep qualifying",
            "incident",
            merge(
                funnel("topcasinos", "spring", [(150, 2, 0.5, 0.5)]),
                funnel("topcasinos", "brand", [(150, 1, 0.2, 0.2)]),
                postbacks("topcasinos", [(60, 5, 0.1), (45, 0, 2), (45, 5, 0.1)]),
                funnel("betguide", "tips", [(150, 1.5, 0.45, 0.4)]),
                postbacks("betguide", [(150, 2.5, 0.05)]),
            ),
            (
                Silent("85m"),
                Silent("92m"),
                Fires("95m", {"affiliate": "topcasinos"}, 21),
                Fires("104m", {"affiliate": "topcasinos"}, 21),
                Silent("110m"),
            ),
            incident_start="60m",
            recovery="105m",
            alerts=("FtdPostbacksStopped",),
        ),
        Case(
            "topcasinos' postback series go stale (absent) while its FTDs keep qualifying",
            "incident",
            merge(
                funnel("topcasinos", "spring", [(150, 2, 0.5, 0.5)]),
                funnel("topcasinos", "brand", [(150, 1, 0.2, 0.2)]),
                stale_postbacks,
            ),
            (
                Silent("85m"),
                Fires("95m", {"affiliate": "topcasinos"}, 21),
                Fires("105m", {"affiliate": "topcasinos"}, 21),
                Silent("115m"),
            ),
            incident_start="60m",
            recovery="110m",
            alerts=("FtdPostbacksStopped",),
        ),
        Case(
            "seoreviews takes no postbacks (no URL template): FTDs qualify, no attempt ever",
            "guard",
            merge(
                funnel("seoreviews", "organic", [(150, 2, 0.5, 0.5)]),
                postbacks("seoreviews", [(150, 0, 0)]),
            ),
            (Silent("60m"), Silent("120m"), Silent("150m")),
            alerts=("FtdPostbacksStopped",),
        ),
        Case(
            "nightowl's endpoint goes down at night: two FTDs per 30 minutes, below min_ftds",
            "guard",
            merge(
                quiet_affiliate(150)[:3],
                series(
                    POSTBACKS,
                    counter((60, 0.3), (90, 0)),
                    affiliate="nightowl",
                    outcome="delivered",
                ),
                series(
                    POSTBACKS, counter((60, 0), (90, 0.2)), affiliate="nightowl", outcome="failed"
                ),
                series(POSTBACKS, counter((150, 0)), affiliate="nightowl", outcome="dead_lettered"),
            ),
            (Silent("100m"), Silent("130m"), Silent("150m")),
            alerts=("FtdPostbacksStopped",),
        ),
        # -- FtdPostbackGap
        Case(
            "FTD postbacks to topcasinos/spring fail from minute 60 (gap shows after the grace)",
            "incident",
            (
                gap("topcasinos", "spring", (70, 0), (40, 4), (30, 0)),
                gap("topcasinos", "brand", (140, 0)),
            ),
            (
                Silent("78m"),
                Fires("81m", {"affiliate": "topcasinos", "campaign": "spring"}, 4),
                Fires("101m", {"affiliate": "topcasinos", "campaign": "spring"}, 4),
                Fires("110m", {"affiliate": "topcasinos", "campaign": "spring"}, 4),
                Silent("112m"),
            ),
            incident_start="60m",
            recovery="110m",
            alerts=("FtdPostbackGap",),
        ),
        Case(
            "one slow FTD postback to betguide: gap of 1 for 9 minutes, then delivered",
            "guard",
            (gap("betguide", "tips", (60, 0), (9, 1), (71, 0)),),
            (Silent("65m"), Silent("69m"), Silent("75m"), Silent("100m")),
            alerts=("FtdPostbackGap",),
        ),
        # -- PostbackFailureRate
        Case(
            "betguide's endpoint fails half of the postbacks",
            "incident",
            merge(
                postbacks("betguide", [(60, 4, 0.04), (40, 2, 2), (50, 4, 0.04)]),
                postbacks("topcasinos", [(150, 5, 0.1)]),
            ),
            (
                Silent("80m"),
                Fires("90m", {"affiliate": "betguide"}, 0.5),
                Silent("120m"),
            ),
            incident_start="60m",
            recovery="100m",
            alerts=("PostbackFailureRate",),
        ),
        Case(
            "betguide fails 20% of postbacks (below 25%); nightowl fails half of 10 attempts",
            "guard",
            merge(
                postbacks("betguide", [(60, 4, 0.04), (60, 4, 1), (30, 4, 0.04)]),
                postbacks("nightowl", [(150, 1 / 6, 1 / 6)]),
            ),
            (Silent("100m"), Silent("120m"), Silent("150m")),
            alerts=("PostbackFailureRate",),
        ),
        # -- PostbackDispatcherStalled
        Case(
            "the affiliate worker stalls from minute 60 to 100: no pass ends, none was due",
            "incident",
            (heartbeat(150, held=(60, 100)),),
            (
                Silent("62m"),
                Fires("64m", {}, 260),
                Fires("99m", {}, 2360),
                Silent("101m"),
            ),
            incident_start="60m",
            recovery="100m",
            alerts=("PostbackDispatcherStalled",),
        ),
        Case(
            "a pass held 3 minutes by an endpoint's 10 s timeouts; the platform down 10 "
            "minutes, its first pass after the restart 3 minutes long (0 until then)",
            "guard",
            (
                series(
                    LAST_PASS,
                    f"{stale_after(heartbeat(100, held=(60, 64)).values)} _x9 0+0x2 "
                    + gauge_from([60.0 * m - 20 for m in range(114, 151)]),
                ),
            ),
            (
                Silent("62m"),
                Silent("63m"),
                Silent("64m"),
                Silent("104m"),
                Silent("108m"),
                Silent("112m"),
                Silent("113m"),
                Silent("120m"),
            ),
            alerts=("PostbackDispatcherStalled",),
        ),
        # -- PostbacksStuckPending
        Case(
            "the affiliate worker stalls from minute 60 to 100: queued postbacks wait",
            "incident",
            (pending_age("topcasinos", [3.0] * 60 + [60.0 * m for m in range(40)] + [3.0] * 51),),
            (
                Silent("65m"),
                Fires("68m", {"affiliate": "topcasinos"}, 480),
                Fires("99m", {"affiliate": "topcasinos"}, 2340),
                Silent("101m"),
            ),
            incident_start="60m",
            recovery="100m",
            alerts=("PostbacksStuckPending",),
        ),
        Case(
            "nightowl's endpoint is down: its one postback is retried for an hour, then given up",
            "incident",
            (pending_age("nightowl", retried(150, 60, 7, idle=0)),),
            (
                Silent("65m"),
                Fires("68m", {"affiliate": "nightowl"}, 480),
                Fires("123m", {"affiliate": "nightowl"}, 3780),
                Silent("125m"),
            ),
            incident_start="60m",
            recovery="124m",  # dead-lettered: PostbacksDeadLettered takes over
            alerts=("PostbacksStuckPending",),
        ),
        Case(
            "a betguide postback fails three times in a row, then is delivered (3.5 minutes)",
            "guard",
            (pending_age("betguide", retried(150, 60, 3)),),
            (Silent("62m"), Silent("64m"), Silent("66m"), Silent("75m")),
            alerts=("PostbacksStuckPending",),
        ),
        # -- PostbacksDeadLettered
        Case(
            "three betguide postbacks dead-lettered, replayed an hour later",
            "incident",
            (series(DEAD, stale_after(gauge((60, None), (60, 3))), affiliate="betguide"),),
            (
                Silent("63m"),
                Fires("66m", {"affiliate": "betguide"}, 3),
                Fires("110m", {"affiliate": "betguide"}, 3),
                Silent("125m"),
            ),
            incident_start="60m",
            recovery="120m",
            alerts=("PostbacksDeadLettered",),
        ),
        # -- AffiliateConversionAnomaly
        Case(
            "cashbackpro/promo7: fake players add 2 registrations a minute, all depositing",
            "incident",
            merge(
                funnel(
                    "cashbackpro",
                    "promo7",
                    [
                        (fraud_start, 1, 0.25, 0.25),
                        (fraud_end - fraud_start, 3, 2.25, 2.0),
                        (500 - fraud_end, 1, 0.25, 0.25),
                    ],
                ),
                funnel("topcasinos", "spring", [(500, 2, 0.5, 0.45)]),
            ),
            (
                Silent(f"{fraud_start + 60}m"),
                Silent(f"{fraud_start + 85}m"),
                Fires(
                    f"{fraud_start + 100}m",
                    {"affiliate": "cashbackpro", "campaign": "promo7"},
                    245 / 380,
                ),
                Fires(
                    f"{fraud_start + 180}m",
                    {"affiliate": "cashbackpro", "campaign": "promo7"},
                    0.75,
                ),
                Silent(f"{fraud_end + 110}m"),
            ),
            incident_start=f"{fraud_start}m",
            recovery=f"{fraud_end}m",
            alerts=("AffiliateConversionAnomaly",),
        ),
        Case(
            "betguide/tips converts 55% (below 60%); tinyblog converts 100% of 6 FTDs",
            "guard",
            merge(
                funnel("betguide", "tips", [(300, 2, 1.1, 1.0)]),
                funnel("tinyblog", "review", [(300, 1 / 30, 1 / 30, 1 / 30)]),
            ),
            (Silent("180m"), Silent("240m"), Silent("300m")),
            alerts=("AffiliateConversionAnomaly",),
        ),
    )
