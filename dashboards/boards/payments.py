"""Payments: what the head of payments opens first. Is money coming in (success rate by
GEO, PSP and method against the alert lines), why not (outcomes, callbacks), and what is
stuck (pending deposits, withdrawals past SLA)."""

from __future__ import annotations

from dashboards.alerts import AlertSource
from dashboards.build import Board, Var
from dashboards.links import dashboard_link, runbook_links
from dashboards.panels import Cell, Q, bargauge, currency_overrides, stat, table, timeseries
from dashboards.promql import hist, increase, m, quantile, rate, ratio, sum_by, var

ATT = m("igaming_deposit_attempts")
OUT = m("igaming_deposit_outcomes")
AMOUNT = m("igaming_deposits_approved_amount")
APPROVAL = hist("igaming_deposit_approval_seconds")
CHARGEBACKS = m("igaming_deposit_chargebacks")
CALLBACKS = m("igaming_psp_callbacks")
CB_DELAY = hist("igaming_psp_callback_delay_seconds")
WD_REQUESTS = m("igaming_withdrawal_requests")
WD_OUTCOMES = m("igaming_withdrawal_outcomes")
PENDING = m("igaming_deposits_pending_stale")
PENDING_OLDEST = m("igaming_deposits_pending_stale_oldest_age_seconds")
STUCK = m("igaming_withdrawals_stuck")
STUCK_OLDEST = m("igaming_withdrawals_stuck_oldest_age_seconds")

DEPOSIT = (var("geo"), var("psp"), var("method"), var("brand"))
APPROVED = 'outcome="approved"'
NOT_APPROVED = 'outcome!="approved"'
DROP_ALERTS = ("DepositSuccessRateDropGeo", "DepositSuccessRateDropPsp")


def success_ratio(by: str, window: str, *matchers: str) -> str:
    """Approved among finished deposits: the alerts' ratio, at any grouping."""
    return ratio(
        sum_by(by, rate(OUT, APPROVED, *matchers, window=window)),
        sum_by(by, rate(OUT, *matchers, window=window)),
    )


def alert_line(src: AlertSource, alert: str, by: str, baseline: str, drop: float) -> str:
    """The baseline lowered by the alert's ``drop``, per GEO or PSP override in force."""
    overrides = [(value, d) for label, value, d in src.overrides(alert, "drop") if label == by]
    parts = [f'(1 - {d:g}) * {baseline}{{{by}="{value}", {var(by)}}}' for value, d in overrides]
    rest = f', {by}!~"{"|".join(v for v, _ in overrides)}"' if overrides else ""
    parts.append(f"(1 - {drop:g}) * {baseline}{{{var(by)}{rest}}}")
    return "\nor\n".join(parts)


def success_by(src: AlertSource, by: str, alert: str) -> Cell:
    """Success rate by GEO or PSP: the alert's recording rule and its relative-drop line
    (the expected rate scaled by ``1 - drop``: the baseline, else the default a scope
    without history is held to; the PSP panel has the baseline alone)."""
    recorded = src.recording(f"{by}:igaming_deposit_success:ratio_rate15m")
    baseline = src.recording(f"{by}:igaming_deposit_success:ratio_expected") or src.recording(
        f"{by}:igaming_deposit_success:ratio_baseline"
    )
    current = f"{recorded}{{{var(by)}}}" if recorded else success_ratio(by, "15m", var(by))
    queries = [Q(current, f"{{{{{by}}}}}")]
    drop = src.param(alert, "drop")
    if baseline and drop is not None:
        queries.append(Q(alert_line(src, alert, by, baseline, drop), f"{{{{{by}}}}} alert line"))
    label = "GEO" if by == "geo" else "PSP"
    return timeseries(
        f"Deposit success rate by {label} (15m) and its alert line",
        *queries,
        unit="percentunit",
        min_=0,
        max_=1,
        desc=f"Approved among finished deposits over 15 minutes, per {label} (the alert's "
        f"recording rule: the {label} filter applies, not the others). The dashed "
        "'alert line' series is the expected rate (same hour last week, else the trailing "
        "day, else the default for a scope without history) lowered by the alert's `drop`: "
        "below it the alert fires once the failures are also statistically significant for "
        "the number of deposits (see the runbook).",
        overrides=[
            {
                "matcher": {"id": "byRegexp", "options": ".*alert line"},
                "properties": [
                    {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
                    {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}},
                ],
            }
        ],
        w=12,
        h=9,
    )


def board(src: AlertSource) -> Board:
    # PspDown tests windows of 3 to 30 minutes (alert_rules.domains.payments.DOWN_WINDOWS);
    # the table shows the 15-minute one, where a scope at a deposit a minute is decided.
    psp_down_window = "15m"
    now = [
        stat(
            "Deposit success rate (15m)",
            Q(success_ratio("", "15m", *DEPOSIT)),
            unit="percentunit",
            desc="Approved among finished deposits in the selection over 15 minutes.",
            links=runbook_links(src, "DepositSuccessRateDropPsp"),
        ),
        stat(
            "Deposits finished per minute",
            Q(f"{sum_by('', rate(OUT, *DEPOSIT))} * 60"),
            unit="cpm",
        ),
        stat(
            "Deposits approved (range)",
            Q(sum_by("", increase(OUT, APPROVED, *DEPOSIT))),
            unit="short",
            instant=True,
            decimals=0,
        ),
        stat(
            "Approved amount (range)",
            Q(sum_by("currency", increase(AMOUNT)), "{{currency}}"),
            unit="short",
            instant=True,
            desc="Approved deposit amount per currency in major units (all GEOs and PSPs: "
            "the amount metric is labelled by currency only).",
        ),
        stat(
            "Deposits awaiting callback",
            Q(sum_by("psp", f"{PENDING}{{{var('psp')}}}"), "{{psp}}"),
            unit="short",
            graph=False,
            desc="Deposits past the pending threshold without a final callback, per PSP: "
            "the stock, which stays until the PSP is asked or reconciliation settles it "
            "(DepositsAwaitingCallback warns while it grows).",
        ),
        stat(
            "Withdrawals past SLA",
            Q(sum_by("psp", f"{STUCK}{{{var('psp')}}}"), "{{psp}}"),
            unit="short",
            graph=False,
            limits=[src.limit("WithdrawalsStuck", "max_stuck", op=">", counts=True)],
        ),
    ]
    success = [
        success_by(src, "geo", "DepositSuccessRateDropGeo"),
        success_by(src, "psp", "DepositSuccessRateDropPsp"),
        timeseries(
            "Deposit success rate by method (15m)",
            Q(success_ratio("method", "15m", *DEPOSIT), "{{method}}"),
            unit="percentunit",
            min_=0,
            max_=1,
            desc="No alert watches methods on their own; use it to find the method behind "
            "a GEO or PSP drop.",
            links=runbook_links(src, *DROP_ALERTS),
        ),
        timeseries(
            "Deposit success rate by brand (15m)",
            Q(success_ratio("brand", "15m", *DEPOSIT), "{{brand}}"),
            unit="percentunit",
            min_=0,
            max_=1,
        ),
    ]
    declines = [
        timeseries(
            "Deposits not approved per minute, by outcome and PSP",
            Q(
                f"{sum_by('psp, outcome', rate(OUT, NOT_APPROVED, *DEPOSIT))} * 60",
                "{{psp}} {{outcome}}",
            ),
            unit="cpm",
            stack=True,
            desc="Declined, failed and timed-out deposits. The outcome is the only decline "
            "reason exported (no PSP decline code).",
        ),
        table(
            f"Attempts and approvals by PSP and GEO ({psp_down_window})",
            Q(
                sum_by("psp, geo", increase(ATT, *DEPOSIT, window=psp_down_window)),
                column="attempts",
                unit="short",
            ),
            Q(
                sum_by("psp, geo", increase(OUT, APPROVED, *DEPOSIT, window=psp_down_window)),
                column="approved",
                unit="short",
            ),
            Q(
                success_ratio("psp, geo", psp_down_window, *DEPOSIT),
                column="success rate",
                unit="percentunit",
            ),
            unit="short",
            sort_by="attempts",
            desc="PspDown fires for a PSP and GEO whose attempts run without one approval "
            "for longer than its usual success rate allows by chance (the runbook gives "
            "the numbers).",
            links=runbook_links(src, "PspDown"),
        ),
        timeseries(
            "PSP callbacks per minute by outcome",
            Q(
                f"{sum_by('outcome', rate(CALLBACKS, var('psp')))} * 60",
                "{{outcome}}",
            ),
            unit="cpm",
            stack=True,
            desc="applied is normal; bad_signature, orphan, amount_mismatch and invalid are "
            "refused callbacks.",
        ),
        stat(
            "Callbacks failing signature (15m)",
            Q(
                sum_by(
                    "psp", increase(CALLBACKS, 'outcome="bad_signature"', var("psp"), window="15m")
                ),
                "{{psp}}",
            ),
            unit="short",
            graph=False,
            limits=[src.limit("PspCallbackBadSignatures", "min_bad", op=">=")],
            w=12,
            h=8,
        ),
        timeseries(
            "PSP callback delay p95 (15m)",
            Q(quantile(0.95, CB_DELAY, "psp", var("psp"), window="15m"), "{{psp}}"),
            unit="s",
            desc="Delay between the PSP's event and the callback's arrival.",
            limits=[src.limit("PspCallbacksDelayed", "p95_seconds", op=">")],
        ),
        timeseries(
            "Deposit approval time p50 / p95",
            Q(quantile(0.5, APPROVAL, "psp", var("psp")), "{{psp}} p50"),
            Q(quantile(0.95, APPROVAL, "psp", var("psp")), "{{psp}} p95"),
            unit="s",
            desc="From the deposit request to its approval.",
        ),
    ]
    # the window DepositsAwaitingCallback counts deposits going stale in
    stale = src.window("DepositsAwaitingCallback", "window", "30m")
    pending = f"{PENDING}{{{var('psp')}}}"
    stuck = [
        timeseries(
            "Deposits awaiting their final callback, by PSP",
            Q(sum_by("psp", f"{PENDING}{{{var('psp')}}}"), "{{psp}}"),
            Q(
                sum_by("psp", f"{pending} - min_over_time({pending}[{stale}])"),
                f"{{{{psp}}}} went stale within {stale}",
            ),
            unit="short",
            min_=0,
            desc="The stock of deposits without a final callback 15 minutes after the "
            "request, and how many of them went stale within the last half hour: "
            "DepositsAwaitingCallback fires on the second.",
            limits=[src.limit("DepositsAwaitingCallback", "min_new", op=">=")],
            w=8,
        ),
        timeseries(
            "Oldest deposit awaiting callback",
            Q(f"max by (psp) ({PENDING_OLDEST}{{{var('psp')}}})", "{{psp}}"),
            unit="s",
            min_=0,
            links=runbook_links(src, "DepositsAwaitingCallback"),
            w=4,
        ),
        timeseries(
            "Withdrawals past SLA, by PSP",
            Q(sum_by("psp", f"{STUCK}{{{var('psp')}}}"), "{{psp}}"),
            unit="short",
            min_=0,
            limits=[src.limit("WithdrawalsStuck", "max_stuck", op=">", counts=True)],
            w=8,
        ),
        timeseries(
            "Oldest withdrawal past SLA",
            Q(f"max by (psp) ({STUCK_OLDEST}{{{var('psp')}}})", "{{psp}}"),
            unit="s",
            min_=0,
            links=runbook_links(src, "WithdrawalsStuck"),
            w=4,
        ),
        timeseries(
            "Withdrawals per minute: requested and finished",
            Q(f"{sum_by('', rate(WD_REQUESTS, var('psp')))} * 60", "requested"),
            Q(f"{sum_by('outcome', rate(WD_OUTCOMES, var('psp')))} * 60", "{{outcome}}"),
            unit="cpm",
        ),
        bargauge(
            "Chargebacks by PSP (range)",
            Q(sum_by("psp", increase(CHARGEBACKS, var("psp"))), "{{psp}}"),
            unit="short",
            desc="Charged-back deposits: each one reverses an affiliate FTD and shows up in "
            "the reconciliation.",
            links=[dashboard_link("wallet", "psp")],
            w=6,
        ),
        timeseries(
            "Approved amount per hour, by currency",
            Q(sum_by("currency", increase(AMOUNT, window="1h")), "{{currency}}"),
            unit="short",
            overrides=currency_overrides(),
            w=6,
        ),
    ]
    return Board(
        key="payments",
        description="Deposits and withdrawals: success rate against the alert lines, "
        "outcomes, PSP callbacks, pending and stuck money.",
        variables=(
            Var("geo", ATT, title="GEO"),
            Var("psp", ATT, title="PSP"),
            Var("method", ATT, title="Method"),
            Var("brand", ATT, title="Brand"),
        ),
        sections=(
            ("Now", now),
            ("Success rate", success),
            ("Declines and callbacks", declines),
            ("Pending, stuck and settled money", stuck),
        ),
        tags=("payments",),
    )
