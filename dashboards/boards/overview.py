"""Business overview: the first screen of the morning. Money in, players playing, what is
firing and what was deployed; every panel links to the team dashboard behind it.

GGR, NGR and active players are not exported (no stake or win amounts, no session
gauge): the money panels show the flows that are (approved deposits, bonus cost,
cash-outs by currency) and activity stands in for players.
"""

from __future__ import annotations

from dashboards.alerts import AlertSource
from dashboards.boards.payments import APPROVED, OUT, success_by, success_ratio
from dashboards.build import Board, Var
from dashboards.links import dashboard_link, link
from dashboards.panels import Q, alert_list, currency_overrides, stat, table, timeseries
from dashboards.promql import DEPLOY_EXPR, increase, m, rate, sum_by, var

AMOUNT = m("igaming_deposits_approved_amount")
BONUS_GRANTED = m("igaming_bonus_granted_amount")
BONUS_CONVERTED = m("igaming_bonus_converted_amount")
BONUS_FORFEITED = m("igaming_bonus_forfeited_amount")
CASHED_OUT = m("igaming_cashed_out_amount")
FTDS = m("igaming_affiliate_ftds")
REGISTRATIONS = m("igaming_affiliate_registrations")
BETS_PLACED = m("igaming_bets_placed")
BETS_SETTLED = m("igaming_bets_settled")
ROUNDS = m("igaming_casino_rounds")
KYC = m("igaming_kyc_outcomes")
DEPLOYED = m("igaming_deploy_timestamp_seconds")
BUILD = m("igaming_build")

DEPOSIT = (var("geo"), var("brand"))
FIRING = 'ALERTS{alertstate="firing"}'


def board(src: AlertSource) -> Board:
    payments = dashboard_link("payments", "geo", "brand")
    now = [
        stat(
            "Deposit success rate (15m)",
            Q(success_ratio("", "15m", *DEPOSIT)),
            unit="percentunit",
            links=[payments],
        ),
        stat(
            "Deposits approved (range)",
            Q(sum_by("", increase(OUT, APPROVED, *DEPOSIT))),
            unit="short",
            instant=True,
            decimals=0,
            links=[payments],
        ),
        stat(
            "FTDs of referred players (range)",
            Q(sum_by("", increase(FTDS))),
            unit="short",
            instant=True,
            decimals=0,
            desc="First-time deposits of players referred by affiliates: the only FTD "
            "counter exported (organic FTDs are not counted).",
            links=[dashboard_link("affiliates")],
        ),
        stat(
            "Bets placed (range)",
            Q(sum_by("", increase(BETS_PLACED))),
            unit="short",
            instant=True,
            decimals=0,
            links=[dashboard_link("sportsbook")],
        ),
        stat(
            "Casino rounds (range)",
            Q(sum_by("", increase(ROUNDS))),
            unit="short",
            instant=True,
            decimals=0,
            links=[dashboard_link("casino")],
        ),
        stat(
            "Alerts firing",
            Q(f"count({FIRING}) or vector(0)"),
            unit="short",
            instant=True,
            desc="Prometheus alerts firing now (pitwatch rules).",
        ),
    ]
    money = [
        timeseries(
            "Deposits per minute by outcome",
            Q(f"{sum_by('outcome', rate(OUT, *DEPOSIT))} * 60", "{{outcome}}"),
            unit="cpm",
            stack=True,
            links=[payments],
            w=8,
        ),
        success_by(src, "geo", "DepositSuccessRateDropGeo"),
        timeseries(
            "Cash in: approved deposit amount per hour, by currency",
            Q(sum_by("currency", increase(AMOUNT, window="1h")), "{{currency}}"),
            unit="short",
            overrides=currency_overrides(),
            desc="Trend of approved deposits in major units. GGR and NGR cannot be shown: "
            "stake, win and tax amounts are not exported.",
            w=4,
        ),
        table(
            "Money flows by currency (range)",
            Q(sum_by("currency", increase(AMOUNT)), column="deposits approved", unit="short"),
            Q(sum_by("currency", increase(BONUS_GRANTED)), column="bonus granted", unit="short"),
            Q(sum_by("currency", increase(BONUS_CONVERTED)), column="bonus cost", unit="short"),
            Q(
                sum_by("currency", increase(BONUS_FORFEITED)),
                column="bonus forfeited",
                unit="short",
            ),
            Q(sum_by("currency", increase(CASHED_OUT)), column="cashed out", unit="short"),
            unit="short",
            sort_by="deposits approved",
            desc="Major units per currency. Bonus cost is bonus money converted to cash; "
            "cashed out is what early cash-outs paid. The closest the exported metrics come "
            "to GGR/NGR.",
            w=12,
        ),
        timeseries(
            "Bonus money and cash-outs per hour, by currency",
            Q(sum_by("currency", increase(BONUS_GRANTED, window="1h")), "granted {{currency}}"),
            Q(sum_by("currency", increase(BONUS_CONVERTED, window="1h")), "converted {{currency}}"),
            Q(sum_by("currency", increase(BONUS_FORFEITED, window="1h")), "forfeited {{currency}}"),
            Q(sum_by("currency", increase(CASHED_OUT, window="1h")), "cash-out {{currency}}"),
            unit="short",
            w=12,
        ),
    ]
    activity = [
        timeseries(
            "Sportsbook: bets placed and settled per minute",
            Q(f"{sum_by('', rate(BETS_PLACED))} * 60", "placed"),
            Q(f"{sum_by('', rate(BETS_SETTLED))} * 60", "settled"),
            unit="cpm",
            links=[dashboard_link("sportsbook")],
            w=8,
        ),
        timeseries(
            "Casino: rounds per minute by outcome",
            Q(f"{sum_by('outcome', rate(ROUNDS))} * 60", "{{outcome}}"),
            unit="cpm",
            stack=True,
            links=[dashboard_link("casino")],
            w=8,
        ),
        timeseries(
            "Referred registrations and FTDs per hour",
            Q(sum_by("", increase(REGISTRATIONS, window="1h")), "registrations"),
            Q(sum_by("", increase(FTDS, window="1h")), "FTDs"),
            Q(
                sum_by("", increase(KYC, 'status="approved"', var("geo"), window="1h")),
                "KYC approved",
            ),
            unit="short",
            desc="Active players are not exported; registrations, KYC approvals and FTDs "
            "are the player flow that is.",
            links=[dashboard_link("affiliates"), dashboard_link("kyc", "geo")],
            w=8,
        ),
    ]
    alerts_and_deploys = [
        alert_list(
            "Alerts firing and pending",
            desc="Grafana's alert list: pitwatch's Prometheus rules appear here as data "
            "source-managed rules.",
            w=8,
            h=9,
        ),
        table(
            "Firing alerts",
            Q(f"max by (alertname, severity, team) ({FIRING})", column="firing"),
            unit="short",
            hide=("firing",),
            sort_by="severity",
            field_links={
                "alertname": link(
                    "Runbook", f"{src.runbook_base}/${{__value.raw}}.md", new_tab=True
                )
            },
            desc="From Prometheus' ALERTS series; click an alert name for its runbook.",
            w=8,
            h=9,
        ),
        table(
            "Last deploys",
            Q(DEPLOY_EXPR, column="deployed at", unit="dateTimeAsIso"),
            unit="dateTimeAsIso",
            sort_by="deployed at",
            desc="Every platform version still reporting, with its deploy time (the deploy "
            "annotation on every dashboard marks the same moments).",
            w=5,
            h=9,
        ),
        stat(
            "Since the last deploy",
            Q(f"time() - max({DEPLOYED})"),
            unit="s",
            instant=True,
            graph=False,
            desc="Alerts that suspect a deploy name it when it went out in the last hour.",
            w=3,
            h=9,
        ),
    ]
    return Board(
        key="overview",
        description="Money in, player activity, firing alerts and deploys, with links to every "
        "team's dashboard.",
        variables=(
            Var("geo", m("igaming_deposit_attempts"), title="GEO"),
            Var("brand", m("igaming_deposit_attempts"), title="Brand"),
        ),
        sections=(
            ("Now", now),
            ("Money", money),
            ("Players and activity", activity),
            ("Alerts and deploys", alerts_and_deploys),
        ),
        tags=("overview",),
        time_from="now-24h",
    )
