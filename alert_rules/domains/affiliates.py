"""Affiliates: FTD postbacks that stop, go missing, fail or die in the dead-letter queue,
and conversion rates too good to be true. Team affiliates; the affiliate managers read
these: an affiliate who stops getting FTD postbacks stops sending traffic, and a fake
conversion is a commission paid for nothing."""

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
from alert_rules.series import counter, counter_from, every, gauge, merge, series, stale_after
from collectors.catalog import BY_NAME

REGS = BY_NAME["igaming_affiliate_registrations"].exposed_name
FTDS = BY_NAME["igaming_affiliate_ftds"].exposed_name
QUALIFIED = BY_NAME["igaming_affiliate_qualified_ftds"].exposed_name
POSTBACKS = BY_NAME["igaming_postbacks"].exposed_name
GAP = BY_NAME["igaming_ftd_postback_gap"].name
DEAD = BY_NAME["igaming_postbacks_dead_letter"].name

_UNITS = {"m": "minutes", "h": "hours"}


def _words(duration: str) -> str:
    """'30m' -> '30 minutes' (descriptions name the window their parameter sets)."""
    return f"{duration[:-1]} {_UNITS[duration[-1]]}"


# Where affiliate managers look first for one affiliate's postbacks (X-API-Key, role
# finance or admin); the jobs carry last_status_code and last_error.
def _list_jobs(status: str) -> str:
    return f"`GET /affiliates/<affiliate>/postbacks?status={status}`"


# There is no replay endpoint: a dead letter goes back to the dispatcher by SQL.
_REPLAY = (
    "Replay the dead letters once the cause is fixed: `UPDATE postback_jobs SET "
    "status = 'pending', attempts = 0, next_attempt_at = now(), lease_owner = NULL, "
    "lease_until = NULL WHERE affiliate = '<affiliate>' AND status = 'dead_letter';` "
    "(the worker sends them within seconds; the network dedupes by event and "
    "conversion_id, so a replay never counts a conversion twice). Jobs keep the URL "
    "rendered when they were queued: after fixing a wrong URL template, fix their `url` "
    "column too."
)

# -- FTDs qualify, no postback is delivered -----------------------------------------------

STOP_WINDOW = "30m"

FTD_POSTBACKS_STOPPED = Alert(
    name="FtdPostbacksStopped",
    domain="affiliates",
    team="affiliates",
    severity="warning",
    summary="FTDs qualify for an affiliate but no postback reaches it.",
    description=(
        "{value:int} FTDs qualified for {affiliate} in the last "
        + _words(STOP_WINDOW)
        + " and not one postback was delivered to it."
    ),
    expr=f"""(
  sum by (affiliate) (increase({QUALIFIED}[$window])) >= $min_ftds
  unless on(affiliate)
  sum by (affiliate) (increase({POSTBACKS}{{outcome="delivered"}}[$window])) > 0
)
and on(affiliate)
sum by (affiliate) (increase({POSTBACKS}[$takes_postbacks])) > 0""",
    for_="5m",
    scope=("affiliate",),
    dashboard="affiliates",
    detection="45m",
    params={
        "window": Param(STOP_WINDOW, "window without a single delivered postback"),
        "min_ftds": Param(
            3, "FTDs qualified in the window (an affiliate this small is left to FtdPostbackGap)"
        ),
        "takes_postbacks": Param(
            "1d",
            "look-back in which the affiliate had postback attempts "
            "(affiliates without a postback URL never get any)",
        ),
    },
    runbook=Runbook(
        meaning="The affiliate had at least `min_ftds` FTDs qualified within `window` and we "
        "delivered it not a single postback (of any event: registration, deposit, ftd) in that "
        "window, although it did receive postback attempts within `takes_postbacks`. "
        "Staleness-safe: it also fires when the affiliate's postback series disappear. A "
        "postback leaves within seconds of the qualification, so a whole window without a "
        "delivery means the affiliate's endpoint refuses us or our dispatcher sends nothing.",
        impact="The affiliate's tracker shows no FTDs: affiliates optimise on postbacks within "
        "the hour and pause or move the traffic they pay for. Nothing is lost yet: the jobs "
        "stay pending and are retried with back-off, then dead-lettered after 8 attempts "
        "(about an hour after the first), and need a manual replay from then on. Warning, "
        "not a page: the jobs wait in the database and the fix is business-hours work for "
        "the affiliate manager unless the dispatcher itself is down.",
        diagnosis=(
            "Open the affiliates dashboard for the affiliate: postback attempts by outcome. "
            "Failing attempts (PostbackFailureRate fires too) point at their endpoint or our "
            "URL/signature; no attempts at all point at our worker.",
            f"List the pending jobs: {_list_jobs('pending')}; read `last_status_code` and "
            "`last_error`. 4xx: wrong URL template, wrong secret, or our clock more than 300 s off "
            "(receivers refuse the signature's timestamp); 5xx, timeout, connect_error: their "
            "endpoint is down.",
            "If every affiliate stopped getting postbacks, the affiliate worker (`run_worker`: "
            "outbox consumer + dispatcher) is down or stuck: check its process and its log for "
            "'affiliate worker pass failed'.",
            "If there are no jobs for the new FTDs, check whether the affiliate was deactivated "
            "or its postback URL template emptied (`PUT /affiliates/<affiliate>`): inactive "
            "affiliates get no jobs.",
        ),
        mitigation=(
            "Worker down or stuck: restart it; pending jobs are delivered on their own.",
            "Their endpoint down: the affiliate manager tells the affiliate (with the status "
            "codes seen) and watches PostbacksDeadLettered.",
            "Wrong URL template or secret: fix it with `PUT /affiliates/<affiliate>`. " + _REPLAY,
        ),
    ),
)

# -- FTDs without a delivered postback after the grace period (state exporter) ------------

GAP_SUSTAINED = "30m"

FTD_POSTBACK_GAP = Alert(
    name="FtdPostbackGap",
    domain="affiliates",
    team="affiliates",
    severity="warning",
    summary="Qualified FTDs of an affiliate campaign have no delivered postback.",
    description=(
        "{value:int} qualified FTDs of {affiliate} / {campaign} have had no delivered "
        "postback 10 minutes after qualifying, continuously for " + _words(GAP_SUSTAINED) + "."
    ),
    expr=f"""max by (affiliate, campaign) ({GAP}) > $max_gap
and on(affiliate, campaign)
max by (affiliate, campaign) (min_over_time({GAP}[$sustained])) > $max_gap""",
    for_="0m",
    scope=("affiliate", "campaign"),
    dashboard="affiliates",
    detection="45m",
    params={
        "max_gap": Param(0, "FTDs without a delivered postback tolerated (0: every one counts)"),
        "sustained": Param(GAP_SUSTAINED, "how long the gap must stay above `max_gap`"),
    },
    runbook=Runbook(
        meaning="The state exporter counts, per affiliate and campaign, the FTDs qualified in "
        "the last 7 days (`ftd_lookback_seconds`) whose `ftd` postback is still not delivered "
        "10 minutes (`ftd_postback_grace_seconds`) after qualification. The alert fires when "
        "that count stayed above `max_gap` for the whole of `sustained` (the expression "
        "holds it, so the rule has no `for`). Unlike FtdPostbacksStopped it is per FTD and per "
        "`ftd` event: it catches small affiliates, single campaigns, and FTD postbacks failing "
        "while other postbacks still go through. It stays firing while a dead-lettered FTD "
        "postback is not replayed (until it leaves the 7-day look-back).",
        impact="The affiliate does not see these FTDs: their numbers disagree with ours, "
        "commission disputes follow, and CPA affiliates cut traffic they think does not "
        "convert.",
        diagnosis=(
            "Read `igaming_ftd_postback_gap_oldest_age_seconds` for the pair: minutes means a "
            "current failure, days means a forgotten dead letter.",
            f"List the affiliate's jobs: {_list_jobs('pending')} and "
            f"{_list_jobs('dead_letter')}; FTD jobs have `event` ftd. Pending with errors: see "
            "PostbackFailureRate; dead_letter: see PostbacksDeadLettered.",
            "No job at all for the FTDs: the affiliate is inactive or has no postback URL "
            "template, so no postback will ever be sent (the gap is structural: agree with "
            "the affiliate how they get FTDs, e.g. the conversions export).",
        ),
        mitigation=(
            "Fix the cause (their endpoint, our URL template or secret, the worker).",
            _REPLAY,
            "If the affiliate reconciles by report, send them the conversions export for the "
            "period (docs/affiliate-conversions-export.md).",
        ),
    ),
)

# -- postback attempts failing ------------------------------------------------------------

FAIL_WINDOW = "30m"

POSTBACK_FAILURE_RATE = Alert(
    name="PostbackFailureRate",
    domain="affiliates",
    team="affiliates",
    severity="warning",
    summary="Many postback attempts to an affiliate fail.",
    description=(
        "{value:pct} of postback attempts to {affiliate} failed over the last "
        + _words(FAIL_WINDOW)
        + "."
    ),
    expr=f"""sum by (affiliate) (increase({POSTBACKS}{{outcome="failed"}}[$window]))
/
sum by (affiliate) (increase({POSTBACKS}{{outcome=~"failed|delivered"}}[$window]))
> $max_ratio
and on(affiliate)
sum by (affiliate) (increase({POSTBACKS}{{outcome=~"failed|delivered"}}[$window]))
>= $min_attempts""",
    for_="10m",
    scope=("affiliate",),
    dashboard="affiliates",
    detection="35m",
    params={
        "window": Param(FAIL_WINDOW, "window of the failure ratio"),
        "max_ratio": Param(
            0.25, "share of failed attempts (failed / (failed + delivered)) that fires"
        ),
        "min_attempts": Param(20, "failed + delivered attempts needed in the window"),
    },
    runbook=Runbook(
        meaning="More than `max_ratio` of the postback attempts to the affiliate failed "
        "(`failed / (failed + delivered)` over `window`, at least `min_attempts` attempts). "
        "Each retry is an attempt, so an endpoint that is fully down counts its retries; "
        "dead-lettered final attempts are left to PostbacksDeadLettered.",
        impact="Postbacks arrive late (back-off of 30 s, 1 m, 2 m ... ) and, after 8 failed "
        "attempts, are dead-lettered and need a manual replay: the affiliate sees fewer "
        "conversions than it brought.",
        diagnosis=(
            f"List the pending jobs: {_list_jobs('pending')}; group them by "
            "`last_status_code` / `last_error`.",
            "http_4xx for every job: a changed URL template, a rotated secret, or our clock "
            "more than 300 s off (receivers refuse stale signatures): check NTP on the worker.",
            "http_5xx, timeout, connect_error: the affiliate's endpoint; try the URL of one "
            "job by hand from the worker's network.",
            "Failures across many affiliates at once: our egress (DNS, proxy, firewall).",
        ),
        mitigation=(
            "Their side: the affiliate manager sends the affiliate the status codes and times.",
            "Our side: fix the URL template or secret (`PUT /affiliates/<affiliate>`) or the "
            "egress; pending jobs retry on their own. " + _REPLAY,
        ),
    ),
)

# -- dead letters --------------------------------------------------------------------------

POSTBACKS_DEAD_LETTERED = Alert(
    name="PostbacksDeadLettered",
    domain="affiliates",
    team="affiliates",
    severity="warning",
    summary="Postbacks to an affiliate were given up and wait for a manual replay.",
    description=(
        "{value:int} postbacks to {affiliate} are dead-lettered: given up after their last "
        "attempt, they wait for a manual replay."
    ),
    expr=f"max by (affiliate) ({DEAD}) > $max_dead",
    for_="5m",
    scope=("affiliate",),
    dashboard="affiliates",
    detection="10m",
    params={"max_dead": Param(0, "dead-lettered postbacks tolerated")},
    runbook=Runbook(
        meaning="The state exporter counts the affiliate's postback jobs in status "
        "`dead_letter`: every attempt failed (8 attempts, about an hour of back-off) and the "
        "dispatcher gave up. The alert fires while any dead letter exists, not when their "
        "number increases: a dead letter never heals on its own, so an alert on increases "
        "would resolve an hour later with the conversions still unreported. It resolves when "
        "the queue is empty (replayed); new dead letters of the same affiliate raise the "
        "value in the description, not a new alert.",
        impact="Each dead letter is a conversion (registration, deposit, FTD, revenue or a "
        "reversal) the affiliate never received: missing FTDs mean disputes and lost traffic; "
        "a missing reversal means the affiliate still counts a charged-back FTD.",
        diagnosis=(
            f"List them: {_list_jobs('dead_letter')}; read `event`, `attempts`, "
            "`last_status_code`, `last_error`.",
            "Check whether the cause is still there (PostbackFailureRate, FtdPostbacksStopped "
            "for the same affiliate) before replaying: a replay into a dead endpoint "
            "dead-letters again.",
        ),
        mitigation=(
            "Fix the cause (their endpoint, our URL template, secret or clock).",
            _REPLAY,
            "If the affiliate is gone for good, agree with the affiliate manager on the "
            "conversions export instead and set a long Alertmanager silence for that affiliate "
            "naming the decision (the dead letters stay, as evidence in disputes).",
        ),
    ),
)

# -- conversion too good to be true --------------------------------------------------------

CONV_WINDOW = "3h"

AFFILIATE_CONVERSION_ANOMALY = Alert(
    name="AffiliateConversionAnomaly",
    domain="affiliates",
    team="affiliates",
    severity="warning",
    summary="An affiliate campaign converts registrations into FTDs far above normal.",
    description=(
        "Registration to FTD conversion of {affiliate} / {campaign} is {value:pct} over the "
        "last " + _words(CONV_WINDOW) + " (normal is 20 to 30 %)."
    ),
    expr=f"""sum by (affiliate, campaign) (increase({FTDS}[$window]))
/
(sum by (affiliate, campaign) (increase({REGS}[$window])) > 0)
> $max_conversion
and on(affiliate, campaign)
sum by (affiliate, campaign) (increase({FTDS}[$window])) >= $min_ftds""",
    for_="15m",
    scope=("affiliate", "campaign"),
    dashboard="affiliates",
    detection="2h",
    params={
        "window": Param(CONV_WINDOW, "window of the conversion ratio"),
        "max_conversion": Param(0.6, "FTDs per registration that fires (normal is 0.2 to 0.3)"),
        "min_ftds": Param(10, "FTDs needed in the window"),
    },
    runbook=Runbook(
        meaning="The campaign's FTDs per registration over `window` are above "
        "`max_conversion` with at least `min_ftds` FTDs. Genuine traffic converts at 20 to "
        "30 %, and a surge of genuine traffic keeps that ratio; fake or incentivised players "
        "(registered to deposit once for the CPA, often with stolen cards or paid-for "
        "deposits) convert far higher. A fraud signal, not proof: the ratio is a few hours "
        "old by design.",
        impact="Every fake FTD that qualifies is a CPA commission paid for nothing; the "
        "deposits behind them tend to come back as chargebacks weeks later.",
        diagnosis=(
            "Compare the campaign with the affiliate's other campaigns and with last week on "
            "the affiliates dashboard: clicks, registrations, FTDs, qualified, rejected.",
            "Look at the FTDs of the window: amounts just above the deal's `min_ftd_amount`, "
            "one card or e-wallet behind many players, clustered GEOs, IPs or devices, "
            "minutes from registration to deposit, KYC status.",
            "Check attribution flags (`unknown_click`, `no_click`) and FTD rejections and "
            "reversals of the campaign.",
        ),
        mitigation=(
            "Hold the campaign's commission for the period until risk has reviewed it; tell "
            "the affiliate manager.",
            "Tighten the deal (`POST /affiliates/<affiliate>/deals`): `require_kyc`, a higher "
            "`min_ftd_amount`, `allowed_geos`; pause the campaign if the review confirms fraud.",
            "Flag the players for the risk team (status fraud rejects their pending FTDs).",
        ),
    ),
)

ALERTS = (
    FTD_POSTBACKS_STOPPED,
    FTD_POSTBACK_GAP,
    POSTBACK_FAILURE_RATE,
    POSTBACKS_DEAD_LETTERED,
    AFFILIATE_CONVERSION_ANOMALY,
)
NAMES = tuple(a.name for a in ALERTS)

# -- promtool cases ----------------------------------------------------------------------


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


def healthy(minutes: int, surge: tuple[int, int] | None = None) -> tuple[Series, ...]:
    """A busy evening: topcasinos (two campaigns) and betguide convert 20 to 30 % of their
    registrations, 2 % of postback attempts fail and are retried, one FTD postback of
    topcasinos takes a few retries (gap of 1 for 8 minutes), no dead letter.
    ``surge``: (start, length) of a 5x kickoff, same ratios."""

    def seg(*rates: float) -> list[tuple]:
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
                Silent("80m"),
                Silent("100m"),
                Fires("101m", {"affiliate": "topcasinos", "campaign": "spring"}, 4),
                Fires("110m", {"affiliate": "topcasinos", "campaign": "spring"}, 4),
                Silent("112m"),
            ),
            incident_start="60m",
            recovery="110m",
            alerts=("FtdPostbackGap",),
        ),
        Case(
            "one slow FTD postback to betguide: gap of 1 for 25 minutes, then delivered",
            "guard",
            (gap("betguide", "tips", (60, 0), (25, 1), (55, 0)),),
            (Silent("70m"), Silent("85m"), Silent("100m")),
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


DOMAIN = Domain(
    name="affiliates",
    recordings=(),
    alerts=ALERTS,
    cases=cases,
    about="Affiliates: FTD postbacks stopped, missing, failing, dead-lettered; conversion fraud.",
)
