"""Postback delivery: claim due jobs under a lease, send them outside any transaction,
record the attempt; exponential back-off, then a dead letter after the last attempt.

A 2xx answer acknowledges a postback: it is never sent again (its dedupe key is unique
and a delivered job is never claimed). A crash between send and record leaves the lease
to expire and the job is sent once more: delivery is at least once, and the network
dedupes by conversion_id + event (docs/affiliates.md).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import httpx
from sqlalchemy import or_, select

from igaming.affiliates.events import (
    PostbackDeadLettered,
    PostbackDelivered,
    PostbackDispatcherPassed,
    PostbackFailed,
)
from igaming.affiliates.models import Affiliate, PostbackAttempt, PostbackJob
from igaming.affiliates.postbacks import SIGNATURE_HEADER, check_destination, sign_url
from igaming.bootstrap import Platform
from igaming.errors import ValidationFailed
from igaming.tracing import annotate, client_span, record_status, span

log = logging.getLogger(__name__)

FIRST_BACKOFF_SECONDS = 30
MAX_BACKOFF_SECONDS = 3600
LEASE = timedelta(seconds=60)
TIMEOUT_SECONDS = 10.0
BATCH = 100  # postbacks claimed by one dispatch_due call
# What an attempt records when the destination is refused at delivery time.
REFUSED_DESTINATION = "refused_destination"


def backoff(attempt: int) -> timedelta:
    """Wait after failed attempt n: 30 s, 1 m, 2 m, 4 m ... capped at an hour."""
    seconds = FIRST_BACKOFF_SECONDS * 2 ** min(max(attempt - 1, 0), 20)
    return timedelta(seconds=min(seconds, MAX_BACKOFF_SECONDS))


@dataclass(frozen=True)
class Claimed:
    job_id: int
    attempt: int
    url: str
    secret: str
    affiliate: str = ""


# What became of one delivery attempt (kept as PostbackAttempt.outcome, a string column).
AttemptOutcome = Literal["delivered", "failed", "dead_letter", "lease_lost"]


@dataclass(frozen=True)
class AttemptResult:
    job_id: int
    attempt: int
    outcome: AttemptOutcome
    status_code: int | None
    error: str | None


def _claim(p: Platform, owner: str, limit: int) -> list[Claimed]:
    now = p.clock.now()
    with p.uow() as uow:
        jobs = (
            uow.session.execute(
                select(PostbackJob)
                .where(
                    PostbackJob.status == "pending",
                    PostbackJob.next_attempt_at <= now,
                    or_(PostbackJob.lease_until.is_(None), PostbackJob.lease_until <= now),
                )
                .order_by(PostbackJob.next_attempt_at, PostbackJob.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            .scalars()
            .all()
        )
        claimed = []
        for job in jobs:
            affiliate = uow.session.get(Affiliate, job.affiliate)
            job.attempts += 1  # counted at claim: a crash mid-send still uses an attempt
            job.lease_owner, job.lease_until = owner, now + LEASE
            claimed.append(
                Claimed(
                    job.id,
                    job.attempts,
                    job.url,
                    affiliate.secret if affiliate else "",
                    job.affiliate,
                )
            )
        uow.commit()
    return claimed


def _send(p: Platform, client: httpx.Client, c: Claimed) -> tuple[int | None, str | None, int]:
    started = time.perf_counter()
    try:
        # Again at each delivery, not only when the template was registered: DNS changes.
        check_destination(c.url, allow_private=bool(p.settings.postback_allow_private))
    except ValidationFailed:
        return None, REFUSED_DESTINATION, int((time.perf_counter() - started) * 1000)
    headers = {SIGNATURE_HEADER: sign_url(c.secret, int(p.clock.now().timestamp()), c.url)}
    # The URL holds click ids: it is no span attribute.
    with client_span("postback.send") as trace_context:
        headers.update(trace_context)
        try:
            response = client.get(c.url, headers=headers)
            status, error = response.status_code, None
            record_status(status)
            if not 200 <= status < 300:
                error = _status_text(status)
        except httpx.HTTPError as exc:
            # The class only: an exception's text can carry what the far side sent.
            status, error = None, type(exc).__name__
            annotate(**{"error.type": type(exc).__name__})
    return status, error, int((time.perf_counter() - started) * 1000)


def _status_text(status: int) -> str:
    """What a non-2xx answer leaves on record: its code and the standard phrase of that
    code, never the partner's body or reason phrase (they are shown to whoever configured
    the URL, and the URL may point wherever they like)."""
    phrase = httpx.codes.get_reason_phrase(status)
    return f"HTTP {status} {phrase}" if phrase else f"HTTP {status}"


def _reason(status: int | None, error: str | None) -> str:
    if status is not None:
        return f"http_{status}"
    name = (error or "error").split(":", 1)[0]
    return {
        "ConnectTimeout": "timeout",
        "ReadTimeout": "timeout",
        "ConnectError": "connect_error",
        REFUSED_DESTINATION: REFUSED_DESTINATION,
    }.get(name, "transport_error")


def _record(
    p: Platform, owner: str, c: Claimed, status: int | None, error: str | None, latency: int
) -> AttemptResult:
    now = p.clock.now()
    ok = status is not None and 200 <= status < 300
    with p.uow() as uow:
        job = uow.session.get(PostbackJob, c.job_id, with_for_update=True)
        assert job is not None
        ids: dict[str, Any] = {
            "affiliate": job.affiliate,
            "campaign": job.campaign,
            "event": job.event,
            "postback_id": job.id,
        }
        mine = job.lease_owner == owner and job.status == "pending"
        outcome: AttemptOutcome
        if ok and job.status != "delivered":
            outcome = "delivered"
            job.status, job.delivered_at, job.next_attempt_at = "delivered", now, None
            delay = (now - job.created_at).total_seconds()
            uow.emit(
                PostbackDelivered(occurred_at=now, attempts=c.attempt, delay_seconds=delay, **ids)
            )
        elif ok or not mine:
            outcome = "lease_lost"  # another dispatcher took the job over meanwhile
        elif c.attempt >= job.max_attempts:
            outcome = "dead_letter"
            job.status, job.next_attempt_at = "dead_letter", None
            uow.emit(
                PostbackDeadLettered(
                    occurred_at=now, attempts=c.attempt, reason=_reason(status, error), **ids
                )
            )
        else:
            outcome = "failed"
            job.next_attempt_at = now + backoff(c.attempt)
            uow.emit(
                PostbackFailed(
                    occurred_at=now, attempt=c.attempt, reason=_reason(status, error), **ids
                )
            )
        if mine or outcome == "delivered":
            job.lease_owner, job.lease_until = None, None
            job.last_status_code, job.last_error = status, error
        uow.session.add(
            PostbackAttempt(
                job_id=job.id,
                attempt=c.attempt,
                at=now,
                url=c.url,
                status_code=status,
                latency_ms=latency,
                outcome=outcome,
                error=error,
            )
        )
        uow.commit()
    return AttemptResult(c.job_id, c.attempt, outcome, status, error)


def dispatch_due(p: Platform, client: httpx.Client, limit: int = BATCH) -> list[AttemptResult]:
    """Send the postbacks that are due now: claim (commit) → send → record (commit)."""
    owner = str(uuid.uuid4())
    results = []
    for claimed in _claim(p, owner, limit):
        with span("postback.deliver", affiliate=claimed.affiliate, attempt=claimed.attempt):
            status, error, latency = _send(p, client, claimed)
            results.append(_record(p, owner, claimed, status, error, latency))
            annotate(outcome=results[-1].outcome)
    # The heartbeat: a pass that ended, due postbacks or none (a stall shows as its age,
    # whatever the traffic; igaming_postback_dispatcher_last_pass_timestamp_seconds).
    p.bus.publish([PostbackDispatcherPassed(occurred_at=p.clock.now(), claimed=len(results))])
    return results


def make_client() -> httpx.Client:
    """The HTTP client for live delivery (tests pass an in-process one)."""
    return httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False)


def run_worker(
    p: Platform,
    client: httpx.Client,
    stop: threading.Event,
    *,
    interval_seconds: float = 1.0,
) -> None:
    """Live loop: consume the outbox and deliver due postbacks until ``stop`` is set."""
    from igaming.affiliates.outbox_consumer import consume_all

    while not stop.is_set():
        try:
            consume_all(p)
            dispatch_due(p, client)
        except Exception:  # the loop must outlive one bad pass; the next pass retries
            log.exception("affiliate worker pass failed")
        stop.wait(interval_seconds)
