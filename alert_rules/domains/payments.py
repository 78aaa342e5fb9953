"""Payments: deposit success against its baseline, PSPs down, callbacks late, missing or
forged, withdrawals stuck. Team payments; the head of payments reads these first."""

from __future__ import annotations

from alert_rules.model import Alert, Catch, Domain, Param, Recording, Runbook
from collectors.catalog import BY_NAME

OUT = BY_NAME["igaming_deposit_outcomes"].exposed_name
ATT = BY_NAME["igaming_deposit_attempts"].exposed_name
CB = BY_NAME["igaming_psp_callbacks"].exposed_name
CB_DELAY = BY_NAME["igaming_psp_callback_delay_seconds"]
PENDING = BY_NAME["igaming_deposits_pending_stale"].name
STUCK = BY_NAME["igaming_withdrawals_stuck"].name

# A baseline needs this many finished deposits in its window, and (trailing day) at least
# 6 hours of history, else the absolute floor applies.
BASELINE_MIN_DEPOSITS = 50


def _success_recordings(by: str) -> tuple[Recording, ...]:
    p = f"{by}:igaming_deposit"
    return (
        Recording(f"{p}_finished:rate5m", f"sum by ({by}) (rate({OUT}[5m]))"),
        Recording(f"{p}_approved:rate5m", f'sum by ({by}) (rate({OUT}{{outcome="approved"}}[5m]))'),
        Recording(
            f"{p}_success:ratio_rate15m",
            f'sum by ({by}) (rate({OUT}{{outcome="approved"}}[15m]))\n'
            f"/\nsum by ({by}) (rate({OUT}[15m]))",
        ),
        Recording(f"{p}_finished:increase15m", f"sum by ({by}) (increase({OUT}[15m]))"),
        Recording(
            f"{p}_success:ratio_1h",
            f"sum_over_time({p}_approved:rate5m[1h]) / sum_over_time({p}_finished:rate5m[1h])",
        ),
        Recording(f"{p}_finished:avg_rate1h", f"avg_over_time({p}_finished:rate5m[1h])"),
        Recording(
            f"{p}_success:ratio_1d",
            f"sum_over_time({p}_approved:rate5m[1d]) / sum_over_time({p}_finished:rate5m[1d])",
        ),
        Recording(f"{p}_finished:avg_rate1d", f"avg_over_time({p}_finished:rate5m[1d])"),
        # Same hour last week when it had volume, else the trailing day once it has six
        # hours of history; no baseline at all means the absolute floor applies.
        Recording(
            f"{p}_success:ratio_baseline",
            f"""(
  {p}_success:ratio_1h offset 1w
  and on({by}) ({p}_finished:avg_rate1h offset 1w * 3600 >= {BASELINE_MIN_DEPOSITS})
)
or
(
  {p}_success:ratio_1d
  and on({by}) ({p}_finished:avg_rate1d * 86400 >= {BASELINE_MIN_DEPOSITS})
  and on({by}) ({p}_finished:avg_rate1d offset 6h)
)""",
        ),
    )


def _drop_expr(by: str) -> str:
    p = f"{by}:igaming_deposit"
    return f"""(
  {p}_success:ratio_rate15m$sel < (1 - $drop) * {p}_success:ratio_baseline$sel
  or
  (
    {p}_success:ratio_rate15m$sel < $floor
    unless on({by}) {p}_success:ratio_baseline$sel
  )
)
and on({by}) {p}_finished:increase15m$sel >= $min_deposits"""


def _drop_params() -> dict[str, Param]:
    return {
        "drop": Param(0.3, "relative drop below the baseline that fires (0.3 = 30 % below)"),
        "floor": Param(0.5, "absolute success-rate floor while there is no baseline"),
        "min_deposits": Param(20, "finished deposits needed in the 15 minute window"),
    }


_DROP_DIAGNOSIS = (
    "Open the dashboard for the scope: is the drop in one PSP, one method, one brand?",
    "Compare decline reasons and PSP callback outcomes with the hour before.",
    "If the description names a deploy, compare the drop's start with the deploy time "
    "and roll back when they line up.",
    "Check the PSP's status page and the PSP-down alerts: a PSP outage inhibits this alert.",
)
_DROP_MITIGATION = (
    "Route the scope's traffic to a healthy PSP (cashier routing table) when one PSP is to blame.",
    "Roll back the deploy named in the description when the drop followed it.",
    "Tell customer support which GEO and methods are affected.",
)

DROP_GEO = Alert(
    name="DepositSuccessRateDropGeo",
    domain="payments",
    team="payments",
    severity="critical",
    summary="Deposit success rate in a GEO dropped well below its baseline.",
    description=(
        "Deposit success rate in {geo} is {value:pct} over the last 15 minutes, well below "
        "its baseline (same hour last week, else the trailing day) or, without one, its floor."
    ),
    expr=_drop_expr("geo"),
    for_="5m",
    scope=("geo",),
    dashboard="payments",
    detection="20m",
    params=_drop_params(),
    override_by="geo",
    deploy_hint=True,
    # A deploy is a marker unless it brings a regression (deposits failing in a GEO).
    catches=(
        Catch("psp_degradation", {"geo": "geo"}),
        Catch("deploy", {"geo": "geo"}, needs=("regression",)),
    ),
    runbook=Runbook(
        meaning="Fewer deposits than usual succeed in one GEO: the share of approved among "
        "finished deposits over 15 minutes fell more than `drop` below the GEO's baseline "
        "(the same hour last week when it had volume, else the trailing day), or below the "
        "absolute `floor` while the GEO has no baseline yet.",
        impact="Players in the GEO cannot fund their accounts: lost revenue by the minute, "
        "and first deposits lost for good (affiliate traffic wasted).",
        diagnosis=_DROP_DIAGNOSIS,
        mitigation=_DROP_MITIGATION,
    ),
)

DROP_PSP = Alert(
    name="DepositSuccessRateDropPsp",
    domain="payments",
    team="payments",
    severity="critical",
    summary="Deposit success rate through a PSP dropped well below its baseline.",
    description=(
        "Deposit success rate through {psp} is {value:pct} over the last 15 minutes, well "
        "below its baseline (same hour last week, else the trailing day) or, without one, "
        "its floor."
    ),
    expr=_drop_expr("psp"),
    for_="5m",
    scope=("psp",),
    dashboard="payments",
    detection="20m",
    params=_drop_params(),
    override_by="psp",
    deploy_hint=True,
    catches=(Catch("psp_degradation", {"psp": "psp"}),),
    runbook=Runbook(
        meaning="The share of approved deposits through one PSP fell more than `drop` below "
        "the PSP's baseline (or below `floor` without a baseline).",
        impact="Every GEO routed to the PSP loses deposits.",
        diagnosis=_DROP_DIAGNOSIS,
        mitigation=_DROP_MITIGATION,
    ),
)

PSP_DOWN = Alert(
    name="PspDown",
    domain="payments",
    team="payments",
    severity="critical",
    summary="A PSP approves no deposits while players keep trying.",
    description=(
        "{value:int} deposits attempted through {psp} in {geo} in the last 5 minutes and "
        "none approved."
    ),
    expr=f"""sum by (psp, geo) (increase({ATT}$sel[$window])) >= $min_attempts
unless on(psp, geo)
sum by (psp, geo) (increase({OUT}{{outcome="approved"$m}}[$window])) > 0""",
    for_="5m",
    scope=("psp", "geo"),
    dashboard="payments",
    detection="12m",
    params={
        "window": Param("5m", "window without a single approval"),
        "min_attempts": Param(10, "attempts needed in the window (a quiet PSP is not down)"),
    },
    override_by="psp",
    catches=(Catch("psp_degradation", {"psp": "psp", "geo": "geo"}),),
    runbook=Runbook(
        meaning="Players attempted at least `min_attempts` deposits through the PSP in the "
        "GEO within `window` and not one was approved. Staleness-safe: when the approved "
        "series disappears the alert still fires. It inhibits the GEO and PSP deposit-drop "
        "alerts it explains.",
        impact="Deposits through this PSP in this GEO are failing outright.",
        diagnosis=(
            "Look at the outcomes of the PSP's deposits (declined, failed, timed out) on the "
            "payments dashboard.",
            "Check the PSP's status page and our outbound calls to it (HTTP errors, timeouts).",
            "Check the PSP's callbacks: are approvals arriving but failing signature checks?",
        ),
        mitigation=(
            "Switch the GEO's routing to the backup PSP.",
            "Open an incident with the PSP and keep the routing change until they confirm.",
        ),
    ),
)

CALLBACKS_DELAYED = Alert(
    name="PspCallbacksDelayed",
    domain="payments",
    team="payments",
    severity="warning",
    summary="A PSP's callbacks arrive late.",
    description="95th percentile callback delay from {psp} is {value:dur} over 15 minutes.",
    expr=f"""histogram_quantile(0.95,
  sum by (psp, le) (rate({CB_DELAY.name}_bucket$sel[15m]))
) > $p95_seconds
and on(psp) sum by (psp) (increase({CB_DELAY.name}_count$sel[15m])) >= $min_callbacks""",
    for_="10m",
    scope=("psp",),
    dashboard="payments",
    detection="20m",
    params={
        "p95_seconds": Param(120, "p95 callback delay that fires, in seconds"),
        "min_callbacks": Param(20, "callbacks needed in the 15 minute window"),
    },
    override_by="psp",
    catches=(Catch("psp_callback_delay", {"psp": "psp"}),),
    runbook=Runbook(
        meaning="Callbacks (the PSP telling us a deposit was approved or declined) take "
        "longer than `p95_seconds` at the 95th percentile.",
        impact="Players wait for their balance; pending deposits pile up and support "
        "tickets follow. Late callbacks often precede lost ones.",
        diagnosis=(
            "Compare the delay with the PSP's status page and with other PSPs.",
            "Check our callback endpoint's latency and errors (platform dashboard).",
        ),
        mitigation=(
            "Ask the PSP about their webhook queue; poll the PSP's status API for pending "
            "deposits if it lasts.",
        ),
    ),
)

AWAITING_CALLBACK = Alert(
    name="DepositsAwaitingCallback",
    domain="payments",
    team="payments",
    severity="warning",
    summary="Deposits wait for their final PSP callback past the threshold.",
    description=(
        "{value:int} deposits through {psp} have waited more than 15 minutes for their "
        "final callback."
    ),
    expr=f"{PENDING}$sel >= $min_pending",
    for_="10m",
    scope=("psp",),
    dashboard="payments",
    detection="30m",
    params={"min_pending": Param(5, "stale pending deposits that fire")},
    override_by="psp",
    # Lost callbacks, and callbacks later than the 15 minutes a deposit may wait.
    catches=(
        Catch("psp_callback_loss", {"psp": "psp"}),
        Catch("psp_callback_delay", {"psp": "psp"}),
    ),
    runbook=Runbook(
        meaning="At least `min_pending` deposits through the PSP are still initiated, "
        "pending or timed out 15 minutes (state exporter `deposit_pending_seconds`) after "
        "they were requested: their callbacks are missing.",
        impact="Money may have left the player's bank without reaching the wallet: the "
        "reconciliation will show missing_in_wallet breaks if the PSP settles them.",
        diagnosis=(
            "List the stale deposits (pw_deposits, status pending, oldest first) and ask the "
            "PSP for their status by PSP reference.",
            "Check the callback endpoint for refused callbacks (bad signature, errors).",
        ),
        mitigation=(
            "Ask the PSP to resend the callbacks; reconcile the rest from the settlement report.",
        ),
    ),
)

BAD_SIGNATURES = Alert(
    name="PspCallbackBadSignatures",
    domain="payments",
    team="payments",
    severity="warning",
    summary="Callbacks claiming to come from a PSP fail signature verification.",
    description="{value:int} callbacks for {psp} failed signature verification in 15 minutes.",
    expr=f'sum by (psp) (increase({CB}{{outcome="bad_signature"$m}}[15m])) >= $min_bad',
    for_="5m",
    scope=("psp",),
    dashboard="payments",
    detection="10m",
    params={"min_bad": Param(5, "refused callbacks in 15 minutes that fire")},
    override_by="psp",
    runbook=Runbook(
        meaning="Callbacks were refused because their HMAC signature did not verify: "
        "either the PSP rotated its secret without us, or someone forges callbacks.",
        impact="Refused genuine callbacks leave deposits pending; forged ones are an attack "
        "on the wallet (refused, so no money moved).",
        diagnosis=(
            "Ask the PSP whether they rotated the webhook secret.",
            "Look at the source addresses of the refused callbacks in the platform logs.",
        ),
        mitigation=(
            "Install the new secret when the PSP rotated it; otherwise block the source and "
            "tell security.",
        ),
    ),
)

WITHDRAWALS_STUCK = Alert(
    name="WithdrawalsStuck",
    domain="payments",
    team="payments",
    severity="warning",
    summary="Withdrawals are not paid out within their SLA.",
    description="{value:int} withdrawals through {psp} are past their payout SLA.",
    expr=f"{STUCK}$sel > $max_stuck",
    for_="5m",
    scope=("psp",),
    dashboard="payments",
    detection="10m",
    params={"max_stuck": Param(0, "withdrawals past SLA tolerated")},
    override_by="psp",
    runbook=Runbook(
        meaning="Withdrawals through the PSP are still requested or processing after the "
        "payout SLA (state exporter `withdrawal_sla_seconds`, 24 h by default).",
        impact="Players wait for their money: complaints, regulator escalations, churn.",
        diagnosis=(
            "List the stuck withdrawals (pw_withdrawals, oldest first): KYC holds, PSP "
            "payouts without a callback?",
            "Check the PSP's payout status for their references.",
        ),
        mitigation=("Chase the PSP; pay out through another PSP after cancelling the first.",),
    ),
)

ALERTS = (
    DROP_GEO,
    DROP_PSP,
    PSP_DOWN,
    CALLBACKS_DELAYED,
    AWAITING_CALLBACK,
    BAD_SIGNATURES,
    WITHDRAWALS_STUCK,
)


DOMAIN = Domain(
    name="payments",
    recordings=_success_recordings("geo") + _success_recordings("psp"),
    alerts=ALERTS,
    about="Payments: deposit success vs baseline, PSPs, callbacks, withdrawals.",
)
