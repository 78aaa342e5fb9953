"""Affiliates: FTD postbacks that stop, go missing, fail or die in the dead-letter queue,
and conversion rates too good to be true. Team affiliates; the affiliate managers read
these: an affiliate who stops getting FTD postbacks stops sending traffic, and a fake
conversion is a commission paid for nothing."""

from __future__ import annotations

from alert_rules.model import Alert, Catch, Domain, Param, Runbook
from collectors.catalog import BY_NAME

REGS = BY_NAME["igaming_affiliate_registrations"].exposed_name
FTDS = BY_NAME["igaming_affiliate_ftds"].exposed_name
QUALIFIED = BY_NAME["igaming_affiliate_qualified_ftds"].exposed_name
POSTBACKS = BY_NAME["igaming_postbacks"].exposed_name
GAP = BY_NAME["igaming_ftd_postback_gap"].name
DEAD = BY_NAME["igaming_postbacks_dead_letter"].name
PENDING_AGE = BY_NAME["igaming_postbacks_pending_oldest_age_seconds"].name
LAST_PASS = BY_NAME["igaming_postback_dispatcher_last_pass_timestamp_seconds"].name

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
    # An outage in mode "losing" answers 200: nothing on our side can see it.
    catches=(
        Catch("postback_outage", {"affiliate": "affiliate"}, needs=("mode=down",)),
        Catch("postback_dispatcher_stall"),
    ),
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
            "If every affiliate stopped getting postbacks, the platform's background jobs "
            "(`platform serve`'s `platform-jobs` thread: outbox consumer, dispatcher) are "
            "stuck or failing (PostbackDispatcherStalled): its log says 'background job "
            "postbacks failed' or 'background job outbox failed'.",
            "If there are no jobs for the new FTDs, check whether the affiliate was deactivated "
            "or its postback URL template emptied (`PUT /affiliates/<affiliate>`): inactive "
            "affiliates get no jobs.",
        ),
        mitigation=(
            "Jobs thread stuck: restart `platform serve`; pending jobs are delivered on their own.",
            "Their endpoint down: the affiliate manager tells the affiliate (with the status "
            "codes seen) and watches PostbacksDeadLettered.",
            "Wrong URL template or secret: fix it with `PUT /affiliates/<affiliate>`. " + _REPLAY,
        ),
    ),
)

# -- FTDs without a delivered postback after the grace period (state exporter) ------------

# Long enough for a postback that needs a few retries (normal, and delivered within 20
# minutes of qualifying), short enough that a stalled dispatcher warns within about 20
# minutes of the first FTD it holds back (the state exporter's 10-minute grace first).
GAP_SUSTAINED = "10m"

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
    detection="35m",
    params={
        "max_gap": Param(0, "FTDs without a delivered postback tolerated (0: every one counts)"),
        "sustained": Param(GAP_SUSTAINED, "how long the gap must stay above `max_gap`"),
    },
    catches=(
        Catch("postback_outage", {"affiliate": "affiliate"}, needs=("mode=down",)),
        Catch("postback_dispatcher_stall"),
    ),
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
    catches=(Catch("postback_outage", {"affiliate": "affiliate"}, needs=("mode=down",)),),
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

# -- the dispatcher's heartbeat (platform) -------------------------------------------------

# Three minutes without a pass: the worker passes every second (the simulator's quiet-night
# pace is a minute, and a scrape is up to 30 s old), so a healthy dispatcher stays far below
# it; a stalled one is told in about four minutes whatever the traffic, where
# PostbacksStuckPending must wait for a postback to be queued and then five minutes more.
DISPATCHER_MAX_SILENCE = 180

POSTBACK_DISPATCHER_STALLED = Alert(
    name="PostbackDispatcherStalled",
    domain="affiliates",
    team="sre",
    severity="warning",
    summary="The postback dispatcher has stopped passing: no postback leaves.",
    description=(
        "The postback dispatcher last finished a pass {value:dur} ago (it passes every "
        "second): from now on no postback to any affiliate is sent."
    ),
    expr=f"time() - max({LAST_PASS} > 0) > $max_silence_seconds",
    for_="1m",
    scope=(),
    dashboard="affiliates",
    detection="5m",
    params={
        "max_silence_seconds": Param(
            DISPATCHER_MAX_SILENCE, "seconds since the dispatcher's last pass that fire"
        ),
    },
    catches=(Catch("postback_dispatcher_stall"),),
    runbook=Runbook(
        meaning="The platform's postback dispatcher (`dispatch_due`, run every second by "
        "`platform serve`'s background jobs thread, `platform-jobs`, between the outbox "
        "consumer and the settlement, KYC-retry and bonus jobs) sets "
        "`igaming_postback_dispatcher_last_pass_timestamp_seconds` at the end of every "
        "pass, whether a postback was due or not: its heartbeat (0 until the first pass, "
        "which the rule ignores). No pass for `max_silence_seconds` on any instance means "
        "the jobs thread is stuck, paused or failing while the platform still serves (the "
        "series is scraped): every postback queued from now on waits. It needs no traffic, "
        "so it warns on a quiet day long before PostbacksStuckPending (which waits for a "
        "postback to be queued, then five minutes) or the FTD alerts. SRE's: the fix is in "
        "the platform; the affiliate managers hear of it from PostbacksStuckPending. A "
        "platform whose metrics do not carry the heartbeat (an operator's own, read "
        "through the contract views) never fires it; PostbacksStuckPending covers it "
        "there. It resolves at the next pass.",
        impact="Every affiliate's tracker misses the conversions from the stall on. Nothing "
        "is lost yet: postbacks wait in `postback_jobs` (and, if the whole jobs thread is "
        "blocked, conversions wait in the outbox: OutboxBacklogGrowing) and are sent once "
        "passes resume.",
        diagnosis=(
            "The platform's log: 'background job postbacks failed; retried on the next "
            "pass' on every pass (a pass that fails never beats), 'postback delivery "
            "paused by an injected fault', or nothing at all: the thread is blocked.",
            "A blocked thread: the jobs run one after another, so a KYC retry pass waiting "
            "on the vendor's timeouts (KycVendorDown), a settlement pass on a locked "
            "table, or one affiliate's endpoint timing out (10 s each, up to 100 postbacks "
            "a pass) holds the dispatcher too; PostgresLockWaits and "
            "LongRunningTransaction for the database.",
        ),
        mitigation=(
            "Restart `platform serve` (the jobs thread runs in it); pending postbacks are "
            "sent at the first passes, a hundred a pass, once the stuck pass's 60-second "
            "leases expire.",
            "Tell the affiliate managers the stall's start and end: trackers that dedupe "
            "by conversion count the late postbacks once.",
        ),
    ),
)

# -- postbacks that do not leave (state exporter) ------------------------------------------

# Five minutes: three failed attempts in a row (30 s + 1 + 2 minutes of back-off) stay
# below it, a fourth warns; a postback our dispatcher holds back, or that their endpoint
# keeps refusing, passes it five minutes after it was queued, whatever the volume. On a
# quiet day the first postback after a stall may come minutes later: detection is that
# wait, the five minutes and the minute of `for` (the backtest's postback-stall suite).
PENDING_MAX_AGE = 300

POSTBACKS_STUCK_PENDING = Alert(
    name="PostbacksStuckPending",
    domain="affiliates",
    team="affiliates",
    severity="warning",
    summary="Postbacks to an affiliate wait and are not delivered.",
    description=(
        "The oldest postback pending for {affiliate} was queued {value:dur} ago and is still "
        "not delivered: our dispatcher does not send it, or their endpoint keeps refusing it."
    ),
    expr=f"max by (affiliate) ({PENDING_AGE}) > $max_age_seconds",
    for_="1m",
    scope=("affiliate",),
    dashboard="affiliates",
    detection="20m",
    params={
        "max_age_seconds": Param(
            PENDING_MAX_AGE,
            "age of the oldest pending postback that fires (three retries stay below it)",
        ),
    },
    catches=(
        Catch("postback_outage", {"affiliate": "affiliate"}, needs=("mode=down",)),
        Catch("postback_dispatcher_stall"),
    ),
    runbook=Runbook(
        meaning="The state exporter reads the affiliate's postback jobs still `pending` (not "
        "delivered, not dead-lettered) and the age of the oldest. A healthy dispatcher sends a "
        "postback within seconds of the conversion and retries a failed one after 30 s, 1, 2, "
        "4 ... minutes: a postback still pending after `max_age_seconds` (three failed "
        "attempts in a row stay below it) is not being sent or keeps failing. It needs one "
        "postback of any event (registration, deposit, FTD), so it warns about a stalled "
        "dispatcher or a dead endpoint long before enough FTDs qualify for "
        "FtdPostbacksStopped or FtdPostbackGap, and for affiliates too small for them. It "
        "resolves when the affiliate has no pending postback this old: delivered, "
        "or dead-lettered after 8 attempts (PostbacksDeadLettered takes over).",
        impact="The affiliate's tracker is missing conversions from this minute on; it "
        "optimises and pays on postbacks within the hour. Nothing is lost yet: the jobs are "
        "retried, then dead-lettered about an hour after the first attempt.",
        diagnosis=(
            "Every affiliate at once: our dispatcher (`platform serve`'s background jobs) "
            "is stuck or failing: PostbackDispatcherStalled fires first where the platform "
            "exports its heartbeat; its log says 'background job postbacks failed'.",
            f"One affiliate: list its jobs with {_list_jobs('pending')}; `attempts` above 0 "
            "with `last_status_code` 5xx, timeout or connect_error: their endpoint is down "
            "(PostbackFailureRate follows); 4xx: our URL template, secret or clock.",
        ),
        mitigation=(
            "Jobs thread stuck: restart `platform serve`; the pending jobs are sent at its "
            "first passes.",
            "Their endpoint down: the affiliate manager tells the affiliate, with the status "
            "codes seen, and watches PostbacksDeadLettered.",
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
    catches=(Catch("postback_outage", {"affiliate": "affiliate"}, needs=("mode=down",)),),
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
    POSTBACK_DISPATCHER_STALLED,
    POSTBACKS_STUCK_PENDING,
    POSTBACKS_DEAD_LETTERED,
    AFFILIATE_CONVERSION_ANOMALY,
)


DOMAIN = Domain(
    name="affiliates",
    recordings=(),
    alerts=ALERTS,
    about=(
        "Affiliates: FTD postbacks stopped, missing, failing, dead-lettered; the dispatcher "
        "stalled; conversion fraud."
    ),
)
