"""The promtool cases of ``alert_rules.domains.sportsbook``: the normal, quiet-night and surge
traffic its alerts stay silent on, the incidents they must fire on in time, the guards."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from alert_rules.domains.sportsbook import (
    ALERTS,
    BACKLOG_AGE,
    BACKLOG_BETS,
    FEED_DELAY,
    LAG,
    PLACED,
    REJECT_REASONS,
    REJECTED,
    STALE,
)
from alert_rules.model import Case, Fires, Series, Silent, silence
from alert_rules.series import (
    counter,
    counter_from,
    deploy,
    every,
    gauge_from,
    histogram,
    histogram_from,
    merge,
    series,
)
from alert_rules.series import quantile_in_bucket as q_in
from collectors.catalog import BY_NAME

BUILD = BY_NAME["igaming_build"].exposed_name
DEPLOYED = BY_NAME["igaming_deploy_timestamp_seconds"].name
NAMES = tuple(a.name for a in ALERTS)

Shape = list[tuple[int, float]]  # (minutes, traffic factor)


def shape(minutes: int, surge: tuple[int, int] | None = None) -> Shape:
    """Traffic factors: 1 throughout, or 5 during ``surge`` (start, length)."""
    if surge is None:
        return [(minutes, 1.0)]
    start, length = surge
    return [(start, 1.0), (length, 5.0), (minutes - start - length, 1.0)]


def backlog(sport: str, minutes: int, *spans: tuple[int, int, int]) -> tuple[Series, ...]:
    """Settlement backlog gauges: spans of (result minute, settled minute, open bets); the
    oldest result's age grows a minute per minute until the bets are settled."""
    age = [0.0] * (minutes + 1)
    bets = [0.0] * (minutes + 1)
    for start, end, n in spans:
        for m in range(start + 1, end):
            age[m] = max(age[m], 60.0 * (m - start))
            bets[m] += n
    return (
        series(BACKLOG_AGE, gauge_from(age), sport=sport),
        series(BACKLOG_BETS, gauge_from(bets), sport=sport),
    )


def stale(sport: str, minutes: int, *spans: tuple[int, int, int]) -> Series:
    """Stale-odds gauge: spans of (from minute, to minute exclusive, markets)."""
    v = [0.0] * (minutes + 1)
    for start, end, n in spans:
        for m in range(start, end):
            v[m] = n
    return series(STALE, gauge_from(v), sport=sport)


def bets(sport: str, segments: Sequence[tuple[int, float, Mapping[str, float]]]) -> list[Series]:
    """Bets placed and rejected: segments of (minutes, placed/min, {reason: rejected/min})."""
    for _, _, rej in segments:
        assert set(rej) <= set(REJECT_REASONS), set(rej) - set(REJECT_REASONS)
    out = [series(PLACED, counter(*[(m, p) for m, p, _ in segments]), sport=sport)]
    for reason in REJECT_REASONS:
        per = [(m, rej.get(reason, 0.0)) for m, _, rej in segments]
        out.append(series(REJECTED, counter(*per), sport=sport, reason=reason))
    return out


def steady_bets(sport: str, s: Shape, placed: float, rejected: Mapping[str, float]) -> list[Series]:
    return bets(sport, [(m, placed * f, {k: v * f for k, v in rejected.items()}) for m, f in s])


def lag(sport: str, segments: Sequence[tuple[int, float, float]]) -> list[Series]:
    """Settlement lag: (minutes, settlements/min, lag seconds)."""
    return histogram(LAG.name, LAG.buckets or (), segments, sport=sport)


def feed(message_type: str, segments: Sequence[tuple[int, float, float]]) -> list[Series]:
    """Feed delay: (minutes, messages/min, delay seconds)."""
    return histogram(FEED_DELAY.name, FEED_DELAY.buckets or (), segments, message_type=message_type)


FOOTBALL_REJECTIONS = {"odds_changed": 4, "market_suspended": 2, "insufficient_funds": 6,
                       "stake_too_high": 1}  # fmt: skip
TENNIS_REJECTIONS = {"odds_changed": 2, "insufficient_funds": 1}


def busy_saturday(minutes: int, surge: tuple[int, int] | None = None) -> tuple[Series, ...]:
    """A busy Saturday: football 100 bets a minute (5.3 % refused on our side), tennis 30;
    settlements in seconds; the feed on time; no backlog beyond a three-minute settlement
    batch, one football market stale for two minutes. ``surge``: a 5x kickoff."""
    s = shape(minutes, surge)

    def hist_seg(per: float, value: float) -> list[tuple[int, float, float]]:
        return [(m, per * f, value) for m, f in s]

    return merge(
        steady_bets("football", s, 100, FOOTBALL_REJECTIONS),
        steady_bets("tennis", s, 30, TENNIS_REJECTIONS),
        lag("football", hist_seg(20, 12)),
        lag("tennis", hist_seg(6, 8)),
        feed("odds_change", hist_seg(300, 0.3)),
        feed("bet_stop", hist_seg(10, 0.4)),
        backlog("football", minutes, (40, 43, 25)),
        backlog("tennis", minutes),
        stale("football", minutes, (100, 102, 1)),
        stale("tennis", minutes),
        series(BUILD, gauge_from([1] * (minutes + 1)), version="2026.11.2"),
        series(DEPLOYED, gauge_from([0] * (minutes + 1))),
    )


def quiet_darts(minutes: int) -> tuple[Series, ...]:
    """Darts at 4 am: five bets an hour, one refused (odds changed); four settlements an
    hour, one of them ten minutes late; one feed message a minute, one of them 45 s late."""
    placed = every(minutes, 12)
    refused = every(minutes, 60, offset=30)
    rejected = [
        series(REJECTED, counter_from(refused if r == "odds_changed" else [0] * minutes),
               sport="darts", reason=r)
        for r in REJECT_REASONS
    ]  # fmt: skip
    late = [1.0 if i == 100 else 0.0 for i in range(minutes)]
    slow_msg = [1.0 if i == 70 else 0.0 for i in range(minutes)]
    return merge(
        series(PLACED, counter_from(placed), sport="darts"),
        rejected,
        histogram_from(LAG, [(every(minutes, 15), 8), (late, 600)], sport="darts"),
        histogram_from(
            FEED_DELAY, [([1.0] * minutes, 0.3), (slow_msg, 45)], message_type="odds_change"
        ),
        backlog("darts", minutes, (90, 100, 1)),
        stale("darts", minutes),
    )


def cases() -> tuple[Case, ...]:
    total = 180
    t0 = 60
    normal_rej = {"odds_changed": 4, "market_suspended": 1, "insufficient_funds": 5}
    return (
        silence(
            "busy Saturday: football and tennis, settlements in seconds, feed on time",
            "normal",
            busy_saturday(total),
            NAMES,
            at=(*range(5, total + 1, 5), 42, 101),
        ),
        silence(
            "5x bets, settlements and feed messages at kickoff, same ratios and delays",
            "surge",
            busy_saturday(total, surge=(t0, 60)),
            NAMES,
            at=range(5, total + 1, 5),
        ),
        silence(
            "quiet night on darts: five bets an hour, one refused, one settlement 10 min late",
            "quiet_night",
            quiet_darts(total),
            NAMES,
            at=range(5, total + 1, 5),
        ),
        Case(
            "football settlement stalls for 90 minutes after the afternoon results",
            "incident",
            merge(
                backlog("football", total, (t0, t0 + 90, 240)),
                backlog("tennis", total),
            ),
            (
                Silent(f"{t0 + 18}m", alert="SettlementBacklogAging"),
                Fires(
                    f"{t0 + 25}m", {"sport": "football"}, 25 * 60, alert="SettlementBacklogAging"
                ),
                # 240 bets wait: five minutes' age pages, a minute later
                Silent(f"{t0 + 5}m", alert="SettlementBacklogAgingCritical"),
                Fires(
                    f"{t0 + 8}m",
                    {"sport": "football"},
                    8 * 60,
                    alert="SettlementBacklogAgingCritical",
                ),
                Fires(
                    f"{t0 + 70}m",
                    {"sport": "football"},
                    70 * 60,
                    alert="SettlementBacklogAgingCritical",
                ),
                Silent(f"{t0 + 92}m", alert="SettlementBacklogAging"),
                Silent(f"{t0 + 92}m", alert="SettlementBacklogAgingCritical"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 90}m",
            alerts=("SettlementBacklogAging", "SettlementBacklogAgingCritical"),
        ),
        Case(
            "one tennis bet left open for two hours: a warning, not a page",
            "guard",
            backlog("tennis", total, (30, 170, 1)),
            (
                Fires("150m", {"sport": "tennis"}, 120 * 60, alert="SettlementBacklogAging"),
                Silent("100m", alert="SettlementBacklogAgingCritical"),
                Silent("160m", alert="SettlementBacklogAgingCritical"),
            ),
            alerts=("SettlementBacklogAgingCritical",),
        ),
        Case(
            "football results credited nearly 7 minutes late for an hour",
            "incident",
            merge(
                lag("football", [(t0, 20, 12), (60, 20, 400), (60, 20, 12)]),
                lag("tennis", [(total, 6, 8)]),
            ),
            (
                Silent(f"{t0 + 5}m"),
                Fires(f"{t0 + 15}m", {"sport": "football"}, q_in(LAG.buckets or (), 400, 0.95)),
                Fires(f"{t0 + 50}m", {"sport": "football"}, q_in(LAG.buckets or (), 400, 0.95)),
                Silent(f"{t0 + 76}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 60}m",
            alerts=("SettlementLagHigh",),
        ),
        Case(
            "tennis results credited after 250 s: p95 291 s, under the 300 s bound",
            "guard",
            merge(lag("tennis", [(t0, 6, 8), (60, 20, 250), (60, 6, 8)])),
            (Silent(f"{t0 + 15}m"), Silent(f"{t0 + 50}m")),
            alerts=("SettlementLagHigh",),
        ),
        Case(
            "the feed stops pricing four in-play football markets for half an hour",
            "incident",
            (
                stale("football", total, (t0 + 2, t0 + 30, 4)),
                stale("tennis", total),
            ),
            (
                Silent(f"{t0 + 3}m"),
                Fires(f"{t0 + 6}m", {"sport": "football"}, 4),
                Fires(f"{t0 + 29}m", {"sport": "football"}, 4),
                Silent(f"{t0 + 31}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 30}m",
            alerts=("OddsFeedStale",),
        ),
        Case(
            "one tennis market goes three minutes without an odds change, then updates",
            "guard",
            (stale("tennis", total, (t0, t0 + 3, 1)),),
            (Silent(f"{t0 + 2}m"), Silent(f"{t0 + 3}m"), Silent(f"{t0 + 6}m")),
            alerts=("OddsFeedStale",),
        ),
        Case(
            "odds changes and bet stops reach us 20 s late for 45 minutes",
            "incident",
            merge(
                feed("odds_change", [(t0, 300, 0.3), (45, 300, 20), (75, 300, 0.3)]),
                feed("bet_stop", [(t0, 10, 0.4), (45, 10, 20), (75, 10, 0.4)]),
                feed("result", [(total, 5, 0.3)]),
            ),
            (
                Silent(f"{t0 + 1}m"),
                Fires(f"{t0 + 10}m", {}, q_in(FEED_DELAY.buckets or (), 20, 0.95)),
                Silent(f"{t0 + 57}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 45}m",
            alerts=("OddsFeedDelayed",),
        ),
        Case(
            "odds changes and bet stops 20 s late: the warning, not the page",
            "guard",
            merge(
                feed("odds_change", [(t0, 300, 0.3), (45, 300, 20), (75, 300, 0.3)]),
                feed("bet_stop", [(t0, 10, 0.4), (45, 10, 20), (75, 10, 0.4)]),
            ),
            (Silent(f"{t0 + 10}m"), Silent(f"{t0 + 40}m")),
            alerts=("OddsFeedLagging",),
        ),
        Case(
            "a quiet evening's feed (three price messages a minute) falls four minutes behind",
            "incident",
            merge(
                feed("odds_change", [(t0, 2, 0.3), (40, 2, 240), (80, 2, 0.3)]),
                feed("bet_stop", [(t0, 1, 0.4), (40, 1, 240), (80, 1, 0.4)]),
            ),
            (
                Silent(f"{t0 + 1}m", alert="OddsFeedLagging"),
                Silent(f"{t0 + 1}m", alert="OddsFeedDelayed"),
                Fires(
                    f"{t0 + 5}m",
                    {},
                    q_in(FEED_DELAY.buckets or (), 240, 0.95),
                    alert="OddsFeedLagging",
                ),
                Fires(
                    f"{t0 + 10}m",
                    {},
                    q_in(FEED_DELAY.buckets or (), 240, 0.95),
                    alert="OddsFeedDelayed",
                ),
                Silent(f"{t0 + 52}m", alert="OddsFeedDelayed"),
                Silent(f"{t0 + 52}m", alert="OddsFeedLagging"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 40}m",
            alerts=("OddsFeedLagging", "OddsFeedDelayed"),
        ),
        Case(
            "feed messages 8 s late: p95 9.75 s, under the 10 s bound",
            "guard",
            merge(feed("odds_change", [(t0, 300, 0.3), (60, 300, 8), (60, 300, 0.3)])),
            (Silent(f"{t0 + 10}m"), Silent(f"{t0 + 40}m")),
            alerts=("OddsFeedDelayed",),
        ),
        Case(
            "deploy 2026.11.3 refuses 40% of football bets with reason other",
            "incident",
            merge(
                bets(
                    "football",
                    [
                        (t0, 90, normal_rej),
                        (60, 50, {"other": 40, "odds_changed": 5, "insufficient_funds": 5}),
                        (60, 90, normal_rej),
                    ],
                ),
                steady_bets("tennis", shape(total), 30, TENNIS_REJECTIONS),
                deploy(BUILD, "2026.11.2", "2026.11.3", t0 - 5, total),
            ),
            (
                Silent(f"{t0 + 6}m"),
                Fires(f"{t0 + 15}m", {"sport": "football"}, 0.45, deploy="2026.11.3"),
                Fires(f"{t0 + 58}m", {"sport": "football"}, 0.45),  # the deploy is an hour old
                Silent(f"{t0 + 70}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 60}m",
            alerts=("BetRejectionRateHigh",),
        ),
        Case(
            "a third of football bets refused for players' funds and limits: not our side",
            "guard",
            merge(
                bets(
                    "football",
                    [
                        (t0, 90, normal_rej),
                        (
                            60,
                            60,
                            {
                                "insufficient_funds": 30,
                                "stake_too_high": 5,
                                "self_excluded": 2,
                                "odds_changed": 3,
                            },
                        ),
                        (60, 90, normal_rej),
                    ],
                ),
            ),
            (Silent(f"{t0 + 15}m"), Silent(f"{t0 + 50}m")),
            alerts=("BetRejectionRateHigh",),
        ),
        Case(
            "24% of football bets refused for suspended markets, under the 25% bound",
            "guard",
            merge(
                bets(
                    "football",
                    [
                        (t0, 90, normal_rej),
                        (60, 76, {"market_suspended": 20, "odds_changed": 4}),
                        (60, 90, normal_rej),
                    ],
                ),
            ),
            (Silent(f"{t0 + 15}m"), Silent(f"{t0 + 50}m")),
            alerts=("BetRejectionRateHigh",),
        ),
    )
