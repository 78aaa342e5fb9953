"""What happens to a payment or payout, decided once, at request time, from a seeded RNG.

Every transaction gets its own ``random.Random`` derived from the simulator seed and the
transaction's identity, so outcomes depend on the seed and the request, not on the order
in which concurrent requests happen to arrive.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from igaming.sim.psp.config import PspKnobs
from igaming.sim.psp.ledger import Kind

# Gap between copies of a duplicated callback, and between the final callback and the
# stale "pending" one sent after it when reordering.
DUPLICATE_GAP_SECONDS = (0.2, 3.0)
STALE_GAP_SECONDS = 1.0


def transaction_rng(seed: int, psp: str, kind: Kind, merchant_reference: str) -> random.Random:
    return random.Random(f"{seed}:{psp}:{kind}:{merchant_reference}")


def stable_hex(*parts: object, length: int = 20) -> str:
    text = ":".join(str(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def psp_reference(seed: int, psp: str, kind: Kind, merchant_reference: str) -> str:
    tag = "pay" if kind == "payment" else "po"
    return f"{psp}_{tag}_{stable_hex(seed, psp, kind, merchant_reference)}"


def event_id(psp_reference: str, index: int) -> str:
    return f"evt_{stable_hex(psp_reference, index, length=24)}"


@dataclass(frozen=True)
class PlannedStatus:
    status: str
    reason: str | None
    occurred_at: datetime


@dataclass(frozen=True)
class DeliveryPlan:
    """When the copies of one callback go out (empty = lost) and whether they are mis-signed."""

    due: tuple[datetime, ...]
    late: bool
    bad_signature: bool


def weighted_choice(rng: random.Random, weights: dict[str, float], fallback: str) -> str:
    items = sorted((k, w) for k, w in weights.items() if w > 0)
    if not items:
        return fallback
    return rng.choices([k for k, _ in items], weights=[w for _, w in items])[0]


def jittered(rng: random.Random, mean_seconds: float) -> float:
    """A delay uniformly spread over [0.5, 1.5] * mean, to the millisecond."""
    return round(mean_seconds * (0.5 + rng.random()), 3)


def plan_lifecycle(
    kind: Kind, knobs: PspKnobs, rng: random.Random, created_at: datetime
) -> list[PlannedStatus]:
    """The statuses a transaction will go through, with when each happens."""
    final_at = created_at + timedelta(seconds=jittered(rng, knobs.callback_delay_seconds))
    if kind == "payout":
        if rng.random() < knobs.failure_rate:
            reason = weighted_choice(rng, knobs.payout_failure_reasons, "acquirer_error")
            return [PlannedStatus("failed", reason, final_at)]
        return [PlannedStatus("paid", None, final_at)]

    # A technical failure happens before the issuer decides; approval_rate applies to
    # the payments that reach the issuer.
    if rng.random() < knobs.failure_rate:
        reason = weighted_choice(rng, knobs.failure_reasons, "acquirer_error")
        return [PlannedStatus("failed", reason, final_at)]
    if rng.random() >= knobs.approval_rate:
        reason = weighted_choice(rng, knobs.decline_reasons, "do_not_honor")
        return [PlannedStatus("declined", reason, final_at)]

    statuses = [PlannedStatus("approved", None, final_at)]
    after = rng.random()
    if after < knobs.chargeback_rate:
        cb_at = final_at + timedelta(seconds=jittered(rng, knobs.chargeback_delay_seconds))
        statuses.append(PlannedStatus("chargeback", "fraudulent", cb_at))
        if rng.random() < knobs.chargeback_reversal_rate:
            delay = jittered(rng, knobs.chargeback_reversal_delay_seconds)
            statuses.append(
                PlannedStatus("chargeback_reversed", None, cb_at + timedelta(seconds=delay))
            )
    elif after < knobs.chargeback_rate + knobs.refund_rate:
        delay = jittered(rng, knobs.refund_delay_seconds)
        statuses.append(
            PlannedStatus("refunded", "merchant_request", final_at + timedelta(seconds=delay))
        )
    return statuses


def plan_delivery(knobs: PspKnobs, rng: random.Random, occurred_at: datetime) -> DeliveryPlan:
    """Apply the callback fault knobs (loss, lateness, duplication, bad signature)."""
    lost = rng.random() < knobs.loss_rate
    late = rng.random() < knobs.late_rate
    duplicated = rng.random() < knobs.duplicate_rate
    bad_signature = rng.random() < knobs.bad_signature_rate
    extra_copy = rng.random() < 0.3
    gaps = [rng.uniform(*DUPLICATE_GAP_SECONDS) for _ in range(2)]
    if lost:
        return DeliveryPlan((), late=False, bad_signature=bad_signature)
    first = occurred_at + timedelta(seconds=knobs.late_seconds if late else 0.0)
    due = [first]
    if duplicated:
        copies = 3 if extra_copy else 2
        for gap in gaps[: copies - 1]:
            due.append(due[-1] + timedelta(seconds=round(gap, 3)))
    return DeliveryPlan(tuple(due), late=late, bad_signature=bad_signature)


def wants_reorder(knobs: PspKnobs, rng: random.Random) -> bool:
    return rng.random() < knobs.reorder_rate
