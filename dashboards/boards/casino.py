"""Casino: do games launch, do rounds end, does each provider answer in time, and what do
providers roll back. One row per question, provider as the variable."""

from __future__ import annotations

from dashboards.alerts import AlertSource
from dashboards.build import Board, Var
from dashboards.panels import Q, stat, timeseries
from dashboards.promql import hist, increase, m, quantile, rate, ratio, sum_by, var

LAUNCHES = m("igaming_casino_launches")
LAUNCH_FAILURES = m("igaming_casino_launch_failures")
ROUNDS = m("igaming_casino_rounds")
ROLLBACKS = m("igaming_casino_rollbacks")
RESULT_DELAY = hist("igaming_casino_round_result_delay_seconds")
REFUSALS = m("igaming_casino_seamless_refusals")
REPLAYS = m("igaming_casino_seamless_replays")

PROVIDER = var("provider")


def failure_ratio(src: AlertSource) -> str:
    """Failed launches among launch attempts (launched + failed) over 15 minutes, per
    provider: the alert's recording rule once registered."""
    recorded = src.recording("provider:igaming_casino_launch_failures:ratio_rate15m")
    if recorded:
        return f"{recorded}{{{PROVIDER}}}"
    failed = sum_by("provider", rate(LAUNCH_FAILURES, PROVIDER, window="15m"))
    launched = sum_by("provider", rate(LAUNCHES, PROVIDER, window="15m"))
    return ratio(failed, f"({launched} + {failed})")


def rollback_ratio(src: AlertSource) -> str:
    """Rollbacks per ended round over 15 minutes, per provider."""
    recorded = src.recording("provider:igaming_casino_rollbacks:ratio_rate15m")
    if recorded:
        return f"{recorded}{{{PROVIDER}}}"
    return ratio(
        sum_by("provider", rate(ROLLBACKS, PROVIDER, window="15m")),
        sum_by("provider", rate(ROUNDS, PROVIDER, window="15m")),
    )


def board(src: AlertSource) -> Board:
    launch_limit = src.limit("CasinoLaunchFailureRate", "max_ratio", op=">")
    delay_limit = src.limit("CasinoRoundResultDelay", "p95_seconds", op=">")
    delay_window = src.window("CasinoRoundResultDelay", "window", "15m")
    rollback_limit = src.limit("CasinoRollbackSpike", "max_ratio", op=">")
    now = [
        stat(
            "Game launches per minute",
            Q(f"{sum_by('', rate(LAUNCHES, PROVIDER))} * 60"),
            unit="cpm",
        ),
        stat(
            "Launch failure ratio (15m, worst provider)",
            Q(f"max({failure_ratio(src)})"),
            unit="percentunit",
            limits=[launch_limit],
        ),
        stat(
            "Rounds per minute",
            Q(f"{sum_by('', rate(ROUNDS, PROVIDER))} * 60"),
            unit="cpm",
        ),
        stat(
            f"Round result delay p95 ({delay_window}, worst provider)",
            Q(f"max({quantile(0.95, RESULT_DELAY, 'provider', PROVIDER, window=delay_window)})"),
            unit="s",
            limits=[delay_limit],
        ),
        stat(
            "Rollbacks per ended round (15m, worst provider)",
            Q(f"max({rollback_ratio(src)})"),
            unit="percentunit",
            limits=[rollback_limit],
        ),
        stat(
            "Rollbacks (range)",
            Q(sum_by("", increase(ROLLBACKS, PROVIDER))),
            unit="short",
            instant=True,
            decimals=0,
        ),
    ]
    launches = [
        timeseries(
            "Launches and failed launches per minute, by provider",
            Q(f"{sum_by('provider', rate(LAUNCHES, PROVIDER))} * 60", "{{provider}} launched"),
            Q(f"{sum_by('provider', rate(LAUNCH_FAILURES, PROVIDER))} * 60", "{{provider}} failed"),
            unit="cpm",
            w=8,
        ),
        timeseries(
            "Launch failure ratio by provider (15m)",
            Q(failure_ratio(src), "{{provider}}"),
            unit="percentunit",
            min_=0,
            limits=[launch_limit],
            w=8,
        ),
        timeseries(
            "Failed launches per minute by reason",
            Q(f"{sum_by('reason', rate(LAUNCH_FAILURES, PROVIDER))} * 60", "{{reason}}"),
            unit="cpm",
            stack=True,
            w=8,
        ),
    ]
    rounds = [
        timeseries(
            "Rounds per minute by provider and outcome",
            Q(
                f"{sum_by('provider, outcome', rate(ROUNDS, PROVIDER))} * 60",
                "{{provider}} {{outcome}}",
            ),
            unit="cpm",
            stack=True,
            w=8,
        ),
        timeseries(
            f"Round result delay p50 / p95 by provider ({delay_window})",
            Q(
                quantile(0.5, RESULT_DELAY, "provider", PROVIDER, window=delay_window),
                "{{provider}} p50",
            ),
            Q(
                quantile(0.95, RESULT_DELAY, "provider", PROVIDER, window=delay_window),
                "{{provider}} p95",
            ),
            unit="s",
            desc="From a round's first bet to its result.",
            limits=[delay_limit],
            w=8,
        ),
        timeseries(
            "Rollbacks per ended round by provider (15m)",
            Q(rollback_ratio(src), "{{provider}}"),
            unit="percentunit",
            min_=0,
            desc="Casino bets the provider rolled back (the stake goes back to the player), "
            "per ended round.",
            limits=[rollback_limit],
            w=8,
        ),
    ]
    seamless = [
        timeseries(
            "Seamless-wallet refusals per minute by code",
            Q(f"{sum_by('code', rate(REFUSALS, PROVIDER))} * 60", "{{code}}"),
            unit="cpm",
            stack=True,
            desc="Error codes we answered the provider's wallet calls with "
            "(INSUFFICIENT_FUNDS is a player's; the others are integration trouble).",
            w=8,
        ),
        timeseries(
            "Seamless-wallet refusals per minute by action",
            Q(f"{sum_by('action', rate(REFUSALS, PROVIDER))} * 60", "{{action}}"),
            unit="cpm",
            stack=True,
            w=8,
        ),
        timeseries(
            "Seamless-wallet retries answered from the first answer, per minute",
            Q(f"{sum_by('provider', rate(REPLAYS, PROVIDER))} * 60", "{{provider}}"),
            unit="cpm",
            desc="Provider retries with a transaction id we already answered: rising replays "
            "mean the provider does not get our answers in time.",
            w=8,
        ),
    ]
    return Board(
        key="casino",
        description="Game launches and failures, rounds, rollbacks and round-result delay by "
        "provider, seamless-wallet errors.",
        variables=(Var("provider", LAUNCHES, title="Provider"),),
        sections=(
            ("Now", now),
            ("Launches", launches),
            ("Rounds and rollbacks", rounds),
            ("Seamless wallet", seamless),
        ),
        tags=("casino",),
    )
