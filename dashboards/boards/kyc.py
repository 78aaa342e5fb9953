"""KYC and compliance: are players verified (outcomes by GEO), is the vendor answering,
how long is the manual-review queue, who is refused at registration.

Audited manual adjustments are not exported as a metric (they are in the audit log only),
so the compliance side shows registration refusals and KYC outcomes.
"""

from __future__ import annotations

from dashboards.alerts import AlertSource
from dashboards.build import Board, Var
from dashboards.links import runbook_links
from dashboards.panels import Q, stat, timeseries
from dashboards.promql import increase, m, rate, ratio, sum_by, var

OUTCOMES = m("igaming_kyc_outcomes")
VENDOR_ERRORS = m("igaming_kyc_vendor_errors")
REFUSALS = m("igaming_registration_refusals")
BACKLOG = m("igaming_kyc_manual_review_backlog")
BACKLOG_OLDEST = m("igaming_kyc_manual_review_oldest_age_seconds")

GEO = var("geo")
UNAVAILABLE = 'status="provider_unavailable"'


def vendor_error_share(window: str) -> str:
    """The alert's measure: vendor errors among check attempts (outcomes, or the errors
    when they outnumber the outcomes), all GEOs together: there is one vendor."""
    errors = sum_by("", increase(VENDOR_ERRORS, window=window))
    attempts = sum_by("", increase(OUTCOMES, window=window))
    return f"{errors}\n/\n({attempts} > {errors}\nor\n{errors})"


def board(src: AlertSource) -> Board:
    backlog_limit = src.limit("KycManualReviewBacklog", "max_backlog", op=">")
    sla_limit = src.limit("KycManualReviewBacklog", "sla_seconds", op=">")
    vendor_limit = src.limit("KycVendorDown", "share", op=">=")
    vendor_window = src.window("KycVendorDown", "window", "10m")
    now = [
        stat(
            "KYC approved (range)",
            Q(
                ratio(
                    sum_by("", increase(OUTCOMES, 'status="approved"', GEO)),
                    sum_by("", increase(OUTCOMES, GEO)),
                )
            ),
            unit="percentunit",
            instant=True,
            desc="Approved among KYC outcomes over the range.",
        ),
        stat(
            "KYC checks per minute",
            Q(f"{sum_by('', rate(OUTCOMES, GEO))} * 60"),
            unit="cpm",
        ),
        stat(
            f"Vendor error share ({vendor_window}, all GEOs)",
            Q(vendor_error_share(vendor_window)),
            unit="percentunit",
            limits=[vendor_limit],
        ),
        stat(
            "Waiting for manual review",
            Q(f"max({BACKLOG})"),
            unit="short",
            limits=[backlog_limit],
        ),
        stat(
            "Oldest waiting for review",
            Q(f"max({BACKLOG_OLDEST})"),
            unit="s",
            graph=False,
            limits=[sla_limit],
        ),
        stat(
            "Registrations refused (range)",
            Q(sum_by("", increase(REFUSALS, GEO))),
            unit="short",
            instant=True,
            decimals=0,
        ),
    ]
    outcomes = [
        timeseries(
            "KYC outcomes per minute by status",
            Q(f"{sum_by('status', rate(OUTCOMES, GEO))} * 60", "{{status}}"),
            unit="cpm",
            stack=True,
            w=8,
        ),
        timeseries(
            "KYC approval ratio by GEO (1h)",
            Q(
                ratio(
                    sum_by("geo", increase(OUTCOMES, 'status="approved"', GEO, window="1h")),
                    sum_by("geo", increase(OUTCOMES, GEO, window="1h")),
                ),
                "{{geo}}",
            ),
            unit="percentunit",
            min_=0,
            max_=1,
            w=8,
        ),
        timeseries(
            "Sent to manual review per hour by GEO",
            Q(
                sum_by("geo", increase(OUTCOMES, 'status="manual_review"', GEO, window="1h")),
                "{{geo}}",
            ),
            unit="short",
            w=8,
        ),
    ]
    vendor = [
        timeseries(
            "Vendor errors per minute by GEO",
            Q(f"{sum_by('geo', rate(VENDOR_ERRORS, GEO))} * 60", "{{geo}}"),
            unit="cpm",
            stack=True,
            links=runbook_links(src, "KycVendorDown"),
        ),
        timeseries(
            f"Vendor error share ({vendor_window}, all GEOs)",
            Q(vendor_error_share(vendor_window), "vendor errors / attempts"),
            Q(
                ratio(
                    sum_by("", increase(OUTCOMES, UNAVAILABLE, window=vendor_window)),
                    sum_by("", increase(OUTCOMES, window=vendor_window)),
                ),
                "checks ending provider_unavailable",
            ),
            unit="percentunit",
            min_=0,
            max_=1,
            desc="Vendor errors among check attempts (the alert's measure; retries count), "
            "and the share of outcomes that were provider_unavailable.",
            limits=[vendor_limit],
        ),
    ]
    review = [
        timeseries(
            "Manual-review backlog",
            Q(f"max({BACKLOG})", "waiting"),
            unit="short",
            min_=0,
            limits=[backlog_limit],
            w=8,
        ),
        timeseries(
            "Oldest check waiting for manual review",
            Q(f"max({BACKLOG_OLDEST})", "oldest"),
            unit="s",
            min_=0,
            limits=[sla_limit],
            w=8,
        ),
        timeseries(
            "Registrations refused per hour by reason",
            Q(sum_by("reason", increase(REFUSALS, GEO, window="1h")), "{{reason}}"),
            unit="short",
            stack=True,
            desc="blocked_country and under_age refusals: the compliance gate at sign-up.",
            w=8,
        ),
    ]
    return Board(
        key="kyc",
        description="KYC outcomes, vendor health, the manual-review backlog and registration "
        "refusals. Audited manual adjustments are not exported as metrics.",
        variables=(Var("geo", OUTCOMES, title="GEO"),),
        sections=(
            ("Now", now),
            ("Outcomes", outcomes),
            ("Vendor", vendor),
            ("Manual review and refusals", review),
        ),
        tags=("kyc", "compliance"),
        time_from="now-24h",
    )
