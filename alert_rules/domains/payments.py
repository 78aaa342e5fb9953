"""Payments: deposit success against its baseline, PSPs down, callbacks late, missing or
forged, withdrawals stuck. Team payments; the head of payments reads these first."""

from __future__ import annotations

from alert_rules.model import (
    Alert,
    Case,
    Domain,
    Fires,
    Param,
    Recording,
    Runbook,
    Series,
    Silent,
    silence,
)
from alert_rules.series import counter, counter_from, every, gauge, histogram, merge, series
from alert_rules.series import quantile_in_bucket as q_in
from collectors.catalog import BY_NAME

OUT = BY_NAME["igaming_deposit_outcomes"].exposed_name
ATT = BY_NAME["igaming_deposit_attempts"].exposed_name
CB = BY_NAME["igaming_psp_callbacks"].exposed_name
CB_DELAY = BY_NAME["igaming_psp_callback_delay_seconds"]
PENDING = BY_NAME["igaming_deposits_pending_stale"].name
STUCK = BY_NAME["igaming_withdrawals_stuck"].name
BUILD = BY_NAME["igaming_build"].exposed_name
DEPLOYED = BY_NAME["igaming_deploy_timestamp_seconds"].name

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
NAMES = tuple(a.name for a in ALERTS)

# -- promtool cases ----------------------------------------------------------------------

DAY = 24 * 60


def deposits(
    geo: str,
    psp: str,
    method: str,
    segments: list[tuple[int, float, float]],
    brand: str = "acme",
) -> list[Series]:
    """Deposit attempts and outcomes: segments of (minutes, approved/min, declined/min)."""
    kv = {"geo": geo, "psp": psp, "method": method, "brand": brand}
    return [
        series(ATT, counter(*[(m, a + d) for m, a, d in segments]), **kv),
        series(OUT, counter(*[(m, a) for m, a, _ in segments]), **kv, outcome="approved"),
        series(OUT, counter(*[(m, d) for m, _, d in segments]), **kv, outcome="declined"),
    ]


def quiet_geo(minutes: int, geo: str = "FI", psp: str = "nordpay") -> list[Series]:
    """A small GEO at night: four deposits an hour, one of which fails."""
    thirds = zip(
        every(minutes, 20), every(minutes, 20, offset=7), every(minutes, 20, offset=14), strict=True
    )
    approved = [a + b + c for a, b, c in thirds]
    declined = every(minutes, 60, offset=31)
    kv = {"geo": geo, "psp": psp, "method": "card", "brand": "acme"}
    return [
        series(ATT, counter_from(a + d for a, d in zip(approved, declined, strict=True)), **kv),
        series(OUT, counter_from(approved), **kv, outcome="approved"),
        series(OUT, counter_from(declined), **kv, outcome="declined"),
    ]


def callbacks(psp: str, segments: list[tuple[int, float, float]]) -> list[Series]:
    """Callback delay histogram: (minutes, callbacks/min, delay seconds)."""
    return histogram(CB_DELAY.name, CB_DELAY.buckets or (), segments, psp=psp)


def healthy(minutes: int, surge: tuple[int, int] | None = None) -> tuple[Series, ...]:
    """A busy evening in two GEOs: DE 85 % approved, GB 90 %, every PSP answering fast,
    no stale deposit, no stuck withdrawal. ``surge``: (start, length) of a 5x kickoff."""

    def seg(per_a: float, per_d: float) -> list[tuple[int, float, float]]:
        if surge is None:
            return [(minutes, per_a, per_d)]
        start, length = surge
        return [(start, per_a, per_d), (length, 5 * per_a, 5 * per_d),
                (minutes - start - length, per_a, per_d)]  # fmt: skip

    def cb(per: float, delay: float) -> list[tuple[int, float, float]]:
        return [(m, n, delay) for m, n, _ in seg(per, 0)]

    return merge(
        deposits("DE", "paybridge", "card", seg(12, 3)),
        deposits("DE", "nordpay", "ewallet", seg(5, 0.25)),
        deposits("GB", "paybridge", "card", seg(9, 1)),
        deposits("GB", "ewallo", "ewallet", seg(4, 0.5)),
        callbacks("paybridge", cb(25, 8)),
        callbacks("nordpay", cb(5, 3)),
        callbacks("ewallo", cb(4, 20)),
        *[
            series(CB, counter((minutes, 0)), psp=p, outcome="bad_signature")
            for p in ("paybridge", "nordpay", "ewallo")
        ],
        *[series(PENDING, gauge((minutes, 1)), psp=p) for p in ("paybridge", "nordpay")],
        *[series(STUCK, gauge((minutes, 0)), psp=p) for p in ("paybridge", "nordpay")],
        series(BUILD, gauge((minutes, 1)), version="2026.11.2"),
        series(DEPLOYED, gauge((minutes, 0))),
    )


def _drop(
    base: float, bad: float, start: int, length: int, total: int
) -> list[tuple[int, float, float]]:
    """20 deposits a minute: success ``base``, then ``bad`` for ``length`` minutes."""
    return [(start, 20 * base, 20 * (1 - base)), (length, 20 * bad, 20 * (1 - bad)),
            (total - start - length, 20 * base, 20 * (1 - base))]  # fmt: skip


WEEK = 7 * DAY


def _weekly(usual: float, last_week: float, now: float) -> list[tuple[int, float, float]]:
    """A week and two hours of 20 deposits a minute at ``usual`` success, except 10:00 to
    11:00 on the first day (``last_week``) and the same hour a week later (``now``)."""
    return [(600, 20 * usual, 20 * (1 - usual)),
            (60, 20 * last_week, 20 * (1 - last_week)),
            (WEEK - 60, 20 * usual, 20 * (1 - usual)),
            (60, 20 * now, 20 * (1 - now)),
            (60, 20 * usual, 20 * (1 - usual))]  # fmt: skip


def cases() -> tuple[Case, ...]:
    t0 = 420  # seven hours of history: the trailing-day baseline exists
    total = t0 + 120
    return (
        silence(
            "busy evening, every PSP healthy",
            "normal",
            healthy(total),
            NAMES,
            at=(30, 120, t0, t0 + 60, total),
        ),
        silence(
            "5x deposit surge at kickoff, same success rates",
            "surge",
            healthy(total, surge=(t0, 60)),
            NAMES,
            at=(t0 + 10, t0 + 30, t0 + 60, t0 + 75),
        ),
        silence(
            "quiet night in FI: four deposits an hour, one declined",
            "quiet_night",
            merge(
                quiet_geo(total),
                *[series(PENDING, gauge((total, 0)), psp="nordpay")],
                series(STUCK, gauge((total, 0)), psp="nordpay"),
            ),
            NAMES,
            at=(60, 180, t0, total),
        ),
        Case(
            "bad deploy: DE approvals fall from 95% to 60% (above the floor) after 2026.11.3",
            "incident",
            merge(
                deposits("DE", "paybridge", "card", _drop(0.95, 0.6, t0, 60, total)),
                deposits("GB", "paybridge", "card", [(total, 17, 3)]),
                series(BUILD, gauge((total, 1)), version="2026.11.3"),
                series(DEPLOYED, gauge((total, (t0 - 5) * 60))),
            ),
            (
                Silent(f"{t0 + 8}m"),
                Fires(f"{t0 + 20}m", {"geo": "DE"}, 0.6, deploy="2026.11.3"),
                Fires(f"{t0 + 50}m", {"geo": "DE"}, 0.6, deploy="2026.11.3"),
                Fires(f"{t0 + 58}m", {"geo": "DE"}, 0.6),  # the deploy is an hour old
                Silent(f"{t0 + 75}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 60}m",
            alerts=("DepositSuccessRateDropGeo",),
        ),
        Case(
            "new GEO without history: DE at 45% is below the 50% floor, IN's floor is 35%",
            "incident",
            merge(
                deposits("DE", "paybridge", "card", [(60, 9, 11), (60, 17, 3)]),
                deposits("IN", "paybridge", "upi", [(120, 9, 11)]),
            ),
            (
                Silent("4m"),
                Fires("20m", {"geo": "DE"}, 0.45),
                Silent("90m"),
            ),
            incident_start="0m",
            recovery="60m",
            alerts=("DepositSuccessRateDropGeo",),
        ),
        Case(
            "same hour last week: DE's usual night-time dip is no incident, the same dip in GB is",
            "incident",
            merge(
                # DE: 90 %, but every week 55 % from 10:00 to 11:00 (a card-heavy hour)
                deposits("DE", "paybridge", "card", _weekly(0.9, 0.55, 0.58)),
                # GB: 90 % all week, 58 % for that hour this week only
                deposits("GB", "paybridge", "card", _weekly(0.9, 0.9, 0.58)),
            ),
            (
                Silent(f"{WEEK + 605}m"),
                Fires(f"{WEEK + 620}m", {"geo": "GB"}, 0.58),
                Fires(f"{WEEK + 650}m", {"geo": "GB"}, 0.58),
                Silent(f"{WEEK + 690}m"),
            ),
            incident_start=f"{WEEK + 600}m",
            recovery=f"{WEEK + 660}m",
            alerts=("DepositSuccessRateDropGeo",),
        ),
        Case(
            "DE approvals dip from 85% to 65%: less than 30% below the baseline",
            "guard",
            merge(deposits("DE", "paybridge", "card", _drop(0.85, 0.65, t0, 60, total))),
            (Silent(f"{t0 + 20}m"), Silent(f"{t0 + 50}m")),
            alerts=("DepositSuccessRateDropGeo",),
        ),
        Case(
            "nordpay declines 70% of deposits in every GEO",
            "incident",
            merge(
                deposits("DE", "nordpay", "ewallet", _drop(0.9, 0.3, t0, 60, total)),
                deposits("SE", "nordpay", "ewallet", _drop(0.9, 0.3, t0, 60, total)),
                deposits("DE", "paybridge", "card", [(total, 17, 3)]),
                series(BUILD, gauge((total, 1)), version="2026.11.2"),
                series(DEPLOYED, gauge((total, 0))),
            ),
            (
                Silent(f"{t0 + 5}m"),
                Fires(f"{t0 + 20}m", {"psp": "nordpay"}, 0.3),
                Silent(f"{t0 + 75}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 60}m",
            alerts=("DepositSuccessRateDropPsp",),
        ),
        Case(
            "paybridge stops approving in DE (every deposit times out)",
            "incident",
            merge(
                deposits("DE", "paybridge", "card", [(60, 12, 3), (30, 0, 15), (30, 12, 3)]),
                deposits("DE", "nordpay", "ewallet", [(120, 5, 0.25)]),
            ),
            (
                Silent("64m"),
                Fires("72m", {"psp": "paybridge", "geo": "DE"}, 75),
                Silent("100m"),
            ),
            incident_start="60m",
            recovery="90m",
            alerts=("PspDown",),
        ),
        Case(
            "paybridge's approved series disappears (platform restarted, no approval since) "
            "while deposits keep failing: still fires",
            "incident",
            (
                series(
                    ATT, counter((130, 15)), geo="DE", psp="paybridge", method="card", brand="acme"
                ),
                # approvals stop at 60 and the series goes stale; they resume at 100
                series(
                    OUT,
                    counter((60, 12)) + " stale _x38 732+12x30",
                    geo="DE",
                    psp="paybridge",
                    method="card",
                    brand="acme",
                    outcome="approved",
                ),
            ),
            (
                Silent("64m"),
                Fires("72m", {"psp": "paybridge", "geo": "DE"}, 75),
                Fires("95m", {"psp": "paybridge", "geo": "DE"}, 75),
                Silent("105m"),
            ),
            incident_start="60m",
            recovery="100m",
            alerts=("PspDown",),
        ),
        Case(
            "ewallo callbacks arrive four minutes late",
            "incident",
            merge(callbacks("ewallo", [(60, 4, 20), (60, 4, 240), (60, 4, 20)])),
            (
                Silent("70m"),
                Fires("80m", {"psp": "ewallo"}, q_in(CB_DELAY.buckets or (), 240, 0.95)),
                Silent("150m"),
            ),
            incident_start="60m",
            recovery="120m",
            alerts=("PspCallbacksDelayed",),
        ),
        Case(
            "pixgate callbacks lost: pending deposits go stale after 15 minutes",
            "incident",
            (series(PENDING, gauge((75, 0), (5, 6), (40, 9), (30, 0)), psp="pixgate"),),
            (
                Silent("84m"),
                Fires("90m", {"psp": "pixgate"}, 9),
                Silent("125m"),
            ),
            incident_start="60m",
            recovery="120m",
            alerts=("DepositsAwaitingCallback",),
        ),
        Case(
            "callbacks signed with a secret paybridge rotated",
            "incident",
            (
                series(
                    CB, counter((60, 0), (30, 2), (60, 0)), psp="paybridge", outcome="bad_signature"
                ),
            ),
            (
                Silent("62m"),
                Fires("70m", {"psp": "paybridge"}, 20),
                Silent("120m"),
            ),
            incident_start="60m",
            recovery="90m",
            alerts=("PspCallbackBadSignatures",),
        ),
        Case(
            "two nordpay payouts pass their SLA without a callback",
            "incident",
            (series(STUCK, gauge((60, 0), (60, 2), (30, 0)), psp="nordpay"),),
            (
                Silent("63m"),
                Fires("70m", {"psp": "nordpay"}, 2),
                Silent("125m"),
            ),
            incident_start="60m",
            recovery="120m",
            alerts=("WithdrawalsStuck",),
        ),
    )


DOMAIN = Domain(
    name="payments",
    recordings=_success_recordings("geo") + _success_recordings("psp"),
    alerts=ALERTS,
    cases=cases,
    about="Payments: deposit success vs baseline, PSPs, callbacks, withdrawals.",
)
