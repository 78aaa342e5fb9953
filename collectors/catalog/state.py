"""Metrics the state exporter (``pitwatch collect serve``) computes from the contract views.

Each scrape recomputes these from the pw_* views (collectors/state); thresholds live in
``collectors.state.base.StateConfig`` (docs/state-metrics.md).
"""

from __future__ import annotations

from collectors.catalog.base import LabelDomain, Metric
from collectors.catalog.labels import (
    AFFILIATE,
    CAMPAIGN,
    COLLECTOR,
    LEDGER_VIOLATION,
    OUTBOX_CONSUMER,
    PSP,
    SPORT,
)


def _gauge(name: str, help_: str, *labels: LabelDomain, team: str, unit: str = "") -> Metric:
    return Metric(name, "gauge", help_, tuple(labels), unit=unit, source="state", team=team)


FTD_POSTBACK_GAP = _gauge(
    "igaming_ftd_postback_gap",
    "Qualified FTDs whose postback is not delivered after the grace period.",
    AFFILIATE,
    CAMPAIGN,
    team="affiliates",
)
FTD_POSTBACK_GAP_OLDEST = _gauge(
    "igaming_ftd_postback_gap_oldest_age_seconds",
    "Age of the oldest qualified FTD whose postback is not delivered (0 when none).",
    AFFILIATE,
    CAMPAIGN,
    team="affiliates",
    unit="seconds",
)
POSTBACKS_DEAD_LETTER = _gauge(
    "igaming_postbacks_dead_letter",
    "Postbacks given up after their last attempt (dead-lettered).",
    AFFILIATE,
    team="affiliates",
)
POSTBACKS_PENDING = _gauge(
    "igaming_postbacks_pending",
    "Postbacks not yet delivered nor given up (waiting for their first attempt or a retry).",
    AFFILIATE,
    team="affiliates",
)
POSTBACKS_PENDING_OLDEST = _gauge(
    "igaming_postbacks_pending_oldest_age_seconds",
    "Age of the oldest pending postback (0 when none).",
    AFFILIATE,
    team="affiliates",
    unit="seconds",
)
DEPOSITS_PENDING_STALE = _gauge(
    "igaming_deposits_pending_stale",
    "Deposits still waiting for their final PSP callback after the threshold.",
    PSP,
    team="payments",
)
DEPOSITS_PENDING_OLDEST = _gauge(
    "igaming_deposits_pending_stale_oldest_age_seconds",
    "Age of the oldest deposit waiting for its final callback past the threshold (0 when none).",
    PSP,
    team="payments",
    unit="seconds",
)
WITHDRAWALS_STUCK = _gauge(
    "igaming_withdrawals_stuck",
    "Withdrawals not completed or failed after their SLA.",
    PSP,
    team="payments",
)
WITHDRAWALS_STUCK_OLDEST = _gauge(
    "igaming_withdrawals_stuck_oldest_age_seconds",
    "Age of the oldest withdrawal past its SLA (0 when none).",
    PSP,
    team="payments",
    unit="seconds",
)
SETTLEMENT_BACKLOG = _gauge(
    "igaming_settlement_backlog_bets",
    "Open bets whose market has an official result.",
    SPORT,
    team="sportsbook",
)
SETTLEMENT_BACKLOG_OLDEST = _gauge(
    "igaming_settlement_backlog_oldest_age_seconds",
    "Time since the oldest result whose bets are still open (0 when none).",
    SPORT,
    team="sportsbook",
    unit="seconds",
)
MARKETS_STALE_ODDS = _gauge(
    "igaming_markets_stale_odds",
    "Active markets past kick-off with no odds update for longer than the threshold.",
    SPORT,
    team="sportsbook",
)
KYC_MANUAL_REVIEW = _gauge(
    "igaming_kyc_manual_review_backlog",
    "Players whose KYC waits for a manual review.",
    team="kyc",
)
KYC_MANUAL_REVIEW_OLDEST = _gauge(
    "igaming_kyc_manual_review_oldest_age_seconds",
    "Time since the oldest KYC check waiting for a manual review was requested.",
    team="kyc",
    unit="seconds",
)
OUTBOX_BACKLOG = _gauge(
    "igaming_outbox_backlog_events",
    "Outbox events a consumer has not handled yet (capped, see docs/state-metrics.md).",
    OUTBOX_CONSUMER,
    team="platform",
)
OUTBOX_BACKLOG_OLDEST = _gauge(
    "igaming_outbox_backlog_oldest_age_seconds",
    "Age of the oldest outbox event a consumer has not handled (0 when none).",
    OUTBOX_CONSUMER,
    team="platform",
    unit="seconds",
)
LEDGER_INVARIANT_OK = _gauge(
    "pitwatch_ledger_invariant_ok",
    "1 when the incremental ledger check knows of no violation, else 0.",
    team="wallet",
)
LEDGER_INVARIANT_VIOLATIONS = _gauge(
    "pitwatch_ledger_invariant_violations",
    "Ledger invariant violations found by the incremental check and still present.",
    LEDGER_VIOLATION,
    team="wallet",
)
LEDGER_ENTRIES_CHECKED = Metric(
    "pitwatch_ledger_entries_checked",
    "counter",
    "Ledger entries verified by the incremental ledger check.",
    source="state",
    team="wallet",
)
COLLECTOR_UP = _gauge(
    "pitwatch_collector_up",
    "1 when the collector's last scrape succeeded, else 0.",
    COLLECTOR,
    team="platform",
)
COLLECTOR_DURATION = _gauge(
    "pitwatch_collector_duration_seconds",
    "Duration of the collector's last scrape.",
    COLLECTOR,
    team="platform",
    unit="seconds",
)
COLLECTOR_ERRORS = Metric(
    "pitwatch_collector_errors",
    "counter",
    "Scrapes in which the collector failed (database down, query error, time budget).",
    (COLLECTOR,),
    source="state",
    team="platform",
)

METRICS: tuple[Metric, ...] = (
    FTD_POSTBACK_GAP,
    FTD_POSTBACK_GAP_OLDEST,
    POSTBACKS_DEAD_LETTER,
    POSTBACKS_PENDING,
    POSTBACKS_PENDING_OLDEST,
    DEPOSITS_PENDING_STALE,
    DEPOSITS_PENDING_OLDEST,
    WITHDRAWALS_STUCK,
    WITHDRAWALS_STUCK_OLDEST,
    SETTLEMENT_BACKLOG,
    SETTLEMENT_BACKLOG_OLDEST,
    MARKETS_STALE_ODDS,
    KYC_MANUAL_REVIEW,
    KYC_MANUAL_REVIEW_OLDEST,
    OUTBOX_BACKLOG,
    OUTBOX_BACKLOG_OLDEST,
    LEDGER_INVARIANT_OK,
    LEDGER_INVARIANT_VIOLATIONS,
    LEDGER_ENTRIES_CHECKED,
    COLLECTOR_UP,
    COLLECTOR_DURATION,
    COLLECTOR_ERRORS,
)
