"""PSP callbacks as properties: whatever the order, repetition and lateness of delivery,
a deposit ends in the PSP's final status and is credited at most once.

Hypothesis draws a PSP history, how often each of its events is delivered and in which
order; the real callback handler applies them to a fresh deposit. The state machine
(cashier.states) is also checked on its own, exhaustively and over random sequences.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from ground.clock import FakeClock
from igaming.bootstrap import Platform
from igaming.cashier.callbacks import PAYMENT_STATUSES, PAYOUT_STATUSES, handle_callback
from igaming.cashier.deposits import request_deposit
from igaming.cashier.states import (
    DEPOSIT_AFTER_APPROVAL,
    DEPOSIT_FINAL,
    DEPOSIT_OPEN,
    WITHDRAWAL_FINAL,
    WITHDRAWAL_OPEN,
    decide_deposit,
    decide_withdrawal,
)
from igaming.models import Account, Deposit, LedgerEntry, PspCallback, WalletTransaction
from igaming.partners.signing import MAX_AGE_SECONDS, sign
from igaming.wallet.invariants import check_invariants
from tests.conftest import make_platform, register_player
from tests.fakes import callback_body

# A PSP's history of one payment, and the status the deposit must end in.
HISTORIES: dict[tuple[str, ...], str] = {
    ("approved",): "approved",
    ("declined",): "declined",
    ("failed",): "failed",
    ("pending", "approved"): "approved",
    ("pending", "declined"): "declined",
    ("approved", "chargeback"): "chargeback",
}
MAX_LAG = MAX_AGE_SECONDS - 60  # a delivery signed this long ago still verifies


@dataclass(frozen=True)
class Delivery:
    event: int  # index into the history
    advance: int  # seconds the clock moves before this delivery
    lag: int  # seconds between the PSP signing it and the platform receiving it


@dataclass(frozen=True)
class Scenario:
    history: tuple[str, ...]
    amount: int
    deliveries: tuple[Delivery, ...]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    history = draw(st.sampled_from(sorted(HISTORIES)))
    copies = [draw(st.integers(1, 3)) for _ in history]
    order = draw(st.permutations([i for i, n in enumerate(copies) for _ in range(n)]))
    deliveries = tuple(
        Delivery(event, draw(st.integers(0, 90)), draw(st.integers(0, MAX_LAG))) for event in order
    )
    return Scenario(history, draw(st.integers(1, 10_000_000)), deliveries)


def _play(p: Platform, scenario: Scenario) -> tuple[str, list[str]]:
    """A fresh player and deposit, then every delivery of the scenario; returns the
    deposit id and the outcome of each delivery."""
    player = register_player(p)
    deposit = request_deposit(
        p,
        player.id,
        amount=scenario.amount,
        currency="EUR",
        method="card",
        idempotency_key="d",
    )
    assert deposit.status == "pending"
    created = p.clock.now()
    bodies = [
        callback_body(
            merchant_reference=deposit.id,
            status=status,
            amount=scenario.amount,
            occurred_at=created + timedelta(seconds=i),
            event_id=f"{deposit.id}-{i}-{status}",
            psp_reference=f"psp-{deposit.id}",
        )
        for i, status in enumerate(scenario.history)
    ]
    outcomes = []
    clock = p.clock
    assert isinstance(clock, FakeClock)  # make_platform's
    for d in scenario.deliveries:
        now = clock.advance(d.advance)
        body = bodies[d.event]
        header = sign("dev-secret-paybridge", int(now.timestamp()) - d.lag, body)
        outcomes.append(handle_callback(p, "paybridge", body, header).outcome)
    return deposit.id, outcomes


def _check(p: Platform, scenario: Scenario, deposit_id: str, outcomes: list[str]) -> None:
    final = HISTORIES[scenario.history]
    with p.session_factory() as s:
        deposit = s.get(Deposit, deposit_id)
        assert deposit is not None
        cash_id, cash = s.execute(
            select(Account.id, Account.balance).where(
                Account.owner == deposit.player_id, Account.kind == "cash"
            )
        ).one()
        credits = s.execute(
            select(func.count()).where(
                LedgerEntry.transaction_id == deposit_id,
                LedgerEntry.account_id == cash_id,
                LedgerEntry.amount > 0,
            )
        ).scalar_one()
        chargebacks = s.execute(
            select(func.count()).where(
                WalletTransaction.reference == deposit_id,
                WalletTransaction.type == "chargeback",
            )
        ).scalar_one()
        report = check_invariants(s)
    assert deposit.status == final, (outcomes, deposit.status)
    assert cash == (scenario.amount if final == "approved" else 0)
    assert credits == (1 if final in ("approved", "chargeback") else 0)
    assert chargebacks == (1 if final == "chargeback" else 0)
    assert report.ok, report.violations()
    assert "applied" in outcomes
    assert set(outcomes) <= {"applied", "duplicate", "out_of_order"}, outcomes


def _property(p: Platform, max_examples: int) -> None:
    @settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(scenarios())
    def run(scenario: Scenario) -> None:
        deposit_id, outcomes = _play(p, scenario)
        _check(p, scenario, deposit_id, outcomes)

    run()


@pytest.mark.slow
def test_any_delivery_order_ends_in_the_psps_final_status_and_credits_once(engine):
    """One platform per backend; every example plays on a fresh player and deposit."""
    p = make_platform(engine)
    _property(p, 60 if engine.dialect.name == "sqlite" else 20)


# -- the same, one case at a time (readable regression tests) -----------------------------


@pytest.mark.parametrize(
    ("history", "order"),
    [
        (("approved", "chargeback"), (1, 1, 0, 0, 1)),  # chargeback overtakes its approval
        (("pending", "approved"), (1, 0, 1, 0)),  # pending arrives after the approval
        (("pending", "declined"), (1, 1, 0)),
    ],
)
def test_known_orders(engine, history, order):
    p = make_platform(engine)
    scenario = Scenario(history, 2_500, tuple(Delivery(i, 30, 200) for i in order))
    deposit_id, outcomes = _play(p, scenario)
    _check(p, scenario, deposit_id, outcomes)


# Regression: a chargeback delivered twice before its approval was parked twice and both
# copies were logged "applied" (one PSP event applied twice in pw_callbacks). The second
# parked copy must be logged as a duplicate.
def test_a_chargeback_delivered_twice_before_its_approval_is_applied_once_in_the_log(engine):
    p = make_platform(engine)
    scenario = Scenario(
        ("approved", "chargeback"), 2_500, tuple(Delivery(i, 5, 0) for i in (1, 1, 0))
    )
    deposit_id, outcomes = _play(p, scenario)
    _check(p, scenario, deposit_id, outcomes)  # the money is right
    with p.session_factory() as s:
        applied = s.execute(
            select(PspCallback.event_id, func.count())
            .where(PspCallback.merchant_reference == deposit_id, PspCallback.outcome == "applied")
            .group_by(PspCallback.event_id)
        ).all()
    assert all(n == 1 for _event, n in applied), applied


# Regression: an after-approval event that overtook the event it follows was dropped
# (a chargeback reversal before its chargeback lost the player 2500; a refund before its
# approval credited 2500 the PSP had refunded). Such events are parked and applied right
# after their predecessor.
@pytest.mark.parametrize(
    ("history", "order", "final", "cash"),
    [
        (
            ("approved", "chargeback", "chargeback_reversed"),
            (0, 2, 1),
            "chargeback_reversed",
            2_500,
        ),
        (("approved", "refunded"), (1, 0), "refunded", 0),
    ],
    ids=["reversal-overtakes-chargeback", "refund-overtakes-approval"],
)
def test_an_event_that_overtakes_its_predecessor_is_not_lost(engine, history, order, final, cash):
    p = make_platform(engine)
    scenario = Scenario(history, 2_500, tuple(Delivery(i, 5, 0) for i in order))
    deposit_id, outcomes = _play(p, scenario)
    with p.session_factory() as s:
        deposit = s.get(Deposit, deposit_id)
        assert deposit is not None
        balance = s.execute(
            select(Account.balance).where(
                Account.owner == deposit.player_id, Account.kind == "cash"
            )
        ).scalar_one()
        assert check_invariants(s).ok
    assert (deposit.status, balance) == (final, cash), outcomes


# -- the state machine on its own ---------------------------------------------------------

DEPOSIT_STATUSES = sorted(DEPOSIT_OPEN | DEPOSIT_FINAL | DEPOSIT_AFTER_APPROVAL)
WITHDRAWAL_STATUSES = sorted(WITHDRAWAL_OPEN | WITHDRAWAL_FINAL)
DEPOSIT_TERMINAL = DEPOSIT_FINAL | DEPOSIT_AFTER_APPROVAL
# The only moves out of a final status: an approved deposit can be charged back or refunded,
# a chargeback can be reversed (the scheme found for the merchant), and a reversed
# chargeback can be charged back again.
DEPOSIT_LATER = {
    "approved": {"chargeback", "refunded"},
    "chargeback": {"chargeback_reversed"},
    "chargeback_reversed": {"chargeback"},  # a second chargeback (pre-arbitration)
}


@pytest.mark.parametrize("current", DEPOSIT_STATUSES)
@pytest.mark.parametrize("incoming", PAYMENT_STATUSES)
def test_deposit_decisions_never_regress_a_terminal_status(current, incoming):
    d = decide_deposit(current, incoming)
    assert d.outcome in ("applied", "duplicate", "out_of_order")
    if d.outcome != "applied":
        assert d.new_status is None
        assert d.action in (None, "park")
    if d.action == "park":  # only an after-approval event that overtook its predecessor
        predecessor_missing = current in DEPOSIT_OPEN or (
            incoming == "chargeback_reversed" and current == "approved"
        )
        assert incoming in DEPOSIT_AFTER_APPROVAL and predecessor_missing
    if current in DEPOSIT_TERMINAL:
        assert d.new_status in {None, *DEPOSIT_LATER.get(current, ())}
    if current in DEPOSIT_OPEN and incoming in DEPOSIT_FINAL:
        assert (d.outcome, d.new_status) == ("applied", incoming)
    if current == incoming and current not in DEPOSIT_OPEN:
        assert d.outcome == "duplicate"


@pytest.mark.parametrize("current", WITHDRAWAL_STATUSES)
@pytest.mark.parametrize("incoming", PAYOUT_STATUSES)
def test_withdrawal_decisions_never_regress_a_terminal_status(current, incoming):
    d = decide_withdrawal(current, incoming)
    assert d.outcome in ("applied", "duplicate", "out_of_order")
    target = {"paid": "completed", "failed": "failed"}.get(incoming)
    if current in WITHDRAWAL_FINAL:
        assert d.new_status is None and d.action is None
        assert d.outcome == ("duplicate" if target == current else "out_of_order")
    elif target is not None:
        assert (d.outcome, d.new_status) == ("applied", target)
        assert d.action == ("complete" if target == "completed" else "fail")


def test_unknown_callback_statuses_are_refused_by_the_state_machine():
    with pytest.raises(ValueError):
        decide_deposit("pending", "paid")
    with pytest.raises(ValueError):
        decide_withdrawal("processing", "approved")


@pytest.mark.slow
@settings(max_examples=300, derandomize=True, database=None)
@given(st.lists(st.sampled_from(PAYMENT_STATUSES), max_size=12))
def test_a_final_deposit_only_moves_on_to_chargeback_refund_or_reversal(incoming):
    status, history = "pending", ["pending"]
    for s in incoming:
        new = decide_deposit(status, s).new_status
        if new is not None:
            status = new
            history.append(new)
    finals = [i for i, s in enumerate(history) if s in DEPOSIT_TERMINAL]
    if finals:
        after = history[finals[0] :]
        assert all(s in DEPOSIT_TERMINAL for s in after), history
        for before, later in itertools.pairwise(after):
            assert later in DEPOSIT_LATER.get(before, ()), history


@pytest.mark.slow
@settings(max_examples=200, derandomize=True, database=None)
@given(st.lists(st.sampled_from(PAYOUT_STATUSES), max_size=10))
def test_a_withdrawal_settles_at_most_once(incoming):
    status, moves = "requested", 0
    for s in incoming:
        d = decide_withdrawal(status, s)
        if d.action is not None:
            moves += 1
            status = d.new_status or status
    assert moves <= 1
    if any(s != "pending" for s in incoming):
        first = next(s for s in incoming if s != "pending")
        assert status == {"paid": "completed", "failed": "failed"}[first]
