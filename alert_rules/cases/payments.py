"""The promtool cases of ``alert_rules.domains.payments``: the normal, quiet-night and surge
traffic its alerts stay silent on, the incidents they must fire on in time, the guards."""

from __future__ import annotations

from alert_rules.domains.payments import ALERTS, ATT, CB, CB_DELAY, DEPOSIT_SLO, OUT, PENDING, STUCK
from alert_rules.model import Case, Fires, Series, Silent, silence, silent_all
from alert_rules.series import (
    counter,
    counter_from,
    deploy,
    every,
    gauge,
    gauge_from,
    histogram,
    merge,
    series,
)
from alert_rules.series import histogram_quantile_over as q_over
from alert_rules.series import quantile_in_bucket as q_in
from collectors.catalog import BY_NAME

BUILD = BY_NAME["igaming_build"].exposed_name
DEPLOYED = BY_NAME["igaming_deploy_timestamp_seconds"].name
NAMES = tuple(a.name for a in ALERTS)

DAY = 24 * 60


def deposits(
    geo: str,
    psp: str,
    method: str,
    segments: list[tuple[int, float, float]],
    brand: str = "acme",
) -> list[Series]:
    """Deposit attempts and outcomes: segments of (minutes, approved/min, declined/min)."""
    kv = {"geo": geo, "psp": psp, "method": method, "brand": brand}
    return [
        series(ATT, counter(*[(m, a + d) for m, a, d in segments]), **kv),
        series(OUT, counter(*[(m, a) for m, a, _ in segments]), **kv, outcome="approved"),
        series(OUT, counter(*[(m, d) for m, _, d in segments]), **kv, outcome="declined"),
    ]


def deposits_failing(
    geo: str, psp: str, method: str, segments: list[tuple[int, float, float, float]]
) -> list[Series]:
    """Deposits with errors: segments of (minutes, approved/min, declined/min, failed/min)."""
    kv = {"geo": geo, "psp": psp, "method": method, "brand": "acme"}
    return [
        series(ATT, counter(*[(m, a + d + f) for m, a, d, f in segments]), **kv),
        series(OUT, counter(*[(m, a) for m, a, _, _ in segments]), **kv, outcome="approved"),
        series(OUT, counter(*[(m, d) for m, _, d, _ in segments]), **kv, outcome="declined"),
        series(OUT, counter(*[(m, f) for m, _, _, f in segments]), **kv, outcome="failed"),
    ]


def quiet_geo(minutes: int, geo: str = "FI", psp: str = "nordpay") -> list[Series]:
    """A small GEO at night: four deposits an hour, one of which fails."""
    thirds = zip(
        every(minutes, 20), every(minutes, 20, offset=7), every(minutes, 20, offset=14), strict=True
    )
    approved = [a + b + c for a, b, c in thirds]
    declined = every(minutes, 60, offset=31)
    kv = {"geo": geo, "psp": psp, "method": "card", "brand": "acme"}
    return [
        series(ATT, counter_from(a + d for a, d in zip(approved, declined, strict=True)), **kv),
        series(OUT, counter_from(approved), **kv, outcome="approved"),
        series(OUT, counter_from(declined), **kv, outcome="declined"),
    ]


def deposit_slo(
    bad: list[float], requests_per_minute: float, *, six_hours: bool = False
) -> list[Series]:
    """The deposit-availability SLO's recorded burn (1 h, 5 m) and hourly requests, as the
    platform rules record them, from the route's 5xx per minute at a steady volume;
    ``six_hours`` adds the 6-hour tier's (6 h burn and requests, 5xx of the last 30
    minutes). Without them that tier cannot hold: a case of the 1-hour tier."""
    budget = float(DEPOSIT_SLO.budget)

    def window(minutes: int) -> list[float]:
        return [sum(bad[max(0, t - minutes + 1) : t + 1]) for t in range(len(bad))]

    def burn(minutes: int) -> list[float]:
        seen = [min(t + 1, minutes) for t in range(len(bad))] if minutes > 60 else None
        return [
            round(b / (requests_per_minute * (seen[t] if seen else minutes)) / budget, 6)
            for t, b in enumerate(window(minutes))
        ]

    kv = {"slo": DEPOSIT_SLO.name}
    out = [
        series("slo:burn_rate:ratio_rate1h", gauge_from(burn(60)), **kv),
        series("slo:burn_rate:ratio_rate5m", gauge_from(burn(5)), **kv),
        series("slo:requests:increase1h", gauge((len(bad), requests_per_minute * 60)), **kv),
    ]
    if six_hours:
        requests = [requests_per_minute * min(t + 1, 360) for t in range(len(bad))]
        out += [
            series("slo:burn_rate:ratio_rate6h", gauge_from(burn(360)), **kv),
            series("slo:requests:increase6h", gauge_from(requests), **kv),
            series("slo:bad_requests:increase30m", gauge_from(window(30)), **kv),
        ]
    return out


def _afternoon_cards(minutes: int) -> list[Series]:
    """German cards at 2.75 deposits a minute, a quarter of a deposit timing out (the
    day's errored share, 9 %, caps the floor at 5 %), none failing."""
    kv = {"geo": "DE", "psp": "paybridge", "method": "card", "brand": "acme"}
    return [
        series(ATT, counter((minutes, 2.75)), **kv),
        series(OUT, counter((minutes, 1.875)), **kv, outcome="approved"),
        series(OUT, counter((minutes, 0.625)), **kv, outcome="declined"),
        series(OUT, counter((minutes, 0.25)), **kv, outcome="timed_out"),
    ]


def callbacks(psp: str, segments: list[tuple[int, float, float]]) -> list[Series]:
    """Callback delay histogram: (minutes, callbacks/min, delay seconds)."""
    return histogram(CB_DELAY.name, CB_DELAY.buckets or (), segments, psp=psp)


def healthy(minutes: int, surge: tuple[int, int] | None = None) -> tuple[Series, ...]:
    """A busy evening in two GEOs: DE 85 % approved, GB 90 %, every PSP answering fast,
    no stale deposit, no stuck withdrawal. ``surge``: (start, length) of a 5x kickoff."""

    def seg(per_a: float, per_d: float) -> list[tuple[int, float, float]]:
        if surge is None:
            return [(minutes, per_a, per_d)]
        start, length = surge
        return [(start, per_a, per_d), (length, 5 * per_a, 5 * per_d),
                (minutes - start - length, per_a, per_d)]  # fmt: skip

    def cb(per: float, delay: float) -> list[tuple[int, float, float]]:
        return [(m, n, delay) for m, n, _ in seg(per, 0)]

    return merge(
        deposits("DE", "paybridge", "card", seg(12, 3)),
        deposits("DE", "nordpay", "ewallet", seg(5, 0.25)),
        deposits("GB", "paybridge", "card", seg(9, 1)),
        deposits("GB", "ewallo", "ewallet", seg(4, 0.5)),
        callbacks("paybridge", cb(25, 8)),
        callbacks("nordpay", cb(5, 3)),
        callbacks("ewallo", cb(4, 20)),
        *[
            series(CB, counter((minutes, 0)), psp=p, outcome="bad_signature")
            for p in ("paybridge", "nordpay", "ewallo")
        ],
        *[series(PENDING, gauge((minutes, 1)), psp=p) for p in ("paybridge", "nordpay")],
        *[series(STUCK, gauge((minutes, 0)), psp=p) for p in ("paybridge", "nordpay")],
        series(BUILD, gauge((minutes, 1)), version="2026.11.2"),
        series(DEPLOYED, gauge((minutes, 0))),
    )


def _drop(
    base: float, bad: float, start: int, length: int, total: int
) -> list[tuple[int, float, float]]:
    """20 deposits a minute: success ``base``, then ``bad`` for ``length`` minutes."""
    return [(start, 20 * base, 20 * (1 - base)), (length, 20 * bad, 20 * (1 - bad)),
            (total - start - length, 20 * base, 20 * (1 - base))]  # fmt: skip


WEEK = 7 * DAY


def _per_minute(
    base: float, bad: float, start: int, length: int, total: int
) -> list[tuple[int, float, float]]:
    """One deposit a minute: success ``base``, then ``bad`` for ``length`` minutes."""
    return [(start, base, 1 - base), (length, bad, 1 - bad),
            (total - start - length, base, 1 - base)]  # fmt: skip


def _weekly(usual: float, last_week: float, now: float) -> list[tuple[int, float, float]]:
    """A week and two hours of 20 deposits a minute at ``usual`` success, except 10:00 to
    11:00 on the first day (``last_week``) and the same hour a week later (``now``)."""
    return [(600, 20 * usual, 20 * (1 - usual)),
            (60, 20 * last_week, 20 * (1 - last_week)),
            (WEEK - 60, 20 * usual, 20 * (1 - usual)),
            (60, 20 * now, 20 * (1 - now)),
            (60, 20 * usual, 20 * (1 - usual))]  # fmt: skip


def _p95_hour(normal: float, late: float) -> float:
    """The hour's p95 of ``normal`` callbacks at 20 s and ``late`` ones at 900 s."""
    return q_over(0.95, CB_DELAY.buckets or (), {20: normal, 900: late}, 3600)


def _first_day_cards(minutes: int, failed: float = 0.0) -> list[Series]:
    """German cards at 10 deposits a minute: half a deposit a minute timing out and one
    every 16 minutes failing (a 5xx; with the e-wallets, the day's errored share is 5.5 %
    and the deposit SLO burns at 6x), ``failed`` a minute more failing after the fifth
    hour."""
    kv = {"geo": "DE", "psp": "paybridge", "method": "card", "brand": "acme"}
    base = 0.0625
    rest = minutes - 300
    return [
        series(ATT, counter((minutes, 10)), **kv),
        series(OUT, counter((300, 7 - base), (rest, 7 - base - failed)), **kv, outcome="approved"),
        series(OUT, counter((minutes, 2.5)), **kv, outcome="declined"),
        series(OUT, counter((minutes, 0.5)), **kv, outcome="timed_out"),
        series(OUT, counter((300, base), (rest, base + failed)), **kv, outcome="failed"),
    ]


EWALLO_DE = {"psp": "ewallo", "geo": "DE"}  # the refused scope's labels


def _ewallets_refused(start: int) -> list[Series]:
    """German e-wallets at a deposit every four minutes, all approved, until ewallo refuses
    every one for half an hour from ``start``; an hour and a half approved after."""
    return deposits_failing(
        "DE", "ewallo", "ewallet", [(start, 0.25, 0, 0), (30, 0, 0, 0.25), (90, 0.25, 0, 0)]
    )


def cases() -> tuple[Case, ...]:
    t0 = 420  # seven hours of history: the trailing-day baseline exists
    total = t0 + 120
    slo_t0 = 300  # five hours into the first day: no baseline, the floors apply
    return (
        silence(
            "busy evening, every PSP healthy",
            "normal",
            healthy(total),
            NAMES,
            at=(30, 120, t0, t0 + 60, total),
        ),
        silence(
            "5x deposit surge at kickoff, same success rates",
            "surge",
            healthy(total, surge=(t0, 60)),
            NAMES,
            at=(t0 + 10, t0 + 30, t0 + 60, t0 + 75),
        ),
        silence(
            "quiet night in FI: four deposits an hour, one declined",
            "quiet_night",
            merge(
                quiet_geo(total),
                *[series(PENDING, gauge((total, 0)), psp="nordpay")],
                series(STUCK, gauge((total, 0)), psp="nordpay"),
            ),
            NAMES,
            at=(60, 180, t0, total),
        ),
        Case(
            "bad deploy: DE approvals fall from 95% to 60% (above the floor) after 2026.11.3",
            "incident",
            merge(
                deposits("DE", "paybridge", "card", _drop(0.95, 0.6, t0, 60, total)),
                deposits("GB", "paybridge", "card", [(total, 17, 3)]),
                deploy(BUILD, "2026.11.2", "2026.11.3", t0 - 5, total),
            ),
            (
                # 20 deposits a minute: the 5-minute window holds 100, and four minutes of
                # 40 % failures against the usual 5 % trip it
                Silent(f"{t0 + 2}m"),
                Fires(f"{t0 + 10}m", {"geo": "DE"}, 0.6, deploy="2026.11.3"),
                Fires(f"{t0 + 50}m", {"geo": "DE"}, 0.6, deploy="2026.11.3"),
                Fires(f"{t0 + 58}m", {"geo": "DE"}, 0.6),  # the deploy is an hour old
                # fixed at +60: the 5-minute window is clean by +65, then 3 minutes' keep
                Silent(f"{t0 + 70}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 60}m",
            alerts=("DepositSuccessRateDropGeo",),
        ),
        Case(
            "deploy 2026.11.4 fails 30% of DE deposits inside the platform at two a minute: "
            "the errors, usually 2 %, are evidence enough after about 22 deposits (0.58 nats "
            "each against 12.5)",
            "incident",
            merge(
                # 2 % of deposits error on a normal day (acquirer errors, timeouts)
                deposits_failing(
                    "DE",
                    "paybridge",
                    "card",
                    [
                        (t0, 1.66, 0.3, 0.04),
                        (60, 1.19, 0.21, 0.6),
                        (total - t0 - 60, 1.66, 0.3, 0.04),
                    ],
                ),
                deploy(BUILD, "2026.11.3", "2026.11.4", t0, total),
            ),
            (
                Silent(f"{t0 + 3}m"),
                Silent(f"{t0 + 12}m"),
                Fires(f"{t0 + 15}m", {"geo": "DE"}, 0.595, deploy="2026.11.4"),
                Fires(f"{t0 + 30}m", {"geo": "DE"}, 0.595, deploy="2026.11.4"),
                Silent(f"{t0 + 75}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 60}m",
            alerts=("DepositSuccessRateDropGeo",),
        ),
        Case(
            "new GEO without history: DE at 45% is below the 50% floor; IN fires only at a "
            "45% drop",
            "incident",
            merge(
                deposits("DE", "paybridge", "card", [(60, 18, 22), (60, 34, 6)]),
                deposits("IN", "paybridge", "upi", [(120, 18, 22)]),
            ),
            (
                Silent("4m"),
                Fires("9m", {"geo": "DE"}, 0.45),
                Fires("25m", {"geo": "DE"}, 0.45),
                Silent("90m"),
            ),
            incident_start="0m",
            recovery="60m",
            alerts=("DepositSuccessRateDropGeo",),
            requires_override=("DepositSuccessRateDropGeo", "geo", "IN"),
        ),
        Case(
            "same hour last week: DE's usual night-time dip is no incident, the same dip in GB is",
            "incident",
            merge(
                # DE: 90 %, but every week 55 % from 10:00 to 11:00 (a card-heavy hour)
                deposits("DE", "paybridge", "card", _weekly(0.9, 0.55, 0.58)),
                # GB: 90 % all week, 58 % for that hour this week only
                deposits("GB", "paybridge", "card", _weekly(0.9, 0.9, 0.58)),
            ),
            (
                Silent(f"{WEEK + 602}m"),
                Fires(f"{WEEK + 608}m", {"geo": "GB"}, 0.58),
                Fires(f"{WEEK + 620}m", {"geo": "GB"}, 0.58),
                Fires(f"{WEEK + 650}m", {"geo": "GB"}, 0.58),
                Silent(f"{WEEK + 672}m"),
            ),
            incident_start=f"{WEEK + 600}m",
            recovery=f"{WEEK + 660}m",
            alerts=("DepositSuccessRateDropGeo",),
        ),
        Case(
            "DE approvals dip from 85% to 65%: less than 25% below the baseline",
            "guard",
            merge(deposits("DE", "paybridge", "card", _drop(0.85, 0.65, t0, 60, total))),
            (Silent(f"{t0 + 20}m"), Silent(f"{t0 + 50}m")),
            alerts=("DepositSuccessRateDropGeo",),
        ),
        Case(
            "nordpay declines 70% of deposits in every GEO: one alert per GEO (one page)",
            "incident",
            merge(
                deposits("DE", "nordpay", "ewallet", _drop(0.9, 0.3, t0, 60, total)),
                deposits("SE", "nordpay", "ewallet", _drop(0.9, 0.3, t0, 60, total)),
                deposits("DE", "paybridge", "card", [(total, 17, 3)]),
                series(BUILD, gauge((total, 1)), version="2026.11.2"),
            ),
            (
                Silent(f"{t0 + 1}m"),
                Fires(f"{t0 + 8}m", {"psp": "nordpay", "geo": "DE"}, 0.3),
                Fires(f"{t0 + 8}m", {"psp": "nordpay", "geo": "SE"}, 0.3),
                Fires(f"{t0 + 20}m", {"psp": "nordpay", "geo": "DE"}, 0.3),
                Fires(f"{t0 + 20}m", {"psp": "nordpay", "geo": "SE"}, 0.3),
                Silent(f"{t0 + 75}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 60}m",
            alerts=("DepositSuccessRateDropPsp",),
        ),
        Case(
            "paybridge declines most DE cards at one deposit a minute: the 15-minute window "
            "holds the evidence",
            "incident",
            merge(
                deposits("DE", "paybridge", "card", _per_minute(0.85, 0.05, t0, 45, total)),
                deposits("DE", "ewallo", "ewallet", [(total, 1, 0)]),
            ),
            (
                Silent(f"{t0 + 3}m"),
                Fires(f"{t0 + 15}m", {"psp": "paybridge", "geo": "DE"}, 0.05),
                Silent(f"{t0 + 60}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 45}m",
            alerts=("DepositSuccessRateDropPsp",),
        ),
        Case(
            "first day: ewallo refuses every German e-wallet deposit, one every four "
            "minutes, while cards keep the deposit route busy; failed deposits burn the "
            "deposit SLO past its paging line at +21, before five refusals are evidence "
            "enough: the scope that carries the burn fires with it, and inhibits the SLO page",
            "incident",
            merge(
                _first_day_cards(slo_t0 + 120),
                _ewallets_refused(slo_t0),
                # the route's 5xx: the cards' failures and every refusal
                deposit_slo(
                    [0.0625] * slo_t0 + [0.3125] * 30 + [0.0625] * 90, requests_per_minute=10.25
                ),
            ),
            (
                # +20: the hour's burn at 14.2; the 15-minute window's 3.75 refusals bring
                # 11.2 nats against the 5 % errored floor (the day's 5.5 %, capped)
                Silent(f"{slo_t0 + 20}m"),
                # the hour's success rate: 9.5 approved, 5.5 refused
                Fires(f"{slo_t0 + 22}m", EWALLO_DE, 9.5 / 15),
                # the 30-minute window has its evidence (0.5 approved, 7 refused)
                Fires(f"{slo_t0 + 28}m", EWALLO_DE, 0.5 / 7.5),
                Silent(f"{slo_t0 + 45}m"),
            ),
            incident_start=f"{slo_t0}m",
            recovery=f"{slo_t0 + 30}m",
            alerts=("DepositSuccessRateDropPsp",),
            quiet=True,
        ),
        Case(
            "first day, 180 deposits an hour (below the SLO's 1-hour volume guard), a "
            "morning deploy's twelve 5xx in the 6-hour window: ewallo refuses every German "
            "e-wallet deposit, one every four minutes; three refusals in 30 minutes page "
            "through the SLO's 6-hour tier at +12, and the scope fires with it",
            "incident",
            merge(
                _afternoon_cards(slo_t0 + 120),
                _ewallets_refused(slo_t0),
                deposit_slo(
                    [0.0] * 120 + [0.25] * 48 + [0.0] * (slo_t0 - 168) + [0.25] * 30 + [0.0] * 90,
                    requests_per_minute=3,
                    six_hours=True,
                ),
            ),
            (
                # +10: 2.5 refusals in 30 minutes, neither the SLO's tier nor the branch
                # holds; three in the 15-minute window would be only 9 nats against the
                # 5 % floor
                Silent(f"{slo_t0 + 10}m"),
                # the third refusal: the tier and the branch hold from +11 (pending; without
                # the 30-minute count both held from +1 and the branch fired at +11 once two
                # refusals were 15 % of the scope's hour), fire at +12;
                # the hour's success rate: 12 approved, 3 refused
                Silent(f"{slo_t0 + 11}m"),
                Fires(f"{slo_t0 + 12}m", EWALLO_DE, 12 / 15),
                Fires(f"{slo_t0 + 13}m", EWALLO_DE, 11.75 / 15),
                Silent(f"{slo_t0 + 45}m"),
            ),
            incident_start=f"{slo_t0}m",
            recovery=f"{slo_t0 + 30}m",
            alerts=("DepositSuccessRateDropPsp",),
            quiet=True,
        ),
        Case(
            "first day: a platform-wide fault fails 3 % of every scope's deposits, burning "
            "the deposit SLO at 30x: no scope carries it (a small one whose two deposits "
            "failed holds a tenth), so no drop alert takes the SLO's page",
            "guard",
            merge(
                _first_day_cards(slo_t0 + 120, failed=0.25),
                deposits_failing(
                    "DE",
                    "ewallo",
                    "ewallet",
                    [(slo_t0, 0.25, 0, 0), (60, 0.2421875, 0, 0.0078125), (60, 0.25, 0, 0)],
                ),
                # a small scope whose two deposits in half an hour both fail with it: far
                # above its expected share, but 2 of the hour's 19 failures
                deposits_failing(
                    "SE",
                    "nordpay",
                    "bank_transfer",
                    [(slo_t0, 0.0625, 0, 0), (32, 0, 0, 0.0625), (88, 0.0625, 0, 0)],
                ),
                deposit_slo(
                    [0.0625] * slo_t0 + [0.3828125] * 32 + [0.3203125] * 28 + [0.0625] * 60,
                    requests_per_minute=10.3125,
                ),
            ),
            silent_all(
                ("DepositSuccessRateDropPsp", "DepositSuccessRateDropGeo"),
                slo_t0 + 30,
                slo_t0 + 40,
                slo_t0 + 55,
            ),
            alerts=("DepositSuccessRateDropPsp", "DepositSuccessRateDropGeo"),
        ),
        Case(
            "paybridge declines every DE card for half an hour, then the evening goes quiet "
            "(a deposit every five minutes, all approved): the page resolves within minutes "
            "and the hour window, still full of the outage, does not page again",
            "incident",
            merge(
                deposits("DE", "paybridge", "card", [(t0, 0.85, 0.15), (30, 0, 1), (90, 0.2, 0)])
            ),
            (
                Silent(f"{t0 + 2}m"),
                Fires(f"{t0 + 15}m", {"psp": "paybridge", "geo": "DE"}, 0),
                # the 5-minute window holds one approved deposit and no decline: it stops
                # the longer windows (with "too few to tell" it fired until +60 and beyond)
                Silent(f"{t0 + 42}m"),
                Silent(f"{t0 + 60}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 30}m",
            alerts=("DepositSuccessRateDropPsp",),
        ),
        Case(
            "paybridge stops approving in DE (every deposit times out)",
            "incident",
            merge(
                deposits("DE", "paybridge", "card", [(60, 12, 3), (30, 0, 15), (30, 12, 3)]),
                deposits("DE", "nordpay", "ewallet", [(120, 5, 0.25)]),
            ),
            (
                # 15 attempts a minute: the 3-minute window holds 45 once the last approval
                # has left it, far more than the 13 the 65 % floor asks for
                Silent("62m"),
                Fires("66m", {"psp": "paybridge", "geo": "DE"}, 45),
                Fires("88m", {"psp": "paybridge", "geo": "DE"}, 45),
                Silent("93m"),
            ),
            incident_start="60m",
            recovery="90m",
            alerts=("PspDown",),
        ),
        Case(
            "paybridge's approved series disappears (platform restarted, no approval since) "
            "while deposits keep failing: still fires",
            "incident",
            (
                series(
                    ATT, counter((130, 15)), geo="DE", psp="paybridge", method="card", brand="acme"
                ),
                # approvals stop at 60 and the series goes stale; they resume at 100
                series(
                    OUT,
                    counter((60, 12)) + " stale _x38 732+12x30",
                    geo="DE",
                    psp="paybridge",
                    method="card",
                    brand="acme",
                    outcome="approved",
                ),
            ),
            (
                Silent("62m"),
                Fires("66m", {"psp": "paybridge", "geo": "DE"}, 45),
                Fires("95m", {"psp": "paybridge", "geo": "DE"}, 45),
                Silent("105m"),
            ),
            incident_start="60m",
            recovery="100m",
            alerts=("PspDown",),
        ),
        Case(
            "ewallo callbacks arrive four minutes late",
            "incident",
            merge(callbacks("ewallo", [(60, 4, 20), (60, 4, 240), (60, 4, 20)])),
            (
                Silent("65m"),
                Fires("80m", {"psp": "ewallo"}, q_in(CB_DELAY.buckets or (), 240, 0.95)),
                Silent("150m"),
            ),
            incident_start="60m",
            recovery="120m",
            alerts=("PspCallbacksDelayed",),
        ),
        Case(
            "a quiet PSP (a callback every four minutes) answers 15 minutes late for 75 minutes",
            "incident",
            merge(callbacks("nordpay", [(60, 0.25, 20), (75, 0.25, 900), (60, 0.25, 20)])),
            (
                # two late callbacks in the hour: not yet
                Silent("70m"),
                # the third at 72 minutes, then five minutes pending
                Fires("78m", {"psp": "nordpay"}, _p95_hour(normal=0.25 * 42, late=0.25 * 18)),
                Fires("125m", {"psp": "nordpay"}, _p95_hour(normal=0, late=15)),
                # the hour holds fewer than three late callbacks 49 minutes after the recovery
                Silent("195m"),
            ),
            incident_start="60m",
            recovery="135m",
            alerts=("PspCallbacksDelayed",),
        ),
        Case(
            "a quiet PSP delivers two retried callbacks ten minutes late in an hour: no alert",
            "guard",
            merge(
                callbacks(
                    "nordpay",
                    [(60, 0.25, 20), (1, 1, 600), (20, 0.25, 20), (1, 1, 600), (60, 0.25, 20)],
                )
            ),
            (Silent("70m"), Silent("90m"), Silent("120m")),
            alerts=("PspCallbacksDelayed",),
        ),
        Case(
            "pixgate callbacks lost: pending deposits go stale after 15 minutes",
            "incident",
            (series(PENDING, gauge((75, 0), (5, 6), (40, 9), (30, 0)), psp="pixgate"),),
            (
                # six stale at 76 minutes: pending for the alert's 5 minutes
                Silent("80m"),
                Fires("90m", {"psp": "pixgate"}, 9),
                Silent("125m"),
            ),
            incident_start="60m",
            recovery="120m",
            alerts=("DepositsAwaitingCallback",),
        ),
        Case(
            "quiet ewallo loses a callback every 10 minutes, twice: the stale deposits stay "
            "open between, the warning fires on each loss and not on the stock",
            "incident",
            (
                series(
                    PENDING,
                    gauge((75, 0), (10, 1), (10, 2), (10, 3), (95, 4), (20, 5), (40, 7)),
                    psp="ewallo",
                ),
            ),
            (
                Silent("95m"),
                # the third stale deposit at 96 minutes (lost at 81), five minutes pending
                Fires("102m", {"psp": "ewallo"}, 3),
                # the stock of four stays open; fewer than three went stale within the half
                # hour from 116 minutes on
                Silent("120m"),
                Silent("200m"),
                # the second loss: three more stale from 201 minutes on
                Fires("230m", {"psp": "ewallo"}, 3),
                Silent("258m"),
            ),
            incident_start="60m",
            recovery="95m",
            alerts=("DepositsAwaitingCallback",),
            quiet=True,
        ),
        Case(
            "two deposits time out at the PSP hours apart and stay open: no warning",
            "guard",
            (series(PENDING, gauge((60, 0), (120, 1), (120, 2)), psp="paybridge"),),
            (Silent("70m"), Silent("190m"), Silent("290m")),
            alerts=("DepositsAwaitingCallback",),
        ),
        Case(
            "callbacks signed with a secret paybridge rotated",
            "incident",
            (
                series(
                    CB, counter((60, 0), (30, 2), (60, 0)), psp="paybridge", outcome="bad_signature"
                ),
            ),
            (
                Silent("62m"),
                Fires("70m", {"psp": "paybridge"}, 20),
                Silent("120m"),
            ),
            incident_start="60m",
            recovery="90m",
            alerts=("PspCallbackBadSignatures",),
        ),
        Case(
            "pixgate repeats half of its callbacks for an hour",
            "incident",
            (
                series(CB, counter((180, 2)), psp="pixgate", outcome="applied"),
                series(CB, counter((60, 0), (60, 1), (60, 0)), psp="pixgate", outcome="duplicate"),
            ),
            (
                Silent("64m"),
                Fires("80m", {"psp": "pixgate"}, 20),
                # the 30 minute window drains half an hour after the replay stops
                Silent("155m"),
            ),
            incident_start="60m",
            recovery="120m",
            alerts=("PspCallbackDuplicates",),
        ),
        Case(
            "a quiet PSP repeats half of its callbacks for two hours: six duplicates",
            "incident",
            (
                series(CB, counter((240, 0.1)), psp="pixgate", outcome="applied"),
                series(
                    CB, counter((60, 0), (120, 0.05), (60, 0)), psp="pixgate", outcome="duplicate"
                ),
            ),
            (
                Silent("120m"),
                # the fourth duplicate at 140 minutes (a third of its callbacks), five pending
                Fires("160m", {"psp": "pixgate"}, 5),
                Silent("225m"),
            ),
            incident_start="60m",
            recovery="180m",
            alerts=("PspCallbackDuplicates",),
            quiet=True,
        ),
        Case(
            "a quiet PSP's replay ends in a burst: nine duplicates in its last 20 minutes make "
            "it look busy by its callbacks, not by its first ones, and the warning holds",
            "incident",
            (
                series(CB, counter((240, 0.125)), psp="pixgate", outcome="applied"),
                series(
                    CB,
                    counter((60, 0), (100, 0.0625), (20, 0.4375), (60, 0)),
                    psp="pixgate",
                    outcome="duplicate",
                ),
            ),
            (
                Silent("120m"),
                Fires("170m", {"psp": "pixgate"}, 10.625),
                # 13.1 callbacks in the last 30 minutes, 3.75 of them first ones: the
                # old guard (every callback) silenced the warning here
                Fires("180m", {"psp": "pixgate"}, 15),
                Silent("241m"),
            ),
            incident_start="60m",
            recovery="180m",
            alerts=("PspCallbackDuplicates",),
            quiet=True,
        ),
        Case(
            "a busy PSP resends eight callbacks over two hours among 20 a minute: no alert",
            "guard",
            (
                series(CB, counter((180, 20)), psp="paybridge", outcome="applied"),
                series(
                    CB,
                    counter((30, 0), (120, 1 / 15), (30, 0)),
                    psp="paybridge",
                    outcome="duplicate",
                ),
            ),
            (Silent("90m"), Silent("150m"), Silent("175m")),
            alerts=("PspCallbackDuplicates",),
        ),
        Case(
            "a PSP resends three callbacks it timed out on: ignored, no alert",
            "guard",
            (series(CB, counter((60, 0), (3, 1), (60, 0)), psp="ewallo", outcome="duplicate"),),
            (Silent("70m"), Silent("100m")),
            alerts=("PspCallbackDuplicates",),
        ),
        Case(
            "two nordpay payouts pass their SLA without a callback",
            "incident",
            (series(STUCK, gauge((60, 0), (60, 2), (30, 0)), psp="nordpay"),),
            (
                Silent("63m"),
                Fires("70m", {"psp": "nordpay"}, 2),
                Silent("125m"),
            ),
            incident_start="60m",
            recovery="120m",
            alerts=("WithdrawalsStuck",),
        ),
    )
