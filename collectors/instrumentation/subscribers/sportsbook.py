"""Bets, settlement, the odds feed, suspensions and cash-outs."""

from __future__ import annotations

from collectors.catalog import platform as c
from collectors.catalog.labels import CURRENCY, SPORT
from collectors.instrumentation.registry import PlatformMetrics
from collectors.instrumentation.subscribers.base import major_units, zero
from igaming.bus import MessageBus
from igaming.sportsbook import events as sb


def subscribe(bus: MessageBus, m: PlatformMetrics) -> None:
    subscribe_bets(bus, m)
    subscribe_feed(bus, m)


def subscribe_bets(bus: MessageBus, m: PlatformMetrics) -> None:
    sport = m.binder(SPORT)
    placed, rejected, settled = m[c.BETS_PLACED], m[c.BETS_REJECTED], m[c.BETS_SETTLED]
    rollbacks, lag = m[c.SETTLEMENT_ROLLBACKS], m[c.SETTLEMENT_LAG]
    zero(placed, SPORT.values)
    zero(rejected, SPORT.values, c.BET_REJECT_REASON.values)
    zero(settled, SPORT.values, c.BET_OUTCOME.values)
    zero(rollbacks, SPORT.values)
    zero(lag, SPORT.values)
    reject_reason, bet_outcome = m.binder(c.BET_REJECT_REASON), m.binder(c.BET_OUTCOME)

    def bet_settled(e: sb.BetSettled) -> None:
        s = sport(e.sport)
        settled.labels(s, bet_outcome(e.outcome)).inc()
        lag.labels(s).observe(max(0.0, e.lag_seconds))

    def bet_voided(e: sb.BetVoided) -> None:
        s = sport(e.sport)
        settled.labels(s, "void").inc()
        if e.lag_seconds is not None:
            lag.labels(s).observe(max(0.0, e.lag_seconds))

    bus.subscribe(sb.BetPlaced, lambda e: placed.labels(sport(e.sport)).inc())
    bus.subscribe(
        sb.BetRejected, lambda e: rejected.labels(sport(e.sport), reject_reason(e.reason)).inc()
    )
    bus.subscribe(sb.BetSettled, bet_settled)
    bus.subscribe(sb.BetVoided, bet_voided)
    bus.subscribe(sb.SettlementRolledBack, lambda e: rollbacks.labels(sport(e.sport)).inc())


def subscribe_feed(bus: MessageBus, m: PlatformMetrics) -> None:
    sport, currency = m.binder(SPORT), m.binder(CURRENCY)
    feed, feed_delay = m[c.ODDS_FEED_MESSAGES], m[c.ODDS_FEED_DELAY]
    suspensions = m[c.MARKET_SUSPENSIONS]
    cashed_out, cashed_out_amount = m[c.BETS_CASHED_OUT], m[c.CASHED_OUT_AMOUNT]
    zero(feed, c.FEED_MESSAGE_TYPE.values, c.FEED_OUTCOME.values, SPORT.values)
    zero(feed_delay, c.FEED_MESSAGE_TYPE.values)
    zero(suspensions, SPORT.values, c.SUSPENSION_REASON.values)
    zero(cashed_out, SPORT.values)
    zero(cashed_out_amount, CURRENCY.values)
    message_type, feed_outcome = m.binder(c.FEED_MESSAGE_TYPE), m.binder(c.FEED_OUTCOME)
    suspension_reason = m.binder(c.SUSPENSION_REASON)

    def feed_message(e: sb.FeedMessageReceived) -> None:
        t = message_type(e.message_type)
        feed.labels(t, feed_outcome(e.outcome), sport(e.sport)).inc()
        if e.delay_seconds is not None:
            feed_delay.labels(t).observe(max(0.0, e.delay_seconds))

    def bet_cashed_out(e: sb.BetCashedOut) -> None:
        cashed_out.labels(sport(e.sport)).inc()
        cashed_out_amount.labels(currency(e.currency)).inc(major_units(e.amount, e.currency))

    bus.subscribe(sb.FeedMessageReceived, feed_message)
    bus.subscribe(
        sb.MarketSuspended,
        lambda e: suspensions.labels(sport(e.sport), suspension_reason(e.reason)).inc(),
    )
    bus.subscribe(sb.BetCashedOut, bet_cashed_out)
