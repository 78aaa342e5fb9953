"""The promtool cases of ``alert_rules.domains.platform``: the normal, quiet-night and surge
traffic its alerts stay silent on, the incidents they must fire on in time, the guards."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from alert_rules.domains.platform import (
    ALERTS,
    BET,
    COLLECTOR_UP,
    DB,
    DEPOSIT,
    DUR,
    JOBS,
    LOGIN,
    OUTBOX_AGE,
    REQ,
    SLO_FAST,
    SLO_SLOW,
)
from alert_rules.model import Case, Fires, Series, Silent, silence
from alert_rules.series import _le as bucket_label
from alert_rules.series import counter_from, deploy, every, gauge, histogram, merge, series
from collectors.catalog import BY_NAME
from collectors.catalog.platform import HTTP_BUCKETS

BUILD = BY_NAME["igaming_build"].exposed_name
NAMES = tuple(a.name for a in ALERTS)
FAST, SLOW = SLO_FAST.name, SLO_SLOW.name

COLLECTORS = ("payments", "affiliates", "sportsbook", "kyc", "outbox", "ledger")
PLATFORM_INSTANCES = ("platform-1:8600", "platform-2:8600")
STATE_INSTANCE = "state-exporter:9108"


@dataclass(frozen=True)
class HttpRoute:
    """A route of the tests: how long its good and its slow requests take."""

    route: str
    method: str
    fast: float  # below every SLO threshold of the route
    slow: float  # above it


LOGIN_R = HttpRoute(*LOGIN, fast=0.12, slow=0.75)
DEPOSIT_R = HttpRoute(*DEPOSIT, fast=0.8, slow=2.0)
BET_R = HttpRoute(*BET, fast=0.2, slow=0.9)

Seg = tuple[int, float, float, float, float]  # minutes, 2xx, 4xx, 5xx, slow per minute
# Fractional rates are dyadic (0.25, 0.0625): promtool expands `a+bxn` by repeated addition,
# and a value like 0.2 accumulates an upward error that, when the next segment adds 0,
# reads as a counter reset and doubles increase().


def _spread(segments: Sequence[Seg], i: int) -> list[float]:
    return [seg[i] for seg in segments for _ in range(seg[0])]


def http(r: HttpRoute, segments: Sequence[Seg]) -> tuple[Series, ...]:
    """A route's requests and durations from segments of (minutes, 2xx, 4xx, 5xx, slow)
    per minute; ``slow`` of the requests take ``r.slow`` seconds, the others ``r.fast``."""
    return http_from(r, *(_spread(segments, i) for i in (1, 2, 3, 4)))


def http_from(
    r: HttpRoute,
    ok: Sequence[float],
    client: Sequence[float],
    server: Sequence[float],
    slow: Sequence[float],
) -> tuple[Series, ...]:
    """The same from per-minute increments."""
    kv = {"route": r.route, "http_method": r.method}
    total = [a + b + c for a, b, c in zip(ok, client, server, strict=True)]
    fast = [t - s for t, s in zip(total, slow, strict=True)]
    out = [
        series(REQ, counter_from(ok), **kv, status_class="2xx"),
        series(REQ, counter_from(client), **kv, status_class="4xx"),
        series(REQ, counter_from(server), **kv, status_class="5xx"),
    ]
    for le in [*HTTP_BUCKETS, float("inf")]:
        per = [
            (f if r.fast <= le else 0.0) + (s if r.slow <= le else 0.0)
            for f, s in zip(fast, slow, strict=True)
        ]
        label = "+Inf" if le == float("inf") else bucket_label(le)
        out.append(series(f"{DUR}_bucket", counter_from(per), **kv, le=label))
    out.append(series(f"{DUR}_count", counter_from(total), **kv))
    sums = [f * r.fast + s * r.slow for f, s in zip(fast, slow, strict=True)]
    out.append(series(f"{DUR}_sum", counter_from(sums), **kv))
    return tuple(out)


def targets(minutes: int) -> list[Series]:
    """Both jobs scraped fine, every collector up, the outbox consumer keeping up."""
    return [
        *[
            series("up", gauge((minutes, 1)), job=JOBS.platform, instance=i)
            for i in PLATFORM_INSTANCES
        ],
        series("up", gauge((minutes, 1)), job=JOBS.state, instance=STATE_INSTANCE),
        *[
            series(COLLECTOR_UP, gauge((minutes, 1)), collector=c, instance=STATE_INSTANCE)
            for c in COLLECTORS
        ],
        series(OUTBOX_AGE, gauge((minutes, 1)), consumer="affiliates"),
        series(OUTBOX_AGE, gauge((minutes, 0)), consumer="other"),
    ]


def busy(minutes: int, surge: tuple[int, int] | None = None) -> tuple[Series, ...]:
    """A busy evening: a few 5xx and about 0.5 % slow requests on each route (burn rates
    near 0.5), many 4xx (wrong passwords, refused bets). ``surge``: (start, length) of a
    5x kickoff surge with the same ratios."""

    def seg(ok: float, c4: float, s5: float, slow: float) -> list[Seg]:
        if surge is None:
            return [(minutes, ok, c4, s5, slow)]
        start, length = surge
        return [
            (start, ok, c4, s5, slow),
            (length, 5 * ok, 5 * c4, 5 * s5, 5 * slow),
            (minutes - start - length, ok, c4, s5, slow),
        ]

    return merge(
        http(LOGIN_R, seg(110, 10, 0.0625, 0.625)),
        http(DEPOSIT_R, seg(36, 4, 0.015625, 0.25)),
        http(BET_R, seg(270, 30, 0.125, 1.25)),
        targets(minutes),
    )


def quiet(minutes: int) -> tuple[Series, ...]:
    """A quiet night of a small operator: six log-ins, four deposits and four bets an hour;
    one deposit answers 5xx (minute 200) and one log-in takes 0.75 s (minute 300)."""
    zero = [0.0] * minutes
    failed = [1.0 if i == 199 else 0.0 for i in range(minutes)]
    slow_login = [1.0 if i == 299 else 0.0 for i in range(minutes)]
    return merge(
        http_from(LOGIN_R, every(minutes, 10), zero, zero, slow_login),
        http_from(DEPOSIT_R, every(minutes, 15), zero, failed, zero),
        http_from(BET_R, every(minutes, 15, offset=7), zero, zero, zero),
        targets(minutes),
    )


def _up(job: str, values: str, instance: str) -> Series:
    return series("up", values, job=job, instance=instance)


def cases() -> tuple[Case, ...]:
    deposits_ok = (40.0, 0.0, 0.0, 0.0)
    deposit_slo = {"slo": "deposit-availability"}
    # Clean history before the fast incidents, long enough that the 6h window is not
    # dominated by the incident (as after a cold start) and the 1h tier pages first.
    h = 150
    # A target that leaves service discovery at minute 61 (stale marker) and is back at 81.
    vanished = "1+0x60 stale _x19 1+0x39"
    # A deploy's hour at 180 deposits an hour: a 5xx every 5 minutes (240-299), then single
    # 5xx at 480, 490 and 500.
    tail = [
        1.0 if (240 <= i < 300 and i % 5 == 4) or i in (480, 490, 500) else 0.0 for i in range(510)
    ]
    return (
        silence(
            "busy evening: a few 5xx, 0.5 % slow, many 4xx on every SLO route",
            "normal",
            busy(180),
            NAMES,
            at=(30, 120, 180),
        ),
        silence(
            "5x surge at kickoff, same error and latency ratios",
            "surge",
            busy(150, surge=(60, 60)),
            NAMES,
            at=(65, 90, 120, 135, 150),
        ),
        silence(
            "quiet night: a handful of requests an hour, one deposit 5xx, one slow log-in",
            "quiet_night",
            quiet(330),
            # The 5m, 30m, 1h, 6h and 3d burn rates all exceed their tiers after the 5xx
            # (minute 200) and the slow log-in (300): only the traffic guards hold.
            NAMES,
            at=(60, 203, 204, 225, 260, 303, 330),
        ),
        Case(
            "release 2026.11.3 answers 30 % of deposits with 5xx (PSP client broken)",
            "incident",
            merge(
                http(DEPOSIT_R, [(h, *deposits_ok), (30, 28, 0, 12, 0), (40, *deposits_ok)]),
                http(LOGIN_R, [(h + 70, 110, 10, 0, 0)]),
                deploy(BUILD, "2026.11.2", "2026.11.3", h - 3, h + 70),
            ),
            (
                Silent(f"{h + 2}m", alert=FAST),  # 1h burn 10, 6h burn 3.9
                Silent(f"{h + 4}m", alert=FAST),  # 1h/5m true since +3m, pending
                Fires(f"{h + 5}m", deposit_slo, 25, deploy="2026.11.3", alert=FAST),
                Fires(f"{h + 15}m", deposit_slo, 75, deploy="2026.11.3", alert=FAST),
                Fires(f"{h + 29}m", deposit_slo, 145, deploy="2026.11.3", alert=FAST),
                # Fixed at +30m: the 5m window is clean at +35m, and both tiers need it
                Silent(f"{h + 37}m", alert=FAST),
                Silent(f"{h + 61}m", alert=FAST),
            ),
            incident_start=f"{h}m",
            recovery=f"{h + 30}m",
            alerts=(FAST,),
        ),
        Case(
            "database pool exhausted: every log-in takes 0.75 s",
            "incident",
            http(LOGIN_R, [(h, 110, 10, 0, 0), (30, 110, 10, 0, 120), (40, 110, 10, 0, 0)]),
            (
                Silent(f"{h + 8}m"),  # 8 slow minutes of 60: 1h burn 13.3
                Silent(f"{h + 10}m"),  # true since +9m, pending
                Fires(f"{h + 12}m", {"slo": "login-latency"}, 20),
                Silent(f"{h + 61}m"),
            ),
            incident_start=f"{h}m",
            recovery=f"{h + 30}m",
            alerts=(FAST,),
        ),
        Case(
            "bet placement 10 % slow from a cold start: 1h burn 10 < 14.4, the 6h/5m tier pages",
            "incident",
            http(BET_R, [(60, 270, 30, 0, 30), (40, 270, 30, 0, 0)]),
            (
                Silent("2m"),  # pending since 1m
                Fires("10m", {"slo": "bet-placement-latency"}, 10),
                Fires("60m", {"slo": "bet-placement-latency"}, 10),
                Silent("75m"),  # 5m burn below 6
            ),
            incident_start="0m",
            recovery="60m",
            alerts=(FAST,),
        ),
        Case(
            "deposit 5xx at 1.39 % for an hour after two clean ones: 1h burn 13.9, no page",
            "guard",
            http(DEPOSIT_R, [(120, 36, 0, 0, 0), (60, 35.5, 0, 0.5, 0), (5, 36, 0, 0, 0)]),
            (Silent("150m"), Silent("180m")),
            alerts=(FAST,),
        ),
        Case(
            "a white-label brand's 190 deposits an hour, 10 of them 5xx: below the volume guard",
            "guard",
            http_from(DEPOSIT_R, [3.0] * 180, [0.0] * 180, every(180, 6), [0.0] * 180),
            (Silent("60m"), Silent("120m"), Silent("180m")),
            alerts=(FAST,),
        ),
        Case(
            "180 deposits an hour: a deploy's hour of 5xx, then one 5xx three hours later "
            "does not page through the 6h window's tail; three in 20 minutes do",
            "guard",
            http_from(DEPOSIT_R, [3.0 - f for f in tail], [0.0] * 510, tail, [0.0] * 510),
            (
                # The regression (240-299): the 6h tier pages once six 5xx make its burn
                # 6.2 (a 5xx every 5 minutes is a 5m burn of 67, three in 30 minutes);
                # it resolves within minutes of the last one.
                Silent("266m", alert=FAST),
                Fires("267m", deposit_slo, 6.242, alert=FAST),
                Fires("280m", deposit_slo, 9.524, alert=FAST),
                Silent("306m", alert=FAST),
                # 480: the 6h window holds the regression's twelve (burn 11), the 5m
                # window one 5xx (burn 67), the last 30 minutes one: no page.
                Silent("483m", alert=FAST),
                Silent("485m", alert=FAST),
                # 490 and 500: three in the last 30 minutes, the burn goes on: it pages.
                Silent("502m", alert=FAST),
                Fires("503m", deposit_slo, 13.89, alert=FAST),
            ),
            alerts=(FAST,),
        ),
        Case(
            "credential stuffing (log-in 4xx x10) and 5xx on GET /sportsbook/bets (no SLO)",
            "guard",
            merge(
                http(LOGIN_R, [(120, 110, 1000, 0, 0)]),
                http(HttpRoute("/sportsbook/bets", "GET", 0.05, 0.6), [(120, 50, 0, 50, 0)]),
                http(BET_R, [(120, 270, 30, 0, 0)]),
            ),
            tuple(Silent(f"{m}m", alert=a) for m in (30, 60, 120) for a in (FAST, SLOW)),
            alerts=(FAST, SLOW),
        ),
        Case(
            "deposit 5xx at 0.5 % (burn 5) for 40 minutes after a clean hour: a ticket, "
            "not a page (3d window from a cold start)",
            "incident",
            http(DEPOSIT_R, [(60, 50, 0, 0, 0), (40, 49.75, 0, 0.25, 0), (115, 50, 0, 0, 0)]),
            (
                Silent("85m"),  # 3d and 6h burn above 1 since 76m, pending
                Fires("100m", {"slo": "deposit-availability"}, 2),
                Silent("210m"),  # 10 failures in 10500 requests: burn 0.95
            ),
            incident_start="60m",
            recovery="100m",
            alerts=(SLOW,),
        ),
        Case(
            "deposit 5xx at 0.089 % for three hours: burn 0.89, within budget",
            "guard",
            http(DEPOSIT_R, [(180, 34.96875, 0, 0.03125, 0)]),
            (Silent("120m"), Silent("180m")),
            alerts=(SLOW,),
        ),
        Case(
            "platform unreachable: every scrape of both instances fails for 20 minutes",
            "incident",
            tuple(
                _up(JOBS.platform, gauge((60, 1), (20, 0), (40, 1)), i) for i in PLATFORM_INSTANCES
            ),
            (
                Silent("62m"),  # down since 61m, pending
                Fires("63m", {"job": JOBS.platform}, len(PLATFORM_INSTANCES)),
                Fires("80m", {"job": JOBS.platform}, len(PLATFORM_INSTANCES)),
                Silent("82m"),
            ),
            incident_start="60m",
            recovery="80m",
            alerts=("PlatformDown",),
        ),
        Case(
            "platform instances gone from service discovery: up goes stale",
            "incident",
            tuple(_up(JOBS.platform, vanished, i) for i in PLATFORM_INSTANCES),
            (
                Silent("62m"),
                Fires("63m", {"job": JOBS.platform}, 0),
                Fires("80m", {"job": JOBS.platform}, 0),
                Silent("82m"),
            ),
            incident_start="60m",
            recovery="80m",
            alerts=("PlatformDown",),
        ),
        Case(
            "one of two platform instances down: not the whole platform",
            "guard",
            (
                _up(JOBS.platform, gauge((120, 1)), PLATFORM_INSTANCES[0]),
                _up(JOBS.platform, gauge((60, 1), (60, 0)), PLATFORM_INSTANCES[1]),
            ),
            (Silent("70m"), Silent("120m")),
            alerts=("PlatformDown",),
        ),
        Case(
            "state exporter crashes: its scrapes fail for 30 minutes",
            "incident",
            (_up(JOBS.state, gauge((60, 1), (30, 0), (30, 1)), STATE_INSTANCE),),
            (
                Silent("70m"),  # down since 61m, pending
                Fires("71m", {"job": JOBS.state}, 1),
                Silent("92m"),
            ),
            incident_start="60m",
            recovery="90m",
            alerts=("StateExporterDown",),
        ),
        Case(
            "state exporter removed from service discovery: up goes stale",
            "incident",
            (_up(JOBS.state, vanished, STATE_INSTANCE),),
            (
                Silent("70m"),
                Fires("75m", {"job": JOBS.state}, 0),
                Silent("82m"),
            ),
            incident_start="60m",
            recovery="80m",
            alerts=("StateExporterDown",),
        ),
        Case(
            "state exporter gone: its collectors' series go stale, CollectorFailing stays "
            "silent (StateExporterDown reports it)",
            "guard",
            tuple(
                series(
                    COLLECTOR_UP, gauge((60, 1)) + " stale", collector=c, instance=STATE_INSTANCE
                )
                for c in COLLECTORS
            ),
            (Silent("75m"), Silent("100m")),
            alerts=("CollectorFailing",),
        ),
        Case(
            "the payments collector exceeds its time budget on every scrape for 30 minutes",
            "incident",
            (
                series(
                    COLLECTOR_UP,
                    gauge((60, 1), (30, 0), (30, 1)),
                    collector="payments",
                    instance=STATE_INSTANCE,
                ),
                *[
                    series(COLLECTOR_UP, gauge((120, 1)), collector=c, instance=STATE_INSTANCE)
                    for c in COLLECTORS
                    if c != "payments"
                ],
            ),
            (
                Silent("70m"),  # failing since 61m, pending
                Fires("71m", {"collector": "payments"}, 0),
                Silent("92m"),
            ),
            incident_start="60m",
            recovery="90m",
            alerts=("CollectorFailing",),
        ),
        Case(
            "a three-minute database blip fails every collector, then they recover",
            "guard",
            tuple(
                series(
                    COLLECTOR_UP,
                    gauge((60, 1), (3, 0), (57, 1)),
                    collector=c,
                    instance=STATE_INSTANCE,
                )
                for c in COLLECTORS
            ),
            (Silent("62m"), Silent("70m"), Silent("80m")),
            alerts=("CollectorFailing",),
        ),
        Case(
            "the affiliate worker stalls: the oldest outbox event ages a minute per minute",
            "incident",
            (
                # 1 s until minute 60; from 61 the age grows 60 s a minute; handled at 101.
                series(OUTBOX_AGE, "1+0x60 60+60x39 0+0x30", consumer="affiliates"),
            ),
            (
                Silent("75m"),  # above 600 s since 71m, pending
                Fires("76m", {"consumer": "affiliates"}, 960),
                Fires("100m", {"consumer": "affiliates"}, 2400),
                Silent("102m"),
            ),
            incident_start="60m",
            recovery="100m",
            alerts=("OutboxBacklogGrowing",),
        ),
        Case(
            "a burst of events takes seven minutes to drain",
            "guard",
            (series(OUTBOX_AGE, "1+0x60 60+60x6 0+0x30", consumer="affiliates"),),
            (Silent("66m"), Silent("70m"), Silent("80m")),
            alerts=("OutboxBacklogGrowing",),
        ),
        Case(
            "every SQL statement takes 5 ms longer for 15 minutes",
            "incident",
            tuple(
                histogram(
                    DB.name,
                    DB.buckets or (),
                    [(60, 200, 0.0004), (15, 200, 0.0054), (45, 200, 0.0004)],
                    statement="select",
                )
            ),
            (
                Silent("61m"),
                Fires("70m", {}, 1.0),
                Silent("86m"),
            ),
            incident_start="60m",
            recovery="75m",
            alerts=("DatabaseSlow",),
        ),
        Case(
            "a tenth of statements slow (a report query running): no alert",
            "guard",
            (
                *histogram(DB.name, DB.buckets or (), [(120, 180, 0.0004)], statement="select"),
                *histogram(DB.name, DB.buckets or (), [(120, 20, 0.02)], statement="update"),
            ),
            (Silent("30m"), Silent("90m")),
            alerts=("DatabaseSlow",),
        ),
    )
