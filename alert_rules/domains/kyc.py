"""KYC: the verification vendor failing, and the manual-review queue falling behind its
SLA. Team compliance; neither pages (the platform retries, then queues for review)."""

from __future__ import annotations

from alert_rules.model import Alert, Catch, Domain, Param, Runbook
from collectors.catalog import BY_NAME

OUT = BY_NAME["igaming_kyc_outcomes"].exposed_name
ERR = BY_NAME["igaming_kyc_vendor_errors"].exposed_name
BACKLOG = BY_NAME["igaming_kyc_manual_review_backlog"].name
OLDEST = BY_NAME["igaming_kyc_manual_review_oldest_age_seconds"].name


def _ratio(window: str) -> str:
    """Vendor errors over check outcomes in ``$window``. Every vendor error is also counted
    as an outcome (provider_unavailable, or manual_review after the last retry), so the
    share is errors / outcomes; the denominator is max(outcomes, errors): if the outcome
    series vanish the share is 100 % instead of nothing, and it never exceeds 1."""
    errors = f"sum(increase({ERR}[${window}]))"
    return f"""{errors}
/
(
  sum(increase({OUT}[${window}])) > {errors}
  or
  {errors}
)"""


def _share(window: str, minimum: str) -> str:
    """At least ``$share`` of the attempts over ``$window`` failed with a vendor error, with
    at least ``$minimum`` errors."""
    errors = f"sum(increase({ERR}[${window}]))"
    return f"""(
  {_indent(_ratio(window))}
  >= $share
  and
  {errors} >= ${minimum}
)"""


def _indent(text: str) -> str:
    return "\n  ".join(text.splitlines())


# The longer window counts while the short one agrees (or saw no check at all), so that the
# alert resolves within minutes of the vendor's recovery, not when half an hour has drained.
_CONFIRMED = f"""
and on()
(
  {_indent(_ratio("window"))}
  >= $share
  or
  sum(increase({OUT}[$window])) < 1
)"""


VENDOR_DOWN = Alert(
    name="KycVendorDown",
    domain="kyc",
    team="compliance",
    severity="warning",
    summary="Most KYC checks fail because the KYC vendor does not answer.",
    description=(
        "{value:pct} of KYC check attempts in the last 10 minutes (30 when few players "
        "register) failed with a vendor error (all GEOs)."
    ),
    expr=_share("window", "min_errors")
    + "\nor\n(\n"
    + _share("long_window", "long_min_errors")
    + _CONFIRMED
    + "\n)",
    for_="3m",
    scope=(),
    dashboard="kyc",
    detection="20m",
    params={
        "window": Param("10m", "window the errors and outcomes are counted over"),
        "share": Param(0.5, "share of check attempts that failed with a vendor error that fires"),
        "min_errors": Param(
            10, "vendor errors needed in the window (a quiet night is not an outage)"
        ),
        # A small operator registers a player every few minutes: the longer window
        # gathers enough errors to tell an outage from a vendor hiccup.
        "long_window": Param("30m", "the longer window, for low registration volumes"),
        "long_min_errors": Param(5, "vendor errors needed in the longer window"),
    },
    catches=(Catch("kyc_vendor_down"),),
    runbook=Runbook(
        meaning="At least `share` of the KYC check attempts of `window` (first attempts and "
        "retries, all GEOs together: there is one vendor) failed because the vendor was "
        "unavailable or answered with an error, with at least `min_errors` errors; or the "
        "same share over `long_window` with `long_min_errors`, so that an operator who "
        "registers a player every few minutes hears of an outage within 20 minutes. The "
        "platform retries a check after 30 s, 2 min and 10 min, then gives up and sends it "
        "to manual review, so an outage of more than ~13 minutes turns into manual-review "
        "backlog. Warning, not a page: no money is at risk and the platform degrades safely "
        "on its own; what is left is a vendor ticket and review staffing.",
        impact="New players are not verified: they cannot withdraw (and their FTDs do not "
        "qualify for affiliates) until the vendor is back or a reviewer decides. Every check "
        "that exhausts its retries lands in the manual-review queue "
        "(KycManualReviewBacklog follows if the outage lasts).",
        diagnosis=(
            "Check the vendor's status page and our outbound calls to it (errors, timeouts) "
            "on the platform dashboard.",
            "Break the errors down by GEO on the KYC dashboard: all GEOs (vendor down) or "
            "one (the vendor's data source for that country)?",
            "Read the vendor's answer: the platform keeps it in kyc_checks.last_error (not in "
            "the pw_kyc_checks contract view) and in its logs; expired credentials or a "
            "rotated API key look like an outage.",
        ),
        mitigation=(
            "Open a ticket with the vendor; switch to the backup vendor if the contract has one.",
            "Fix our credentials or configuration if the errors are ours (401/403 answers).",
            "Tell the review team: checks that exhausted their retries (pw_kyc_checks: "
            "manual_review with 4 attempts) are waiting for them.",
        ),
    ),
)

REVIEW_BACKLOG = Alert(
    name="KycManualReviewBacklog",
    domain="kyc",
    team="compliance",
    severity="warning",
    summary="KYC manual reviews fall behind: the oldest is past the SLA or the queue is too long.",
    description=(
        "The oldest KYC check waiting for a manual review has waited {value:dur}: it is "
        "past the review SLA, or the review queue is over its size limit."
    ),
    expr=f"""max({OLDEST}) > $sla_seconds
or
max({OLDEST}) and on() max({BACKLOG}) > $max_backlog""",
    for_="10m",
    scope=(),
    dashboard="kyc",
    detection="15m",
    params={
        "sla_seconds": Param(86400, "age of the oldest check in manual review that fires (SLA)"),
        "max_backlog": Param(200, "checks waiting in manual review that fire, whatever their age"),
    },
    runbook=Runbook(
        meaning="The value is always the wait of the oldest check in manual review (state "
        "exporter, from the check's requested_at). The alert fires when that wait passes the "
        "review SLA `sla_seconds`, or when more than `max_backlog` checks wait, whichever "
        "comes first: the second is the early warning that the SLA will be missed (a vendor "
        "outage sends every check to manual review).",
        impact="Players wait for verification: no withdrawal until they are verified, "
        "support tickets, and a compliance breach when the regulator's deadline for "
        "verification is missed.",
        diagnosis=(
            "Read the backlog count and the oldest age on the KYC dashboard: which of the two "
            "fired?",
            "Did the queue grow because of a vendor outage (KycVendorDown, vendor errors) or "
            "because reviews stopped (reviewer availability, the back office)?",
            "List the oldest checks (pw_kyc_checks, status manual_review, by requested_at).",
        ),
        mitigation=(
            "Add reviewers, oldest checks first.",
            "After a vendor outage, start with the checks it sent to review (4 attempts, "
            "requested during the outage): they never got a vendor decision.",
        ),
    ),
)

ALERTS = (VENDOR_DOWN, REVIEW_BACKLOG)


DOMAIN = Domain(
    name="kyc",
    recordings=(),
    alerts=ALERTS,
    about="KYC: vendor outages and the manual-review queue.",
)
