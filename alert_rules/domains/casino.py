"""Casino: game launches failing, round results late, bets rolled back by a game provider.
Team casino; every alert is per provider (an aggregator's or studio's outage)."""

from __future__ import annotations

from alert_rules.model import Alert, Catch, Domain, Param, Recording, Runbook
from collectors.catalog import BY_NAME

LAUNCHES = BY_NAME["igaming_casino_launches"].exposed_name
LAUNCH_FAILURES = BY_NAME["igaming_casino_launch_failures"].exposed_name
ROUNDS = BY_NAME["igaming_casino_rounds"].exposed_name
ROLLBACKS = BY_NAME["igaming_casino_rollbacks"].exposed_name
DELAY = BY_NAME["igaming_casino_round_result_delay_seconds"]


RECORDINGS = (
    Recording(
        "provider:igaming_casino_launch_attempts:increase15m",
        f"sum by (provider) (increase({LAUNCHES}[15m]))\n+\n"
        f"sum by (provider) (increase({LAUNCH_FAILURES}[15m]))",
    ),
    Recording(
        "provider:igaming_casino_launch_failures:ratio_rate15m",
        f"sum by (provider) (rate({LAUNCH_FAILURES}[15m]))\n/\n(\n"
        f"  sum by (provider) (rate({LAUNCHES}[15m]))\n  +\n"
        f"  sum by (provider) (rate({LAUNCH_FAILURES}[15m]))\n)",
    ),
    Recording(
        "provider:igaming_casino_rollbacks:ratio_rate15m",
        f"sum by (provider) (rate({ROLLBACKS}[15m]))\n/\nsum by (provider) (rate({ROUNDS}[15m]))",
    ),
)

LAUNCH_FAILURE_RATE = Alert(
    name="CasinoLaunchFailureRate",
    domain="casino",
    team="casino",
    severity="warning",
    summary="Many game launches with a provider fail.",
    description="{value:pct} of game launches with {provider} failed over the last 15 minutes.",
    expr="""provider:igaming_casino_launch_failures:ratio_rate15m > $max_ratio
and on(provider) provider:igaming_casino_launch_attempts:increase15m >= $min_launches""",
    for_="5m",
    scope=("provider",),
    dashboard="casino",
    detection="20m",
    params={
        "max_ratio": Param(0.2, "share of failed launches among launch attempts that fires"),
        "min_launches": Param(30, "launch attempts (launched + failed) needed in 15 minutes"),
    },
    # Only incidents that do fail launches (result delays alone are the next alert's).
    catches=(
        Catch("game_provider_errors", {"provider": "provider"}, needs=("launch_failure_rate",)),
    ),
    runbook=Runbook(
        meaning="Over 15 minutes more than `max_ratio` of the attempts to open a game of "
        "the provider failed: the provider refused the session (4xx: refused), answered "
        "without one (invalid_answer), was unreachable or answered 5xx (unavailable), or "
        "did not answer in time (timeout).",
        impact="Players click a game tile and get an error: they leave the lobby or the "
        "site; a provider with live tables or the jackpot slots takes much of the casino's "
        "revenue with it.",
        diagnosis=(
            "Break the failures down by reason on the casino dashboard "
            "(igaming_casino_launch_failures_total by reason).",
            "unavailable/timeout: check the provider's status page and our outbound calls to "
            "{games_base_url}/providers/<provider>/sessions (network, DNS, certificates).",
            "refused/invalid_answer: look at the provider's answers in the platform logs; a "
            "config change on either side (currency, game ids, credentials) is the usual "
            "cause; compare with our last deploy.",
            "List the recent failed launches: pw_game_launches with outcome failed, by game "
            "and reason: one game or all of the provider's?",
        ),
        mitigation=(
            "Hide the provider's games (or the failing ones) in the lobby until launches work, "
            "so players stop hitting errors.",
            "Open a ticket with the provider with the failure reasons and times.",
        ),
    ),
)

ROUND_RESULT_DELAY = Alert(
    name="CasinoRoundResultDelay",
    domain="casino",
    team="casino",
    severity="warning",
    summary="A provider's game rounds take long to get their result.",
    description=(
        "95th percentile time from first bet to result of {provider} rounds is {value:dur}."
    ),
    expr=f"""histogram_quantile(0.95,
  sum by (provider, le) (rate({DELAY.name}_bucket[$window]))
) > $p95_seconds
and on(provider) sum by (provider) (increase({DELAY.name}_count[$window])) >= $min_rounds""",
    for_="10m",
    scope=("provider",),
    dashboard="casino",
    detection="20m",
    params={
        "p95_seconds": Param(
            60,
            "p95 round duration that fires, in seconds (keep it on a "
            "bucket bound: 10, 30, 60; live tables run 30-60 s)",
        ),
        "window": Param("15m", "window of the percentile and of the volume guard"),
        "min_rounds": Param(50, "rounds ended in the window"),
    },
    catches=(
        Catch("game_provider_errors", {"provider": "provider"}, needs=("result_delay_seconds",)),
    ),
    runbook=Runbook(
        meaning="More than 5 % of the provider's rounds that ended over `window` took more "
        "than `p95_seconds` from their first bet to their result (a win, or a cancellation "
        "when the bets were rolled back). Slot rounds end in seconds and live tables within "
        "a minute, so this means results come late. Rounds that never get a result are not "
        "counted here: look at open rounds too.",
        impact="Players' stakes are taken but their results (and wins) hang: spinning reels, "
        "balances that do not update, complaints and abandoned sessions.",
        diagnosis=(
            "Look at the provider's seamless-wallet traffic on the casino dashboard: are win "
            "requests arriving, and are some refused (igaming_casino_seamless_refusals_total "
            "by code: INVALID_SIGNATURE, INVALID_SESSION, ROUND_CLOSED)?",
            "Refused wins are retried by the provider: a refusal on our side (signature, "
            "session expiry) delays every result. Check our wallet endpoint's latency too.",
            "List open rounds of the provider oldest first (pw_casino_rounds with status "
            "open, by started_at) and the slowest ended ones (result_delay_seconds).",
        ),
        mitigation=(
            "Fix a refusal on our side (rotated secret in settings.game_provider_secrets, "
            "session handling) first: the provider's retries then close the rounds.",
            "Otherwise open a ticket with the provider and hide the affected games if "
            "results hang for minutes.",
        ),
    ),
)

ROLLBACK_SPIKE = Alert(
    name="CasinoRollbackSpike",
    domain="casino",
    team="casino",
    severity="warning",
    summary="A provider rolls back an unusual share of bets.",
    description=(
        "{provider} rolled back bets amounting to {value:pct} of its ended rounds over the "
        "last 15 minutes."
    ),
    expr=f"""provider:igaming_casino_rollbacks:ratio_rate15m > $max_ratio
and on(provider) sum by (provider) (increase({ROLLBACKS}[15m])) >= $min_rollbacks""",
    for_="5m",
    scope=("provider",),
    dashboard="casino",
    detection="20m",
    params={
        "max_ratio": Param(0.02, "rollbacks per ended round that fire (0.02 = 2 per 100)"),
        "min_rollbacks": Param(20, "rollbacks needed in 15 minutes"),
    },
    # A slow wallet (every SQL statement waits) makes providers time out and roll back.
    catches=(Catch("db_slowdown"),),
    runbook=Runbook(
        meaning="The provider rolled back more than `max_ratio` bets per round it ended over "
        "15 minutes, and at least `min_rollbacks` of them. A provider rolls a bet back when "
        "it did not get (or could not trust) our answer to it: timeouts on our wallet "
        "endpoint, network trouble, or a fault on the provider's side.",
        impact="Rounds are cancelled under the players: stakes come back, so balances stay "
        "right, but games stop mid-session and players leave. A provider that rolls back "
        "did not trust our answers: the same fault soon loses wins too.",
        diagnosis=(
            "Check our seamless-wallet endpoint's latency and errors (platform dashboard, "
            "route /casino/seamless/{provider}/{action}): a slow wallet makes providers time "
            "out and roll back.",
            "Check for database lock waits on the players' rows (requests are serialised per "
            "player) and for a deploy in the last hour.",
            "List the rollbacks: pw_casino_transactions with kind rollback for the provider, "
            "by created_at; their reference bets' http_status and created_at show whether we "
            "answered late or not at all.",
        ),
        mitigation=(
            "If our wallet is slow, fix or scale it (roll back a bad deploy); the rollbacks "
            "stop with the timeouts.",
            "If the provider is at fault, open a ticket with the rollback ids and times.",
        ),
    ),
)

ALERTS = (LAUNCH_FAILURE_RATE, ROUND_RESULT_DELAY, ROLLBACK_SPIKE)


DOMAIN = Domain(
    name="casino",
    recordings=RECORDINGS,
    alerts=ALERTS,
    about="Casino: game launch failures, late round results and rollbacks, by provider.",
)
