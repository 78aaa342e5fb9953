"""Domain events -> metric updates. The bus calls these after the commit; business code
never touches a metric. Every counter of fixed label domains is created at zero here."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client.metrics_core import CounterMetricFamily
from prometheus_client.registry import Collector

from collectors.catalog import platform as c
from collectors.catalog.base import OTHER
from collectors.catalog.labels import (
    AFFILIATE,
    BRAND,
    CAMPAIGN,
    CURRENCY,
    GEO,
    KYC_STATUS,
    METHOD,
    PROVIDER,
    PSP,
    SPORT,
    TX_TYPE,
)
from collectors.instrumentation.registry import PlatformMetrics
from ground.money import CURRENCY_EXPONENTS
from ground.vocabulary import DEFAULT_BRAND
from igaming import events as core
from igaming.affiliates import events as aff
from igaming.bonus import events as bonus
from igaming.bus import MessageBus
from igaming.cashier.routing import RoutingTable
from igaming.casino import events as casino
from igaming.sportsbook import events as sb


def major_units(amount_minor: int, currency: str) -> float:
    """Minor units as a float in major units (JPY: exponent 0); only ever for metrics."""
    return amount_minor / 10 ** CURRENCY_EXPONENTS.get(currency, 2)


def routed_combinations(routing: RoutingTable) -> list[tuple[str, str, str]]:
    """(geo, psp, method) the routing table can produce: the deposit series to pre-create."""
    out = []
    for geo, method in itertools.product(GEO.values, METHOD.values):
        psp = routing.routes.get((geo, method)) or routing.routes.get(("*", method))
        if psp is not None:
            out.append((geo, PSP.bound(psp), method))
    return out


class BusFailuresCollector(Collector):
    """``pitwatch_bus_subscriber_failures``: the bus's own failure count, read per scrape
    (the bus counts, it has no hook; describe() reads nothing)."""

    def __init__(self, bus: MessageBus) -> None:
        self._bus = bus

    def describe(self) -> list[CounterMetricFamily]:
        return [self._family(0)]

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield self._family(self._bus.failures)

    @staticmethod
    def _family(value: float) -> CounterMetricFamily:
        metric = c.BUS_SUBSCRIBER_FAILURES
        return CounterMetricFamily(metric.name, metric.help, value=value)


def _zero(metric: Any, *domains: Iterable[str]) -> None:
    for combo in itertools.product(*domains):
        metric.labels(*combo)


def subscribe(
    bus: MessageBus,
    m: PlatformMetrics,
    routing: RoutingTable,
    brands: Iterable[str] = (DEFAULT_BRAND,),
) -> None:
    """Subscribe the business metrics to the bus and create their series at zero."""
    geo, psp, method = m.binder(GEO), m.binder(PSP), m.binder(METHOD)
    brand, currency, sport = m.binder(BRAND), m.binder(CURRENCY), m.binder(SPORT)
    provider, tx_type = m.binder(PROVIDER), m.binder(TX_TYPE)
    affiliate, campaign = m.binder(AFFILIATE), m.binder(CAMPAIGN)
    for b in brands:  # the brands known at start-up get their deposit series at zero
        brand(b)
    m.registry.register(BusFailuresCollector(bus))

    def on(event_type: type, handler: Callable[[Any], None]) -> None:
        bus.subscribe(event_type, handler)

    # -- payments ------------------------------------------------------------------------
    attempts, outcomes = m[c.DEPOSIT_ATTEMPTS], m[c.DEPOSIT_OUTCOMES]
    approved_amount, approval = m[c.DEPOSITS_APPROVED_AMOUNT], m[c.DEPOSIT_APPROVAL]
    combos = routed_combinations(routing)
    for (g, p, mt), b in itertools.product(combos, m.top(BRAND).seen):
        attempts.labels(g, p, mt, b)
        for o in c.DEPOSIT_OUTCOME.values:
            outcomes.labels(g, p, mt, b, o)
    _zero(approved_amount, CURRENCY.values)
    _zero(approval, PSP.values)
    _zero(m[c.DEPOSIT_CHARGEBACKS], PSP.values)

    def deposit_labels(e: core.DepositEvent) -> tuple[str, str, str, str]:
        return geo(e.geo), psp(e.psp), method(e.method), brand(e.brand)

    def deposit_outcome(outcome: str) -> Callable[[core.DepositEvent], None]:
        def handle(e: core.DepositEvent) -> None:
            outcomes.labels(*deposit_labels(e), outcome).inc()

        return handle

    def deposit_approved(e: core.DepositApproved) -> None:
        outcomes.labels(*deposit_labels(e), "approved").inc()
        approved_amount.labels(currency(e.currency)).inc(major_units(e.amount, e.currency))
        approval.labels(psp(e.psp)).observe(max(0.0, e.seconds_to_approval))

    def deposit_failed(e: core.DepositFailed) -> None:
        outcome = "timed_out" if e.reason == "timed_out" else "failed"
        outcomes.labels(*deposit_labels(e), outcome).inc()

    on(core.DepositRequested, lambda e: attempts.labels(*deposit_labels(e)).inc())
    on(core.DepositApproved, deposit_approved)
    on(core.DepositDeclined, deposit_outcome("declined"))
    on(core.DepositFailed, deposit_failed)
    on(core.DepositChargedBack, lambda e: m[c.DEPOSIT_CHARGEBACKS].labels(psp(e.psp)).inc())

    callbacks, callback_delay = m[c.PSP_CALLBACKS], m[c.PSP_CALLBACK_DELAY]
    _zero(callbacks, PSP.values, c.CALLBACK_OUTCOME.values)
    _zero(callback_delay, PSP.values)
    callback_outcome = m.binder(c.CALLBACK_OUTCOME)

    def callback(e: core.CallbackReceived) -> None:
        p = psp(e.psp)
        callbacks.labels(p, callback_outcome(e.outcome)).inc()
        if e.delay_seconds is not None:
            callback_delay.labels(p).observe(max(0.0, e.delay_seconds))

    on(core.CallbackReceived, callback)

    w_requests, w_outcomes = m[c.WITHDRAWAL_REQUESTS], m[c.WITHDRAWAL_OUTCOMES]
    _zero(w_requests, PSP.values)
    _zero(w_outcomes, PSP.values, c.WITHDRAWAL_OUTCOME.values)
    on(core.WithdrawalRequested, lambda e: w_requests.labels(psp(e.psp)).inc())
    on(core.WithdrawalCompleted, lambda e: w_outcomes.labels(psp(e.psp), "completed").inc())
    on(core.WithdrawalFailed, lambda e: w_outcomes.labels(psp(e.psp), "failed").inc())

    # -- wallet --------------------------------------------------------------------------
    failures, replays = m[c.WALLET_FAILURES], m[c.WALLET_REPLAYS]
    _zero(failures, TX_TYPE.values, c.WALLET_FAILURE_REASON.values)
    _zero(replays, TX_TYPE.values)
    failure_reason = m.binder(c.WALLET_FAILURE_REASON)
    on(
        core.WalletTransactionFailed,
        lambda e: failures.labels(tx_type(e.tx_type), failure_reason(e.reason)).inc(),
    )
    on(core.IdempotentReplay, lambda e: replays.labels(tx_type(e.tx_type)).inc())

    # -- sportsbook ----------------------------------------------------------------------
    placed, rejected, settled = m[c.BETS_PLACED], m[c.BETS_REJECTED], m[c.BETS_SETTLED]
    rollbacks, lag = m[c.SETTLEMENT_ROLLBACKS], m[c.SETTLEMENT_LAG]
    _zero(placed, SPORT.values)
    _zero(rejected, SPORT.values, c.BET_REJECT_REASON.values)
    _zero(settled, SPORT.values, c.BET_OUTCOME.values)
    _zero(rollbacks, SPORT.values)
    _zero(lag, SPORT.values)
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

    on(sb.BetPlaced, lambda e: placed.labels(sport(e.sport)).inc())
    on(sb.BetRejected, lambda e: rejected.labels(sport(e.sport), reject_reason(e.reason)).inc())
    on(sb.BetSettled, bet_settled)
    on(sb.BetVoided, bet_voided)
    on(sb.SettlementRolledBack, lambda e: rollbacks.labels(sport(e.sport)).inc())

    feed, feed_delay = m[c.ODDS_FEED_MESSAGES], m[c.ODDS_FEED_DELAY]
    suspensions = m[c.MARKET_SUSPENSIONS]
    cashed_out, cashed_out_amount = m[c.BETS_CASHED_OUT], m[c.CASHED_OUT_AMOUNT]
    _zero(feed, c.FEED_MESSAGE_TYPE.values, c.FEED_OUTCOME.values, SPORT.values)
    _zero(feed_delay, c.FEED_MESSAGE_TYPE.values)
    _zero(suspensions, SPORT.values, c.SUSPENSION_REASON.values)
    _zero(cashed_out, SPORT.values)
    _zero(cashed_out_amount, CURRENCY.values)
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

    on(sb.FeedMessageReceived, feed_message)
    on(
        sb.MarketSuspended,
        lambda e: suspensions.labels(sport(e.sport), suspension_reason(e.reason)).inc(),
    )
    on(sb.BetCashedOut, bet_cashed_out)

    # -- casino --------------------------------------------------------------------------
    launches, launch_failures = m[c.CASINO_LAUNCHES], m[c.CASINO_LAUNCH_FAILURES]
    rounds, casino_rollbacks = m[c.CASINO_ROUNDS], m[c.CASINO_ROLLBACKS]
    round_delay = m[c.CASINO_ROUND_RESULT_DELAY]
    _zero(launches, PROVIDER.values)
    _zero(launch_failures, PROVIDER.values, c.LAUNCH_FAILURE_REASON.values)
    _zero(rounds, PROVIDER.values, c.ROUND_OUTCOME.values)
    _zero(casino_rollbacks, PROVIDER.values)
    _zero(round_delay, PROVIDER.values)
    launch_reason = m.binder(c.LAUNCH_FAILURE_REASON)

    def round_ended(outcome: str) -> Callable[[casino.RoundEnded], None]:
        def handle(e: casino.RoundEnded) -> None:
            pr = provider(e.provider)
            rounds.labels(pr, outcome).inc()
            round_delay.labels(pr).observe(max(0.0, e.result_delay_seconds))

        return handle

    on(casino.GameLaunched, lambda e: launches.labels(provider(e.provider)).inc())
    on(
        casino.GameLaunchFailed,
        lambda e: launch_failures.labels(provider(e.provider), launch_reason(e.reason)).inc(),
    )
    on(casino.RoundCompleted, round_ended("completed"))
    on(casino.RoundCancelled, round_ended("cancelled"))
    on(casino.CasinoRollbackApplied, lambda e: casino_rollbacks.labels(provider(e.provider)).inc())

    refusals, seamless_replays = m[c.CASINO_SEAMLESS_REFUSALS], m[c.CASINO_SEAMLESS_REPLAYS]
    _zero(refusals, PROVIDER.values, c.SEAMLESS_ACTION.values, c.SEAMLESS_CODE.values)
    _zero(seamless_replays, PROVIDER.values)
    seamless_action, seamless_code = m.binder(c.SEAMLESS_ACTION), m.binder(c.SEAMLESS_CODE)
    on(
        casino.SeamlessRequestRefused,
        lambda e: refusals.labels(
            provider(e.provider), seamless_action(e.action), seamless_code(e.code)
        ).inc(),
    )
    on(
        casino.SeamlessRequestReplayed,
        lambda e: seamless_replays.labels(provider(e.provider)).inc(),
    )

    # -- KYC -----------------------------------------------------------------------------
    kyc, vendor_errors = m[c.KYC_OUTCOMES], m[c.KYC_VENDOR_ERRORS]
    _zero(kyc, KYC_STATUS.values, GEO.values)
    _zero(vendor_errors, GEO.values)
    kyc_status = m.binder(KYC_STATUS)

    def kyc_outcome(e: core.KycOutcome) -> None:
        g = geo(e.country)
        kyc.labels(kyc_status(e.status), g).inc()
        if e.vendor_error is not None:  # free text: counted, never a label
            vendor_errors.labels(g).inc()

    on(core.KycOutcome, kyc_outcome)

    # -- registration (published on the bus only: a refusal commits nothing) -------------
    registration_refusals = m[c.REGISTRATION_REFUSALS]
    _zero(registration_refusals, GEO.values, c.REGISTRATION_REFUSAL_REASON.values)
    refusal_reason = m.binder(c.REGISTRATION_REFUSAL_REASON)
    on(
        core.RegistrationRefused,
        lambda e: registration_refusals.labels(geo(e.country), refusal_reason(e.reason)).inc(),
    )

    # -- affiliates (open domains: series appear as affiliates are seen) -----------------
    clicks, registrations = m[c.AFFILIATE_CLICKS], m[c.AFFILIATE_REGISTRATIONS]
    ftds, qualified = m[c.AFFILIATE_FTDS], m[c.AFFILIATE_QUALIFIED_FTDS]
    postbacks, postback_delay = m[c.POSTBACKS], m[c.POSTBACK_DELAY]
    ftd_rejections, ftd_reversals = m[c.AFFILIATE_FTD_REJECTIONS], m[c.AFFILIATE_FTD_REVERSALS]
    funnel = (clicks, registrations, ftds, qualified, ftd_reversals)
    ftd_reject_reason = m.binder(c.FTD_REJECT_REASON)
    started: set[tuple[str, str]] = set()

    def pair(a: str | None, cp: str | None) -> tuple[str, str]:
        # A new (affiliate, campaign) gets its whole funnel and its postbacks at zero, so
        # that "FTDs stopped for affiliate X" works from its first click.
        labels = (affiliate(a), campaign(cp))
        if labels not in started:
            started.add(labels)
            for metric in funnel:
                metric.labels(*labels)
            _zero(ftd_rejections, (labels[0],), (labels[1],), c.FTD_REJECT_REASON.values)
            _zero(postbacks, (labels[0],), c.POSTBACK_OUTCOME.values)
            postback_delay.labels(labels[0])
        return labels

    def registered(e: core.PlayerRegistered) -> None:
        if e.affiliate:
            registrations.labels(*pair(e.affiliate, e.campaign)).inc()

    def conversion(e: aff.ConversionCreated) -> None:
        if e.conversion_type == "ftd":
            ftds.labels(*pair(e.affiliate, e.campaign)).inc()

    def postback(outcome: str) -> Callable[[Any], None]:
        def handle(e: Any) -> None:
            a, _ = pair(e.affiliate, e.campaign)
            postbacks.labels(a, outcome).inc()
            if outcome == "delivered":
                postback_delay.labels(a).observe(max(0.0, e.delay_seconds))

        return handle

    on(aff.ClickRecorded, lambda e: clicks.labels(*pair(e.affiliate, e.campaign)).inc())
    on(core.PlayerRegistered, registered)
    on(aff.ConversionCreated, conversion)
    on(aff.FtdQualified, lambda e: qualified.labels(*pair(e.affiliate, e.campaign)).inc())
    on(
        aff.FtdRejected,
        lambda e: ftd_rejections.labels(
            *pair(e.affiliate, e.campaign), ftd_reject_reason(e.reason)
        ).inc(),
    )
    on(aff.FtdReversed, lambda e: ftd_reversals.labels(*pair(e.affiliate, e.campaign)).inc())
    on(aff.PostbackDelivered, postback("delivered"))
    on(aff.PostbackFailed, postback("failed"))
    on(aff.PostbackDeadLettered, postback("dead_lettered"))

    # -- bonus ---------------------------------------------------------------------------
    granted, converted = m[c.BONUS_GRANTED_AMOUNT], m[c.BONUS_CONVERTED_AMOUNT]
    forfeited = m[c.BONUS_FORFEITED_AMOUNT]
    _zero(granted, CURRENCY.values)
    _zero(converted, CURRENCY.values)
    _zero(forfeited, CURRENCY.values, c.FORFEIT_REASON.values)
    forfeit_reason = m.binder(c.FORFEIT_REASON)

    def amount(metric: Any) -> Callable[[bonus.BonusEvent], None]:
        def handle(e: bonus.BonusEvent) -> None:
            metric.labels(currency(e.currency)).inc(major_units(e.amount, e.currency))

        return handle

    def bonus_forfeited(e: bonus.BonusForfeited) -> None:
        forfeited.labels(currency(e.currency), forfeit_reason(e.reason)).inc(
            major_units(e.amount, e.currency)
        )

    on(bonus.BonusGranted, amount(granted))
    on(bonus.BonusConverted, amount(converted))
    on(bonus.BonusForfeited, bonus_forfeited)


__all__ = [
    "OTHER",
    "BusFailuresCollector",
    "major_units",
    "routed_combinations",
    "subscribe",
]
