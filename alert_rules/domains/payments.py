"""Payments: deposit success against its baseline, PSPs down, callbacks late, missing or
forged, withdrawals stuck. Team payments; the head of payments reads these first."""

from __future__ import annotations

import math

from alert_rules.domains.platform import SLO_FAST, SLOS, fast_burn
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
# The trailing hour that ended half an hour after this minute a week ago: the hour centred
# on the same minute last week.
LAST_WEEK = "6d23h30m"


def _success_recordings(by: str) -> tuple[Recording, ...]:
    p = f"{_prefix(by)}:igaming_deposit"
    return (
        Recording(f"{p}_finished:rate5m", f"sum by ({by}) (rate({OUT}[5m]))"),
        Recording(f"{p}_approved:rate5m", f'sum by ({by}) (rate({OUT}{{outcome="approved"}}[5m]))'),
        Recording(
            f"{p}_success:ratio_rate15m",
            f'sum by ({by}) (rate({OUT}{{outcome="approved"}}[15m]))\n'
            f"/\nsum by ({by}) (rate({OUT}[15m]))",
        ),
        Recording(f"{p}_finished:increase15m", f"sum by ({by}) (increase({OUT}[15m]))"),
        Recording(f"{p}_finished:rate1h", f"sum by ({by}) (rate({OUT}[1h]))"),
        *_daily(by, "approved", '{outcome="approved"}', "success"),
        Recording(f"{p}_finished:avg_rate1h", f"{p}_finished:rate1h"),
        Recording(f"{p}_finished:avg_rate1d", f"avg_over_time({p}_finished:rate1h[1d:1h])"),
        Recording(f"{p}_success:ratio_baseline", _baseline(by, f"{p}_success")),
    )


def _daily(by: str, name: str, sel: str, ratio: str) -> tuple[Recording, ...]:
    """The hour's and the day's share of ``name`` deposits among the finished ones. The day
    is summed from the 24 whole hours (a subquery at 1h: 24 points, not the 1,440 a sum
    over 5-minute rates every minute reads; promtool evaluates every rule every interval,
    so this is most of the payments tests' cost)."""
    p = f"{_prefix(by)}:igaming_deposit"
    return (
        Recording(f"{p}_{name}:rate1h", f"sum by ({by}) (rate({OUT}{sel}[1h]))"),
        Recording(f"{p}_{ratio}:ratio_1h", f"{p}_{name}:rate1h / {p}_finished:rate1h"),
        Recording(
            f"{p}_{ratio}:ratio_1d",
            f"sum_over_time({p}_{name}:rate1h[1d:1h]) / sum_over_time({p}_finished:rate1h[1d:1h])",
        ),
    )


# -- the deposit-drop statistic -----------------------------------------------------------
#
# A fixed threshold on a ratio is either slow on a busy scope or noisy on a quiet one: 3 of 4
# deposits failing at night says little, 60 of 80 at peak says everything. So the drop
# alerts ask how unlikely the failures seen in a window are under the scope's expected
# share q, given how many deposits n finished in it: with f failures (x = f / n > q), the
# binomial's tail is at most e^-S (the Chernoff bound), where S is the evidence in nats
#
#     S = n * KL(x || q) = f * ln(x / q) + (n - f) * ln((1 - x) / (1 - q))
#
# S is exact where it matters: n deposits in a row failing give S = n * ln(1 / q), and the
# bound holds for a handful of deposits as for thousands. (A z-score, the normal
# approximation, overstates a few rare errors: 3 errors among 10 deposits where 1 % is
# usual is z = 7.6, but happens once in 8,000 windows; S = 7.8 says e^-7.8, once in 2,400.)
# Three windows and more at once (5 minutes to an hour): a busy scope trips on the short
# window within minutes, a quiet one waits until the longer windows hold enough evidence.
# Two kinds of failure are tested, each against its own expected share: every deposit not
# approved (a PSP that declines), and the errors alone (failed or timed out: a deploy that
# breaks deposits inside the platform), whose normal share is small, so that a burst of
# them is evidence after a handful of deposits. A trip also needs the success rate to have
# fallen by at least ``drop`` (relative) from the expected one and ``min_failed`` failures
# in the window: significance without size pages nobody. The longer windows only count
# while every shorter window still shows failures above the expected share (CONFIRM), so
# that an alert resolves within minutes of the recovery rather than when the hour has
# drained. A shorter window without a single deposit cannot tell and does not stop a longer
# one; one with a deposit or two that were approved does: a quiet scope after an outage
# (the peak day's Swedish bank transfers, a deposit every five minutes) otherwise paged
# again 24 minutes after the recovery, its hour window still full of the outage's
# failures and its shorter windows "too few to tell".
# Without a baseline (a new scope, the first hours of history) the expected rates are
# EXPECTED_SUCCESS and the operator's errored share (ERRORED_FLOOR, else EXPECTED_ERRORED):
# floors, not silence.

DROP_WINDOWS = ("5m", "10m", "15m", "30m", "1h")
# Expected while a scope has no baseline: a success rate of 65 % (so that, with the default
# drop, the alerts fire below about 49 %: the floor of a new GEO) and at most 5 % of errors.
EXPECTED_SUCCESS = 0.65
EXPECTED_ERRORED = 0.05
# A longer window's trip counts while every shorter window still shows failures above the
# expected share with at least CONFIRM nats of evidence, or holds no deposit at all (below
# NO_DEPOSITS: increase() over a window that saw a deposit is at least one).
CONFIRM = 0.5
NO_DEPOSITS = 0.5
# A scope without a baseline expects the errored share of every deposit of the last six
# hours (errors come from our side and the PSPs' systems, not from the scope's players),
# between 1 % and EXPECTED_ERRORED: a deploy that breaks deposits in a new GEO, or on the
# first day of history, trips on a handful of errors where the operator's usual share is
# small, and never on fewer than today's floor allows.
ERRORED_FLOOR = "all:igaming_deposit_errored:ratio_floor"
_UNAPPROVED = 'outcome!="approved"'
_ERRORED = 'outcome=~"failed|timed_out"'


def _prefix(by: str) -> str:
    return by.replace(", ", "_")


def _drop_recordings(by: str) -> tuple[Recording, ...]:
    """Per window: finished, not approved and errored deposits; and the errored share's
    baseline, built as the success rate's is."""
    p = f"{_prefix(by)}:igaming_deposit"
    counts = tuple(
        Recording(f"{p}_{name}:increase{w}", f"sum by ({by}) (increase({OUT}{sel}[{w}]))")
        for w in DROP_WINDOWS
        for name, sel in (
            ("finished", ""),
            ("unapproved", "{" + _UNAPPROVED + "}"),
            ("errored", "{" + _ERRORED + "}"),
        )
        # finished:increase15m is the success rate's volume guard (_success_recordings)
        if (name, w) != ("finished", "15m")
    )
    failed = Recording(
        f"{p}_failed:increase1h", f"sum by ({by}) (increase({OUT}{{{_FAILED}}}[1h]))"
    )
    errored = (
        failed,
        *_daily(by, "errored", "{" + _ERRORED + "}", "errored"),
        Recording(f"{p}_errored:ratio_baseline", _baseline(by, f"{p}_errored")),
    )
    return counts + errored


def _baseline(by: str, ratio: str) -> str:
    """The same hour last week (centred on this minute a week ago: a trailing hour would
    compare the first half of a weekly dip with the hour before it) when it had volume,
    else the trailing day once it has six hours of history; no baseline at all means the
    expectations' defaults apply."""
    p = f"{_prefix(by)}:igaming_deposit"
    return f"""(
  {ratio}:ratio_1h offset {LAST_WEEK}
  and on({by}) ({p}_finished:avg_rate1h offset {LAST_WEEK} * 3600 >= {BASELINE_MIN_DEPOSITS})
)
or
(
  {ratio}:ratio_1d
  and on({by}) ({p}_finished:avg_rate1d * 86400 >= {BASELINE_MIN_DEPOSITS})
  and on({by}) ({p}_finished:avg_rate1d offset 6h)
)"""


def _expectations(by: str) -> tuple[Recording, ...]:
    """The expected success rate and errored share (baseline, else the floors), and per
    window the success rate and the evidence (nats) each kind of failure brings against
    its expectation."""
    p = f"{_prefix(by)}:igaming_deposit"
    success, errored = f"{p}_success:ratio_expected", f"{p}_errored:ratio_expected"
    out = [
        Recording(
            success,
            f"clamp({p}_success:ratio_baseline, 0.05, 0.99)\n"
            f"or on({by}) (0 * {p}_finished:increase1h + {EXPECTED_SUCCESS})",
        ),
        Recording(
            errored,
            f"clamp({p}_errored:ratio_baseline, 0.01, 0.9)\n"
            f"or on({by}) (0 * {p}_finished:increase1h + on() group_left() {ERRORED_FLOOR})\n"
            f"or on({by}) (0 * {p}_finished:increase1h + {EXPECTED_ERRORED})",
        ),
    ]
    for w in DROP_WINDOWS:
        n = f"{p}_finished:increase{w}"
        out += [
            Recording(f"{p}_success:ratio{w}", f"1 - {p}_unapproved:increase{w} / ({n} > 0)"),
            Recording(f"{p}_errored:ratio{w}", f"{p}_errored:increase{w} / ({n} > 0)"),
            Recording(
                f"{p}_unapproved:evidence{w}",
                _evidence(f"{p}_unapproved:increase{w}", n, f"(1 - {success})", by),
            ),
            Recording(
                f"{p}_errored:evidence{w}", _evidence(f"{p}_errored:increase{w}", n, errored, by)
            ),
        ]
    return tuple(out)


def _evidence(failed: str, n: str, share: str, by: str) -> str:
    """S = f ln(x / q) + (n - f) ln((1 - x) / (1 - q)) where x = f / n lies above q, else 0;
    x is kept inside (0, 1) so that a window of failures only is f ln(1 / q). Never absent
    while the counts exist (0 deposits: 0): a recorded series that vanished would linger
    for Prometheus's 5-minute lookback where no staleness marker ends it (a backfill)."""
    x = f"clamp({failed} / clamp_min({n}, 1), 1e-9, 1 - 1e-9)"
    return (
        f"(\n  {failed} * ln({x} / {share})\n"
        f"  + clamp_min({n} - {failed}, 0) * ln((1 - {x}) / (1 - {share}))\n)\n"
        f"* on({by}) ({failed} / clamp_min({n}, 1) > bool {share})"
    )


def _drop_window(by: str, w: str) -> str:
    """One window's trip: declines far above the expected share with the success rate
    ``drop`` below the expected one, or errors far above theirs with ``error_excess`` more
    of the deposits erroring; the longer windows only while the shorter ones agree."""
    p = f"{_prefix(by)}:igaming_deposit"
    term = f"""(
  (
    {p}_success:ratio{w}$sel < (1 - $drop) * {p}_success:ratio_expected$sel
    and on({by}) {p}_unapproved:increase{w}$sel >= $min_failed
    and on({by}) {p}_unapproved:evidence{w}$sel >= $evidence
  )
  or on({by})
  (
    {p}_success:ratio{w}$sel
    and on({by}) {p}_errored:ratio{w}$sel >= $error_excess + {p}_errored:ratio_expected$sel
    and on({by}) {p}_errored:increase{w}$sel >= $min_errors
    and on({by}) {p}_errored:evidence{w}$sel >= $evidence
  )
)"""
    for short in DROP_WINDOWS[: DROP_WINDOWS.index(w)][::-1]:
        term += f"""
and on({by}) (
  {p}_unapproved:evidence{short}$sel >= {CONFIRM}
  or on({by}) {p}_errored:evidence{short}$sel >= {CONFIRM}
  or on({by}) {p}_finished:increase{short}$sel < {NO_DEPOSITS}
)"""
    return "(\n" + "\n".join("  " + line for line in term.splitlines()) + "\n)"


# The deposit route's availability SLO (alert_rules.domains.platform): a deposit the PSP
# refuses or cannot take, or that the platform fails, is a 5xx of its route.
DEPOSIT_SLO = next(s for s in SLOS if s.name == "deposit-availability")
_FAILED = 'outcome="failed"'


def _slo_param(name: str) -> str:
    return f"slo_{name}"


def _slo_explained(by: str) -> str:
    """The deposit SLO burns fast enough to page (SloErrorBudgetBurnFast's test, read from
    the same recordings) and this scope carries it: its deposits error `error_excess` above
    their expected share and its failed deposits are at least `slo_share` of the route's
    5xx of the hour. The burn is the platform's evidence; the scope only has to be the one
    that carries it (a quiet scope whose PSP is down fails too few deposits for the drop
    windows' evidence until long after the SLO pages SRE). Where the route's requests are
    not measured (views mode without a proxy) this branch is empty, and so is the SLO's
    page it takes over."""
    p = f"{_prefix(by)}:igaming_deposit"
    slo = f'{{slo="{DEPOSIT_SLO.name}"}}'
    failed_requests = (
        f"slo:burn_rate:ratio_rate1h{slo} * {DEPOSIT_SLO.budget} * slo:requests:increase1h{slo}"
    )
    burn = "\n".join("    " + line for line in fast_burn(slo, _slo_param).splitlines())
    return f"""(
  {p}_success:ratio1h$sel
  and on({by}) {p}_errored:ratio1h$sel >= $error_excess + {p}_errored:ratio_expected$sel
  and on({by}) {p}_failed:increase1h$sel >= $min_errors_slo
  and on({by}) {p}_failed:increase1h$sel >= on() group_left() ($slo_share * {failed_requests})
  and on() (
{burn}
  )
)"""


def _drop_expr(by: str) -> str:
    return f"\nor on({by})\n".join(
        [*(_drop_window(by, w) for w in DROP_WINDOWS), _slo_explained(by)]
    )


def _drop_params() -> dict[str, Param]:
    return {
        "evidence": Param(
            12.5,
            "nats of evidence against the expected share: the failures seen happen by chance "
            "at most e^-evidence of the time (12.5, about 4 in a million, as a z-score of 5)",
        ),
        "drop": Param(0.25, "relative drop of the success rate that fires (0.25 = 25 % below)"),
        "min_failed": Param(5, "deposits not approved needed in the window"),
        "error_excess": Param(
            0.1, "share of deposits erroring (failed, timed out) above the expected share"
        ),
        "min_errors": Param(3, "deposits erroring needed in the window"),
        "slo_share": Param(
            0.5,
            "share of the deposit route's 5xx of the hour that the scope's failed deposits "
            "must make up to fire with the deposit SLO's fast burn",
        ),
        "min_errors_slo": Param(
            2, "deposits failed in the scope in the hour needed to fire with the SLO's burn"
        ),
        # The deposit SLO's paging test, with SloErrorBudgetBurnFast's defaults: they
        # follow it in code (an operator's file overrides per GEO or PSP, which the SLO
        # alert has none of; overriding these for a scope unties that scope's hand-over).
        **{
            _slo_param(name): Param(
                param.default, f"SloErrorBudgetBurnFast's `{name}`, for the deposit SLO"
            )
            for name, param in SLO_FAST.params.items()
        },
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

_DROP_MEANING = (
    "the deposits that failed in a window are more than the expected success rate allows "
    "by chance for that many deposits: they would happen at most e^-`evidence` of the "
    "time (the Chernoff bound of the binomial; or the errors alone, failed and timed out,"
    " against their expected share), the success rate fell at least `drop` below the "
    "expected one, and at least `min_failed` deposits failed. Five windows are tested at "
    "once: 5, 10, 15 and 30 minutes and an hour, each longer one only while every shorter"
    " one still shows failures above the expected share (or holds no deposit at all: a "
    "deposit or two approved after an outage resolve it). The expected rates are the "
    "scope's baseline (the hour centred on the same minute last week when it had "
    "volume, else the trailing day once six hours of history exist); without one, a "
    "65 % success rate and the operator's errored share of the "
    "last six hours (1 % to 5 %): floors, not silence (the alert then fires below about "
    "49 %). How fast it fires depends on the volume and the size of the drop, about "
    "`evidence` nats at KL(failed share seen || expected) nats a deposit: a PSP that "
    "stops approving cards usually approved at 72 % needs about 10 deposits, one that "
    "approves 5 % about 14, a deploy that errors 30 % of deposits where 1 % usually error"
    " about 17. So a scope at three deposits a minute trips within about 5 minutes, one "
    "at a deposit a minute in 10 to 17, one at a deposit every few minutes waits for the "
    "hour window. The value is the success rate over the shortest window that trips. "
    "One more trip needs less evidence of the scope itself: while the deposit-availability"
    " SLO burns fast enough to page (SloErrorBudgetBurnFast's own test, either tier, with"
    " its parameters mirrored as `slo_burn_1h` and the rest), the scope whose deposits "
    "error `error_excess` above their expected share, "
    "with at least `min_errors_slo` failed in the hour making up at least `slo_share` of "
    "the deposit route's 5xx of the hour, fires with it (value: the hour's success rate)."
    " A PSP down for a quiet scope fails too few deposits for the windows above until "
    "long after the platform-wide burn pages SRE; this way the page goes to payments, "
    "names the scope, and inhibits the SLO burn it explains. Without the route's request "
    "metrics (views mode without a proxy) this trip, like the SLO's page, does not exist."
)

DROP_GEO = Alert(
    name="DepositSuccessRateDropGeo",
    domain="payments",
    team="payments",
    severity="critical",
    summary="Deposit success rate in a GEO dropped well below its baseline.",
    description=(
        "Deposit success rate in {geo} fell to {value:pct}, far below its expected rate "
        "(same hour last week, else the trailing day, else its floor) for the deposits seen."
    ),
    expr=_drop_expr("geo"),
    for_="1m",
    keep_firing_for="3m",
    scope=("geo",),
    dashboard="payments",
    # at a deposit a minute in the scope; a busy scope trips in 2 to 4 (_DROP_MEANING)
    detection="15m",
    params=_drop_params(),
    override_by="geo",
    deploy_hint=True,
    # A deploy is a marker unless it brings a regression (deposits failing in a GEO).
    catches=(
        Catch("psp_degradation", {"geo": "geo"}),
        Catch("psp_outage", {"geo": "geo"}),
        Catch("deploy", {"geo": "geo"}, needs=("regression",)),
    ),
    runbook=Runbook(
        meaning="Fewer deposits than usual succeed in one GEO: " + _DROP_MEANING,
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
    summary="Deposit success rate through a PSP in a GEO dropped well below its baseline.",
    description=(
        "Deposit success rate through {psp} in {geo} fell to {value:pct}, far below its "
        "expected rate (same hour last week, else the trailing day, else its floor) for the "
        "deposits seen."
    ),
    expr=_drop_expr("psp, geo"),
    for_="1m",
    keep_firing_for="3m",
    scope=("psp", "geo"),
    dashboard="payments",
    # at a deposit a minute in the scope; a busy scope trips in 2 to 4 (_DROP_MEANING)
    detection="15m",
    # a deposit every few minutes: the deposit SLO's burn or the 30-minute window decides
    detection_quiet="30m",
    params=_drop_params(),
    override_by="psp",
    deploy_hint=True,
    # Routing is by GEO and method, so a PSP's deposits in a GEO are one method's: the
    # sharpest scope for a PSP that declines. A PSP failing everywhere fires once per GEO,
    # and the page groups them (alert_rules.alertmanager).
    catches=(
        Catch("psp_degradation", {"psp": "psp", "geo": "geo"}),
        Catch("psp_outage", {"psp": "psp", "geo": "geo"}),
    ),
    runbook=Runbook(
        meaning="Fewer deposits than usual succeed through one PSP in one GEO: " + _DROP_MEANING,
        impact="The GEO's players paying with the method routed to this PSP cannot fund "
        "their accounts; when it fires in several GEOs at once the PSP itself is failing.",
        diagnosis=_DROP_DIAGNOSIS,
        mitigation=_DROP_MITIGATION,
    ),
)

# -- a PSP that stops approving ----------------------------------------------------------
#
# Every deposit of a scope failing is the one drop a test can be exact about: with the
# scope's expected success rate p, n deposits in a row without an approval happen by chance
# with probability (1 - p)^n. So PspDown asks for n >= evidence / -ln(1 - p) attempts
# without a single approval (e^-evidence: about one in a million at the default 14):
# 11 attempts where 72 % are usually approved, 6 where 90 % are, 13 on the 65 % floor while
# the scope has no baseline. Several windows, because a window only counts once it holds no
# approval from before the outage: the shortest one that holds enough attempts decides, so
# a scope at 10 deposits a minute pages within about 3 minutes and one at 3 a minute within
# about 6; at one a minute the 15-minute window is needed (about 13 minutes).
DOWN_WINDOWS = ("3m", "6m", "10m", "15m", "30m")


def _down_expr() -> str:
    expected = "psp_geo:igaming_deposit_success:ratio_expected$sel"
    needed = (
        f"clamp_min($evidence / -ln(1 - clamp_max({expected}, 0.99)), $min_attempts)\n"
        f"  or on(psp, geo) (0 * group by (psp, geo) ({ATT}$sel)"
        f" + $evidence / {-math.log(1 - EXPECTED_SUCCESS):.4f})"
    )
    terms = [
        f"""(
  sum by (psp, geo) (increase({ATT}$sel[{w}]))
  >= on(psp, geo) (
  {needed}
  )
  unless on(psp, geo)
  sum by (psp, geo) (increase({OUT}{{outcome="approved"$m}}[{w}])) > 0
)"""
        for w in DOWN_WINDOWS
    ]
    # The value: the attempts of the shortest window that trips.
    return "\nor\n".join(terms)


PSP_DOWN = Alert(
    name="PspDown",
    domain="payments",
    team="payments",
    severity="critical",
    summary="A PSP approves no deposits while players keep trying.",
    description=(
        "{value:int} deposits attempted through {psp} in {geo} in a row and none approved: "
        "far more than its usual success rate allows by chance."
    ),
    expr=_down_expr(),
    for_="1m",
    keep_firing_for="2m",
    scope=("psp", "geo"),
    dashboard="payments",
    # at three deposits a minute in the scope (the 5-minute window); at one a minute the
    # 15-minute window decides: about 13 minutes
    detection="8m",
    params={
        "evidence": Param(
            14,
            "how unlikely the run of failures must be by chance: e^-evidence "
            "(14: about one in a million)",
        ),
        "min_attempts": Param(6, "attempts without an approval needed at the least"),
    },
    override_by="psp",
    # A PSP that still approves a few (a degradation) is the drop alerts'.
    catches=(
        Catch("psp_degradation", {"psp": "psp", "geo": "geo"}, needs=("approval_rate=0",)),
        Catch("psp_outage", {"psp": "psp", "geo": "geo"}),
    ),
    runbook=Runbook(
        meaning="Players attempted deposits through the PSP in the GEO and not one was "
        "approved, in a run longer than the scope's usual success rate allows by chance: "
        "at least `evidence` / -ln(1 - expected success) attempts (11 where 72 % are usually "
        "approved, 6 where 90 % are), and never fewer than `min_attempts`. The expected "
        "success rate is the deposit-drop alerts' (same hour last week, else the trailing "
        "day, else 65 %). Windows of 3, 6, 10, 15 and 30 minutes are tested: the shortest "
        "without an approval that holds enough attempts decides, so a busy scope pages "
        "within minutes and a scope at a deposit a minute in about a quarter of an hour. "
        "Staleness-safe: when the approved series disappears the alert still fires. It "
        "inhibits the GEO and PSP deposit-drop alerts it explains.",
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
    description=(
        "95th percentile callback delay from {psp} is {value:dur} over the last 15 minutes "
        "(the last hour where callbacks are few)."
    ),
    # A busy PSP: the p95 over 15 minutes with enough callbacks to mean it. A quiet one,
    # with fewer (the mixed week's nordpay, a callback every few minutes): the hour's p95,
    # and at least `min_late` callbacks past `late_bound` in it, so that one retried
    # callback does not warn.
    expr=f"""(
  histogram_quantile(0.95, sum by (psp, le) (rate({CB_DELAY.name}_bucket$sel[15m]))) > $p95_seconds
  and on(psp) sum by (psp) (increase({CB_DELAY.name}_count$sel[15m])) >= $min_callbacks
)
or
(
  histogram_quantile(0.95, sum by (psp, le) (rate({CB_DELAY.name}_bucket$sel[1h]))) > $p95_seconds
  and on(psp) (
    sum by (psp) (increase({CB_DELAY.name}_count$sel[1h]))
    - sum by (psp) (increase({CB_DELAY.name}_bucket{{le="$late_bound"$m}}[1h]))
  ) >= $min_late
  and on(psp) sum by (psp) (increase({CB_DELAY.name}_count$sel[15m])) < $min_callbacks
)""",
    # a 15-minute p95 already smooths a busy PSP; a quiet one has waited for three late
    # callbacks: 10 more minutes pending only delayed both (5 + 10 + 10 at a callback every
    # four minutes, past the promise)
    for_="5m",
    scope=("psp",),
    dashboard="payments",
    detection="20m",
    params={
        "p95_seconds": Param(120, "p95 callback delay that fires, in seconds"),
        "min_callbacks": Param(20, "callbacks needed in the 15 minute window"),
        "late_bound": Param(
            "120.0",
            "delay, in seconds, past which a callback counts as late in the hour window "
            "(a bucket boundary of the histogram, written as exposed: 60.0, 120.0, 300.0)",
        ),
        "min_late": Param(3, "late callbacks in the hour that fire a quiet PSP's warning"),
    },
    override_by="psp",
    catches=(Catch("psp_callback_delay", {"psp": "psp"}),),
    runbook=Runbook(
        meaning="Callbacks (the PSP telling us a deposit was approved or declined) take "
        "longer than `p95_seconds` at the 95th percentile: over 15 minutes holding at least "
        "`min_callbacks` callbacks, or, for a PSP with fewer callbacks than that, over the "
        "hour, with at least `min_late` callbacks later than `late_bound` seconds in it (it "
        "then resolves when the hour holds fewer late ones: up to an hour after).",
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
    summary="Deposits go stale waiting for their final PSP callback.",
    description=(
        "{value:int} deposits through {psp} went stale within the last half hour (no "
        "final callback 15 minutes after the request): callbacks are going missing."
    ),
    # The flow, not the stock: deposits that went stale within the window. A lost callback
    # leaves its deposit open until someone asks the PSP, so the stock (the dashboard's
    # panel; reconciliation's missing_in_wallet breaks and their amount at risk) only
    # grows; an alert on it fired from the first loss to the end of the backtest's week and
    # could not tell a second incident from the first. Busy or quiet alike: a deposit goes
    # stale only when its callback is lost or later than 15 minutes, never in normal traffic.
    expr=f"{PENDING}$sel - min_over_time({PENDING}$sel[$window]) >= $min_new",
    for_="5m",
    scope=("psp",),
    dashboard="payments",
    detection="30m",
    # a callback lost every 10 minutes: the third goes stale 15 minutes after its loss
    detection_quiet="45m",
    params={
        "min_new": Param(3, "deposits going stale within the window that fire"),
        # half an hour: it resolves about 35 minutes after the last loss (an hour kept the
        # mixed week's lost callbacks firing 65 minutes after the incident)
        "window": Param("30m", "window in which they went stale"),
    },
    override_by="psp",
    # Lost callbacks, and callbacks later than the 15 minutes a deposit may wait (the state
    # exporter's `deposit_pending_seconds`, 900 by default).
    catches=(
        Catch("psp_callback_loss", {"psp": "psp"}),
        Catch("psp_callback_delay", {"psp": "psp"}, needs=("delay_seconds>900",)),
    ),
    runbook=Runbook(
        meaning="At least `min_new` more deposits through the PSP than at the lowest point "
        "of the last `window` are still initiated, pending or timed out 15 minutes (state "
        "exporter `deposit_pending_seconds`) after they were requested: their callbacks "
        "are missing. It resolves once fewer than `min_new` went stale within `window`, "
        "even while the stale ones stay open: those are the stock the payments dashboard "
        "shows and reconciliation tracks (missing_in_wallet breaks, "
        "ReconciliationAmountAtRisk).",
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

CALLBACK_DUPLICATES = Alert(
    name="PspCallbackDuplicates",
    domain="payments",
    team="payments",
    severity="warning",
    summary="A PSP sends the same callbacks again and again.",
    description=(
        "{value:int} duplicate callbacks from {psp} in the last 30 minutes (2 hours where "
        "callbacks are few)."
    ),
    # A busy PSP: `min_duplicates` in 30 minutes. A quiet one, with fewer first callbacks in
    # 30 minutes than that (the mixed week's pixgate: 5 duplicates in 2 hours): at least
    # `min_duplicates_quiet` in 2 hours that are `min_share` of its callbacks, so that a
    # handful resent after our timeouts stays quiet, and one in the last hour. The quiet
    # test counts first callbacks only: a burst of duplicates must not make the PSP look
    # busy (backtest: the warning flapped off as a replay ended and fired again 17 minutes
    # later, a false warning); the last hour's duplicate ends it an hour after the replay
    # instead of when the 2 hours drain.
    expr=f"""sum by (psp) (increase({CB}{{outcome="duplicate"$m}}[30m])) >= $min_duplicates
or
(
  sum by (psp) (increase({CB}{{outcome="duplicate"$m}}[2h])) >= $min_duplicates_quiet
  and on(psp)
  sum by (psp) (increase({CB}{{outcome="duplicate"$m}}[2h]))
    / sum by (psp) (increase({CB}$sel[2h])) >= $min_share
  and on(psp) sum by (psp) (increase({CB}{{outcome="duplicate"$m}}[1h])) > 0
  and on(psp) sum by (psp) (increase({CB}{{outcome!="duplicate"$m}}[30m])) < $min_duplicates
)""",
    for_="5m",
    scope=("psp",),
    dashboard="payments",
    detection="20m",
    # four duplicates in 2 hours: the mixed week's pixgate saw five in its two
    detection_quiet="2h",
    params={
        "min_duplicates": Param(10, "duplicate callbacks in 30 minutes that fire"),
        "min_duplicates_quiet": Param(4, "duplicate callbacks in 2 hours that fire a quiet PSP"),
        "min_share": Param(0.2, "share of a quiet PSP's callbacks in 2 hours that are duplicates"),
    },
    override_by="psp",
    catches=(Catch("psp_callback_duplicates", {"psp": "psp"}),),
    runbook=Runbook(
        meaning="Callbacks the platform had already applied arrive again (same PSP "
        "reference and status), `min_duplicates` in 30 minutes, or, for a PSP with fewer "
        "first callbacks than that in 30 minutes, `min_duplicates_quiet` in 2 hours making "
        "up `min_share` of its callbacks and one in the last hour (it then resolves an hour "
        "after the last duplicate, or when the 2 hours hold fewer). They are "
        "recognised and ignored, so no money moves twice, "
        "but a PSP that repeats them usually did not receive our 2xx (timeouts at our "
        "callback endpoint) or replays its queue after an incident of its own.",
        impact="None to balances while idempotency holds (that is what this alert watches); "
        "our callback endpoint carries the extra load, and the PSP may be about to give up "
        "on callbacks it believes undelivered.",
        diagnosis=(
            "Check our callback endpoint's latency and status codes for the PSP (platform "
            "dashboard): slow or failing answers make PSPs retry.",
            "Ask the PSP whether they are replaying their webhook queue.",
        ),
        mitigation=(
            "Fix the endpoint's latency if we are the cause; otherwise ask the PSP to stop the "
            "replay. Never disable the duplicate check.",
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
    CALLBACK_DUPLICATES,
    WITHDRAWALS_STUCK,
)


DOMAIN = Domain(
    name="payments",
    # (the PSP alert is per PSP and GEO: no chain per PSP alone; its dashboard panel reads
    # the raw counters)
    recordings=_success_recordings("geo")
    + _success_recordings("psp, geo")
    + _drop_recordings("geo")
    + _drop_recordings("psp, geo")
    + (
        Recording(
            ERRORED_FLOOR,
            f"clamp(\n  sum(increase({OUT}{{{_ERRORED}}}[6h]))\n  / (sum(increase({OUT}[6h])) >= "
            f"{BASELINE_MIN_DEPOSITS}),\n  0.01, {EXPECTED_ERRORED}\n)",
        ),
    )
    + _expectations("geo")
    + _expectations("psp, geo"),
    alerts=ALERTS,
    about="Payments: deposit success vs baseline, PSPs, callbacks, withdrawals.",
)
