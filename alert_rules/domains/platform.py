"""Platform: SLOs on the player-facing flows (log-in, deposit, bet placement) with
multiwindow multi-burn-rate alerts, the scrape targets, the state exporter's collectors and
the outbox consumers. Team sre; the on-call SRE reads these first.

SLOs are declared once in ``SLOS``. For each SLO and window the recording rules compute the
burn rate (error ratio divided by the error budget ``1 - objective``, so 1 spends exactly
the budget over the SLO period, 30 days) and the request volume; one alert per tier reads
them for every SLO (Google SRE workbook, chapter 5: 1h/5m at 14.4x and 6h/30m at 6x page,
3d/6h at 1x opens a ticket). A window without a request has burnt nothing: its burn rate
is 0, never NaN or +Inf, and every tier needs a minimum of requests in its long window so
that a handful of requests at night, one of which fails, cannot page anyone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from alert_rules.config import Jobs
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
from alert_rules.series import _le as bucket_label
from alert_rules.series import counter_from, every, gauge, merge, series
from collectors.catalog import BY_NAME
from collectors.catalog.platform import HTTP_BUCKETS

REQ = BY_NAME["igaming_http_requests"].exposed_name
DUR = BY_NAME["igaming_http_request_duration_seconds"].name
BUILD = BY_NAME["igaming_build"].exposed_name
DEPLOYED = BY_NAME["igaming_deploy_timestamp_seconds"].name
COLLECTOR_UP = BY_NAME["pitwatch_collector_up"].name
OUTBOX_AGE = BY_NAME["igaming_outbox_backlog_oldest_age_seconds"].name
JOBS = Jobs()

# -- the SLOs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Slo:
    """One SLO on a route template of the platform. Availability (``threshold`` None):
    bad = 5xx answers (a 4xx is the client's fault). Latency: bad = requests slower than
    ``threshold`` seconds, which must be a bucket bound of the duration histogram."""

    name: str
    route: str
    method: str
    objective: float
    threshold: float | None = None

    def __post_init__(self) -> None:
        if self.threshold is not None and self.threshold not in HTTP_BUCKETS:
            raise ValueError(f"SLO {self.name}: {self.threshold}s is not a bucket bound")
        if not 0 < self.objective < 1:
            raise ValueError(f"SLO {self.name}: objective {self.objective} not in (0, 1)")

    @property
    def budget(self) -> str:
        """The error budget as a PromQL literal (0.001, not 0.0010000000000000009)."""
        return f"{1 - self.objective:.10g}"


LOGIN = ("/sessions", "POST")
DEPOSIT = ("/cashier/deposits", "POST")
BET = ("/sportsbook/bets", "POST")

SLOS = (
    Slo("login-availability", *LOGIN, objective=0.999),
    Slo("login-latency", *LOGIN, objective=0.99, threshold=0.5),
    Slo("deposit-availability", *DEPOSIT, objective=0.999),
    # A deposit calls the PSP synchronously: a second is the budget for that round trip.
    Slo("deposit-latency", *DEPOSIT, objective=0.99, threshold=1.0),
    Slo("bet-placement-availability", *BET, objective=0.999),
    Slo("bet-placement-latency", *BET, objective=0.99, threshold=0.5),
)
BURN_WINDOWS = ("5m", "30m", "1h", "6h", "3d")
VOLUME_WINDOWS = ("1h", "6h", "3d")  # the long window of each tier carries the traffic guard


def _objective(slo: Slo) -> str:
    share = f"{slo.objective * 100:g} %"
    if slo.threshold is None:
        return f"{share} of requests answered without a 5xx"
    return f"{share} of requests answered within {slo.threshold:g} s"


def _matchers(slo: Slo, **extra: str) -> str:
    kv = {"route": slo.route, "http_method": slo.method, **extra}
    return "{" + ",".join(f'{k}="{v}"' for k, v in kv.items()) + "}"


def _total(slo: Slo, fn: str, window: str) -> str:
    if slo.threshold is None:
        return f"sum({fn}({REQ}{_matchers(slo)}[{window}]))"
    return f"sum({fn}({DUR}_count{_matchers(slo)}[{window}]))"


def _bad(slo: Slo, window: str) -> str:
    if slo.threshold is None:
        return f"sum(rate({REQ}{_matchers(slo, status_class='5xx')}[{window}]))"
    fast = f"{DUR}_bucket{_matchers(slo, le=bucket_label(slo.threshold))}"
    return f"(\n    {_total(slo, 'rate', window)}\n    -\n    sum(rate({fast}[{window}]))\n  )"


def _with_slo(slo: Slo, expr: str) -> str:
    head = f"# {slo.name}: {slo.method} {slo.route}, {_objective(slo)}"
    body = "\n".join("  " + line for line in expr.splitlines())
    return f'{head}\nlabel_replace(\n{body},\n  "slo", "{slo.name}", "", ""\n)'


def _burn(slo: Slo, w: str) -> str:
    # No request in the window: the division is empty (its denominator is filtered by
    # > 0) and `or vector(0)` makes the burn 0, as when no 5xx series exists yet.
    return _with_slo(
        slo,
        f"(\n  {_bad(slo, w)}\n  /\n  ({_total(slo, 'rate', w)} > 0)\n"
        f"  or vector(0)\n) / {slo.budget}",
    )


def _volume(slo: Slo, w: str) -> str:
    return _with_slo(slo, f"{_total(slo, 'increase', w)} or vector(0)")


# One rule per window for all SLOs (`or` of one term per SLO, each labelled `slo`): the
# record name is unique, which promtool's duplicate-rule lint requires.
RECORDINGS = tuple(
    Recording(f"slo:burn_rate:ratio_rate{w}", "\nor\n".join(_burn(s, w) for s in SLOS))
    for w in BURN_WINDOWS
) + tuple(
    Recording(f"slo:requests:increase{w}", "\nor\n".join(_volume(s, w) for s in SLOS))
    for w in VOLUME_WINDOWS
)

# -- SLO alerts ----------------------------------------------------------------------------

_SLO_TABLE = "; ".join(f"`{s.name}`: {s.method} {s.route}, {_objective(s)}" for s in SLOS)

_SLO_DIAGNOSIS = (
    "Find the SLO's route in the `slo` label (`login-*` is POST /sessions, `deposit-*` POST "
    "/cashier/deposits, `bet-placement-*` POST /sportsbook/bets) and open the platform "
    "dashboard: error ratio or latency per route, burn rate per window.",
    "If the description names a deploy, compare the burn's start with the deploy time: a "
    "match makes the deploy the first suspect.",
    "Availability: read the platform log for the route's 500s (stack traces); latency: follow "
    "an exemplar of the slow bucket to its trace (Grafana, duration panel) and find the span "
    "that takes the time.",
    "Check the shared dependencies: database pool (`igaming_db_pool_checked_out_connections` "
    "against `igaming_db_pool_size_connections`), query durations, and for deposits the PSPs "
    "(PspDown, PspCallbacksDelayed); for bets the odds feed and market suspensions.",
)
_SLO_MITIGATION = (
    "Roll back the deploy named in the description when the burn followed it.",
    "Database pool exhausted: find and kill the long transactions, then raise the pool size "
    "or shed load (rate limit the noisiest client).",
    "Deposits failing or slow at one PSP: route the GEOs on it to the backup PSP (cashier "
    "routing table) and tell the payments on-call.",
    "Tell customer support which flow is degraded; post on the status page when players "
    "notice (log-in or deposits).",
)


def _tier(burn: str, short: str, volume: str, factor: str, min_requests: str) -> str:
    return f"""(
  slo:burn_rate:ratio_rate{burn} > ${factor}
  and on(slo) slo:burn_rate:ratio_rate{short} > ${factor}
  and on(slo) slo:requests:increase{volume} >= ${min_requests}
)"""


SLO_FAST = Alert(
    name="SloErrorBudgetBurnFast",
    domain="platform",
    team="sre",
    severity="critical",
    summary="An SLO burns its error budget fast enough to exhaust it within days.",
    description=(
        "SLO {slo} burns its error budget at {value:num}x the sustainable rate (over the "
        "last hour; over the last 6 hours when only the slower paging condition holds)."
    ),
    expr=_tier("1h", "5m", "1h", "burn_1h", "min_requests_1h")
    + "\nor on(slo)\n"
    + _tier("6h", "30m", "6h", "burn_6h", "min_requests_6h"),
    for_="2m",
    scope=("slo",),
    dashboard="platform",
    detection="15m",
    deploy_hint=True,
    params={
        "burn_1h": Param(
            14.4, "burn rate over 1h and 5m that pages (2 % of a 30-day budget in an hour)"
        ),
        "burn_6h": Param(6, "burn rate over 6h and 30m that pages (5 % of the budget in 6h)"),
        "min_requests_1h": Param(
            200,
            "requests the SLO's route needs in the hour (at 99.9 % "
            "a page then takes at least 3 failures)",
        ),
        "min_requests_6h": Param(
            600, "requests the SLO's route needs in 6 hours (at least 4 failures at 99.9 %)"
        ),
    },
    runbook=Runbook(
        meaning="Players fail to log in, deposit or place bets, or wait too long, at a pace "
        "that would spend the SLO's whole 30-day error budget in days: the burn rate (error "
        "ratio divided by the budget, 1 - objective) exceeds `burn_1h` over both the last hour "
        "and the last 5 minutes, or `burn_6h` over both 6 hours and 30 minutes. The short "
        "window makes the page resolve within minutes of the fix. The SLOs: "
        + _SLO_TABLE
        + ". The description's value is the burn rate; 30 days divided by it is how long "
        "the budget lasts. Detection depends on the burn: a hard failure (a fifth of the "
        "route's requests failing, or most of them slow) pages within 15 minutes, a burn of "
        "b pages after about 60 x 14.4 / b minutes (1h tier) or 360 x 6 / b (6h tier). "
        "Below the minimum of requests in the long window nothing pages: the slow-burn "
        "ticket (SloErrorBudgetBurnSlow) catches low-traffic routes over days.",
        impact="Players cannot log in, fund their accounts or bet: revenue lost by the minute "
        "(bets at kickoff do not come back), support tickets, and a month's reliability "
        "spent in days.",
        diagnosis=_SLO_DIAGNOSIS,
        mitigation=_SLO_MITIGATION,
    ),
)

SLO_SLOW = Alert(
    name="SloErrorBudgetBurnSlow",
    domain="platform",
    team="sre",
    severity="warning",
    summary="An SLO has spent its error budget faster than sustainable for days.",
    description=(
        "SLO {slo} burned its error budget at {value:num}x the sustainable rate over the "
        "last 3 days, and still burns above it over the last 6 hours."
    ),
    expr=_tier("3d", "6h", "3d", "burn_3d", "min_requests_3d"),
    for_="15m",
    scope=("slo",),
    dashboard="platform",
    detection="1d",
    params={
        "burn_3d": Param(
            1, "burn rate over 3d and 6h that opens a ticket (10 % of a 30-day budget in 3 days)"
        ),
        "min_requests_3d": Param(
            3000, "requests the SLO's route needs in 3 days (at least 4 failures at 99.9 %)"
        ),
    },
    runbook=Runbook(
        meaning="The SLO spent its error budget faster than the objective allows over the "
        "last 3 days (burn rate above `burn_3d`), and still does over the last 6 hours (so "
        "a finished incident stops the ticket within 6 hours). A low, steady leak: too slow "
        "to page, fast enough to miss the objective this month. The SLOs: "
        + _SLO_TABLE
        + ". Detection depends on the burn: a 3x burn after a healthy history fires within a "
        "day, a burn just above 1x takes the full 3 days.",
        impact="No outage now, but the month's reliability target will be missed if nothing "
        "changes; small groups of players keep hitting errors or slow answers.",
        diagnosis=(
            "Compare the 3d and 6h burn rates on the platform dashboard: a steady leak or the "
            "tail of an incident that already paged (SloErrorBudgetBurnFast)?",
            *_SLO_DIAGNOSIS[2:],
            "List the route's 5xx or slow requests by hour of day and by deploy: a leak that "
            "started with a release, or one that follows traffic peaks (capacity).",
        ),
        mitigation=(
            "Open a ticket for the owning team with the error or latency pattern found.",
            "Roll back or fix the release that started the leak; add capacity if it follows "
            "the peaks.",
            "If the objective is wrong for the route (e.g. a PSP's normal latency), change it "
            "in the SLO table (alert_rules/domains/platform.py) with the product owner, not "
            "the alert.",
        ),
    ),
)

# -- scrape targets, collectors, outbox -----------------------------------------------------


def _target_down_expr(job: str) -> str:
    # The value is the number of targets down (none up); absent(): the targets left
    # service discovery (or were never found) and `up` is stale: value 0 targets.
    up = f'up{{job="{job}"}}'
    return (
        f"count by (job) ({up} == 0)\nunless on(job) max by (job) ({up}) > 0\nor\nabsent({up}) - 1"
    )


PLATFORM_DOWN = Alert(
    name="PlatformDown",
    domain="platform",
    team="sre",
    severity="critical",
    summary="Prometheus cannot scrape any instance of the platform.",
    description=(
        "No target of job {job} has answered a scrape for 2 minutes ({value:int} down, none "
        "up; 0 means none is discovered). Business alerts are inhibited while this fires."
    ),
    expr=_target_down_expr(JOBS.platform),
    for_="2m",
    scope=("job",),
    dashboard="platform",
    detection="5m",
    runbook=Runbook(
        meaning=f"Every `up` series of job `{JOBS.platform}` is 0 (scrapes fail: the process "
        "is down, hangs, or the network refuses), or there is none at all (the instances "
        "left service discovery; staleness-safe through `absent`). One instance down among "
        "several does not fire: the SLO alerts measure what players feel. Alertmanager "
        "inhibits the business teams' alerts (payments, sportsbook, casino, affiliates, "
        "compliance) while this fires: their metrics come from the platform.",
        impact="Most likely a full outage: no log-in, deposit, bet or game for any player, "
        "and every business alert is blind. At best the platform serves players but cannot "
        "be observed.",
        diagnosis=(
            "Open the platform's health endpoint (port 8600 by default) and its internal "
            "/metrics listener (port 9600, PITWATCH_METRICS_PORT) from the Prometheus host: "
            "refused, timing out, or answering?",
            "Check the process or containers (`pitwatch platform serve`): restarting, OOM "
            "killed, stuck on the database at start-up? Read the last lines of its log.",
            "If players are served (support, synthetic check) but scrapes fail, look at the "
            "network path and Prometheus' target page (`/targets`) for the error.",
            "If the job has no target at all, check the service discovery and a recent "
            "change to the Prometheus configuration (job name renamed?).",
        ),
        mitigation=(
            "Restart the platform; roll back the last deploy if it crashes on start-up.",
            "Database unreachable: fail over or restore the database first, the platform follows.",
            "Post on the status page; tell customer support and the business teams that "
            "their alerts are inhibited.",
        ),
    ),
)

STATE_EXPORTER_DOWN = Alert(
    name="StateExporterDown",
    domain="platform",
    team="sre",
    # Warning, not a page: the exporter is read-only and serves no player; the alerts it
    # feeds (stuck withdrawals, stale pending deposits, ledger invariants) promise
    # detection in tens of minutes to hours, and the nightly reconciliation is the second
    # line for money. Working hours are soon enough, a night is not lost money.
    severity="warning",
    summary="Prometheus cannot scrape the state exporter: the state alerts are blind.",
    description=(
        "No target of job {job} has answered a scrape for 10 minutes ({value:int} down, none "
        "up; 0 means none is discovered): the state metrics (withdrawals, pending deposits, "
        "ledger, outbox) are missing and their alerts blind."
    ),
    expr=_target_down_expr(JOBS.state),
    for_="10m",
    scope=("job",),
    dashboard="platform",
    detection="15m",
    runbook=Runbook(
        meaning=f"Every `up` series of job `{JOBS.state}` (the state exporter, `pitwatch "
        "collect serve`, port 9108) is 0, or the job has no target at all (staleness-safe "
        "through `absent`). A collector failing inside a running exporter is "
        "CollectorFailing instead.",
        impact="Players are not affected. The alerts on database state go silent: stuck "
        "withdrawals, stale pending deposits, settlement backlog, stale odds, KYC backlog, "
        "outbox backlog, dead-lettered postbacks, the incremental ledger check.",
        diagnosis=(
            "Fetch /metrics on port 9108 from the Prometheus host: refused, timing out, or "
            "answering?",
            "Check the exporter process and its log: crashed at start-up (bad "
            "PITWATCH_DATABASE_URL, database unreachable), OOM killed?",
            "A scrape that times out means the collectors exceed Prometheus' scrape timeout: "
            "compare `pitwatch_collector_duration_seconds` from before the outage.",
        ),
        mitigation=(
            "Restart the exporter; roll back its last deploy if it crashes on start-up.",
            "Until it is back, run the payments and wallet checks by hand (stuck "
            "withdrawals, pending deposits) if the outage lasts more than an hour.",
        ),
    ),
)

COLLECTOR_FAILING = Alert(
    name="CollectorFailing",
    domain="platform",
    team="sre",
    severity="warning",
    summary="A state collector fails every scrape: its metrics are missing.",
    description=(
        "State collector {collector} has failed every scrape for 10 minutes "
        "(pitwatch_collector_up = {value:int}): its metrics are missing and the alerts on "
        "them are blind."
    ),
    expr=f"max by (collector) ({COLLECTOR_UP}) == 0",
    for_="10m",
    scope=("collector",),
    dashboard="platform",
    detection="15m",
    runbook=Runbook(
        meaning="The state exporter answers, but one collector's queries fail on every "
        "scrape (`pitwatch_collector_up{collector}` 0 on every instance): database error, "
        "query error, or the time budget (`time_budget_seconds`, 1 s) exceeded. Its series "
        "are not exported. When the whole exporter is down this does not fire "
        "(StateExporterDown does).",
        impact="The alerts fed by the collector are blind: payments (pending deposits, "
        "stuck withdrawals), affiliates (FTD postback gap, dead letters), sportsbook "
        "(settlement backlog, stale odds), kyc (review backlog), outbox (backlog), ledger "
        "(invariant violations).",
        diagnosis=(
            "Read the exporter's log for the collector's exception (query error, statement "
            "timeout, connection refused).",
            "Compare `pitwatch_collector_duration_seconds{collector}` with the 1 s budget: "
            "a table that grew or a missing index (migration 0007_state_indexes) makes a "
            "collector time out.",
            "Check the database: reachable, the `pw_*` views present after the last "
            "migration, the exporter's role allowed to read them?",
        ),
        mitigation=(
            "Fix the database access or the view; apply migration 0007 if its indexes are missing.",
            "Raise `time_budget_seconds` (StateConfig) only as a stopgap while the query is fixed.",
            "Tell the teams whose alerts are blind (see impact) until it recovers.",
        ),
    ),
)

OUTBOX_BACKLOG = Alert(
    name="OutboxBacklogGrowing",
    domain="platform",
    team="sre",
    severity="warning",
    summary="An outbox consumer has stopped handling events.",
    description=("Outbox consumer {consumer} has not handled an event that is {value:dur} old."),
    expr=f"max by (consumer) ({OUTBOX_AGE}) > $max_age_seconds",
    for_="5m",
    scope=("consumer",),
    dashboard="platform",
    detection="20m",
    params={
        "max_age_seconds": Param(600, "age of the oldest unhandled outbox event that fires"),
    },
    runbook=Runbook(
        meaning="The oldest outbox event above the consumer's cursor (`pw_outbox_cursors`) "
        "is older than `max_age_seconds`: the consumer is stalled or far behind. The "
        "affiliates consumer normally handles events within a second (its worker loops "
        "every second).",
        impact="For `affiliates`: conversions are not recorded and postbacks not sent, so "
        "affiliate networks see FTDs late (FtdPostbackGap follows) and may dispute "
        "commissions. Nothing is lost: the cursor is durable and the consumer catches up "
        "idempotently.",
        diagnosis=(
            "Is the affiliate worker (`run_worker`: outbox consumer + postback dispatcher) "
            "running? Read its log for 'affiliate worker pass failed' and the exception.",
            "Look at the cursor (`pw_outbox_cursors`: last_id, held_since, updated_at): "
            "`updated_at` not moving means the worker is not running or fails every pass; "
            "`held_since` set means it waits at a gap in the outbox ids.",
            "Compare `igaming_outbox_backlog_events{consumer}`: growing (stalled) or "
            "shrinking (catching up after a burst)?",
        ),
        mitigation=(
            "Restart the worker; if one event makes every pass fail, fix its handler and "
            "redeploy (the consumer replays from its cursor).",
            "Never move the cursor forward by hand: events skipped are conversions lost. "
            "`reset_cursor` only moves it back (replay is harmless).",
        ),
    ),
)

ALERTS = (
    SLO_FAST,
    SLO_SLOW,
    PLATFORM_DOWN,
    STATE_EXPORTER_DOWN,
    COLLECTOR_FAILING,
    OUTBOX_BACKLOG,
)
NAMES = tuple(a.name for a in ALERTS)
FAST, SLOW = SLO_FAST.name, SLO_SLOW.name

# -- promtool cases ----------------------------------------------------------------------

COLLECTORS = ("payments", "affiliates", "sportsbook", "kyc", "outbox", "ledger")
PLATFORM_INSTANCES = ("platform-1:8600", "platform-2:8600")
STATE_INSTANCE = "state-exporter:9108"


@dataclass(frozen=True)
class HttpRoute:
    """A route of the tests: how long its good and its slow requests take."""

    route: str
    method: str
    fast: float  # below every SLO threshold of the route
    slow: float  # above it


LOGIN_R = HttpRoute(*LOGIN, fast=0.12, slow=0.75)
DEPOSIT_R = HttpRoute(*DEPOSIT, fast=0.8, slow=2.0)
BET_R = HttpRoute(*BET, fast=0.2, slow=0.9)

Seg = tuple[int, float, float, float, float]  # minutes, 2xx, 4xx, 5xx, slow per minute
# Fractional rates are dyadic (0.25, 0.0625): promtool expands `a+bxn` by repeated addition,
# and a value like 0.2 accumulates an upward error that, when the next segment adds 0,
# reads as a counter reset and doubles increase().


def _spread(segments: Sequence[Seg], i: int) -> list[float]:
    return [seg[i] for seg in segments for _ in range(seg[0])]


def http(r: HttpRoute, segments: Sequence[Seg]) -> list[Series]:
    """A route's requests and durations from segments of (minutes, 2xx, 4xx, 5xx, slow)
    per minute; ``slow`` of the requests take ``r.slow`` seconds, the others ``r.fast``."""
    return http_from(r, *(_spread(segments, i) for i in (1, 2, 3, 4)))


def http_from(
    r: HttpRoute,
    ok: Sequence[float],
    client: Sequence[float],
    server: Sequence[float],
    slow: Sequence[float],
) -> list[Series]:
    """The same from per-minute increments."""
    kv = {"route": r.route, "http_method": r.method}
    total = [a + b + c for a, b, c in zip(ok, client, server, strict=True)]
    fast = [t - s for t, s in zip(total, slow, strict=True)]
    out = [
        series(REQ, counter_from(ok), **kv, status_class="2xx"),
        series(REQ, counter_from(client), **kv, status_class="4xx"),
        series(REQ, counter_from(server), **kv, status_class="5xx"),
    ]
    for le in [*HTTP_BUCKETS, float("inf")]:
        per = [
            (f if r.fast <= le else 0.0) + (s if r.slow <= le else 0.0)
            for f, s in zip(fast, slow, strict=True)
        ]
        label = "+Inf" if le == float("inf") else bucket_label(le)
        out.append(series(f"{DUR}_bucket", counter_from(per), **kv, le=label))
    out.append(series(f"{DUR}_count", counter_from(total), **kv))
    sums = [f * r.fast + s * r.slow for f, s in zip(fast, slow, strict=True)]
    out.append(series(f"{DUR}_sum", counter_from(sums), **kv))
    return out


def targets(minutes: int) -> list[Series]:
    """Both jobs scraped fine, every collector up, the outbox consumer keeping up."""
    return [
        *[
            series("up", gauge((minutes, 1)), job=JOBS.platform, instance=i)
            for i in PLATFORM_INSTANCES
        ],
        series("up", gauge((minutes, 1)), job=JOBS.state, instance=STATE_INSTANCE),
        *[
            series(COLLECTOR_UP, gauge((minutes, 1)), collector=c, instance=STATE_INSTANCE)
            for c in COLLECTORS
        ],
        series(OUTBOX_AGE, gauge((minutes, 1)), consumer="affiliates"),
        series(OUTBOX_AGE, gauge((minutes, 0)), consumer="other"),
    ]


def busy(minutes: int, surge: tuple[int, int] | None = None) -> tuple[Series, ...]:
    """A busy evening: a few 5xx and about 0.5 % slow requests on each route (burn rates
    near 0.5), many 4xx (wrong passwords, refused bets). ``surge``: (start, length) of a
    5x kickoff surge with the same ratios."""

    def seg(ok: float, c4: float, s5: float, slow: float) -> list[Seg]:
        if surge is None:
            return [(minutes, ok, c4, s5, slow)]
        start, length = surge
        return [
            (start, ok, c4, s5, slow),
            (length, 5 * ok, 5 * c4, 5 * s5, 5 * slow),
            (minutes - start - length, ok, c4, s5, slow),
        ]

    return merge(
        http(LOGIN_R, seg(110, 10, 0.0625, 0.625)),
        http(DEPOSIT_R, seg(36, 4, 0.015625, 0.25)),
        http(BET_R, seg(270, 30, 0.125, 1.25)),
        targets(minutes),
    )


def quiet(minutes: int) -> tuple[Series, ...]:
    """A quiet night of a small operator: six log-ins, four deposits and four bets an hour;
    one deposit answers 5xx (minute 200) and one log-in takes 0.75 s (minute 300)."""
    zero = [0.0] * minutes
    failed = [1.0 if i == 199 else 0.0 for i in range(minutes)]
    slow_login = [1.0 if i == 299 else 0.0 for i in range(minutes)]
    return merge(
        http_from(LOGIN_R, every(minutes, 10), zero, zero, slow_login),
        http_from(DEPOSIT_R, every(minutes, 15), zero, failed, zero),
        http_from(BET_R, every(minutes, 15, offset=7), zero, zero, zero),
        targets(minutes),
    )


def _up(job: str, values: str, instance: str) -> Series:
    return series("up", values, job=job, instance=instance)


def cases() -> tuple[Case, ...]:
    deposits_ok = (40.0, 0.0, 0.0, 0.0)
    deposit_slo = {"slo": "deposit-availability"}
    # Clean history before the fast incidents, long enough that the 6h window is not
    # dominated by the incident (as after a cold start) and the 1h tier pages first.
    h = 150
    # A target that leaves service discovery at minute 61 (stale marker) and is back at 81.
    vanished = "1+0x60 stale _x19 1+0x39"
    return (
        silence(
            "busy evening: a few 5xx, 0.5 % slow, many 4xx on every SLO route",
            "normal",
            busy(180),
            NAMES,
            at=(30, 120, 180),
        ),
        silence(
            "5x surge at kickoff, same error and latency ratios",
            "surge",
            busy(150, surge=(60, 60)),
            NAMES,
            at=(65, 90, 120, 135, 150),
        ),
        silence(
            "quiet night: a handful of requests an hour, one deposit 5xx, one slow log-in",
            "quiet_night",
            quiet(330),
            # The 5m, 30m, 1h, 6h and 3d burn rates all exceed their tiers after the 5xx
            # (minute 200) and the slow log-in (300): only the traffic guards hold.
            NAMES,
            at=(60, 203, 204, 225, 260, 303, 330),
        ),
        Case(
            "release 2026.11.3 answers 30 % of deposits with 5xx (PSP client broken)",
            "incident",
            merge(
                http(DEPOSIT_R, [(h, *deposits_ok), (30, 28, 0, 12, 0), (40, *deposits_ok)]),
                http(LOGIN_R, [(h + 70, 110, 10, 0, 0)]),
                series(BUILD, gauge((h + 70, 1)), version="2026.11.3"),
                series(DEPLOYED, gauge((h + 70, (h - 3) * 60))),
            ),
            (
                Silent(f"{h + 2}m", alert=FAST),  # 1h burn 10, 6h burn 3.9
                Silent(f"{h + 4}m", alert=FAST),  # 1h/5m true since +3m, pending
                Fires(f"{h + 5}m", deposit_slo, 25, deploy="2026.11.3", alert=FAST),
                Fires(f"{h + 15}m", deposit_slo, 75, deploy="2026.11.3", alert=FAST),
                # Fixed at +30m: the 5m window is clean at +35m, but 6h/30m (6h burn 45)
                # pages until the 30m window is clean too.
                Fires(f"{h + 50}m", deposit_slo, 45, deploy="2026.11.3", alert=FAST),
                Silent(f"{h + 61}m", alert=FAST),
            ),
            incident_start=f"{h}m",
            recovery=f"{h + 30}m",
            alerts=(FAST,),
        ),
        Case(
            "database pool exhausted: every log-in takes 0.75 s",
            "incident",
            http(LOGIN_R, [(h, 110, 10, 0, 0), (30, 110, 10, 0, 120), (40, 110, 10, 0, 0)]),
            (
                Silent(f"{h + 8}m"),  # 8 slow minutes of 60: 1h burn 13.3
                Silent(f"{h + 10}m"),  # true since +9m, pending
                Fires(f"{h + 12}m", {"slo": "login-latency"}, 20),
                Silent(f"{h + 61}m"),
            ),
            incident_start=f"{h}m",
            recovery=f"{h + 30}m",
            alerts=(FAST,),
        ),
        Case(
            "bet placement 10 % slow from a cold start: 1h burn 10 < 14.4, the 6h/30m tier pages",
            "incident",
            http(BET_R, [(60, 270, 30, 0, 30), (40, 270, 30, 0, 0)]),
            (
                Silent("2m"),  # pending since 1m
                Fires("10m", {"slo": "bet-placement-latency"}, 10),
                Fires("60m", {"slo": "bet-placement-latency"}, 10),
                Silent("75m"),  # 30m burn below 6
            ),
            incident_start="0m",
            recovery="60m",
            alerts=(FAST,),
        ),
        Case(
            "deposit 5xx at 1.39 % for an hour after two clean ones: 1h burn 13.9, no page",
            "guard",
            http(DEPOSIT_R, [(120, 36, 0, 0, 0), (60, 35.5, 0, 0.5, 0), (5, 36, 0, 0, 0)]),
            (Silent("150m"), Silent("180m")),
            alerts=(FAST,),
        ),
        Case(
            "a white-label brand's 190 deposits an hour, 10 of them 5xx: below the volume guard",
            "guard",
            http_from(DEPOSIT_R, [3.0] * 180, [0.0] * 180, every(180, 6), [0.0] * 180),
            (Silent("60m"), Silent("120m"), Silent("180m")),
            alerts=(FAST,),
        ),
        Case(
            "credential stuffing (log-in 4xx x10) and 5xx on GET /sportsbook/bets (no SLO)",
            "guard",
            merge(
                http(LOGIN_R, [(120, 110, 1000, 0, 0)]),
                http(HttpRoute("/sportsbook/bets", "GET", 0.05, 0.6), [(120, 50, 0, 50, 0)]),
                http(BET_R, [(120, 270, 30, 0, 0)]),
            ),
            tuple(Silent(f"{m}m", alert=a) for m in (30, 60, 120) for a in (FAST, SLOW)),
            alerts=(FAST, SLOW),
        ),
        Case(
            "deposit 5xx at 0.5 % (burn 5) for 40 minutes after a clean hour: a ticket, "
            "not a page (3d window from a cold start)",
            "incident",
            http(DEPOSIT_R, [(60, 50, 0, 0, 0), (40, 49.75, 0, 0.25, 0), (115, 50, 0, 0, 0)]),
            (
                Silent("85m"),  # 3d and 6h burn above 1 since 76m, pending
                Fires("100m", {"slo": "deposit-availability"}, 2),
                Silent("210m"),  # 10 failures in 10500 requests: burn 0.95
            ),
            incident_start="60m",
            recovery="100m",
            alerts=(SLOW,),
        ),
        Case(
            "deposit 5xx at 0.089 % for three hours: burn 0.89, within budget",
            "guard",
            http(DEPOSIT_R, [(180, 34.96875, 0, 0.03125, 0)]),
            (Silent("120m"), Silent("180m")),
            alerts=(SLOW,),
        ),
        Case(
            "platform unreachable: every scrape of both instances fails for 20 minutes",
            "incident",
            tuple(
                _up(JOBS.platform, gauge((60, 1), (20, 0), (40, 1)), i) for i in PLATFORM_INSTANCES
            ),
            (
                Silent("62m"),  # down since 61m, pending
                Fires("63m", {"job": JOBS.platform}, len(PLATFORM_INSTANCES)),
                Fires("80m", {"job": JOBS.platform}, len(PLATFORM_INSTANCES)),
                Silent("82m"),
            ),
            incident_start="60m",
            recovery="80m",
            alerts=("PlatformDown",),
        ),
        Case(
            "platform instances gone from service discovery: up goes stale",
            "incident",
            tuple(_up(JOBS.platform, vanished, i) for i in PLATFORM_INSTANCES),
            (
                Silent("62m"),
                Fires("63m", {"job": JOBS.platform}, 0),
                Fires("80m", {"job": JOBS.platform}, 0),
                Silent("82m"),
            ),
            incident_start="60m",
            recovery="80m",
            alerts=("PlatformDown",),
        ),
        Case(
            "one of two platform instances down: not the whole platform",
            "guard",
            (
                _up(JOBS.platform, gauge((120, 1)), PLATFORM_INSTANCES[0]),
                _up(JOBS.platform, gauge((60, 1), (60, 0)), PLATFORM_INSTANCES[1]),
            ),
            (Silent("70m"), Silent("120m")),
            alerts=("PlatformDown",),
        ),
        Case(
            "state exporter crashes: its scrapes fail for 30 minutes",
            "incident",
            (_up(JOBS.state, gauge((60, 1), (30, 0), (30, 1)), STATE_INSTANCE),),
            (
                Silent("70m"),  # down since 61m, pending
                Fires("71m", {"job": JOBS.state}, 1),
                Silent("92m"),
            ),
            incident_start="60m",
            recovery="90m",
            alerts=("StateExporterDown",),
        ),
        Case(
            "state exporter removed from service discovery: up goes stale",
            "incident",
            (_up(JOBS.state, vanished, STATE_INSTANCE),),
            (
                Silent("70m"),
                Fires("75m", {"job": JOBS.state}, 0),
                Silent("82m"),
            ),
            incident_start="60m",
            recovery="80m",
            alerts=("StateExporterDown",),
        ),
        Case(
            "state exporter gone: its collectors' series go stale, CollectorFailing stays "
            "silent (StateExporterDown reports it)",
            "guard",
            tuple(
                series(
                    COLLECTOR_UP, gauge((60, 1)) + " stale", collector=c, instance=STATE_INSTANCE
                )
                for c in COLLECTORS
            ),
            (Silent("75m"), Silent("100m")),
            alerts=("CollectorFailing",),
        ),
        Case(
            "the payments collector exceeds its time budget on every scrape for 30 minutes",
            "incident",
            (
                series(
                    COLLECTOR_UP,
                    gauge((60, 1), (30, 0), (30, 1)),
                    collector="payments",
                    instance=STATE_INSTANCE,
                ),
                *[
                    series(COLLECTOR_UP, gauge((120, 1)), collector=c, instance=STATE_INSTANCE)
                    for c in COLLECTORS
                    if c != "payments"
                ],
            ),
            (
                Silent("70m"),  # failing since 61m, pending
                Fires("71m", {"collector": "payments"}, 0),
                Silent("92m"),
            ),
            incident_start="60m",
            recovery="90m",
            alerts=("CollectorFailing",),
        ),
        Case(
            "a three-minute database blip fails every collector, then they recover",
            "guard",
            tuple(
                series(
                    COLLECTOR_UP,
                    gauge((60, 1), (3, 0), (57, 1)),
                    collector=c,
                    instance=STATE_INSTANCE,
                )
                for c in COLLECTORS
            ),
            (Silent("62m"), Silent("70m"), Silent("80m")),
            alerts=("CollectorFailing",),
        ),
        Case(
            "the affiliate worker stalls: the oldest outbox event ages a minute per minute",
            "incident",
            (
                # 1 s until minute 60; from 61 the age grows 60 s a minute; handled at 101.
                series(OUTBOX_AGE, "1+0x60 60+60x39 0+0x30", consumer="affiliates"),
            ),
            (
                Silent("75m"),  # above 600 s since 71m, pending
                Fires("76m", {"consumer": "affiliates"}, 960),
                Fires("100m", {"consumer": "affiliates"}, 2400),
                Silent("102m"),
            ),
            incident_start="60m",
            recovery="100m",
            alerts=("OutboxBacklogGrowing",),
        ),
        Case(
            "a burst of events takes seven minutes to drain",
            "guard",
            (series(OUTBOX_AGE, "1+0x60 60+60x6 0+0x30", consumer="affiliates"),),
            (Silent("66m"), Silent("70m"), Silent("80m")),
            alerts=("OutboxBacklogGrowing",),
        ),
    )


DOMAIN = Domain(
    name="platform",
    recordings=RECORDINGS,
    alerts=ALERTS,
    cases=cases,
    about="Platform: SLO burn rates on log-in, deposits and bets; scrape targets, state "
    "collectors, outbox consumers.",
)
