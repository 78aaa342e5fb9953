"""Sportsbook: winners waiting to be paid (settlement backlog and lag), in-play markets open
on stale or late odds, bets refused for reasons on our side. Team sportsbook (trading)."""

from __future__ import annotations

from alert_rules.model import Alert, Catch, Domain, Param, Recording, Runbook
from collectors.catalog import BY_NAME
from collectors.catalog.platform import BET_REJECT_REASON

PLACED = BY_NAME["igaming_bets_placed"].exposed_name
REJECTED = BY_NAME["igaming_bets_rejected"].exposed_name
LAG = BY_NAME["igaming_settlement_lag_seconds"]
BACKLOG_AGE = BY_NAME["igaming_settlement_backlog_oldest_age_seconds"].name
BACKLOG_BETS = BY_NAME["igaming_settlement_backlog_bets"].name
STALE = BY_NAME["igaming_markets_stale_odds"].name
FEED_DELAY = BY_NAME["igaming_odds_feed_delay_seconds"]

REJECT_REASONS = BET_REJECT_REASON.values
# Rejections caused by the book (prices moved, markets suspended or closed, anything the
# platform could not classify), as opposed to the player's own state or limits
# (insufficient_funds, stake_too_low/high, max_payout_exceeded, player_restricted,
# self_excluded): only the former say something is wrong on our side.
OPERATOR_REASONS = ("odds_changed", "market_suspended", "market_closed", "other")
assert set(OPERATOR_REASONS) <= set(REJECT_REASONS), "bet rejection reasons changed"
# Feed messages whose delay exposes the book: late prices and late bet stops.
PRICE_MESSAGES = ("odds_change", "bet_stop")
PRICE_SEL = f'message_type=~"{"|".join(PRICE_MESSAGES)}"'

RECORDINGS = (
    Recording(
        "sport:igaming_bets_attempted:increase15m",
        f"sum by (sport) (increase({PLACED}[15m]))\n+\nsum by (sport) (increase({REJECTED}[15m]))",
    ),
    Recording(
        "sport:igaming_bets_rejected_operator:ratio_rate15m",
        f'sum by (sport) (rate({REJECTED}{{reason=~"{"|".join(OPERATOR_REASONS)}"}}[15m]))\n'
        f"/\n(\n  sum by (sport) (rate({PLACED}[15m]))\n  +\n"
        f"  sum by (sport) (rate({REJECTED}[15m]))\n)",
    ),
)

_BACKLOG_DIAGNOSIS = (
    "Open the sportsbook dashboard for the sport: is the backlog one market (one fixture's "
    "result) or every market of the sport?",
    "List the open bets whose market has a result, oldest first: pw_bets with status "
    "accepted joined to pw_markets with result_at set, grouped by market_id.",
    "Find the markets' result messages in pw_feed_messages: a result that failed to apply "
    "(settlement runs in the result's transaction in the reference platform; asynchronous "
    "settlement jobs elsewhere), or a rollback still waiting for its corrected result.",
    "Check the wallet: every win and void is a wallet credit, so wallet failures "
    "(igaming_wallet_transaction_failures_total) or database lock waits stop settlement.",
)
_BACKLOG_MITIGATION = (
    "Fix the cause, then re-apply the results (ask the feed to resend them, or restart the "
    "settlement job): each bet is paid once per settlement generation (wallet key "
    "win:sportsbook:<bet>:g<generation>), so a retry cannot pay twice.",
    "If a market's result is disputed, leave it open on purpose and note it in the incident "
    "channel so the alert is understood; trading decides.",
    "Tell customer support which sport and fixtures have delayed winnings, with an estimate.",
)

BACKLOG_AGING = Alert(
    name="SettlementBacklogAging",
    domain="sportsbook",
    team="sportsbook",
    severity="warning",
    summary="Bets on resulted markets wait too long to be settled.",
    description=(
        "The oldest {sport} result whose bets are still open is {value:dur} old: winners "
        "are waiting for their money."
    ),
    expr=f"max by (sport) ({BACKLOG_AGE}) > $max_age_seconds",
    for_="5m",
    scope=("sport",),
    dashboard="sportsbook",
    detection="25m",
    params={"max_age_seconds": Param(900, "age of the oldest unsettled result that fires")},
    catches=(Catch("settlement_stall"),),
    runbook=Runbook(
        meaning="A market of the sport has its official result, but at least one of its bets "
        "is still open (not settled, voided or paid) more than `max_age_seconds` after the "
        "result (state exporter gauge `igaming_settlement_backlog_oldest_age_seconds`, 0 "
        "when there is no backlog). It pages (SettlementBacklogAgingCritical) when the "
        "backlog is an hour old and many bets wait.",
        impact="Players who won wait for their winnings: they cannot withdraw or re-bet them, "
        "they write to support and complain in public. Bets on a settled market must not "
        "stay open.",
        diagnosis=_BACKLOG_DIAGNOSIS,
        mitigation=_BACKLOG_MITIGATION,
    ),
)

BACKLOG_CRITICAL = Alert(
    name="SettlementBacklogAgingCritical",
    domain="sportsbook",
    team="sportsbook",
    severity="critical",
    summary="Bets on resulted markets have stopped being settled.",
    description=(
        "{sport} results have waited {value:dur} to be settled and many bets are still "
        "open: winners are not being paid."
    ),
    expr=f"""max by (sport) ({BACKLOG_AGE}) > $max_age_seconds
and on(sport) max by (sport) ({BACKLOG_BETS}) >= $min_bets""",
    for_="1m",
    scope=("sport",),
    dashboard="sportsbook",
    detection="10m",
    params={
        # Settlement runs in the result's transaction: a healthy book has no backlog at
        # all, so five minutes with several bets waiting is a stall, not a slow result.
        "max_age_seconds": Param(300, "age of the oldest unsettled result that pages"),
        "min_bets": Param(
            5, "open bets on resulted markets needed to page (one stuck bet stays a warning)"
        ),
    },
    catches=(Catch("settlement_stall"),),
    runbook=Runbook(
        meaning="The oldest result of the sport with open bets is more than "
        "`max_age_seconds` old and at least `min_bets` bets wait on resulted markets "
        "(`igaming_settlement_backlog_bets`): settlement of the sport has stopped, not just "
        "one odd market. Settlement normally happens in the result's own transaction, so "
        "the backlog of a healthy book is empty; the warning SettlementBacklogAging covers "
        "a single bet left behind.",
        impact="Every winner of the sport waits for money that is theirs: support queues "
        "fill, players go public, regulators treat unpaid winnings as a complaint ground.",
        diagnosis=_BACKLOG_DIAGNOSIS,
        mitigation=_BACKLOG_MITIGATION,
    ),
)

SETTLEMENT_LAG = Alert(
    name="SettlementLagHigh",
    domain="sportsbook",
    team="sportsbook",
    severity="warning",
    summary="Bets are settled long after their official result.",
    description=(
        "95th percentile settlement lag (official result to wallet credit) for {sport} is "
        "{value:dur}."
    ),
    expr=f"""histogram_quantile(0.95,
  sum by (sport, le) (rate({LAG.name}_bucket[$window]))
) > $p95_seconds
and on(sport) sum by (sport) (increase({LAG.name}_count[$window])) >= $min_settlements""",
    for_="10m",
    scope=("sport",),
    dashboard="sportsbook",
    detection="20m",
    params={
        "p95_seconds": Param(
            300,
            "p95 lag that fires, in seconds (keep it on a bucket bound: 60, 120, 300, 600, 1800)",
        ),
        "window": Param("15m", "window of the percentile and of the volume guard"),
        "min_settlements": Param(20, "settled bets needed in the window"),
    },
    # The stalled bets are settled late (by the stall) once it ends.
    catches=(Catch("settlement_stall"),),
    runbook=Runbook(
        meaning="More than 5 % of the bets settled in the sport over `window` were credited "
        "more than `p95_seconds` after their official result (`settled_at - result_at`: "
        "the feed's delay in sending the result plus our processing). Only bets that did "
        "get settled count; bets still waiting show in SettlementBacklogAging.",
        impact="Winners wait minutes for money they expect at the final whistle; slow "
        "settlement usually turns into a backlog next.",
        diagnosis=(
            "Compare the odds feed delay (OddsFeedDelayed, feed delay panel) with the "
            "settlement lag: a late feed delays results, our side is the rest.",
            "Check the settlement backlog gauges of the sport and the wallet's transaction "
            "failures and latency.",
            "Look at the slowest settlements in pw_settlements (settlement_lag_seconds, by "
            "market_id): one market or all of them?",
        ),
        mitigation=(
            "If the feed delivers results late, open a ticket with the feed provider.",
            "If our settlement is slow, scale the settlement worker and check the database "
            "(lock waits on sb_bets, wallet transactions).",
        ),
    ),
)

ODDS_STALE = Alert(
    name="OddsFeedStale",
    domain="sportsbook",
    team="sportsbook",
    severity="critical",
    summary="In-play markets accept bets on odds the feed no longer updates.",
    description=(
        "{value:int} in-play {sport} markets are open for betting with odds not updated "
        "past the stale-odds threshold."
    ),
    expr=f"max by (sport) ({STALE}) > $max_stale",
    for_="3m",
    scope=("sport",),
    dashboard="sportsbook",
    detection="8m",
    params={"max_stale": Param(0, "active in-play markets with stale odds tolerated")},
    catches=(Catch("odds_feed_lag"),),
    runbook=Runbook(
        meaning="Markets of the sport are `active` (accepting bets) after kick-off, and the "
        "platform applied no odds change to them for longer than the state exporter's "
        "`odds_stale_seconds` (120 s by default): the feed stopped pricing them, or its "
        "messages are refused. The gauge is read from the database by the state exporter; "
        "if the exporter's sportsbook collector is down this alert cannot fire (see "
        "the platform's collector alerts).",
        impact="Players can bet in play on prices that no longer reflect the match (a goal "
        "scored, a player injured): the book is exposed to sharp and latency bettors and "
        "the losses are real money.",
        diagnosis=(
            "Look at the odds feed messages on the sportsbook dashboard: are messages "
            "arriving (igaming_odds_feed_messages_total) and with which outcome (applied, "
            "bad_signature, invalid, stale)?",
            "bad_signature: the feed rotated its secret (settings.odds_feed_secret); "
            "invalid/orphan: a protocol change or missing fixtures; nothing at all: the "
            "feed or our endpoint is down.",
            "List the stale markets: pw_markets with status active, starts_at in the past, "
            "odds_updated_at oldest first.",
        ),
        mitigation=(
            "Suspend the stale markets (bet stop) in the trading back office now; do not "
            "wait for the feed.",
            "Fix the cause (secret, endpoint, feed provider incident) and reopen markets only "
            "once fresh odds arrive.",
        ),
    ),
)


def _late_feed(bound: float) -> str:
    """The p95 delay of price messages above ``$p95_seconds`` (``bound``, a bucket bound),
    with ``$min_messages`` messages and ``$min_late`` of them later than the bound: one
    late message on a quiet night is not a late feed."""
    total = f"sum(increase({FEED_DELAY.name}_count{{{PRICE_SEL}}}[$window]))"
    on_time = f'sum(increase({FEED_DELAY.name}_bucket{{{PRICE_SEL},le="{bound!r}"}}[$window]))'
    return f"""histogram_quantile(0.95,
  sum by (le) (rate({FEED_DELAY.name}_bucket{{{PRICE_SEL}}}[$window]))
) > $p95_seconds
and on() {total} >= $min_messages
and on() {total} - {on_time} >= $min_late"""


FEED_DELAYED = Alert(
    name="OddsFeedDelayed",
    domain="sportsbook",
    team="sportsbook",
    severity="warning",
    summary="Odds changes and bet stops from the feed arrive late.",
    description=(
        "95th percentile delay of odds-change and bet-stop messages from the odds feed is "
        "{value:dur}."
    ),
    expr=_late_feed(10.0),
    for_="2m",
    scope=(),
    dashboard="sportsbook",
    detection="10m",
    params={
        "p95_seconds": Param(
            10, "p95 feed delay that fires, in seconds (on a bucket bound: 5, 10, 30, 60)"
        ),
        "window": Param("10m", "window of the percentile and of the volume guard"),
        # A quiet evening sends two or three price messages a minute; the normal p95 is
        # under 5 s, so ten messages suffice to tell a late feed.
        "min_messages": Param(10, "odds-change and bet-stop messages needed in the window"),
        "min_late": Param(3, "messages later than `p95_seconds` needed in the window"),
    },
    catches=(Catch("odds_feed_lag"),),
    runbook=Runbook(
        meaning="More than 5 % of the odds-change and bet-stop messages over `window` "
        "arrived more than `p95_seconds` after the feed sent them (receive time minus the "
        "message's sent_at). Unlike OddsFeedStale the feed still talks, but late.",
        impact="Bet stops that arrive late let players bet after a goal or a break point; "
        "late odds changes let them take prices the market has left behind.",
        diagnosis=(
            "Compare the delay by message type on the sportsbook dashboard: all types late "
            "means the feed or the network; only some means the feed provider's queue.",
            "Check our feed endpoint's latency and errors (platform dashboard, route "
            "/sportsbook/feed): a slow endpoint makes the feed retry and queue.",
            "Check the clock of the feed hosts against ours if the delay is constant.",
        ),
        mitigation=(
            "Raise the in-play bet delay (or suspend in-play) for the affected sports while "
            "the delay lasts.",
            "Open a ticket with the feed provider with the delay figures.",
        ),
    ),
)

FEED_LAGGING = Alert(
    name="OddsFeedLagging",
    domain="sportsbook",
    team="sportsbook",
    severity="critical",
    summary="Bet stops and odds changes arrive more than a minute late: in-play is exposed.",
    description=(
        "95th percentile delay of odds-change and bet-stop messages from the odds feed is "
        "{value:dur} over 5 minutes: players can bet on what already happened."
    ),
    expr=_late_feed(60.0),
    for_="1m",
    keep_firing_for="5m",
    scope=(),
    dashboard="sportsbook",
    detection="8m",
    params={
        "p95_seconds": Param(60, "p95 feed delay that pages, in seconds (a bucket bound)"),
        "window": Param("5m", "window of the percentile and of the volume guard"),
        "min_messages": Param(5, "odds-change and bet-stop messages needed in the window"),
        "min_late": Param(3, "messages later than `p95_seconds` needed in the window"),
    },
    catches=(Catch("odds_feed_lag"),),
    runbook=Runbook(
        meaning="More than 5 % of the odds-change and bet-stop messages over `window` arrived "
        "more than `p95_seconds` after the feed sent them. A bet stop a minute late lets "
        "players bet on a goal already scored; OddsFeedDelayed (10 s, a warning) is the early "
        "sign, this is the page. OddsFeedStale pages separately when in-play markets stop "
        "being priced at all; both go to the same sportsbook page.",
        impact="In-play bets accepted on outcomes already known: courtsiding and latency "
        "bettors take real money until the book stops in-play.",
        diagnosis=FEED_DELAYED.runbook.diagnosis,
        mitigation=(
            "Suspend in-play for the affected sports now (bet stop in the trading back "
            "office), or raise the in-play bet delay above the feed's delay.",
            "Open an incident with the feed provider with the delay figures.",
        ),
    ),
)

REJECTIONS = Alert(
    name="BetRejectionRateHigh",
    domain="sportsbook",
    team="sportsbook",
    severity="warning",
    summary="Many bets are rejected for reasons on the operator's side.",
    description=(
        "{value:pct} of {sport} bets over the last 15 minutes were rejected for operator-side "
        "reasons (odds changed, market suspended or closed, other)."
    ),
    expr="""sport:igaming_bets_rejected_operator:ratio_rate15m > $max_ratio
and on(sport) sport:igaming_bets_attempted:increase15m >= $min_bets""",
    for_="5m",
    scope=("sport",),
    dashboard="sportsbook",
    detection="20m",
    deploy_hint=True,
    params={
        "max_ratio": Param(
            0.25, "share of operator-side rejections among placed + rejected bets that fires"
        ),
        "min_bets": Param(50, "bets (placed + rejected) needed in the 15 minute window"),
    },
    runbook=Runbook(
        meaning="Over 15 minutes, more than `max_ratio` of the sport's bet attempts were "
        "refused with reason odds_changed, market_suspended, market_closed or other. "
        "Player-side refusals (insufficient_funds, stake limits, max_payout_exceeded, "
        "player_restricted, self_excluded) do not count: they say nothing about the book.",
        impact="Players cannot get their bets on: lost turnover by the minute, and "
        "frustrated players move to a competitor mid-match.",
        diagnosis=(
            "Break the rejections down by reason on the sportsbook dashboard.",
            "market_suspended: markets stay suspended after bet stops: check the feed "
            "(OddsFeedStale, OddsFeedDelayed) for missing odds changes that reopen them.",
            "odds_changed: prices move faster than the client refreshes; check the feed "
            "delay and the odds tolerance setting (sportsbook_odds_tolerance_bps).",
            "other: an error the platform could not classify; if the description names a "
            "deploy, compare the rise with the deploy time.",
        ),
        mitigation=(
            "Roll back the deploy named in the description when the rise followed it.",
            "Reopen markets left suspended in the trading back office once their odds are fresh.",
            "Raise the odds tolerance temporarily if odds_changed dominates on a fast "
            "in-play sport (a trading decision).",
        ),
    ),
)

ALERTS = (
    BACKLOG_AGING,
    BACKLOG_CRITICAL,
    SETTLEMENT_LAG,
    ODDS_STALE,
    FEED_DELAYED,
    FEED_LAGGING,
    REJECTIONS,
)


DOMAIN = Domain(
    name="sportsbook",
    recordings=RECORDINGS,
    alerts=ALERTS,
    about="Sportsbook: settlement backlog and lag, stale and late odds, operator-side "
    "bet rejections.",
)
