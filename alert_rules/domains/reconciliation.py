"""Reconciliation: breaks left open past their tolerance, money at risk in open breaks, and
reconciliation runs that stopped succeeding. Team finance; nothing here pages."""

from __future__ import annotations

from alert_rules.model import (
    Alert,
    Case,
    Domain,
    Fires,
    Param,
    Runbook,
    Series,
    Silent,
    silence,
)
from alert_rules.series import gauge, merge, series
from collectors.catalog import BY_NAME

OLDEST = BY_NAME["pitwatch_reconciliation_break_oldest_age_seconds"].name
AMOUNT = BY_NAME["pitwatch_reconciliation_amount_at_risk"].name
LAST_SUCCESS = BY_NAME["pitwatch_reconciliation_last_success_timestamp_seconds"].name
OPEN = BY_NAME["pitwatch_reconciliation_open_breaks"].name

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
        "settlement report, an affiliate network's export, or the wallet's own accounts) of "
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
NAMES = tuple(a.name for a in ALERTS)

# -- promtool cases ----------------------------------------------------------------------

HOUR = 3600
PAIRS = ("wallet_psp", "wallet_affiliate", "wallet_internal")


def notation(values: list[float]) -> str:
    """promtool notation of one sample a minute from minute 0: runs of a constant step are
    written ``start+stepxN``."""
    terms: list[str] = []
    i = 0
    while i < len(values):
        j = i + 1
        step = values[j] - values[i] if j < len(values) else 0.0
        while j + 1 < len(values) and values[j + 1] - values[j] == step:
            j += 1
        if j >= len(values):
            j = len(values) - 1
        terms.append(f"{format(values[i], '.12g')}+{format(step, '.12g')}x{j - i}")
        i = j + 1
    return " ".join(terms)


def ages(minutes: int, *opened: tuple[int, int]) -> str:
    """The oldest-break age of one pair and type, for breaks (first seen at minute, open for
    so many minutes): seconds since the oldest still open was first seen, else 0."""
    values = []
    for t in range(minutes + 1):
        open_since = [start for start, life in opened if start <= t < start + life]
        values.append(60.0 * (t - min(open_since)) if open_since else 0.0)
    return notation(values)


def young_breaks(minutes: int, period: int, life: int) -> str:
    """One break every ``period`` minutes, each cleared ``life`` minutes after it was seen."""
    return ages(minutes, *[(start, life) for start in range(0, minutes, period)])


def books(
    minutes: int,
    *,
    eur: float,
    gbp: float,
    open_breaks: int,
    last_run_hours_ago: float,
    run_at: int | None = None,
) -> tuple[Series, ...]:
    """Healthy reconciliations: young breaks that clear within 40 minutes (wallet_psp) and
    20 minutes (wallet_affiliate), amounts at risk under the limit, runs on time (each pair
    ran ``last_run_hours_ago`` before minute 0, and again at ``run_at``)."""
    last = -last_run_hours_ago * HOUR

    def last_run() -> str:
        if run_at is None:
            return gauge((minutes, last))
        return gauge((run_at - 1, last), (minutes - run_at + 1, run_at * 60))

    return merge(
        series(OLDEST, young_breaks(minutes, 60, 40), pair="wallet_psp", type="missing_in_wallet"),
        series(
            OLDEST, young_breaks(minutes, 90, 20), pair="wallet_affiliate", type="missing_postback"
        ),
        series(OLDEST, gauge((minutes, 0)), pair="wallet_internal", type="balance_mismatch"),
        series(
            OPEN,
            gauge((minutes, open_breaks)),
            pair="wallet_psp",
            type="missing_in_wallet",
            psp="paybridge",
        ),
        series(AMOUNT, gauge((minutes, eur)), currency="EUR"),
        series(AMOUNT, gauge((minutes, gbp)), currency="GBP"),
        *[series(LAST_SUCCESS, last_run(), pair=p) for p in PAIRS],
    )


def cases() -> tuple[Case, ...]:
    return (
        silence(
            "busy day: a few young breaks clearing within the hour, 1 500 EUR at risk, the "
            "daily run on time",
            "normal",
            books(360, eur=1500, gbp=300, open_breaks=6, last_run_hours_ago=20, run_at=240),
            NAMES,
            at=(30, 120, 239, 240, 300, 360),
        ),
        silence(
            "after a 5x kickoff: 5x the young breaks and the amount at risk, same ages",
            "surge",
            books(360, eur=7500, gbp=1500, open_breaks=30, last_run_hours_ago=20, run_at=240),
            NAMES,
            at=(30, 120, 240, 300, 360),
        ),
        silence(
            "quiet night: one small break, run 8 hours ago",
            "quiet_night",
            books(360, eur=20, gbp=0, open_breaks=1, last_run_hours_ago=8),
            NAMES,
            at=(60, 180, 360),
        ),
        # -- breaks
        Case(
            "a paybridge deposit settled but never credited stays open for 2h20m",
            "incident",
            (
                series(
                    OLDEST,
                    ages(260, (60, 140)),
                    pair="wallet_psp",
                    type="missing_in_wallet",
                ),
                series(
                    OLDEST,
                    young_breaks(260, 90, 20),
                    pair="wallet_affiliate",
                    type="missing_postback",
                ),
            ),
            (
                Silent("120m"),
                Silent("183m"),
                Fires("190m", {"pair": "wallet_psp", "type": "missing_in_wallet"}, 130 * 60),
                Silent("205m"),
            ),
            incident_start="60m",
            recovery="200m",
            alerts=(BREAKS_OPEN.name,),
        ),
        Case(
            "a break resolved after 1h55m: inside the 2h tolerance",
            "guard",
            (
                series(
                    OLDEST,
                    ages(240, (60, 115)),
                    pair="wallet_psp",
                    type="amount_mismatch",
                ),
            ),
            (Silent("170m"), Silent("174m"), Silent("180m")),
            alerts=(BREAKS_OPEN.name,),
        ),
        # -- amount at risk
        Case(
            "a PSP settlement report with 42 000 EUR of deposits the wallet never booked",
            "incident",
            (
                series(AMOUNT, gauge((59, 1500), (61, 42000), (60, 1500)), currency="EUR"),
                series(AMOUNT, gauge((180, 300)), currency="GBP"),
            ),
            (
                Silent("70m"),
                Fires("80m", {"currency": "EUR"}, 42000),
                Silent("125m"),
            ),
            incident_start="60m",
            recovery="120m",
            alerts=(AMOUNT_AT_RISK.name,),
        ),
        Case(
            "exactly 10 000 EUR at risk: not above the limit",
            "guard",
            (series(AMOUNT, gauge((120, 10000)), currency="EUR"),),
            (Silent("30m"), Silent("100m")),
            alerts=(AMOUNT_AT_RISK.name,),
        ),
        # -- runs
        Case(
            "the wallet_psp run due at minute 60 fails (no settlement report) until minute 240",
            "incident",
            (
                series(LAST_SUCCESS, gauge((239, -23 * HOUR), (61, 240 * 60)), pair="wallet_psp"),
                series(
                    LAST_SUCCESS,
                    gauge((119, -22 * HOUR), (181, 120 * 60)),
                    pair="wallet_affiliate",
                ),
                series(LAST_SUCCESS, gauge((300, -HOUR)), pair="wallet_internal"),
            ),
            (
                Silent("120m"),
                Silent("185m"),
                Fires("192m", {"pair": "wallet_psp"}, 192 * 60 + 23 * HOUR),
                Fires("230m", {"pair": "wallet_psp"}, 230 * 60 + 23 * HOUR),
                Silent("241m"),
            ),
            incident_start="60m",
            recovery="240m",
            alerts=(RUN_STALE.name,),
        ),
        Case(
            "no reconciler exports its metrics (down, or not deployed yet): absent() fires",
            "incident",
            tuple(series(LAST_SUCCESS, gauge((60, None), (60, 50 * 60)), pair=p) for p in PAIRS),
            (
                Silent("5m"),
                Fires("30m", {"pair": ABSENT_PAIR}, 30 * 60),
                Silent("62m"),
            ),
            incident_start="0m",
            recovery="60m",
            alerts=(RUN_STALE.name,),
        ),
        Case(
            "every pair's last run 25h30m ago, still 26h old 30 minutes later: no fire",
            "guard",
            tuple(series(LAST_SUCCESS, gauge((30, -(25 * HOUR + 1800))), pair=p) for p in PAIRS),
            (Silent("15m"), Silent("29m")),
            alerts=(RUN_STALE.name,),
        ),
    )


DOMAIN = Domain(
    name="reconciliation",
    recordings=(),
    alerts=ALERTS,
    cases=cases,
    about="Reconciliation: breaks past tolerance, amount at risk, stale runs.",
)
