"""Wallet and reconciliation: does the ledger still balance, are retries and refusals
normal, and what do the wallet, the PSPs, the affiliate network and the game providers
disagree about (open breaks by type and PSP, the amount at risk, how old, and when the last
run succeeded)."""

from __future__ import annotations

from dashboards.alerts import AlertSource
from dashboards.build import Board, Var
from dashboards.links import runbook_links
from dashboards.panels import (
    Cell,
    Q,
    bargauge,
    currency_overrides,
    stat,
    table,
    timeline,
    timeseries,
    up_down,
)
from dashboards.promql import m, rate, sum_by, var

LEDGER_OK = m("pitwatch_ledger_invariant_ok")
VIOLATIONS = m("pitwatch_ledger_invariant_violations")
FULL_CHECK = m("pitwatch_ledger_full_check_violations")
CHECKED = m("pitwatch_ledger_entries_checked")
REPLAYS = m("igaming_wallet_idempotent_replays")
FAILURES = m("igaming_wallet_transaction_failures")
OPEN_BREAKS = m("pitwatch_reconciliation_open_breaks")
OLDEST_BREAK = m("pitwatch_reconciliation_break_oldest_age_seconds")
AT_RISK = m("pitwatch_reconciliation_amount_at_risk")
LAST_SUCCESS = m("pitwatch_reconciliation_last_success_timestamp_seconds")
RUN_DURATION = m("pitwatch_reconciliation_run_duration_seconds")
ROWS_READ = m("pitwatch_reconciliation_rows_read")
RUNS = m("pitwatch_reconciliation_runs")

PSP = var("psp")
INSUFFICIENT = 'reason="insufficient_funds"'


def spike(src: AlertSource, title: str, alert: str, current: str, baseline: str, desc: str) -> Cell:
    """Per-minute rate by transaction type, with the spike alert's line (``factor`` times
    the trailing day's average rate) once the alert and its recording rule are registered."""
    queries = [Q(f"{current} * 60", "{{tx_type}}")]
    factor = src.param(alert, "factor")
    recorded = src.recording(baseline)
    if factor is not None and recorded:
        queries.append(Q(f"{factor:g} * {recorded} * 60", "{{tx_type}} alert line"))
    return timeseries(
        title,
        *queries,
        unit="cpm",
        desc=desc,
        links=runbook_links(src, alert),
        overrides=[
            {
                "matcher": {"id": "byRegexp", "options": ".*alert line"},
                "properties": [
                    {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
                    {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}},
                ],
            }
        ],
    )


def board(src: AlertSource) -> Board:
    tolerance = src.limit("ReconciliationBreaksOpen", "tolerance_seconds", op=">")
    ledger = [
        stat(
            "Ledger invariant",
            Q(f"min({LEDGER_OK})"),
            unit="none",
            graph=False,
            mappings=up_down("OK", "BROKEN"),
            desc="1 when the incremental ledger check knows of no violation: every "
            "transaction sums to zero per currency, balances equal their entries.",
            links=runbook_links(src, "LedgerInvariantBroken"),
            w=4,
            h=6,
        ),
        timeline(
            "Ledger invariant over time",
            Q(f"min({LEDGER_OK})", "ledger"),
            unit="none",
            mappings=up_down("OK", "BROKEN"),
            links=runbook_links(src, "LedgerInvariantBroken"),
            w=8,
        ),
        timeseries(
            "Open ledger violations by kind",
            Q(f"max by (kind) ({VIOLATIONS})", "{{kind}}"),
            Q(f"max by (kind) ({FULL_CHECK})", "{{kind}} (nightly full check)"),
            unit="short",
            min_=0,
            desc="The exporter's incremental check (newest entries, a rotating sample of "
            "accounts) and the last nightly full check (every entry: pitwatch reconcile "
            "ledger).",
            links=runbook_links(src, "LedgerInvariantBroken"),
            w=6,
            h=6,
        ),
        timeseries(
            "Ledger entries verified per second",
            Q(sum_by("", rate(CHECKED)), "verified"),
            unit="ops",
            desc="The incremental check's progress: flat at zero means it stopped.",
            w=6,
            h=6,
        ),
    ]
    movements = [
        spike(
            src,
            "Idempotent replays per minute by transaction type",
            "WalletIdempotentReplaySpike",
            sum_by("tx_type", rate(REPLAYS)),
            "tx_type:igaming_wallet_idempotent_replays:avg_rate1d",
            "Requests answered from an earlier result (same idempotency key): clients "
            "retrying. A spike means timeouts upstream.",
        ),
        spike(
            src,
            "Invalid wallet movements per minute by transaction type",
            "WalletTransactionFailureSpike",
            sum_by("tx_type", rate(FAILURES, 'reason="invalid"')),
            "tx_type:igaming_wallet_transaction_failures_invalid:avg_rate1d",
            "Movements the wallet refused as invalid (insufficient funds is the player's "
            "and shown apart).",
        ),
        timeseries(
            "Refused for insufficient funds, per minute by type",
            Q(f"{sum_by('tx_type', rate(FAILURES, INSUFFICIENT))} * 60", "{{tx_type}}"),
            unit="cpm",
            w=24,
            h=6,
        ),
    ]
    recon = [
        stat(
            "Open breaks",
            Q(f"sum({OPEN_BREAKS}{{{PSP}}})"),
            unit="short",
            links=runbook_links(src, "ReconciliationBreaksOpen"),
        ),
        stat(
            "Amount at risk by currency",
            Q(sum_by("currency", AT_RISK), "{{currency}}"),
            unit="short",
            graph=False,
            limits=[src.limit("ReconciliationAmountAtRisk", "max_amount", op=">")],
            w=8,
        ),
        stat(
            "Oldest open break",
            Q(f"max({OLDEST_BREAK})"),
            unit="s",
            limits=[tolerance],
        ),
        stat(
            "Since the last successful run",
            Q(f"time() - {LAST_SUCCESS}", "{{pair}}"),
            unit="s",
            instant=True,
            graph=False,
            limits=[src.limit("ReconciliationRunStale", "max_age_seconds", op=">")],
            w=8,
        ),
        bargauge(
            "Open breaks by type",
            Q(f"sum by (type) ({OPEN_BREAKS}{{{PSP}}}) > 0", "{{type}}"),
            unit="short",
            w=8,
        ),
        bargauge(
            "Open breaks by PSP",
            Q(f"sum by (psp) ({OPEN_BREAKS}{{{PSP}}})", "{{psp}}"),
            unit="short",
            desc="'none' holds the breaks of the pairs without a PSP (wallet ⟷ affiliate, "
            "wallet internal); a game provider's name, the wallet ⟷ game provider breaks.",
            w=8,
        ),
        table(
            "Open breaks by pair, type and PSP",
            Q(f"sum by (pair, type, psp) ({OPEN_BREAKS}{{{PSP}}}) > 0", column="open"),
            unit="short",
            sort_by="open",
            w=8,
        ),
        timeseries(
            "Amount at risk by currency",
            Q(sum_by("currency", AT_RISK), "{{currency}}"),
            unit="short",
            overrides=currency_overrides(),
            desc="Amount in open breaks, in major units.",
            limits=[src.limit("ReconciliationAmountAtRisk", "max_amount", op=">")],
            w=8,
        ),
        timeseries(
            "Break aging: oldest open break by pair and type",
            Q(f"max by (pair, type) ({OLDEST_BREAK}) > 0", "{{pair}} {{type}}"),
            unit="s",
            desc="Breaks younger than the tolerance are usually timing (a settlement report "
            "not in yet); older ones need a person.",
            limits=[tolerance],
            w=8,
        ),
        timeseries(
            "Open breaks over time by type",
            Q(f"sum by (type) ({OPEN_BREAKS}{{{PSP}}})", "{{type}}"),
            unit="short",
            stack=True,
            w=8,
        ),
        table(
            "Wallet ⟷ game provider: open breaks by provider and type",
            Q(
                f'sum by (psp, type) ({OPEN_BREAKS}{{pair="wallet_game_provider"}}) > 0',
                column="open",
            ),
            unit="short",
            sort_by="open",
            desc="The seamless wallet against each game provider's daily transaction report "
            "and GGR statement (docs/game-provider-reports.md); psp is the provider.",
            w=24,
        ),
    ]
    runs = [
        timeseries(
            "Time since the last successful run, by pair",
            Q(f"time() - {LAST_SUCCESS}", "{{pair}}"),
            unit="s",
            limits=[src.limit("ReconciliationRunStale", "max_age_seconds", op=">")],
            w=8,
        ),
        timeseries(
            "Runs per hour by pair and outcome",
            Q(f"sum by (pair, outcome) (increase({RUNS}[1h]))", "{{pair}} {{outcome}}"),
            unit="short",
            w=8,
        ),
        timeseries(
            "Last run duration by pair",
            Q(f"max by (pair) ({RUN_DURATION})", "{{pair}}"),
            unit="s",
            w=4,
        ),
        bargauge(
            "Rows read by the last run",
            Q(f"max by (source) ({ROWS_READ})", "{{source}}"),
            unit="short",
            w=4,
        ),
    ]
    return Board(
        key="wallet",
        description="Ledger invariants, idempotent replays and refused movements; "
        "reconciliation breaks by type and PSP, amount at risk, aging and runs.",
        variables=(Var("psp", OPEN_BREAKS, title="PSP (reconciliation)"),),
        sections=(
            ("Ledger", ledger),
            ("Wallet movements", movements),
            ("Reconciliation breaks", recon),
            ("Reconciliation runs", runs),
        ),
        tags=("wallet", "finance"),
        time_from="now-24h",
    )
