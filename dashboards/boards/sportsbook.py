"""Sportsbook: what a trader opens first. Are bets taken (or refused, and why), are the
prices fresh, are winners paid (settlement lag and backlog), which markets are suspended."""

from __future__ import annotations

from dashboards.alerts import AlertSource
from dashboards.build import Board, Var
from dashboards.links import runbook_links
from dashboards.panels import Q, bargauge, stat, timeseries
from dashboards.promql import hist, increase, m, quantile, rate, ratio, sum_by, var

PLACED = m("igaming_bets_placed")
REJECTED = m("igaming_bets_rejected")
SETTLED = m("igaming_bets_settled")
ROLLBACKS = m("igaming_bet_settlement_rollbacks")
LAG = hist("igaming_settlement_lag_seconds")
FEED = m("igaming_odds_feed_messages")
FEED_DELAY = hist("igaming_odds_feed_delay_seconds")
SUSPENSIONS = m("igaming_market_suspensions")
CASHED_OUT = m("igaming_bets_cashed_out")
BACKLOG = m("igaming_settlement_backlog_bets")
BACKLOG_OLDEST = m("igaming_settlement_backlog_oldest_age_seconds")
STALE = m("igaming_markets_stale_odds")

SPORT = var("sport")
PRICE_MESSAGES = 'message_type=~"odds_change|bet_stop"'
BACKLOG_ALERTS = ("SettlementBacklogAging", "SettlementBacklogAgingCritical")


def rejection_ratio(src: AlertSource) -> tuple[str, str]:
    """Per sport, the alert's ratio (operator-side reasons, a recording rule) when its rule
    is registered, else every reason among placed + rejected; and what it counts."""
    recorded = src.recording("sport:igaming_bets_rejected_operator:ratio_rate15m")
    if recorded:
        return f"{recorded}{{{SPORT}}}", (
            "operator-side rejections (odds changed, market suspended or closed, other)"
        )
    rejected = sum_by("sport", rate(REJECTED, SPORT, window="15m"))
    placed = sum_by("sport", rate(PLACED, SPORT, window="15m"))
    return ratio(rejected, f"({placed} + {rejected})"), "rejections for any reason"


def board(src: AlertSource) -> Board:
    lag_limit = src.limit("SettlementLagHigh", "p95_seconds", op=">")
    lag_window = src.window("SettlementLagHigh", "window", "15m")
    backlog_limits = [src.limit(a, "max_age_seconds", op=">") for a in BACKLOG_ALERTS]
    stale_limit = src.limit("OddsFeedStale", "max_stale", op=">", counts=True)
    reject_limit = src.limit("BetRejectionRateHigh", "max_ratio", op=">")
    reject_by_sport, reject_what = rejection_ratio(src)
    feed_window = src.window("OddsFeedDelayed", "window", "10m")
    now = [
        stat(
            "Bets placed per minute",
            Q(f"{sum_by('', rate(PLACED, SPORT))} * 60"),
            unit="cpm",
        ),
        stat(
            "Bet rejection ratio (15m, worst sport)",
            Q(f"max({reject_by_sport})"),
            unit="percentunit",
            desc=f"Share of {reject_what} among placed + rejected bets.",
            limits=[reject_limit],
        ),
        stat(
            "In-play markets on stale odds (worst sport)",
            Q(f"max({STALE}{{{SPORT}}})"),
            unit="short",
            graph=False,
            limits=[stale_limit],
        ),
        stat(
            f"Settlement lag p95 ({lag_window})",
            Q(quantile(0.95, LAG, "", SPORT, window=lag_window)),
            unit="s",
            limits=[lag_limit],
        ),
        stat(
            "Open bets on resulted markets",
            Q(f"sum({BACKLOG}{{{SPORT}}})"),
            unit="short",
            links=runbook_links(src, *BACKLOG_ALERTS),
        ),
        stat(
            "Oldest unsettled result (worst sport)",
            Q(f"max({BACKLOG_OLDEST}{{{SPORT}}})"),
            unit="s",
            graph=False,
            limits=backlog_limits,
        ),
    ]
    bets = [
        timeseries(
            "Bets placed per minute by sport",
            Q(f"{sum_by('sport', rate(PLACED, SPORT))} * 60", "{{sport}}"),
            unit="cpm",
            stack=True,
            w=8,
        ),
        timeseries(
            "Bets rejected per minute by reason",
            Q(f"{sum_by('reason', rate(REJECTED, SPORT))} * 60", "{{reason}}"),
            unit="cpm",
            stack=True,
            desc="odds_changed, market_suspended, market_closed and other are on our side; "
            "the rest are the player's limits and state.",
            w=8,
        ),
        timeseries(
            "Bet rejection ratio by sport (15m)",
            Q(reject_by_sport, "{{sport}}"),
            unit="percentunit",
            min_=0,
            desc=f"Share of {reject_what} among placed + rejected bets.",
            limits=[reject_limit],
            w=8,
        ),
        timeseries(
            "Bets settled per minute by outcome",
            Q(f"{sum_by('outcome', rate(SETTLED, SPORT))} * 60", "{{outcome}}"),
            unit="cpm",
            stack=True,
            w=8,
        ),
        timeseries(
            "Cash-outs per minute by sport",
            Q(f"{sum_by('sport', rate(CASHED_OUT, SPORT))} * 60", "{{sport}}"),
            unit="cpm",
            w=8,
        ),
        timeseries(
            "Settlements rolled back per hour by sport",
            Q(sum_by("sport", increase(ROLLBACKS, SPORT, window="1h")), "{{sport}}"),
            unit="short",
            desc="Results withdrawn by the feed: the bets are open again until the corrected "
            "result arrives.",
            w=8,
        ),
    ]
    feed = [
        timeseries(
            "In-play markets on stale odds, by sport",
            Q(f"max by (sport) ({STALE}{{{SPORT}}})", "{{sport}}"),
            unit="short",
            min_=0,
            desc="Active markets past kick-off with no odds update for longer than the state "
            "exporter's threshold: bets are taken on old prices.",
            limits=[stale_limit],
            w=8,
        ),
        timeseries(
            f"Odds feed delay p95 by message type ({feed_window})",
            Q(
                quantile(0.95, FEED_DELAY, "message_type", PRICE_MESSAGES, window=feed_window),
                "{{message_type}}",
            ),
            unit="s",
            desc="Receive time minus the feed's sent_at, for price messages (odds changes "
            "and bet stops).",
            limits=[src.limit("OddsFeedDelayed", "p95_seconds", op=">")],
            w=8,
        ),
        timeseries(
            "Odds feed messages per second by outcome",
            Q(sum_by("outcome", rate(FEED, SPORT)), "{{outcome}}"),
            unit="ops",
            stack=True,
            desc="applied is normal; duplicate, stale, orphan, invalid and bad_signature "
            "messages were dropped.",
            w=8,
        ),
        timeseries(
            "Markets suspended per minute by reason",
            Q(f"{sum_by('reason', rate(SUSPENSIONS, SPORT))} * 60", "{{reason}}"),
            unit="cpm",
            stack=True,
            desc="Suspensions by the feed (odds change, bet stop). How many markets are "
            "suspended right now is not exported.",
            w=12,
        ),
        timeseries(
            "Markets suspended per minute by sport",
            Q(f"{sum_by('sport', rate(SUSPENSIONS, SPORT))} * 60", "{{sport}}"),
            unit="cpm",
            w=12,
        ),
    ]
    settlement = [
        timeseries(
            f"Settlement lag p50 / p95 by sport ({lag_window})",
            Q(quantile(0.5, LAG, "sport", SPORT, window=lag_window), "{{sport}} p50"),
            Q(quantile(0.95, LAG, "sport", SPORT, window=lag_window), "{{sport}} p95"),
            unit="s",
            desc="Wallet credit time minus official result time.",
            limits=[lag_limit],
            w=8,
        ),
        bargauge(
            "Settlements paid within (range)",
            Q(
                f"{sum_by('le', increase(LAG + '_bucket', SPORT))}\n/ ignoring(le) group_left\n"
                f"{sum_by('', increase(LAG + '_count', SPORT))}",
                "≤ {{le}} s",
            ),
            unit="percentunit",
            max_=1,
            desc="The settlement lag histogram: the share of settled bets whose winnings "
            "were credited within each bucket bound.",
            w=4,
        ),
        timeseries(
            "Open bets on resulted markets, by sport",
            Q(f"sum by (sport) ({BACKLOG}{{{SPORT}}})", "{{sport}}"),
            unit="short",
            min_=0,
            links=runbook_links(src, *BACKLOG_ALERTS),
            w=6,
        ),
        timeseries(
            "Oldest unsettled result, by sport",
            Q(f"max by (sport) ({BACKLOG_OLDEST}{{{SPORT}}})", "{{sport}}"),
            unit="s",
            min_=0,
            limits=backlog_limits,
            w=6,
        ),
    ]
    return Board(
        key="sportsbook",
        description="Bets and rejections, odds feed freshness, settlement lag and backlog, "
        "suspended markets.",
        variables=(Var("sport", PLACED, title="Sport"),),
        sections=(
            ("Now", now),
            ("Bets", bets),
            ("Odds feed", feed),
            ("Settlement", settlement),
        ),
        tags=("sportsbook",),
    )
