"""Metrics of the reconcilers (wallet ⟷ PSP, affiliate network, game providers).

Declared ahead of the reconcilers so that the reconciliation alerts and dashboards can
be written against them; the reconcilers' run records and break ledger feed them, exported
through the collectors (see the reconcilers issue). Amounts are in MAJOR units of the
currency, like every amount metric.
"""

from __future__ import annotations

from collectors.catalog.base import LabelDomain, Metric, MetricType
from collectors.catalog.labels import CURRENCY, outcome
from ground.vocabulary import DEFAULT_GAME_PROVIDERS, DEFAULT_PSPS

# ledger: the nightly full ledger check (reconcilers.ledger_job), beside the reconciliations.
PAIR = outcome(
    "wallet_psp",
    "wallet_affiliate",
    "wallet_game_provider",
    "wallet_internal",
    "ledger",
    name="pair",
)
BREAK_TYPE = outcome(
    "missing_at_psp",
    "missing_in_wallet",
    "amount_mismatch",
    "currency_mismatch",
    "status_mismatch",
    "duplicate_at_psp",
    "duplicate_in_wallet",
    "orphan_callback",
    "missing_postback",
    "phantom_conversion",
    "duplicate_conversion",
    "missing_at_provider",
    "rollback_one_sided",
    "round_open_past_window",
    "ggr_difference",
    "duplicate_at_provider",
    "balance_mismatch",
    "clearing_residue",
    "unbalanced_transaction",
    "invalid_record",
    "other",
    name="type",
)
# The counterparty of a break: the PSP of a wallet ⟷ PSP break, the game provider of a
# wallet ⟷ game provider break (the operator's names, never an id); "none" for the others.
RECON_PSP = LabelDomain("psp", (*DEFAULT_PSPS, *DEFAULT_GAME_PROVIDERS, "none", "other"))
RECON_SOURCE = outcome("wallet", "psp_report", "affiliate_export", "game_report", name="source")
RUN_OUTCOME = outcome("success", "failed")
LEDGER_CHECK_KIND = outcome("unbalanced_transaction", "balance_mismatch", name="kind")


def _m(name: str, type_: MetricType, help_: str, *labels: LabelDomain, unit: str = "") -> Metric:
    return Metric(name, type_, help_, labels, unit=unit, source="reconciler", team="finance")


METRICS: tuple[Metric, ...] = (
    _m(
        "pitwatch_reconciliation_open_breaks",
        "gauge",
        "Reconciliation breaks still open, by pair, break type and PSP.",
        PAIR,
        BREAK_TYPE,
        RECON_PSP,
    ),
    _m(
        "pitwatch_reconciliation_break_oldest_age_seconds",
        "gauge",
        "Age of the oldest open break since it was first seen, by pair and type (0 when none).",
        PAIR,
        BREAK_TYPE,
        unit="seconds",
    ),
    _m(
        "pitwatch_reconciliation_amount_at_risk",
        "gauge",
        "Amount in open breaks, in MAJOR units of the currency, by currency.",
        CURRENCY,
    ),
    _m(
        "pitwatch_reconciliation_last_success_timestamp_seconds",
        "gauge",
        "Unix time of the last successful reconciliation run, by pair.",
        PAIR,
        unit="seconds",
    ),
    _m(
        "pitwatch_reconciliation_run_duration_seconds",
        "gauge",
        "Duration of the last reconciliation run, by pair.",
        PAIR,
        unit="seconds",
    ),
    _m(
        "pitwatch_reconciliation_rows_read",
        "gauge",
        "Rows read from each source by the last reconciliation run.",
        RECON_SOURCE,
    ),
    _m(
        "pitwatch_reconciliation_runs",
        "counter",
        "Reconciliation runs, by pair and outcome.",
        PAIR,
        RUN_OUTCOME,
    ),
    _m(
        "pitwatch_ledger_full_check_violations",
        "gauge",
        "Violations the last successful full ledger check found, by kind (its breaks of the "
        "pair ledger); absent until a check succeeded.",
        LEDGER_CHECK_KIND,
    ),
)
