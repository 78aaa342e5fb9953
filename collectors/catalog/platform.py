"""Metrics the platform's own /metrics exports (instrumentation fed by domain events).

``collectors.instrumentation`` builds these into a platform's ``CollectorRegistry`` and
updates them from the bus (business code never calls a metrics library), the HTTP
middleware and the SQLAlchemy engine events.

Cardinality, per metric, at most (the reason each label set is what it is):

* deposits: geo x psp x method is restricted to what the routing table allows (44 of the
  18 x 5 x 7 product with the default table), x brand (top 20 + other), x 4 outcomes:
  <= 44 x 21 x 4 = 3,696 series; 176 at start-up with the one default brand;
* affiliate funnel: affiliate (top 50 + other) x campaign (top 50 + other) <= 2,601;
* HTTP: route templates of the app (~60, top 200) x method x status class;
* odds feed messages: 7 message types x 7 outcomes x 15 sports = 735, all at start-up;
* FTD rejections: affiliate (51) x campaign (51) x 6 reasons <= 15,606, created per pair
  seen (a pair's 6 reasons at once), so in practice 6 x the pairs of the funnel;
* every other label set is a product of small fixed domains (< 300 series).
"""

from __future__ import annotations

from typing import Any

from collectors.catalog.base import OTHER, LabelDomain, Metric, MetricType
from collectors.catalog.labels import (
    AFFILIATE,
    BRAND,
    CAMPAIGN,
    CURRENCY,
    DB_STATEMENT,
    GEO,
    HTTP_METHOD,
    KYC_STATUS,
    METHOD,
    PROVIDER,
    PSP,
    ROUTE,
    SPORT,
    STATUS_CLASS,
    TX_TYPE,
    outcome,
)

# -- outcome domains of the flows --------------------------------------------------------

DEPOSIT_OUTCOME = outcome("approved", "declined", "failed", "timed_out")
CALLBACK_OUTCOME = outcome(
    "applied", "duplicate", "bad_signature", "orphan", "out_of_order", "amount_mismatch", "invalid",
    "ignored",
)  # fmt: skip
WITHDRAWAL_OUTCOME = outcome("completed", "failed")
WALLET_FAILURE_REASON = outcome("insufficient_funds", "invalid", name="reason")
BET_REJECT_REASON = outcome(
    "odds_changed",
    "market_suspended",
    "market_closed",
    "stake_too_low",
    "stake_too_high",
    "max_payout_exceeded",
    "player_restricted",
    "insufficient_funds",
    "self_excluded",
    "other",
    name="reason",
)
BET_OUTCOME = outcome("won", "lost", "void")
LAUNCH_FAILURE_REASON = outcome(
    "unavailable", "timeout", "refused", "invalid_answer", "other", name="reason"
)
ROUND_OUTCOME = outcome("completed", "cancelled")
POSTBACK_OUTCOME = outcome("delivered", "failed", "dead_lettered")
FORFEIT_REASON = outcome("withdrawal", "expired", "chargeback", "refunded", "other", name="reason")
# igaming.sportsbook.protocol.MESSAGE_TYPES; a message that named no known type is other.
FEED_MESSAGE_TYPE = LabelDomain(
    "message_type",
    ("fixture", "odds_change", "bet_stop", "result", "cancel", "rollback", OTHER),
    description="odds feed message type",
)
FEED_OUTCOME = outcome(
    "applied", "duplicate", "stale", "orphan", "invalid", "bad_signature", "deferred"
)
SUSPENSION_REASON = outcome("odds_change", "bet_stop", "other", name="reason")
# igaming.casino.seamless.ACTIONS and HTTP_STATUS (the aggregator's error vocabulary).
SEAMLESS_ACTION = outcome("balance", "bet", "win", "rollback", "other", name="action")
SEAMLESS_CODE = outcome(
    "INVALID_REQUEST",
    "INVALID_SIGNATURE",
    "INVALID_SESSION",
    "TRANSACTION_NOT_FOUND",
    "DUPLICATE_TRANSACTION",
    "ROUND_CLOSED",
    "INSUFFICIENT_FUNDS",
    "other",
    name="code",
)
FTD_REJECT_REASON = outcome(
    "below_minimum", "geo_not_allowed", "kyc_rejected", "fraud", "charged_back", "other",
    name="reason",
)  # fmt: skip
REGISTRATION_REFUSAL_REASON = outcome("blocked_country", "under_age", "other", name="reason")

# -- buckets (seconds) -------------------------------------------------------------------

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DB_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
CALLBACK_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
SETTLEMENT_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0)
ROUND_BUCKETS = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
FEED_DELAY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
POSTBACK_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0)


def _m(
    name: str, type_: MetricType, help_: str, team: str, *labels: LabelDomain, **kw: Any
) -> Metric:
    if name.endswith("_seconds"):
        kw.setdefault("unit", "seconds")
    return Metric(name, type_, help_, labels=labels, team=team, **kw)


# -- RED, database, build ----------------------------------------------------------------

HTTP_REQUESTS = _m(
    "igaming_http_requests",
    "counter",
    "HTTP requests served, by route template, method and status class.",
    "platform",
    ROUTE,
    HTTP_METHOD,
    STATUS_CLASS,
)
HTTP_IN_FLIGHT = _m(
    "igaming_http_requests_in_flight", "gauge", "HTTP requests being served now.", "platform"
)
HTTP_DURATION = _m(
    "igaming_http_request_duration_seconds",
    "histogram",
    "Time to serve an HTTP request, by route template and method (exemplars: trace id).",
    "platform",
    ROUTE,
    HTTP_METHOD,
    buckets=HTTP_BUCKETS,
)
DB_QUERY_DURATION = _m(
    "igaming_db_query_duration_seconds",
    "histogram",
    "Time to execute one SQL statement, by verb.",
    "platform",
    DB_STATEMENT,
    buckets=DB_BUCKETS,
)
DB_POOL_CHECKED_OUT = _m(
    "igaming_db_pool_checked_out_connections",
    "gauge",
    "Database connections checked out of the pool now.",
    "platform",
)
DB_POOL_SIZE = _m(
    "igaming_db_pool_size_connections",
    "gauge",
    "Configured size of the database connection pool (without overflow).",
    "platform",
)
BUILD_INFO = _m(
    "igaming_build", "info", "The platform's build: version (settings.version).", "platform"
)
DEPLOY_TIMESTAMP = _m(
    "igaming_deploy_timestamp_seconds",
    "gauge",
    "Unix time of the deploy: PITWATCH_DEPLOYED_AT if set, else the process start time.",
    "platform",
)

# -- payments ----------------------------------------------------------------------------

DEPOSIT_ATTEMPTS = _m(
    "igaming_deposit_attempts",
    "counter",
    "Deposits requested, by GEO, PSP, method and brand.",
    "payments",
    GEO,
    PSP,
    METHOD,
    BRAND,
)
DEPOSIT_OUTCOMES = _m(
    "igaming_deposit_outcomes",
    "counter",
    "Deposits finished, by outcome (approved, declined, failed, timed_out), GEO, PSP, "
    "method and brand.",
    "payments",
    GEO,
    PSP,
    METHOD,
    BRAND,
    DEPOSIT_OUTCOME,
)
DEPOSITS_APPROVED_AMOUNT = _m(
    "igaming_deposits_approved_amount",
    "counter",
    "Amount of approved deposits in MAJOR units of the currency (minor units scaled by the "
    "ISO 4217 exponent), by currency.",
    "payments",
    CURRENCY,
)
DEPOSIT_APPROVAL = _m(
    "igaming_deposit_approval_seconds",
    "histogram",
    "Time from deposit request to approval, by PSP.",
    "payments",
    PSP,
    buckets=CALLBACK_BUCKETS,
)
DEPOSIT_CHARGEBACKS = _m(
    "igaming_deposit_chargebacks", "counter", "Deposits charged back, by PSP.", "payments", PSP
)
PSP_CALLBACKS = _m(
    "igaming_psp_callbacks",
    "counter",
    "PSP callbacks received, by PSP and outcome.",
    "payments",
    PSP,
    CALLBACK_OUTCOME,
)
PSP_CALLBACK_DELAY = _m(
    "igaming_psp_callback_delay_seconds",
    "histogram",
    "Delay between the PSP's event and the callback's arrival, by PSP.",
    "payments",
    PSP,
    buckets=CALLBACK_BUCKETS,
)
WITHDRAWAL_REQUESTS = _m(
    "igaming_withdrawal_requests", "counter", "Withdrawals requested, by PSP.", "payments", PSP
)
WITHDRAWAL_OUTCOMES = _m(
    "igaming_withdrawal_outcomes",
    "counter",
    "Withdrawals finished, by PSP and outcome (completed, failed).",
    "payments",
    PSP,
    WITHDRAWAL_OUTCOME,
)

# -- wallet ------------------------------------------------------------------------------

WALLET_FAILURES = _m(
    "igaming_wallet_transaction_failures",
    "counter",
    "Wallet movements refused, by transaction type and reason.",
    "wallet",
    TX_TYPE,
    WALLET_FAILURE_REASON,
)
WALLET_REPLAYS = _m(
    "igaming_wallet_idempotent_replays",
    "counter",
    "Wallet requests answered from an earlier result (same idempotency key), by type.",
    "wallet",
    TX_TYPE,
)

# -- sportsbook --------------------------------------------------------------------------

BETS_PLACED = _m("igaming_bets_placed", "counter", "Bets accepted, by sport.", "sportsbook", SPORT)
BETS_REJECTED = _m(
    "igaming_bets_rejected",
    "counter",
    "Bets refused, by sport and reason.",
    "sportsbook",
    SPORT,
    BET_REJECT_REASON,
)
BETS_SETTLED = _m(
    "igaming_bets_settled",
    "counter",
    "Bets settled, by sport and outcome (won, lost, void).",
    "sportsbook",
    SPORT,
    BET_OUTCOME,
)
SETTLEMENT_ROLLBACKS = _m(
    "igaming_bet_settlement_rollbacks",
    "counter",
    "Settlements withdrawn by the feed (the bet is open again), by sport.",
    "sportsbook",
    SPORT,
)
SETTLEMENT_LAG = _m(
    "igaming_settlement_lag_seconds",
    "histogram",
    "Wallet credit time minus official result time, by sport.",
    "sportsbook",
    SPORT,
    buckets=SETTLEMENT_BUCKETS,
)

ODDS_FEED_MESSAGES = _m(
    "igaming_odds_feed_messages",
    "counter",
    "Odds feed messages received, by message type, outcome (applied, duplicate, stale, "
    "orphan, invalid, bad_signature, deferred: settlement paused) and sport (other when the "
    "message named no known one).",
    "sportsbook",
    FEED_MESSAGE_TYPE,
    FEED_OUTCOME,
    SPORT,
)
ODDS_FEED_DELAY = _m(
    "igaming_odds_feed_delay_seconds",
    "histogram",
    "Receive time minus the feed's sent_at of a parsed odds feed message, by message type.",
    "sportsbook",
    FEED_MESSAGE_TYPE,
    buckets=FEED_DELAY_BUCKETS,
)
MARKET_SUSPENSIONS = _m(
    "igaming_market_suspensions",
    "counter",
    "Markets suspended by the feed, by sport and reason (odds_change, bet_stop).",
    "sportsbook",
    SPORT,
    SUSPENSION_REASON,
)
BETS_CASHED_OUT = _m(
    "igaming_bets_cashed_out", "counter", "Bets cashed out, by sport.", "sportsbook", SPORT
)
CASHED_OUT_AMOUNT = _m(
    "igaming_cashed_out_amount",
    "counter",
    "Amount paid for cashed-out bets in MAJOR units of the currency, by currency.",
    "sportsbook",
    CURRENCY,
)

# -- casino ------------------------------------------------------------------------------

CASINO_LAUNCHES = _m(
    "igaming_casino_launches", "counter", "Games launched, by provider.", "casino", PROVIDER
)
CASINO_LAUNCH_FAILURES = _m(
    "igaming_casino_launch_failures",
    "counter",
    "Game launches that failed, by provider and reason.",
    "casino",
    PROVIDER,
    LAUNCH_FAILURE_REASON,
)
CASINO_ROUNDS = _m(
    "igaming_casino_rounds",
    "counter",
    "Game rounds ended, by provider and outcome (completed, cancelled).",
    "casino",
    PROVIDER,
    ROUND_OUTCOME,
)
CASINO_ROLLBACKS = _m(
    "igaming_casino_rollbacks",
    "counter",
    "Casino bets rolled back by the provider, by provider.",
    "casino",
    PROVIDER,
)
CASINO_ROUND_RESULT_DELAY = _m(
    "igaming_casino_round_result_delay_seconds",
    "histogram",
    "Time from a round's first bet to its result, by provider.",
    "casino",
    PROVIDER,
    buckets=ROUND_BUCKETS,
)

CASINO_SEAMLESS_REFUSALS = _m(
    "igaming_casino_seamless_refusals",
    "counter",
    "Seamless-wallet requests answered with an error code, by provider, action and code.",
    "casino",
    PROVIDER,
    SEAMLESS_ACTION,
    SEAMLESS_CODE,
)
CASINO_SEAMLESS_REPLAYS = _m(
    "igaming_casino_seamless_replays",
    "counter",
    "Seamless-wallet retries answered with the first answer (same transaction id), by provider.",
    "casino",
    PROVIDER,
)

# -- KYC ---------------------------------------------------------------------------------

KYC_OUTCOMES = _m(
    "igaming_kyc_outcomes",
    "counter",
    "KYC check outcomes, by status and GEO.",
    "kyc",
    KYC_STATUS,
    GEO,
)
REGISTRATION_REFUSALS = _m(
    "igaming_registration_refusals",
    "counter",
    "Registrations refused, by GEO and reason (blocked_country, under_age).",
    "kyc",
    GEO,
    REGISTRATION_REFUSAL_REASON,
)
KYC_VENDOR_ERRORS = _m(
    "igaming_kyc_vendor_errors",
    "counter",
    "KYC vendor calls that failed (unavailable, error answer), by GEO.",
    "kyc",
    GEO,
)

# -- affiliates --------------------------------------------------------------------------

AFFILIATE_CLICKS = _m(
    "igaming_affiliate_clicks", "counter", "Affiliate clicks recorded.", "affiliates",
    AFFILIATE, CAMPAIGN,
)  # fmt: skip
AFFILIATE_REGISTRATIONS = _m(
    "igaming_affiliate_registrations", "counter", "Referred players registered.", "affiliates",
    AFFILIATE, CAMPAIGN,
)  # fmt: skip
AFFILIATE_FTDS = _m(
    "igaming_affiliate_ftds", "counter", "First-time deposits of referred players.", "affiliates",
    AFFILIATE, CAMPAIGN,
)  # fmt: skip
AFFILIATE_QUALIFIED_FTDS = _m(
    "igaming_affiliate_qualified_ftds", "counter", "FTDs qualified under the affiliate's deal.",
    "affiliates", AFFILIATE, CAMPAIGN,
)  # fmt: skip
AFFILIATE_FTD_REJECTIONS = _m(
    "igaming_affiliate_ftd_rejections",
    "counter",
    "FTDs rejected under the affiliate's deal, by affiliate, campaign and reason.",
    "affiliates",
    AFFILIATE,
    CAMPAIGN,
    FTD_REJECT_REASON,
)
AFFILIATE_FTD_REVERSALS = _m(
    "igaming_affiliate_ftd_reversals",
    "counter",
    "Qualified FTDs reversed (their deposit was charged back), by affiliate and campaign.",
    "affiliates",
    AFFILIATE,
    CAMPAIGN,
)
POSTBACKS = _m(
    "igaming_postbacks",
    "counter",
    "Postback attempts by outcome: delivered, failed (will retry or give up), dead_lettered "
    "(the job was given up), by affiliate.",
    "affiliates",
    AFFILIATE,
    POSTBACK_OUTCOME,
)
POSTBACK_DELAY = _m(
    "igaming_postback_delivery_delay_seconds",
    "histogram",
    "Time from a postback's creation to its delivery, by affiliate.",
    "affiliates",
    AFFILIATE,
    buckets=POSTBACK_BUCKETS,
)
POSTBACK_DISPATCHER_LAST_PASS = _m(
    "igaming_postback_dispatcher_last_pass_timestamp_seconds",
    "gauge",
    "Unix time the postback dispatcher last finished a pass, with or without postbacks due "
    "(its heartbeat: the worker passes every second).",
    "affiliates",
)

# -- bonus -------------------------------------------------------------------------------

BONUS_GRANTED_AMOUNT = _m(
    "igaming_bonus_granted_amount",
    "counter",
    "Bonus money granted, in major units of the currency, by currency.",
    "bonus",
    CURRENCY,
)
BONUS_CONVERTED_AMOUNT = _m(
    "igaming_bonus_converted_amount",
    "counter",
    "Bonus money converted to cash (the bonus cost), in major units, by currency.",
    "bonus",
    CURRENCY,
)
BONUS_FORFEITED_AMOUNT = _m(
    "igaming_bonus_forfeited_amount",
    "counter",
    "Bonus money forfeited, in major units, by currency and reason.",
    "bonus",
    CURRENCY,
    FORFEIT_REASON,
)

# -- the bus (the suite's own view of its event delivery) --------------------------------

BUS_SUBSCRIBER_FAILURES = _m(
    "pitwatch_bus_subscriber_failures",
    "counter",
    "Bus subscribers that raised on an event (the event stays in the outbox), read from the "
    "platform's MessageBus per scrape.",
    "platform",
)

METRICS: tuple[Metric, ...] = tuple(v for v in dict(globals()).values() if isinstance(v, Metric))
