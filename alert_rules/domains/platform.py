"""Platform: SLOs on the player-facing flows (log-in, deposit, bet placement) with
multiwindow multi-burn-rate alerts, the scrape targets, the state exporter's collectors and
the outbox consumers. Team sre; the on-call SRE reads these first.

SLOs are declared once in ``SLOS``. For each SLO and window the recording rules compute the
burn rate (error ratio divided by the error budget ``1 - objective``, so 1 spends exactly
the budget over the SLO period, 30 days) and the request volume; one alert per tier reads
them for every SLO (Google SRE workbook, chapter 5: 1h/5m at 14.4x and 6h/30m at 6x page,
3d/6h at 1x opens a ticket). A window without a request has burnt nothing: its burn rate
is 0, never NaN or +Inf, and every tier needs a minimum of requests in its long window so
that a handful of requests at night, one of which fails, cannot page anyone; the 6-hour
tier also needs a few failures in the last half hour (``fast_burn``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from alert_rules.config import Jobs
from alert_rules.model import Alert, Catch, Domain, Param, Recording, Runbook
from alert_rules.series import _le as bucket_label
from collectors.catalog import BY_NAME
from collectors.catalog.platform import HTTP_BUCKETS

REQ = BY_NAME["igaming_http_requests"].exposed_name
DUR = BY_NAME["igaming_http_request_duration_seconds"].name
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
BAD_WINDOWS = ("30m",)  # the 6h tier's count of fresh failures


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


def _bad(slo: Slo, window: str, fn: str = "rate") -> str:
    if slo.threshold is None:
        return f"sum({fn}({REQ}{_matchers(slo, status_class='5xx')}[{window}]))"
    fast = f"{DUR}_bucket{_matchers(slo, le=bucket_label(slo.threshold))}"
    return f"(\n    {_total(slo, fn, window)}\n    -\n    sum({fn}({fast}[{window}]))\n  )"


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


def _bad_count(slo: Slo, w: str) -> str:
    return _with_slo(slo, f"{_bad(slo, w, 'increase')} or vector(0)")


# One rule per window for all SLOs (`or` of one term per SLO, each labelled `slo`): the
# record name is unique, which promtool's duplicate-rule lint requires.
RECORDINGS = (
    tuple(
        Recording(f"slo:burn_rate:ratio_rate{w}", "\nor\n".join(_burn(s, w) for s in SLOS))
        for w in BURN_WINDOWS
    )
    + tuple(
        Recording(f"slo:requests:increase{w}", "\nor\n".join(_volume(s, w) for s in SLOS))
        for w in VOLUME_WINDOWS
    )
    + tuple(
        Recording(f"slo:bad_requests:increase{w}", "\nor\n".join(_bad_count(s, w) for s in SLOS))
        for w in BAD_WINDOWS
    )
)

# A database slowdown the latency SLOs can see: every statement waits `delay_ms`, and a bet
# runs about 14 statements, a deposit about 10 (measured on the mixed week's 5 ms slowdown:
# bets' mean latency went from 2 to 71 ms, deposits' from 3 to 51 ms), so a bet passes its
# 0.5 s threshold from about 35 ms a statement on. A slower database below that is
# DatabaseSlow's, a warning: no request misses its SLO, nobody is paged.
SLOW_DB = Catch("db_slowdown", needs=("delay_ms>30",))

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


def _tier(
    burn: str,
    short: str,
    volume: str,
    factor: str,
    min_requests: str,
    sel: str = "",
    min_bad: str | None = None,
) -> str:
    fresh = (
        f"\n  and on(slo) slo:bad_requests:increase{BAD_WINDOWS[0]}{sel} >= ${min_bad}"
        if min_bad
        else ""
    )
    return f"""(
  slo:burn_rate:ratio_rate{burn}{sel} > ${factor}
  and on(slo) slo:burn_rate:ratio_rate{short}{sel} > ${factor}
  and on(slo) slo:requests:increase{volume}{sel} >= ${min_requests}{fresh}
)"""


def fast_burn(sel: str = "", param: Callable[[str], str] = str) -> str:
    """SloErrorBudgetBurnFast's paging test, for the SLOs ``sel`` selects, with its
    parameters named by ``param`` (another alert that mirrors the page names them its own
    way: its parameters must exist there).

    1h tier: the Workbook's 1h/5m. 6h tier: confirmed by the last 5 minutes (the
    Workbook's 30) so that a burn that has stopped stops paging within minutes, instead of
    paging anew half an hour after the fix as the 6h window fills (backtest: a deploy's
    regression paged SRE 12 minutes after it was rolled back); and by at least `min_bad_6h`
    failures in the last 30 minutes, because at a few hundred requests an hour one failure
    is a 5-minute burn of 60x: after any incident the 6h window stays over its threshold
    for hours and a single 5xx would page (backtest: a PSP outage's first refusal paged
    SRE through the morning deploy's tail, 15 minutes before the payments page)."""
    return (
        _tier("1h", "5m", "1h", param("burn_1h"), param("min_requests_1h"), sel)
        + "\nor on(slo)\n"
        + _tier(
            "6h",
            "5m",
            "6h",
            param("burn_6h"),
            param("min_requests_6h"),
            sel,
            param("min_bad_6h"),
        )
    )


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
    expr=fast_burn(),
    for_="2m",
    scope=("slo",),
    dashboard="platform",
    detection="15m",
    deploy_hint=True,
    params={
        "burn_1h": Param(
            14.4, "burn rate over 1h and 5m that pages (2 % of a 30-day budget in an hour)"
        ),
        "burn_6h": Param(6, "burn rate over 6h and 5m that pages (5 % of the budget in 6h)"),
        "min_requests_1h": Param(
            200,
            "requests the SLO's route needs in the hour (at 99.9 % "
            "a page then takes at least 3 failures)",
        ),
        "min_requests_6h": Param(
            600, "requests the SLO's route needs in 6 hours (at least 4 failures at 99.9 %)"
        ),
        "min_bad_6h": Param(
            3,
            "failed (or slow) requests in the last 30 minutes the 6h tier needs: the burn "
            "goes on, not one failure after an incident's tail",
        ),
    },
    # A regression fails deposits with a 5xx; a database slow enough to push requests past
    # the latency SLOs' thresholds slows every route (SLOW_DB).
    catches=(Catch("deploy", needs=("regression",)), SLOW_DB),
    runbook=Runbook(
        meaning="Players fail to log in, deposit or place bets, or wait too long, at a pace "
        "that would spend the SLO's whole 30-day error budget in days: the burn rate (error "
        "ratio divided by the budget, 1 - objective) exceeds `burn_1h` over both the last hour "
        "and the last 5 minutes, or `burn_6h` over both 6 hours and the last 5 minutes with "
        "at least `min_bad_6h` failed (or slow) requests in the last 30 minutes. The short "
        "window makes the page resolve within minutes of the fix; the count keeps one "
        "failure after an incident's tail (a 5-minute burn of 60x at a few hundred requests "
        "an hour) from paging while the 6h window still holds the tail. The SLOs: "
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
    catches=(Catch("deploy", needs=("regression",)), SLOW_DB),
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
            "Are the platform's background jobs (`platform serve`'s `platform-jobs` thread: "
            "outbox consumer, postback dispatcher) running? Read its log for 'background "
            "job outbox failed' and the exception (PostbackDispatcherStalled: the thread "
            "has stopped passing).",
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

DB = BY_NAME["igaming_db_query_duration_seconds"]
_DB_FAST = f'{DB.name}_bucket{{le="$bound"}}'

DATABASE_SLOW = Alert(
    name="DatabaseSlow",
    domain="platform",
    team="sre",
    severity="warning",
    summary="A large share of the platform's SQL statements have become slow.",
    description=(
        "{value:pct} of the platform's SQL statements took longer than the bound over the "
        "last 5 minutes."
    ),
    expr=f"""1 - sum(rate({_DB_FAST}[5m])) / sum(rate({DB.name}_count[5m])) > $max_share
and on() sum(increase({DB.name}_count[5m])) >= $min_statements""",
    for_="3m",
    scope=(),
    dashboard="platform",
    detection="10m",
    params={
        "bound": Param("0.005", "statement duration, in seconds, that counts as slow (a bucket)"),
        "max_share": Param(0.25, "share of statements slower than `bound` that fires"),
        "min_statements": Param(300, "statements needed in the 5 minutes"),
    },
    catches=(Catch("db_slowdown"),),
    runbook=Runbook(
        meaning="More than `max_share` of the SQL statements the platform ran over the last 5 "
        "minutes took longer than `bound` seconds (`igaming_db_query_duration_seconds`). "
        "Healthy statements take well under a millisecond; a quarter of them past 5 ms means "
        "the database itself is slow (I/O, locks, a saturated host), before any SLO burns.",
        impact="Every flow slows at once: deposits, bets and log-ins wait on the database; "
        "connection pools fill and requests start to time out if it lasts.",
        diagnosis=(
            "Open the platform dashboard: statement durations by verb, pool checked-out "
            "connections against the pool size.",
            "On PostgreSQL: pg_stat_activity for long transactions and lock waits; the host's "
            "CPU, I/O wait and disk latency.",
        ),
        mitigation=(
            "Kill the long transaction holding locks; fail over or scale the database host "
            "if it is saturated.",
            "Shed load (rate limits on the noisiest client) while the cause is fixed.",
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
    DATABASE_SLOW,
)


DOMAIN = Domain(
    name="platform",
    recordings=RECORDINGS,
    alerts=ALERTS,
    about="Platform: SLO burn rates on log-in, deposits and bets; scrape targets, state "
    "collectors, outbox consumers.",
)
