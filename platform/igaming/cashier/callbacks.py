"""PSP callbacks: verified, recorded (every one, orphans included) and applied once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    Field,
    StrictInt,
    ValidationError,
)
from sqlalchemy import bindparam, select

from ground.money import MAX_AMOUNT_MINOR
from igaming.bootstrap import Platform
from igaming.cashier import deposits, withdrawals
from igaming.cashier.states import Action, decide_deposit, decide_withdrawal
from igaming.errors import NotFound, Unauthorized, ValidationFailed
from igaming.events import CallbackReceived
from igaming.fastsql import query
from igaming.models import Deposit, PspCallback, Withdrawal
from igaming.partner_body import prune_samples, refused_fields, sample_body
from igaming.partners.signing import SIGNATURE_HEADER, SignatureError, verify
from igaming.tracing import annotate, traced
from igaming.uow import UnitOfWork

PAYMENT_STATUSES = (
    "pending",
    "approved",
    "declined",
    "failed",
    "chargeback",
    "chargeback_reversed",
    "refunded",
)
PAYOUT_STATUSES = ("pending", "paid", "failed")
KNOWN_STATUSES = {"payment": PAYMENT_STATUSES, "payout": PAYOUT_STATUSES}
# Outcomes of callbacks refused before they were read as a callback: kept as samples only.
REFUSED = ("bad_signature", "invalid")


def _truncated(limit: int) -> AfterValidator:
    return AfterValidator(lambda v: v[:limit] if v is not None else None)


# Every field is bounded to what its column holds (a longer value was a database error, a
# 500, on PostgreSQL) and every number to what the platform can book: a PSP never sends
# more than ground.money.MAX_AMOUNT_MINOR, and 10**30 overflowed SQLite's integer.
Ref = Annotated[str, Field(min_length=1, max_length=100)]


class CallbackBody(BaseModel):
    event_id: Ref
    psp: Annotated[str, Field(min_length=1, max_length=40)]
    psp_reference: Ref
    merchant_reference: Ref
    kind: Annotated[str, Field(min_length=1, max_length=12)]
    # Up to 64 characters read; an unknown status is recorded (its first 24) and ignored.
    status: Annotated[str, Field(min_length=1, max_length=64)]
    amount: Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT_MINOR)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    # Kept on the deposit or withdrawal (100 characters): a longer reason is cut, not
    # refused, so that a decline is never retried for its wording.
    reason: Annotated[str | None, Field(max_length=1000), _truncated(100)] = None
    # A time without a zone cannot be compared with the platform's clock (it was a 500).
    occurred_at: AwareDatetime


@dataclass(frozen=True)
class CallbackResult:
    outcome: str
    status: str | None = None


@traced("psp.callback")
def handle_callback(p: Platform, psp: str, body: bytes, signature: str | None) -> CallbackResult:
    """Verify, record and apply one callback. Raises Unauthorized for a bad signature
    (after recording it) and ValidationFailed for a body that is not a callback."""
    now = p.clock.now()
    secret = p.settings.psp_secrets.get(psp)
    if secret is None:
        raise NotFound(f"unknown PSP {psp!r}")
    annotate(psp=psp)
    try:
        verify(secret, signature, body, now.timestamp())
    except SignatureError as exc:
        _record_rejected(p, psp, body, now, "bad_signature", str(exc))
        raise Unauthorized(f"callback signature rejected: {exc}", header=SIGNATURE_HEADER) from exc
    try:
        cb = CallbackBody.model_validate_json(body)
    except ValidationError as exc:
        _record_rejected(p, psp, body, now, "invalid", str(exc.errors()[:3]))
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err.get("loc", ()))
        raise ValidationFailed(f"not a valid callback: {where}: {err['msg']}") from exc
    known = KNOWN_STATUSES.get(cb.kind, ())
    with p.uow() as uow:
        if cb.status in known:
            outcome, status, detail = _apply(p, uow, psp, cb, now)
        else:
            # docs/psp-protocol.md: a status (or kind) the platform does not know is
            # recorded and ignored with a 2xx, so that a new PSP status never causes a
            # retry storm; nothing about money changes.
            outcome, status = "ignored", None
            detail = f"ignored: unknown kind/status {cb.kind}/{cb.status}"[:1000]
        uow.session.add(
            PspCallback(
                psp=psp,
                event_id=cb.event_id,
                kind=cb.kind,
                status=cb.status[:24],
                psp_reference=cb.psp_reference,
                merchant_reference=cb.merchant_reference,
                amount=cb.amount,
                currency=cb.currency,
                outcome=outcome,
                detail=detail,
                occurred_at=cb.occurred_at,
                received_at=now,
                body=body.decode(errors="replace"),
            )
        )
        uow.emit(
            CallbackReceived(
                occurred_at=now,
                psp=psp,
                # Only known values reach the event: its fields become metric labels.
                kind=cb.kind if cb.kind in KNOWN_STATUSES else "unknown",
                status=cb.status if cb.status in known else "unknown",
                outcome=outcome,
                delay_seconds=max(0.0, (now - cb.occurred_at).total_seconds()),
            )
        )
        uow.commit()
    annotate(kind=cb.kind, status=cb.status, outcome=outcome)
    return CallbackResult(outcome, status)


# Asked on every callback, almost always to find the event new and nothing parked: built
# once and run by fastsql.query (flush, then the statement: the ORM's select cost several
# times the statement); parked rows are loaded as objects only when there are some.
_OUTCOMES = select(PspCallback.outcome).where(
    PspCallback.psp == bindparam("psp"), PspCallback.event_id == bindparam("event_id")
)
_PARKED = (
    select(PspCallback.id)
    .where(
        PspCallback.psp == bindparam("psp"),
        PspCallback.merchant_reference == bindparam("ref"),
        PspCallback.detail == bindparam("detail"),
    )
    .order_by(PspCallback.id)
)

# A callback whose predecessor has not arrived yet (a chargeback before its approval) is
# recorded out_of_order with this detail and applied as soon as the predecessor is.
PARKED = "parked: waits for the event it follows"


def _apply(
    p: Platform, uow: UnitOfWork, psp: str, cb: CallbackBody, now: datetime
) -> tuple[str, str | None, str | None]:
    # The row lock serialises concurrent deliveries of the same callback.
    ref = cb.merchant_reference
    target = (
        uow.session.get(Deposit, ref, with_for_update=True)
        if cb.kind == "payment"
        else uow.session.get(Withdrawal, ref, with_for_update=True)
    )
    if target is None or target.psp != psp:
        return "orphan", None, None
    if _already_applied(uow, psp, cb.event_id):
        return "duplicate", target.status, None
    if cb.status != "pending" and (cb.amount != target.amount or cb.currency != target.currency):
        return "amount_mismatch", target.status, None
    if target.psp_reference is None:
        target.psp_reference = cb.psp_reference
    if isinstance(target, Deposit):
        return _apply_deposit(p, uow, target, cb, now)
    outcome, status = _apply_withdrawal(p, uow, target, cb, now)
    return outcome, status, None


def _already_applied(uow: UnitOfWork, psp: str, event_id: str | None) -> bool:
    if event_id is None:
        return (
            uow.session.execute(
                select(PspCallback.id).where(
                    PspCallback.psp == psp,
                    PspCallback.event_id.is_(None),
                    PspCallback.outcome == "applied",
                )
            ).first()
            is not None
        )
    # The outcome is checked here, not in SQL: with it in the WHERE clause SQLite (no
    # statistics) searched ix_psp_callbacks_outcome_received, every applied callback ever
    # received, on each callback, instead of the event's one or two rows by (psp, event_id).
    rows = query(uow.session, _OUTCOMES, {"psp": psp, "event_id": event_id})
    return any(row.outcome == "applied" for row in rows.all())


def _apply_deposit(
    p: Platform, uow: UnitOfWork, d: Deposit, cb: CallbackBody, now: datetime
) -> tuple[str, str, str | None]:
    if cb.status == "pending" and d.status == "initiated":
        d.status, d.updated_at = "pending", now
    decision = decide_deposit(d.status, cb.status)
    if decision.action == "park":
        return decision.outcome, d.status, PARKED
    if decision.action is not None:
        _act(p, uow, d, decision.action, cb.status, cb.reason, cb.event_id, now)
        _replay_parked(p, uow, d, now)
    return decision.outcome, d.status, None


def _act(
    p: Platform,
    uow: UnitOfWork,
    d: Deposit,
    action: Action,
    status: str,
    reason: str | None,
    event_id: str,
    now: datetime,
) -> None:
    if action == "approve":
        deposits.approve(p, uow, d, now)
    elif action in ("decline", "fail"):
        deposits.decline(p, uow, d, now, status, reason or status)
    elif action in ("chargeback", "refund"):
        deposits.claw_back(p, uow, d, now, status, event_id)
    elif action == "chargeback_reversal":
        deposits.reverse_chargeback(p, uow, d, now, event_id)
    else:
        raise ValueError(f"unknown deposit action {action!r}")


def _replay_parked(p: Platform, uow: UnitOfWork, d: Deposit, now: datetime) -> None:
    """Apply, in arrival order, the parked events whose predecessor is now applied; a
    parked copy of an event already applied is a duplicate."""
    progressed = True
    while progressed:
        progressed = False
        params = {"psp": d.psp, "ref": d.id, "detail": PARKED}
        ids = [row.id for row in query(uow.session, _PARKED, params).all()]
        parked = [uow.session.get(PspCallback, i) for i in ids]
        for cb in parked:
            assert cb is not None
            assert cb.status is not None and cb.event_id is not None
            decision = decide_deposit(d.status, cb.status)
            if decision.action == "park":
                continue
            if _already_applied(uow, d.psp, cb.event_id):
                cb.outcome = "duplicate"
            elif decision.action is not None:
                _act(p, uow, d, decision.action, cb.status, None, cb.event_id, now)
                cb.outcome, progressed = "applied", True
            cb.detail = f"{cb.outcome} at {now.isoformat()}, after the event it follows"
            uow.session.flush()


def _apply_withdrawal(
    p: Platform, uow: UnitOfWork, w: Withdrawal, cb: CallbackBody, now: datetime
) -> tuple[str, str]:
    decision = decide_withdrawal(w.status, cb.status)
    if decision.action == "complete":
        withdrawals.complete(p, uow, w, now)
    elif decision.action == "fail":
        withdrawals.return_funds(p, uow, w, now, cb.reason or "payout_failed")
    return decision.outcome, w.status


def _record_rejected(
    p: Platform, psp: str, body: bytes, now: datetime, outcome: str, detail: str
) -> None:
    """Keep a refused callback (bad signature, unparseable) as one of the PSP's newest
    samples (igaming.partner_body) and count it; it is not authenticated, so it writes no
    outbox row and evicts the PSP's oldest sample."""
    text = refused_fields(body, 100)

    # Only known values reach the event: its fields become metric labels.
    kind = k if (k := text("kind")) in ("payment", "payout") else "unknown"
    status = s if (s := text("status")) in PAYMENT_STATUSES + PAYOUT_STATUSES else "unknown"
    annotate(kind=kind, status=status, outcome=outcome)
    with p.uow() as uow:
        uow.session.add(
            PspCallback(
                psp=psp,
                event_id=text("event_id"),
                kind=(text("kind") or "")[:12] or None,
                status=(text("status") or "")[:24] or None,
                psp_reference=text("psp_reference"),
                merchant_reference=text("merchant_reference"),
                outcome=outcome,
                detail=detail[:1000],
                received_at=now,
                body=sample_body(body),
            )
        )
        uow.session.flush()
        prune_samples(
            uow.session, PspCallback.id, PspCallback.psp == psp, PspCallback.outcome.in_(REFUSED)
        )
        uow.commit()
    p.bus.publish(
        [
            CallbackReceived(
                occurred_at=now,
                psp=psp,
                kind=kind,
                status=status,
                outcome=outcome,
                delay_seconds=None,
            )
        ]
    )
