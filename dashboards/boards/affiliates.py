"""Affiliates: what an affiliate manager opens first. The click → registration → FTD funnel
per affiliate and campaign, and whether the affiliates hear about their FTDs (postbacks
delivered, late, failing, dead-lettered, or never sent)."""

from __future__ import annotations

from dashboards.alerts import AlertSource
from dashboards.build import Board, Var
from dashboards.links import dashboard_link, runbook_links
from dashboards.panels import Q, bargauge, stat, table, timeseries
from dashboards.promql import hist, increase, m, quantile, ratio, sum_by, var

CLICKS = m("igaming_affiliate_clicks")
REGISTRATIONS = m("igaming_affiliate_registrations")
FTDS = m("igaming_affiliate_ftds")
QUALIFIED = m("igaming_affiliate_qualified_ftds")
REJECTIONS = m("igaming_affiliate_ftd_rejections")
REVERSALS = m("igaming_affiliate_ftd_reversals")
POSTBACKS = m("igaming_postbacks")
POSTBACK_DELAY = hist("igaming_postback_delivery_delay_seconds")
GAP = m("igaming_ftd_postback_gap")
GAP_OLDEST = m("igaming_ftd_postback_gap_oldest_age_seconds")
DEAD = m("igaming_postbacks_dead_letter")
PENDING = m("igaming_postbacks_pending")
PENDING_OLDEST = m("igaming_postbacks_pending_oldest_age_seconds")
LAST_PASS = m("igaming_postback_dispatcher_last_pass_timestamp_seconds")

PAIR = (var("affiliate"), var("campaign"))
AFFILIATE = var("affiliate")
ANSWERED = 'outcome=~"failed|delivered"'


def board(src: AlertSource) -> Board:
    conversion_limit = src.limit("AffiliateConversionAnomaly", "max_conversion", op=">")
    conversion_window = src.window("AffiliateConversionAnomaly", "window", "1h")
    failure_limit = src.limit("PostbackFailureRate", "max_ratio", op=">")
    failure_window = src.window("PostbackFailureRate", "window", "30m")
    gap_limit = src.limit("FtdPostbackGap", "max_gap", op=">", counts=True)
    dead_limit = src.limit("PostbacksDeadLettered", "max_dead", op=">", counts=True)
    pending_limit = src.limit("PostbacksStuckPending", "max_age_seconds", op=">")
    silence_limit = src.limit("PostbackDispatcherStalled", "max_silence_seconds", op=">")

    def failure_ratio(by: str) -> str:
        failed = sum_by(
            by, increase(POSTBACKS, 'outcome="failed"', AFFILIATE, window=failure_window)
        )
        answered = sum_by(by, increase(POSTBACKS, ANSWERED, AFFILIATE, window=failure_window))
        return ratio(failed, answered)

    now = [
        stat(
            "Clicks (range)",
            Q(sum_by("", increase(CLICKS, *PAIR))),
            unit="short",
            instant=True,
            decimals=0,
        ),
        stat(
            "Registrations (range)",
            Q(sum_by("", increase(REGISTRATIONS, *PAIR))),
            unit="short",
            instant=True,
            decimals=0,
        ),
        stat(
            "FTDs (range)",
            Q(sum_by("", increase(FTDS, *PAIR))),
            unit="short",
            instant=True,
            decimals=0,
        ),
        stat(
            "Qualified FTDs (range)",
            Q(sum_by("", increase(QUALIFIED, *PAIR))),
            unit="short",
            instant=True,
            decimals=0,
        ),
        stat(
            "FTDs without a delivered postback",
            Q(f"sum({GAP}{{{', '.join(PAIR)}}})"),
            unit="short",
            graph=False,
            desc="Qualified FTDs past the grace period whose postback is not delivered, over "
            "the selection (the alert counts per affiliate and campaign).",
            links=runbook_links(src, "FtdPostbackGap", "FtdPostbacksStopped"),
        ),
        stat(
            "Dead-lettered postbacks",
            Q(f"sum({DEAD}{{{AFFILIATE}}})"),
            unit="short",
            graph=False,
            links=runbook_links(src, "PostbacksDeadLettered"),
        ),
    ]
    funnel = [
        bargauge(
            "Funnel (range)",
            Q(sum_by("", increase(CLICKS, *PAIR)), "clicks"),
            Q(sum_by("", increase(REGISTRATIONS, *PAIR)), "registrations"),
            Q(sum_by("", increase(FTDS, *PAIR)), "FTDs"),
            Q(sum_by("", increase(QUALIFIED, *PAIR)), "qualified FTDs"),
            unit="short",
            w=6,
        ),
        table(
            "Funnel by affiliate and campaign (range)",
            Q(sum_by("affiliate, campaign", increase(CLICKS, *PAIR)), column="clicks"),
            Q(
                sum_by("affiliate, campaign", increase(REGISTRATIONS, *PAIR)),
                column="registrations",
            ),
            Q(sum_by("affiliate, campaign", increase(FTDS, *PAIR)), column="FTDs"),
            Q(sum_by("affiliate, campaign", increase(QUALIFIED, *PAIR)), column="qualified"),
            Q(
                ratio(
                    sum_by("affiliate, campaign", increase(FTDS, *PAIR)),
                    sum_by("affiliate, campaign", increase(REGISTRATIONS, *PAIR)),
                ),
                column="FTD / registration",
                unit="percentunit",
            ),
            Q(
                ratio(
                    sum_by("affiliate, campaign", increase(REGISTRATIONS, *PAIR)),
                    sum_by("affiliate, campaign", increase(CLICKS, *PAIR)),
                ),
                column="registration / click",
                unit="percentunit",
            ),
            unit="short",
            sort_by="FTDs",
            desc="Affiliates and campaigns outside the top 50 are folded into 'other'.",
            w=18,
        ),
        timeseries(
            f"FTDs per registration by affiliate and campaign ({conversion_window})",
            Q(
                ratio(
                    sum_by("affiliate, campaign", increase(FTDS, *PAIR, window=conversion_window)),
                    sum_by(
                        "affiliate, campaign",
                        increase(REGISTRATIONS, *PAIR, window=conversion_window),
                    ),
                ),
                "{{affiliate}} / {{campaign}}",
            ),
            unit="percentunit",
            min_=0,
            desc="A conversion far above the usual 20-30 % is more often fraud (fake "
            "registrations converting on cue) than talent.",
            limits=[conversion_limit],
        ),
        timeseries(
            "Registrations and FTDs per hour by affiliate",
            Q(
                sum_by("affiliate", increase(REGISTRATIONS, *PAIR, window="1h")),
                "{{affiliate}} registrations",
            ),
            Q(sum_by("affiliate", increase(FTDS, *PAIR, window="1h")), "{{affiliate}} FTDs"),
            unit="short",
            links=[dashboard_link("payments")],
        ),
        timeseries(
            "FTDs rejected under the deal, per hour by reason",
            Q(sum_by("reason", increase(REJECTIONS, *PAIR, window="1h")), "{{reason}}"),
            unit="short",
            stack=True,
        ),
        timeseries(
            "Qualified FTDs reversed (charged back), per hour",
            Q(sum_by("affiliate", increase(REVERSALS, *PAIR, window="1h")), "{{affiliate}}"),
            unit="short",
            links=[dashboard_link("payments")],
        ),
    ]
    postbacks = [
        timeseries(
            "Postback attempts per hour by outcome",
            Q(sum_by("outcome", increase(POSTBACKS, AFFILIATE, window="1h")), "{{outcome}}"),
            unit="short",
            stack=True,
            desc="failed attempts are retried with back-off (the retries); dead_lettered "
            "jobs were given up after their last attempt.",
            w=8,
        ),
        timeseries(
            f"Postback failure ratio by affiliate ({failure_window})",
            Q(failure_ratio("affiliate"), "{{affiliate}}"),
            unit="percentunit",
            min_=0,
            desc="Failed among failed + delivered attempts.",
            limits=[failure_limit],
            w=8,
        ),
        timeseries(
            "Postback delivery delay p95 by affiliate",
            Q(quantile(0.95, POSTBACK_DELAY, "affiliate", AFFILIATE, window="1h"), "{{affiliate}}"),
            unit="s",
            desc="From the postback's creation to its delivery, over the last hour.",
            links=runbook_links(src, "FtdPostbacksStopped"),
            w=8,
        ),
        timeseries(
            "FTDs without a delivered postback, by affiliate and campaign",
            Q(
                f"max by (affiliate, campaign) ({GAP}{{{', '.join(PAIR)}}})",
                "{{affiliate}} / {{campaign}}",
            ),
            unit="short",
            min_=0,
            limits=[gap_limit],
            w=8,
        ),
        timeseries(
            "Oldest FTD without a delivered postback",
            Q(
                f"max by (affiliate, campaign) ({GAP_OLDEST}{{{', '.join(PAIR)}}})",
                "{{affiliate}} / {{campaign}}",
            ),
            unit="s",
            min_=0,
            links=runbook_links(src, "FtdPostbackGap"),
            w=8,
        ),
        timeseries(
            "Dead-lettered postbacks by affiliate",
            Q(f"max by (affiliate) ({DEAD}{{{AFFILIATE}}})", "{{affiliate}}"),
            unit="short",
            min_=0,
            limits=[dead_limit],
            w=8,
        ),
        timeseries(
            "Pending postbacks by affiliate",
            Q(f"max by (affiliate) ({PENDING}{{{AFFILIATE}}})", "{{affiliate}}"),
            unit="short",
            min_=0,
            desc="Postbacks queued and not yet delivered nor given up: waiting for their first "
            "attempt or a retry (no series: none pending).",
            w=8,
        ),
        timeseries(
            "Oldest pending postback by affiliate",
            Q(f"max by (affiliate) ({PENDING_OLDEST}{{{AFFILIATE}}})", "{{affiliate}}"),
            unit="s",
            min_=0,
            limits=[pending_limit],
            links=runbook_links(src, "PostbacksStuckPending"),
            w=8,
        ),
        timeseries(
            "Postback dispatcher: time since its last pass",
            Q(f"time() - max({LAST_PASS} > 0)", "since the last pass"),
            unit="s",
            min_=0,
            desc="The dispatcher's heartbeat: it passes every second, postbacks due or not. "
            "Rising: it is stalled and no postback leaves (no series: before the first "
            "pass, or a platform that does not export it).",
            limits=[silence_limit],
            links=runbook_links(src, "PostbackDispatcherStalled"),
            w=8,
        ),
    ]
    return Board(
        key="affiliates",
        description="Click → registration → FTD funnel by affiliate and campaign; postback "
        "delivery, the FTD postback gap, retries and dead letters.",
        variables=(
            Var("affiliate", CLICKS, title="Affiliate"),
            Var("campaign", CLICKS, matchers=(AFFILIATE,), title="Campaign"),
        ),
        sections=(("Now", now), ("Funnel", funnel), ("Postbacks", postbacks)),
        tags=("affiliates",),
        time_from="now-24h",
    )
