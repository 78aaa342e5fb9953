"""Reconciliation: breaks left open past their tolerance, money at risk in open breaks, and
reconciliation runs that stopped succeeding. Team finance; nothing here pages."""

from __future__ import annotations

from alert_rules.model import Alert, Domain, Param, Runbook
from collectors.catalog import BY_NAME

OLDEST = BY_NAME["pitwatch_reconciliation_break_oldest_age_seconds"].name
AMOUNT = BY_NAME["pitwatch_reconciliation_amount_at_risk"].name
LAST_SUCCESS = BY_NAME["pitwatch_reconciliation_last_success_timestamp_seconds"].name

# The pair label of the alert that fires when no reconciler exports the metric at all.
ABSENT_PAIR = "(metric absent)"

BREAKS_OPEN = Alert(
    name="ReconciliationBreaksOpen",
    domain="reconciliation",
    team="finance",
    severity="warning",
    summary="A reconciliation break stays open past its tolerance window.",
    description=(
        "The oldest open {type} break of the {pair} reconciliation was first seen "
        "{value:dur} ago, beyond the tolerance window."
    ),
    expr=f"max by (pair, type) ({OLDEST}) > $tolerance_seconds",
    for_="5m",
    scope=("pair", "type"),
    dashboard="wallet",
    detection="2h10m",
    params={
        "tolerance_seconds": Param(
            7200,
            "how long a break may stay open (timing differences, a late callback, a "
            "reviewer's first look) before it fires",
        ),
    },
    runbook=Runbook(
        meaning="A break (a difference the reconciler found between the wallet and a PSP's "
        "settlement report, an affiliate network's export, a game provider's transaction "
        "report or GGR statement, or the wallet's own accounts) of "
        "this pair and type has been open longer than `tolerance_seconds` since the "
        "reconciler first saw it: it neither matched on a later run nor was resolved by "
        "finance. Timing differences normally clear within the window.",
        impact="Money the books and the counterparty disagree on: deposits settled by the "
        "PSP but never credited to a player (missing_in_wallet), payouts the PSP never made "
        "(missing_at_psp), duplicates, affiliate commissions on phantom conversions. The "
        "longer it stays open, the harder it is to recover from the counterparty.",
        diagnosis=(
            "Open the breaks table for the pair and type, oldest first: the break's "
            "references (PSP reference, merchant reference, conversion id) and amounts.",
            "missing_in_wallet / orphan_callback: look for the deposit's callback "
            "(DepositsAwaitingCallback, PspCallbackBadSignatures): a lost callback means the "
            "player paid and was not credited.",
            "missing_at_psp / amount_mismatch / duplicate_*: compare the wallet transaction "
            "with the PSP's report line; ask the PSP.",
            "missing_postback / phantom_conversion / duplicate_conversion: compare with the "
            "affiliate network's export and the postback log.",
            "balance_mismatch / clearing_residue (wallet_internal): see LedgerInvariantBroken "
            "and the wallet team.",
            "wallet_game_provider (psp label: the provider): missing_at_provider / "
            "missing_in_wallet / amount_mismatch / rollback_one_sided: compare the seamless "
            "wallet's request log (pw_casino_transactions) with the provider's report line; "
            "round_open_past_window: the provider never sent the round's result (ask it to "
            "settle or roll back the round); ggr_difference: the provider's GGR statement does "
            "not add up to its own transactions (dispute the invoice).",
        ),
        mitigation=(
            "Credit or reverse in the wallet (audited adjustment) when the wallet is wrong; "
            "claim from the PSP or the network when they are.",
            "Resolve the break in the breaks table with the reason, so that it leaves the metric.",
        ),
    ),
)

AMOUNT_AT_RISK = Alert(
    name="ReconciliationAmountAtRisk",
    domain="reconciliation",
    team="finance",
    severity="warning",
    summary="Too much money sits in open reconciliation breaks in one currency.",
    description="{value:num} {currency} sit in open reconciliation breaks, over the limit.",
    expr=f"max by (currency) ({AMOUNT}) > $max_amount",
    for_="15m",
    scope=("currency",),
    dashboard="wallet",
    detection="20m",
    params={
        "max_amount": Param(
            10000,
            "amount in open breaks that fires, in MAJOR units of each currency (the same "
            "number for every currency: JPY or INR reach it with far less value)",
        ),
    },
    runbook=Runbook(
        meaning="The total amount of the open breaks in one currency (all pairs and types, "
        "in major units: euros, not cents) is above `max_amount`. Young breaks count too: a "
        "large amount right after a run can be timing that the next run matches.",
        impact="That much money is unaccounted for between the wallet and its "
        "counterparties: a potential loss, and a figure the finance close must explain.",
        diagnosis=(
            "Break the amount down by pair, type and PSP on the wallet dashboard "
            "(pitwatch_reconciliation_open_breaks) and in the breaks table.",
            "One PSP or one type dominates? Follow ReconciliationBreaksOpen's runbook for it.",
            "A jump right after a run with many young breaks: check whether the PSP's "
            "report or the affiliate export was incomplete (rows read on the dashboard).",
        ),
        mitigation=(
            "Work the largest breaks first; re-run the reconciliation once a missing or "
            "partial report is replaced.",
        ),
    ),
)

RUN_STALE = Alert(
    name="ReconciliationRunStale",
    domain="reconciliation",
    team="finance",
    severity="warning",
    summary="A reconciliation has not completed successfully for too long.",
    description="Reconciliation pair {pair}: no successful run for {value:dur}.",
    expr=f"""time() - max by (pair) ({LAST_SUCCESS}) > $max_age_seconds
or
label_replace(absent({LAST_SUCCESS}), "pair", "{ABSENT_PAIR}", "", "") * time()""",
    for_="10m",
    scope=("pair",),
    dashboard="wallet",
    detection="2h15m",
    params={
        "max_age_seconds": Param(
            93600,
            "age of the last successful run that fires (26h: a daily run plus 2h of slack)",
        ),
    },
    runbook=Runbook(
        meaning="The last successful run of the pair's reconciliation finished more than "
        "`max_age_seconds` ago: with daily runs, about 2 hours after a run was missed. "
        f'Staleness-safe: `pair="{ABSENT_PAIR}"` means no reconciler exports '
        "the metric at all (reconciler down, not deployed, or not scraped); its age is then "
        "counted from 1970 (decades: no run is known).",
        impact="Breaks stop being found: missing credits, PSP errors and affiliate "
        "discrepancies pile up unseen, and every reconciliation metric (open breaks, "
        "amount at risk) is frozen at the last run's values.",
        diagnosis=(
            "Look at the reconciler's runs on the wallet dashboard "
            "(pitwatch_reconciliation_runs_total by outcome): failing runs, or no runs at "
            "all?",
            "Failing: read the reconciler's log of the last run (a missing or malformed PSP "
            "settlement report or affiliate export, the database unreachable).",
            f'pair="{ABSENT_PAIR}": is the reconciler process up and scraped by '
            "Prometheus (its target on the Prometheus targets page)?",
        ),
        mitigation=(
            "Fetch or fix the missing source file and re-run the reconciliation for the "
            "missed day(s).",
            "Restart the reconciler (its scheduler) if it stopped.",
        ),
    ),
)

ALERTS = (BREAKS_OPEN, AMOUNT_AT_RISK, RUN_STALE)


DOMAIN = Domain(
    name="reconciliation",
    recordings=(),
    alerts=ALERTS,
    about="Reconciliation: breaks past tolerance, amount at risk, stale runs.",
)
