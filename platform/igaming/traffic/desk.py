"""The operator's compliance desk in accelerated runs: the people who decide the KYC checks
the vendor sent to manual review. Without them a simulated day keeps every such check
open for ever, and a run of more than a day reads as a compliance backlog past its SLA
(KycManualReviewBacklog, a false alert of the simulation, not of the rules).

The desk works from 08:00 to 20:00 UTC every day and decides each check once it has
waited ``REVIEW_AFTER`` (the time to pick it up and look at the documents): one in ten
rejected, the others approved, by a hash of the check's id (seeded ids: a run is
reproducible). A check sent to review in the evening waits for the morning: at most
about 14 hours, inside the 24-hour SLA. Through ``igaming.admin.review_kyc``, as a
compliance officer's decision is (audited). The live mode has no desk: its runs last
minutes or hours, never the SLA."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import select

from igaming.admin import OperatorIdentity, review_kyc
from igaming.bootstrap import Platform
from igaming.models import KycCheck

OPENS, CLOSES = 8, 20  # hours, UTC
REVIEW_AFTER = timedelta(hours=2)
REJECTED_SHARE = 0.1
BATCH = 50  # checks decided a pass at most
DESK = OperatorIdentity("compliance-desk", "compliance")


def review_due(p: Platform, now: datetime) -> int:
    """Decide the checks in manual review that have waited long enough, during office
    hours; the number decided."""
    if not OPENS <= now.hour < CLOSES:
        return 0
    with p.session_factory() as session:
        due = (
            session.execute(
                select(KycCheck.id)
                .where(
                    KycCheck.status == "manual_review",
                    KycCheck.requested_at <= now - REVIEW_AFTER,
                )
                .order_by(KycCheck.requested_at, KycCheck.id)
                .limit(BATCH)
            )
            .scalars()
            .all()
        )
    for check_id in due:
        status = "rejected" if _share(check_id) < REJECTED_SHARE else "approved"
        review_kyc(p, DESK, check_id, status, "simulated compliance review")
    return len(due)


def _share(check_id: str) -> float:
    """A number in [0, 1) fixed by the check's id."""
    return int(hashlib.sha256(check_id.encode()).hexdigest()[:8], 16) / 2**32
