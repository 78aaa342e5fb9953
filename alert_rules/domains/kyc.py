"""KYC: the verification vendor failing, and the manual-review queue falling behind its
SLA. Team compliance; neither pages (the platform retries, then queues for review)."""

from __future__ import annotations

from alert_rules.model import (
    Alert,
    Case,
    Domain,
    Fires,
    Param,
    Runbook,
    Series,
    Silent,
    silence,
)
from alert_rules.series import counter, counter_from, every, gauge, merge, series
from collectors.catalog import BY_NAME

OUT = BY_NAME["igaming_kyc_outcomes"].exposed_name
ERR = BY_NAME["igaming_kyc_vendor_errors"].exposed_name
BACKLOG = BY_NAME["igaming_kyc_manual_review_backlog"].name
OLDEST = BY_NAME["igaming_kyc_manual_review_oldest_age_seconds"].name

_ERRORS = f"sum(increase({ERR}[$window]))"

VENDOR_DOWN = Alert(
    name="KycVendorDown",
    domain="kyc",
    team="compliance",
    severity="warning",
    summary="Most KYC checks fail because the KYC vendor does not answer.",
    description=(
        "{value:pct} of KYC check attempts in the last 10 minutes failed with a vendor "
        "error (all GEOs)."
    ),
    # Every vendor error is also counted as an outcome (provider_unavailable, or
    # manual_review after the last retry), so the share is errors / outcomes. The
    # denominator is max(outcomes, errors): if the outcome series vanish the share is 100 %
    # instead of nothing, and it never exceeds 1.
    expr=f"""{_ERRORS}
/
(
  sum(increase({OUT}[$window])) > {_ERRORS}
  or
  {_ERRORS}
)
>= $share
and
{_ERRORS} >= $min_errors""",
    for_="5m",
    scope=(),
    dashboard="kyc",
    detection="15m",
    params={
        "window": Param("10m", "window the errors and outcomes are counted over"),
        "share": Param(0.5, "share of check attempts that failed with a vendor error that fires"),
        "min_errors": Param(
            10, "vendor errors needed in the window (a quiet night is not an outage)"
        ),
    },
    runbook=Runbook(
        meaning="At least `share` of the KYC check attempts of `window` (first attempts and "
        "retries, all GEOs together: there is one vendor) failed because the vendor was "
        "unavailable or answered with an error, with at least `min_errors` errors. The "
        "platform retries a check after 30 s, 2 min and 10 min, then gives up and sends it "
        "to manual review, so an outage of more than ~13 minutes turns into manual-review "
        "backlog. Warning, not a page: no money is at risk and the platform degrades safely "
        "on its own; what is left is a vendor ticket and review staffing.",
        impact="New players are not verified: they cannot withdraw (and their FTDs do not "
        "qualify for affiliates) until the vendor is back or a reviewer decides. Every check "
        "that exhausts its retries lands in the manual-review queue "
        "(KycManualReviewBacklog follows if the outage lasts).",
        diagnosis=(
            "Check the vendor's status page and our outbound calls to it (errors, timeouts) "
            "on the platform dashboard.",
            "Break the errors down by GEO on the KYC dashboard: all GEOs (vendor down) or "
            "one (the vendor's data source for that country)?",
            "Read the vendor's answer: the platform keeps it in kyc_checks.last_error (not in "
            "the pw_kyc_checks contract view) and in its logs; expired credentials or a "
            "rotated API key look like an outage.",
        ),
        mitigation=(
            "Open a ticket with the vendor; switch to the backup vendor if the contract has one.",
            "Fix our credentials or configuration if the errors are ours (401/403 answers).",
            "Tell the review team: checks that exhausted their retries (pw_kyc_checks: "
            "manual_review with 4 attempts) are waiting for them.",
        ),
    ),
)

REVIEW_BACKLOG = Alert(
    name="KycManualReviewBacklog",
    domain="kyc",
    team="compliance",
    severity="warning",
    summary="KYC manual reviews fall behind: the oldest is past the SLA or the queue is too long.",
    description=(
        "The oldest KYC check waiting for a manual review has waited {value:dur}: it is "
        "past the review SLA, or the review queue is over its size limit."
    ),
    expr=f"""max({OLDEST}) > $sla_seconds
or
max({OLDEST}) and on() max({BACKLOG}) > $max_backlog""",
    for_="10m",
    scope=(),
    dashboard="kyc",
    detection="15m",
    params={
        "sla_seconds": Param(86400, "age of the oldest check in manual review that fires (SLA)"),
        "max_backlog": Param(200, "checks waiting in manual review that fire, whatever their age"),
    },
    runbook=Runbook(
        meaning="The value is always the wait of the oldest check in manual review (state "
        "exporter, from the check's requested_at). The alert fires when that wait passes the "
        "review SLA `sla_seconds`, or when more than `max_backlog` checks wait, whichever "
        "comes first: the second is the early warning that the SLA will be missed (a vendor "
        "outage sends every check to manual review).",
        impact="Players wait for verification: no withdrawal until they are verified, "
        "support tickets, and a compliance breach when the regulator's deadline for "
        "verification is missed.",
        diagnosis=(
            "Read the backlog count and the oldest age on the KYC dashboard: which of the two "
            "fired?",
            "Did the queue grow because of a vendor outage (KycVendorDown, vendor errors) or "
            "because reviews stopped (reviewer availability, the back office)?",
            "List the oldest checks (pw_kyc_checks, status manual_review, by requested_at).",
        ),
        mitigation=(
            "Add reviewers, oldest checks first.",
            "After a vendor outage, start with the checks it sent to review (4 attempts, "
            "requested during the outage): they never got a vendor decision.",
        ),
    ),
)

ALERTS = (VENDOR_DOWN, REVIEW_BACKLOG)
NAMES = tuple(a.name for a in ALERTS)

# -- promtool cases ----------------------------------------------------------------------

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


def _outage(t0: int, length: int, total: int, decided: float, errors: float):
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
            "a small GEO's only checks fail: 9 vendor errors in 10 minutes, under the guard",
            "guard",
            merge(checks("FI", [(t0, 0.1, 0), (30, 0, 0.9), (30, 0.1, 0)])),
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


DOMAIN = Domain(
    name="kyc",
    recordings=(),
    alerts=ALERTS,
    cases=cases,
    about="KYC: vendor outages and the manual-review queue.",
)
