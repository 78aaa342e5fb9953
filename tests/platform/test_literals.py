"""The Literal types name the same values as the code that uses them at run time."""

from __future__ import annotations

import itertools
from typing import get_args

import pytest

from igaming.cashier.callbacks import PAYMENT_STATUSES, PAYOUT_STATUSES
from igaming.cashier.states import (
    DEPOSIT_AFTER_APPROVAL,
    DEPOSIT_FINAL,
    DEPOSIT_OPEN,
    WITHDRAWAL_FINAL,
    WITHDRAWAL_OPEN,
    Action,
    DepositStatus,
    Outcome,
    WithdrawalStatus,
    decide_deposit,
    decide_withdrawal,
)
from igaming.casino.models import CasinoRound
from igaming.casino.rounds import _ROUND_COLUMNS, Round


def test_the_status_literals_are_the_state_machines_statuses():
    assert set(get_args(DepositStatus)) == DEPOSIT_OPEN | DEPOSIT_FINAL | DEPOSIT_AFTER_APPROVAL
    assert set(get_args(WithdrawalStatus)) == WITHDRAWAL_OPEN | WITHDRAWAL_FINAL


@pytest.mark.parametrize(
    ("decide", "statuses", "incoming"),
    [
        (decide_deposit, get_args(DepositStatus), PAYMENT_STATUSES),
        (decide_withdrawal, get_args(WithdrawalStatus), PAYOUT_STATUSES),
    ],
)
def test_every_decision_is_one_of_the_outcomes_and_actions_named(decide, statuses, incoming):
    for current, status in itertools.product(statuses, incoming):
        decision = decide(current, status)
        assert decision.outcome in get_args(Outcome), (current, status)
        assert decision.action is None or decision.action in get_args(Action), (current, status)


def test_a_rounds_annotations_are_the_casino_rounds_columns():
    assert tuple(Round.__annotations__) == _ROUND_COLUMNS
    assert tuple(c.name for c in CasinoRound.__table__.c) == _ROUND_COLUMNS
