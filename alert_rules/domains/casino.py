"""Casino: game launches failing, round results late, bets rolled back by a game provider.
Team casino; every alert is per provider (an aggregator's or studio's outage)."""

from __future__ import annotations

from collections.abc import Sequence

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
from alert_rules.series import (
    counter,
    counter_from,
    every,
    histogram,
    histogram_from,
    merge,
    series,
)
from alert_rules.series import quantile_in_bucket as q_in
from collectors.catalog import BY_NAME
from collectors.catalog.platform import LAUNCH_FAILURE_REASON

LAUNCHES = BY_NAME["igaming_casino_launches"].exposed_name
LAUNCH_FAILURES = BY_NAME["igaming_casino_launch_failures"].exposed_name
ROUNDS = BY_NAME["igaming_casino_rounds"].exposed_name
ROLLBACKS = BY_NAME["igaming_casino_rollbacks"].exposed_name
DELAY = BY_NAME["igaming_casino_round_result_delay_seconds"]

FAILURE_REASONS = LAUNCH_FAILURE_REASON.values

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
NAMES = tuple(a.name for a in ALERTS)

# -- promtool cases ----------------------------------------------------------------------

Shape = list[tuple[int, float]]  # (minutes, traffic factor)


def shape(minutes: int, surge: tuple[int, int] | None = None) -> Shape:
    """Traffic factors: 1 throughout, or 5 during ``surge`` (start, length)."""
    if surge is None:
        return [(minutes, 1.0)]
    start, length = surge
    return [(start, 1.0), (length, 5.0), (minutes - start - length, 1.0)]


def launches(
    provider: str, segments: Sequence[tuple[int, float, float]], reason: str = "timeout"
) -> list[Series]:
    """Launches: segments of (minutes, launched/min, failed/min); failures for ``reason``."""
    assert reason in FAILURE_REASONS, reason
    out = [series(LAUNCHES, counter(*[(m, ok) for m, ok, _ in segments]), provider=provider)]
    for r in FAILURE_REASONS:
        per = [(m, bad if r == reason else 0.0) for m, _, bad in segments]
        out.append(series(LAUNCH_FAILURES, counter(*per), provider=provider, reason=r))
    return out


def rounds(provider: str, segments: Sequence[tuple[int, float, float, float]]) -> list[Series]:
    """Rounds and rollbacks: segments of (minutes, completed/min, rollbacks/min, result
    delay seconds); each rollback cancels a round (a one-bet round)."""
    return [
        series(ROUNDS, counter(*[(m, c) for m, c, _, _ in segments]), provider=provider,
               outcome="completed"),
        series(ROUNDS, counter(*[(m, rb) for m, _, rb, _ in segments]), provider=provider,
               outcome="cancelled"),
        series(ROLLBACKS, counter(*[(m, rb) for m, _, rb, _ in segments]), provider=provider),
        *histogram(DELAY.name, DELAY.buckets or (),
                   [(m, c + rb, d) for m, c, rb, d in segments], provider=provider),
    ]  # fmt: skip


# provider: (launched/min, failed/min, completed rounds/min, rollbacks/min, delay seconds)
EVENING = {
    "spinworks": (40, 0.4, 600, 1, 1.5),
    "lucky_labs": (20, 0.2, 300, 0.5, 2),
    "livetable": (10, 0.1, 50, 0.2, 45),
}


def busy_evening(minutes: int, surge: tuple[int, int] | None = None) -> tuple[Series, ...]:
    """A busy evening: 1 % of launches fail, one bet in 600 rolled back, slots end in 1.5-2 s
    and live tables in 45 s. ``surge``: 5x traffic (a kickoff's half-time, a promo)."""
    s = shape(minutes, surge)
    out: list[Series] = []
    for provider, (ok, bad, done, rb, delay) in EVENING.items():
        out += launches(provider, [(m, ok * f, bad * f) for m, f in s])
        out += rounds(provider, [(m, done * f, rb * f, delay) for m, f in s])
    return merge(out)


def quiet_livetable(minutes: int) -> tuple[Series, ...]:
    """The live tables at 4 am: four launches an hour, one of which fails; twelve rounds an
    hour, one cancelled by a rollback and one whose result took two minutes."""
    launched = every(minutes, 15)
    failed = every(minutes, 60, offset=20)
    completed = every(minutes, 5)
    slow = [1.0 if i % 60 == 37 else 0.0 for i in range(minutes)]
    rolled_back = [1.0 if i % 60 == 48 else 0.0 for i in range(minutes)]
    kv = {"provider": "livetable"}
    return merge(
        series(LAUNCHES, counter_from(launched), **kv),
        *[series(LAUNCH_FAILURES, counter_from(failed if r == "timeout" else [0] * minutes),
                 **kv, reason=r) for r in FAILURE_REASONS],
        series(ROUNDS, counter_from([c + s for c, s in zip(completed, slow, strict=True)]), **kv,
               outcome="completed"),
        series(ROUNDS, counter_from(rolled_back), **kv, outcome="cancelled"),
        series(ROLLBACKS, counter_from(rolled_back), **kv),
        histogram_from(DELAY, [(completed, 45), (slow, 120), (rolled_back, 40)], **kv),
    )  # fmt: skip


def cases() -> tuple[Case, ...]:
    total = 180
    t0 = 60
    spin_normal = (600, 1, 1.5)
    return (
        silence(
            "busy evening: three providers, launches and rounds healthy",
            "normal",
            busy_evening(total),
            NAMES,
            at=range(5, total + 1, 5),
        ),
        silence(
            "5x launches and rounds for an hour, same failure and rollback rates",
            "surge",
            busy_evening(total, surge=(t0, 60)),
            NAMES,
            at=range(5, total + 1, 5),
        ),
        silence(
            "live tables at 4 am: four launches an hour, one fails; one round rolled back",
            "quiet_night",
            quiet_livetable(total),
            NAMES,
            at=range(5, total + 1, 5),
        ),
        Case(
            "lucky_labs launches time out: 40% fail for half an hour",
            "incident",
            merge(
                launches("lucky_labs", [(t0, 20, 0), (30, 12, 8), (60, 20, 0)]),
                launches("spinworks", [(150, 40, 0.4)]),
            ),
            (
                Silent(f"{t0 + 6}m"),
                Fires(f"{t0 + 15}m", {"provider": "lucky_labs"}, 0.4),
                Silent(f"{t0 + 40}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 30}m",
            alerts=("CasinoLaunchFailureRate",),
        ),
        Case(
            "livetable is down: every launch fails (unavailable)",
            "incident",
            merge(launches("livetable", [(t0, 10, 0), (30, 0, 10), (60, 10, 0)], "unavailable")),
            (
                Silent(f"{t0 + 3}m"),
                Fires(f"{t0 + 15}m", {"provider": "livetable"}, 1.0),
                Silent(f"{t0 + 45}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 30}m",
            alerts=("CasinoLaunchFailureRate",),
        ),
        Case(
            "spinworks launches fail 15% of the time, under the 20% bound",
            "guard",
            merge(launches("spinworks", [(t0, 40, 0.4), (60, 34, 6), (60, 40, 0.4)])),
            (Silent(f"{t0 + 15}m"), Silent(f"{t0 + 50}m")),
            alerts=("CasinoLaunchFailureRate",),
        ),
        Case(
            "spinworks results arrive 90 s after the first bet for an hour",
            "incident",
            merge(
                rounds("spinworks", [(t0, *spin_normal), (60, 600, 1, 90), (60, *spin_normal)]),
                rounds("livetable", [(total, 50, 0.2, 45)]),
            ),
            (
                Silent(f"{t0 + 5}m"),
                Fires(
                    f"{t0 + 15}m", {"provider": "spinworks"}, q_in(DELAY.buckets or (), 90, 0.95)
                ),
                Silent(f"{t0 + 76}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 60}m",
            alerts=("CasinoRoundResultDelay",),
        ),
        Case(
            "livetable rounds take 58 s (p95 58.5 s), under the 60 s bound",
            "guard",
            merge(rounds("livetable", [(t0, 50, 0.2, 45), (60, 50, 0.2, 58), (60, 50, 0.2, 45)])),
            (Silent(f"{t0 + 15}m"), Silent(f"{t0 + 50}m")),
            alerts=("CasinoRoundResultDelay",),
        ),
        Case(
            "spinworks times out on bets and rolls back 5% of them for 45 minutes",
            "incident",
            merge(
                rounds("spinworks", [(t0, *spin_normal), (45, 570, 30, 1.5), (75, *spin_normal)]),
                rounds("lucky_labs", [(total, 300, 0.5, 2)]),
            ),
            (
                Silent(f"{t0 + 6}m"),
                Fires(f"{t0 + 15}m", {"provider": "spinworks"}, 0.05),
                Silent(f"{t0 + 55}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 45}m",
            alerts=("CasinoRollbackSpike",),
        ),
        Case(
            "lucky_labs rolls back 1.8 bets per 100 rounds, under the 2% bound",
            "guard",
            merge(rounds("lucky_labs", [(t0, 300, 0.5, 2), (60, 491, 9, 2), (60, 300, 0.5, 2)])),
            (Silent(f"{t0 + 15}m"), Silent(f"{t0 + 50}m")),
            alerts=("CasinoRollbackSpike",),
        ),
    )


DOMAIN = Domain(
    name="casino",
    recordings=RECORDINGS,
    alerts=ALERTS,
    cases=cases,
    about="Casino: game launch failures, late round results and rollbacks, by provider.",
)
