"""The callback state machine, as pure functions (unit-tested on their own).

A terminal status never regresses. A chargeback or refund after approval is a movement of
its own. An event that overtakes the one it follows (a chargeback or refund before its
approval, a chargeback reversal before its chargeback) is parked and applied right after
its predecessor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Deposit statuses (Deposit.status, a string column). "initiated" (not yet sent),
# "pending" (PSP has it) and "timed_out" (the PSP may have it) are open: any final callback
# still applies to them.
DepositStatus = Literal[
    "initiated",
    "pending",
    "timed_out",
    "approved",
    "declined",
    "failed",
    "chargeback",
    "refunded",
    "chargeback_reversed",
]
DEPOSIT_OPEN: frozenset[DepositStatus] = frozenset({"initiated", "pending", "timed_out"})
DEPOSIT_FINAL: frozenset[DepositStatus] = frozenset({"approved", "declined", "failed"})
DEPOSIT_AFTER_APPROVAL: frozenset[DepositStatus] = frozenset(
    {"chargeback", "refunded", "chargeback_reversed"}
)

# Withdrawal statuses (Withdrawal.status, a string column).
WithdrawalStatus = Literal["requested", "processing", "completed", "failed"]
WITHDRAWAL_OPEN: frozenset[WithdrawalStatus] = frozenset({"requested", "processing"})
WITHDRAWAL_FINAL: frozenset[WithdrawalStatus] = frozenset({"completed", "failed"})


# What a callback did (PspCallback.outcome, a string column, has more: orphan, invalid, ...).
Outcome = Literal["applied", "duplicate", "out_of_order"]
# What the cashier does about it: a deposit's (park: wait for the event it follows) or a
# withdrawal's (complete, fail).
Action = Literal[
    "approve", "decline", "fail", "chargeback", "refund", "chargeback_reversal", "park", "complete"
]
_FINAL_ACTIONS: dict[str, Action] = {"approved": "approve", "declined": "decline", "failed": "fail"}


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    action: Action | None = None
    new_status: str | None = None


def decide_deposit(current: str, incoming: str) -> Decision:
    if incoming == "pending":
        return Decision("applied") if current in DEPOSIT_OPEN else Decision("out_of_order")
    if incoming in DEPOSIT_FINAL:
        if current in DEPOSIT_OPEN:
            return Decision("applied", _FINAL_ACTIONS[incoming], incoming)
        if current == incoming or (incoming == "approved" and current in DEPOSIT_AFTER_APPROVAL):
            return Decision("duplicate")
        return Decision("out_of_order")
    if incoming == "chargeback_reversed":
        if current == "chargeback":
            return Decision("applied", "chargeback_reversal", incoming)
        if current == incoming:
            return Decision("duplicate")
        if current in DEPOSIT_OPEN or current == "approved":
            return Decision("out_of_order", "park")  # its chargeback has not arrived yet
        return Decision("out_of_order")
    if incoming in DEPOSIT_AFTER_APPROVAL:
        if current == "approved":
            action: Action = "chargeback" if incoming == "chargeback" else "refund"
            return Decision("applied", action, incoming)
        if incoming == "chargeback" and current == "chargeback_reversed":
            # A second chargeback (pre-arbitration) after the first was reversed: a new
            # event id, so a movement of its own; a redelivered first one is caught as a
            # duplicate by its event id before this.
            return Decision("applied", "chargeback", incoming)
        if current == incoming:
            return Decision("duplicate")
        if current in DEPOSIT_OPEN:
            return Decision("out_of_order", "park")  # its approval has not arrived yet
        return Decision("out_of_order")
    raise ValueError(f"unknown payment status {incoming!r}")


def decide_withdrawal(current: str, incoming: str) -> Decision:
    if incoming == "pending":
        return Decision("applied") if current in WITHDRAWAL_OPEN else Decision("out_of_order")
    target = {"paid": "completed", "failed": "failed"}.get(incoming)
    if target is None:
        raise ValueError(f"unknown payout status {incoming!r}")
    if current in WITHDRAWAL_OPEN:
        return Decision("applied", "complete" if target == "completed" else "fail", target)
    if current == target:
        return Decision("duplicate")
    return Decision("out_of_order")
