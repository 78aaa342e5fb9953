"""The matching engine: every break type from a fixture that produces exactly it, the
settlement window, clean days, determinism, and a property over random days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcilers.frames import (
    AFFILIATE_ROWS,
    BALANCES,
    BREAKS,
    CLEARING,
    ORPHAN_CALLBACKS,
    PLATFORM_CONVERSIONS,
    PSP_ROWS,
    REJECTS,
    STATS_KEYS,
    WALLET_MOVEMENTS,
    empty,
)
from reconcilers.match.affiliate import match_wallet_affiliate
from reconcilers.match.engine import MatchResult, recode, same_values
from reconcilers.match.internal import check_wallet_internal
from reconcilers.match.psp import match_wallet_psp
from reconcilers.match.rejects import rejects_to_breaks
from tests.reconcilers.matching_helpers import DAY, account, frame

NOON = datetime(2026, 11, 2, 12, tzinfo=UTC)
NOW = datetime(2026, 11, 5, 6, tzinfo=UTC)
WINDOW = timedelta(hours=48)
GRACE = timedelta(hours=6)
TYPE_OF = {
    "settled": "Settled",
    "refunded": "Refunded",
    "chargeback": "Chargeback",
    "chargeback_reversed": "ChargebackReversed",
    "payout": "Payout",
}
SIGN = {"settled": 1, "refunded": -1, "chargeback": -1, "chargeback_reversed": 1, "payout": -1}
STATUS = {"settled": "approved", "payout": "completed"}


# -- builders ---------------------------------------------------------------------------------


def movement(ref: str, kind: str = "settled", amount: int = 2500, **kw: object) -> dict:
    row = {
        "psp": "paybridge",
        "kind": kind,
        "merchant_reference": ref,
        "psp_reference": f"paybridge_pay_{ref}",
        "player_id": "p-1",
        "currency": "EUR",
        "amount_minor": amount,
        "status": STATUS.get(kind, kind),
        "occurred_at": NOON,
    }
    return row | kw


def report_row(m: dict, line: int = 2, day: date = DAY, **kw: object) -> dict:
    """The PSP's row for a wallet movement, as docs/psp-settlement-report.md has it."""
    gross = SIGN[m["kind"]] * m["amount_minor"]
    row = {
        "psp": m["psp"],
        "psp_reference": m["psp_reference"],
        "merchant_reference": m["merchant_reference"],
        "type": TYPE_OF[m["kind"]],
        "created_at": NOON,
        "settled_at": datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC),
        "gross_currency": m["currency"],
        "gross_minor": gross,
        "net_currency": m["currency"],
        "net_minor": gross,
        "fee_minor": 0,
        "batch_number": 1037,
        "source_file": f"{m['psp']}-settlement-{day.isoformat()}.csv",
        "source_line": line,
    }
    return row | kw


def fee_row(psp: str = "paybridge") -> dict:
    row = report_row(movement("x"), line=99) | {
        "psp": psp,
        "psp_reference": f"{psp}_batch_1037",
        "merchant_reference": None,
        "type": "Fee",
        "gross_minor": 0,
        "net_minor": -500,
        "fee_minor": -500,
    }
    return row


def match_psp(
    wallet: list[dict],
    psp: list[dict],
    orphans: list[dict] | None = None,
    *,
    now: datetime = NOW,
) -> MatchResult:
    return match_wallet_psp(
        frame(wallet, WALLET_MOVEMENTS),
        frame(psp, PSP_ROWS),
        frame(orphans or [], ORPHAN_CALLBACKS),
        day=DAY,
        now=now,
        settlement_window=WINDOW,
    )


def only(result: MatchResult) -> dict:
    assert len(result.breaks) == 1, result.breaks[["break_key", "details"]].to_string()
    return result.breaks.iloc[0].to_dict()


def values(brk: dict) -> tuple:
    """(wallet amount, other amount, wallet value, other value, at risk, currency); None
    where a side has nothing."""
    names: tuple[str, ...] = (
        "wallet_amount_minor",
        "other_amount_minor",
        "wallet_value",
        "other_value",
    )
    names += ("amount_at_risk_minor", "currency")
    return tuple(None if pd.isna(brk[n]) else brk[n] for n in names)


# -- wallet ⟷ PSP: a clean day ---------------------------------------------------------------


def clean_day() -> tuple[list[dict], list[dict]]:
    wallet = [
        movement("dep-1"),
        movement("dep-2", "refunded", 1000),
        movement("dep-3", "chargeback", 4000),
        movement("dep-4", "chargeback_reversed", 4000),
        movement("wd-1", "payout", 10000, psp_reference="paybridge_po_1"),
        movement("dep-5", currency="JPY", amount=3000, psp="pixgate"),
    ]
    return wallet, [report_row(m, line=i + 2) for i, m in enumerate(wallet)] + [fee_row()]


def test_a_clean_day_has_no_break_and_counts_every_pair_matched() -> None:
    wallet, psp = clean_day()

    result = match_psp(wallet, psp)

    assert result.breaks.empty
    assert result.stats == {"rows_wallet": 6, "rows_other": 7, "matched": 6, "in_flight": 0}
    assert list(result.breaks.columns) == list(BREAKS)


def test_a_payout_matches_its_negative_gross_and_a_fee_row_is_not_a_transaction() -> None:
    payout = movement("wd-1", "payout", 10000)

    result = match_psp([payout], [report_row(payout), fee_row()])

    assert result.breaks.empty
    assert result.stats["matched"] == 1


# -- wallet ⟷ PSP: one fixture per break type ------------------------------------------------


def test_missing_at_psp_a_settled_deposit_the_psp_never_reported() -> None:
    brk = only(match_psp([movement("dep-1")], []))

    assert brk["break_key"] == "wallet_psp|missing_at_psp|paybridge|settled|dep-1"
    assert (brk["type"], brk["psp"], brk["reference"]) == ("missing_at_psp", "paybridge", "dep-1")
    assert brk["psp_reference"] == "paybridge_pay_dep-1"
    assert values(brk) == (2500, None, "approved", None, 2500, "EUR")
    assert brk["occurred_at"] == pd.Timestamp(NOON)


def test_missing_in_wallet_a_settled_payment_whose_callback_was_lost() -> None:
    lost = movement("dep-9")

    brk = only(match_psp([], [report_row(lost, line=7)]))

    assert brk["break_key"] == "wallet_psp|missing_in_wallet|paybridge|settled|dep-9"
    assert values(brk) == (None, 2500, None, "Settled", 2500, "EUR")
    assert "paybridge-settlement-2026-11-02.csv:7" in brk["details"]


def test_amount_mismatch_compares_minor_units_and_risks_the_difference() -> None:
    m = movement("dep-1", amount=2500)

    brk = only(match_psp([m], [report_row(m, gross_minor=2499)]))

    assert brk["break_key"] == "wallet_psp|amount_mismatch|paybridge|settled|dep-1"
    assert values(brk) == (2500, 2499, "approved", "Settled", 1, "EUR")
    assert "wallet 25.00 EUR, PSP 24.99 EUR" in brk["details"]


def test_currency_mismatch_carries_each_sides_currency() -> None:
    m = movement("dep-1", amount=2500)

    brk = only(match_psp([m], [report_row(m, gross_currency="SEK")]))

    assert brk["break_key"] == "wallet_psp|currency_mismatch|paybridge|settled|dep-1"
    assert values(brk) == (2500, 2500, "EUR", "SEK", 2500, "EUR")


def test_status_mismatch_a_psp_chargeback_while_the_wallet_still_says_approved() -> None:
    deposit = movement("dep-1", amount=4000)
    chargeback = movement("dep-1", "chargeback", 4000)

    brk = only(match_psp([deposit], [report_row(deposit), report_row(chargeback, line=3)]))

    assert brk["break_key"] == "wallet_psp|status_mismatch|paybridge|chargeback|dep-1"
    assert values(brk) == (None, 4000, "approved", "Chargeback", 4000, "EUR")


def test_status_mismatch_a_wallet_chargeback_the_psp_never_reported_past_the_window() -> None:
    chargeback = movement("dep-1", "chargeback", 4000)

    brk = only(match_psp([chargeback], []))

    assert brk["break_key"] == "wallet_psp|status_mismatch|paybridge|chargeback|dep-1"
    assert values(brk) == (4000, None, "chargeback", None, 4000, "EUR")


def test_a_reference_reported_by_another_psp_is_missing_at_each() -> None:
    # The fast join pairs by reference alone: the psp is compared, not joined on.
    m = movement("dep-1")

    result = match_psp([m], [report_row(m, psp="nordpay")])

    assert sorted(result.breaks["break_key"]) == [
        "wallet_psp|missing_at_psp|paybridge|settled|dep-1",
        "wallet_psp|missing_in_wallet|nordpay|settled|dep-1",
    ]
    assert result.stats["matched"] == 0


def test_a_psp_missing_on_both_sides_is_the_same_psp_none() -> None:
    # As the residue keys it (psp "none"), so the fast join must agree.
    m = movement("dep-1", psp=None)

    result = match_psp([m], [report_row(m, psp=None, source_file="x.csv")])

    assert result.breaks.empty
    assert result.stats["matched"] == 1


def test_duplicate_at_psp_the_same_settlement_reported_twice() -> None:
    m = movement("dep-1")

    brk = only(match_psp([m], [report_row(m, line=2), report_row(m, line=5)]))

    assert brk["break_key"] == "wallet_psp|duplicate_at_psp|paybridge|settled|dep-1"
    assert values(brk) == (2500, 5000, "1", "2", 2500, "EUR")
    assert "paybridge-settlement-2026-11-02.csv:5" in brk["details"]


def test_duplicate_in_wallet_the_same_chargeback_booked_twice() -> None:
    cb = movement("dep-1", "chargeback", 4000)
    again = cb | {"occurred_at": NOON + timedelta(hours=1)}

    brk = only(match_psp([cb, again], [report_row(cb)]))

    assert brk["break_key"] == "wallet_psp|duplicate_in_wallet|paybridge|chargeback|dep-1"
    assert values(brk) == (8000, 4000, "2", "1", 4000, "EUR")
    assert brk["occurred_at"] == pd.Timestamp(NOON + timedelta(hours=1))


def test_orphan_callback_one_break_per_event_the_wallet_does_not_know() -> None:
    orphan = {
        "psp": "nordpay",
        "merchant_reference": "dep-404",
        "psp_reference": "nordpay_pay_404",
        "status": "approved",
        "currency": "EUR",
        "amount_minor": 1500,
        "occurred_at": NOON,
    }
    yesterday = orphan | {"merchant_reference": "dep-405", "occurred_at": NOON - timedelta(1)}

    brk = only(match_psp([], [], [orphan, yesterday]))

    assert brk["break_key"] == "wallet_psp|orphan_callback|nordpay|approved|dep-404|nordpay_pay_404"
    assert (brk["psp"], brk["reference"], brk["psp_reference"]) == (
        "nordpay",
        "dep-404",
        "nordpay_pay_404",
    )
    assert values(brk) == (None, 1500, None, "approved", 1500, "EUR")


# -- wallet ⟷ PSP: keys, windows, days --------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "breaks", "in_flight"),
    [
        (WINDOW - timedelta(minutes=1), 0, 1),
        (WINDOW, 0, 1),
        (WINDOW + timedelta(seconds=1), 1, 0),
    ],
)
def test_an_unreported_movement_is_in_flight_until_the_settlement_window_has_passed(
    age: timedelta, breaks: int, in_flight: int
) -> None:
    result = match_psp([movement("dep-1")], [], now=NOON + age)

    assert len(result.breaks) == breaks
    assert result.stats["in_flight"] == in_flight
    assert set(result.breaks["type"]) <= {"missing_at_psp"}


def test_a_row_without_merchant_reference_matches_by_psp_reference() -> None:
    m = movement("dep-1")

    result = match_psp([m], [report_row(m, merchant_reference="")])

    assert result.breaks.empty
    assert result.stats["matched"] == 1


def test_a_row_without_merchant_reference_the_wallet_lacks_is_keyed_by_psp_reference() -> None:
    m = movement("dep-1")

    brk = only(match_psp([], [report_row(m, merchant_reference=None)]))

    assert brk["break_key"] == "wallet_psp|missing_in_wallet|paybridge|settled|#paybridge_pay_dep-1"
    assert brk["reference"] == "paybridge_pay_dep-1"


def test_a_psp_chargeback_without_merchant_reference_finds_the_deposit_by_psp_reference() -> None:
    deposit = movement("dep-1", amount=4000)
    chargeback = report_row(movement("dep-1", "chargeback", 4000), merchant_reference="")

    brk = only(match_psp([deposit], [report_row(deposit), chargeback]))

    assert brk["break_key"] == (
        "wallet_psp|status_mismatch|paybridge|chargeback|#paybridge_pay_dep-1"
    )
    assert brk["reference"] == "paybridge_pay_dep-1"
    assert values(brk) == (None, 4000, "approved", "Chargeback", 4000, "EUR")


def test_a_psp_chargeback_the_wallet_already_shows_as_charged_back_is_a_missing_movement() -> None:
    # The deposit's status says chargeback, yet no chargeback movement: the ledger lacks it.
    deposit = movement("dep-1", amount=4000, status="chargeback")
    chargeback = movement("dep-1", "chargeback", 4000)

    brk = only(match_psp([deposit], [report_row(deposit), report_row(chargeback, line=3)]))

    assert brk["type"] == "missing_in_wallet"
    assert values(brk) == (None, 4000, "chargeback", "Chargeback", 4000, "EUR")


def test_a_second_chargeback_after_a_reversal_pairs_in_order_and_is_no_duplicate() -> None:
    first = movement("dep-1", "chargeback", 4000, occurred_at=NOON - timedelta(hours=3))
    reversal = movement("dep-1", "chargeback_reversed", 4000, occurred_at=NOON)
    second = movement("dep-1", "chargeback", 4000, occurred_at=NOON + timedelta(hours=3))
    wallet = [first, reversal, second]

    result = match_psp(wallet, [report_row(m, line=i + 2) for i, m in enumerate(wallet)])

    assert result.breaks.empty
    assert result.stats["matched"] == 3


def test_only_breaks_of_the_day_are_reported_neighbour_files_only_help_matching() -> None:
    late_night = movement("dep-1", occurred_at=datetime(2026, 11, 1, 23, 59, 59, tzinfo=UTC))
    next_day = movement("dep-2", occurred_at=datetime(2026, 11, 3, 10, tzinfo=UTC))
    day_before = movement("dep-3", occurred_at=datetime(2026, 11, 1, 10, tzinfo=UTC))
    psp = [
        report_row(late_night),  # settled on the day: the movement crossed midnight
        report_row(next_day, day=date(2026, 11, 3)),  # missing_in_wallet, but of the 3rd
        report_row(movement("dep-9"), day=date(2026, 11, 1)),  # of the 1st
    ]

    result = match_psp([late_night, day_before], psp)

    assert result.breaks.empty
    assert result.stats["matched"] == 1


def test_break_keys_are_the_same_across_runs_and_input_orders() -> None:
    deposit, dup = movement("dep-1"), movement("dep-2", "chargeback", 4000)
    wallet = [deposit, dup, dup, movement("dep-3"), movement("dep-4", amount=100)]
    psp = [report_row(dup), report_row(movement("dep-8")), report_row(movement("dep-4"))]

    first = match_psp(wallet, psp)
    again = match_psp(list(reversed(wallet)), list(reversed(psp)))

    keys = sorted(first.breaks["break_key"])
    assert keys == sorted(again.breaks["break_key"])
    assert len(keys) == len(set(keys)) == 5
    by_key = first.breaks.set_index("break_key").sort_index()
    pd.testing.assert_frame_equal(by_key, again.breaks.set_index("break_key").sort_index())


def test_match_result_refuses_unknown_stats() -> None:
    with pytest.raises(ValueError, match="unknown stats"):
        MatchResult(empty(BREAKS), {"rows": 1})
    assert tuple(MatchResult(empty(BREAKS), {}).stats) == STATS_KEYS


# -- wallet ⟷ PSP: a property ----------------------------------------------------------------

MUTATIONS = ("drop_psp", "drop_wallet", "dup_psp", "dup_wallet", "amount", "currency")


@st.composite
def days(draw: st.DrawFn) -> tuple[list[dict], list[tuple[int, str]]]:
    n = draw(st.integers(1, 25))
    wallet = []
    for i in range(n):
        kind = draw(st.sampled_from(list(TYPE_OF)))
        currency = draw(st.sampled_from(["EUR", "JPY", "GBP"]))
        wallet.append(
            movement(
                f"ref-{i}",
                kind,
                draw(st.integers(1, 10**9)),
                psp=draw(st.sampled_from(["paybridge", "nordpay"])),
                currency=currency,
                occurred_at=NOON + timedelta(seconds=draw(st.integers(-43200, 43199))),
            )
        )
    chosen = draw(st.lists(st.integers(0, n - 1), unique=True, max_size=min(n, 6)))
    return wallet, [(i, draw(st.sampled_from(MUTATIONS))) for i in chosen]


def expected_type(kind: str, mutation: str) -> str:
    status = kind in ("refunded", "chargeback", "chargeback_reversed")
    return {
        "drop_psp": "status_mismatch" if status else "missing_at_psp",
        "drop_wallet": "missing_in_wallet",
        "dup_psp": "duplicate_at_psp",
        "dup_wallet": "duplicate_in_wallet",
        "amount": "amount_mismatch",
        "currency": "currency_mismatch",
    }[mutation]


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(days())
def test_a_derived_report_matches_and_each_of_k_mutations_is_exactly_one_break(
    day: tuple[list[dict], list[tuple[int, str]]],
) -> None:
    wallet, mutations = day
    psp = [report_row(m, line=i + 2) for i, m in enumerate(wallet)]

    clean = match_psp(wallet, psp)
    assert clean.breaks.empty
    assert clean.stats["matched"] == len(wallet)

    changed_wallet: list[dict | None] = list(wallet)
    changed_psp: list[dict | None] = list(psp)
    for i, mutation in mutations:
        if mutation == "drop_psp":
            changed_psp[i] = None
        elif mutation == "drop_wallet":
            changed_wallet[i] = None
        elif mutation == "dup_psp":
            changed_psp.append(psp[i] | {"source_line": 1000 + i})
        elif mutation == "dup_wallet":
            changed_wallet.append(wallet[i])
        elif mutation == "amount":
            changed_psp[i] = psp[i] | {"gross_minor": psp[i]["gross_minor"] + 1}
        else:
            other = "SEK" if wallet[i]["currency"] != "SEK" else "EUR"
            changed_psp[i] = psp[i] | {"gross_currency": other}
    result = match_psp(
        [m for m in changed_wallet if m is not None], [r for r in changed_psp if r is not None]
    )

    want = {
        (expected_type(wallet[i]["kind"], mu), wallet[i]["merchant_reference"])
        for i, mu in mutations
    }
    got = set(zip(result.breaks["type"], result.breaks["reference"], strict=True))
    assert got == want
    assert len(result.breaks) == len(mutations)


# -- wallet ⟷ affiliate network --------------------------------------------------------------


def conversion(cid: str, **kw: object) -> dict:
    row = {
        "affiliate": "aff-017",
        "campaign": "spring-de",
        "player_ref": "pr-1",
        "event": "ftd",
        "conversion_id": cid,
        "amount_minor": 2500,
        "currency": "EUR",
        "state": "approved",
        "postback_status": "delivered",
        "occurred_at": NOON,
    }
    return row | kw


def booked(c: dict, line: int = 2, **kw: object) -> dict:
    """The network's export row of a platform conversion."""
    row = {
        "affiliate": c["affiliate"],
        "campaign": c["campaign"],
        "player_ref": c["player_ref"],
        "event": c["event"],
        "conversion_id": c["conversion_id"],
        "amount_minor": c["amount_minor"],
        "currency": c["currency"],
        "status": "approved",
        "occurred_at": c["occurred_at"],
        "commission_minor": 5000 if c["event"] == "ftd" else 0,
        "commission_currency": c["currency"],
        "source_file": "export-2026-11-02.csv",
        "source_line": line,
    }
    return row | kw


def match_aff(platform: list[dict], network: list[dict], *, now: datetime = NOW) -> MatchResult:
    return match_wallet_affiliate(
        frame(platform, PLATFORM_CONVERSIONS),
        frame(network, AFFILIATE_ROWS),
        day=DAY,
        now=now,
        grace=GRACE,
    )


def test_affiliate_a_clean_day_has_no_break() -> None:
    ftd, reg = conversion("c-1"), conversion("c-2", event="registration", amount_minor=0)
    reversed_ = conversion("c-3", state="reversed")

    result = match_aff(
        [ftd, reg, reversed_], [booked(ftd), booked(reg), booked(reversed_, status="reversed")]
    )

    assert result.breaks.empty
    assert result.stats == {"rows_wallet": 3, "rows_other": 3, "matched": 3, "in_flight": 0}


def test_a_conversion_booked_for_another_affiliate_is_missing_and_phantom() -> None:
    # The fast join pairs by conversion id alone: the affiliate is compared, not joined on.
    ftd = conversion("c-1")

    result = match_aff([ftd], [booked(ftd, affiliate="aff-999")])

    assert sorted(result.breaks["break_key"]) == [
        "wallet_affiliate|missing_postback|none|aff-017|ftd|c-1",
        "wallet_affiliate|phantom_conversion|none|aff-999|ftd|c-1",
    ]
    assert result.stats["matched"] == 0


def test_a_pending_conversion_the_network_approved_is_a_status_mismatch() -> None:
    # A state the network should not show (pending) against its "approved": no match.
    pending = conversion("c-1", state="pending")

    brk = only(match_aff([pending], [booked(pending)]))

    assert brk["type"] == "status_mismatch"
    assert (brk["wallet_value"], brk["other_value"]) == ("pending", "approved")


def test_missing_postback_an_approved_ftd_the_network_never_booked() -> None:
    brk = only(match_aff([conversion("c-1", postback_status="delivered")], []))

    assert brk["break_key"] == "wallet_affiliate|missing_postback|none|aff-017|ftd|c-1"
    assert (brk["pair"], brk["psp"], brk["affiliate"], brk["reference"]) == (
        "wallet_affiliate",
        "none",
        "aff-017",
        "c-1",
    )
    assert values(brk) == (2500, None, "delivered", None, 0, "EUR")


@pytest.mark.parametrize(
    ("age", "breaks", "in_flight"),
    [(GRACE - timedelta(minutes=1), 0, 1), (GRACE + timedelta(seconds=1), 1, 0)],
)
def test_an_ftd_missing_at_the_network_is_in_flight_until_the_grace_has_passed(
    age: timedelta, breaks: int, in_flight: int
) -> None:
    result = match_aff([conversion("c-1")], [], now=NOON + age)

    assert len(result.breaks) == breaks
    assert result.stats["in_flight"] == in_flight


def test_only_approved_ftds_are_due_at_the_network() -> None:
    registration = conversion("c-2", event="registration", amount_minor=0)
    pending = conversion("c-3", state="pending")
    rejected = conversion("c-4", state="rejected")

    result = match_aff([registration, pending, rejected], [])

    assert result.breaks.empty
    assert result.stats["in_flight"] == 0


def test_phantom_conversion_a_network_row_the_platform_never_sent() -> None:
    phantom = booked(conversion("c-9", affiliate="aff-003"), line=4)

    brk = only(match_aff([], [phantom]))

    assert brk["break_key"] == "wallet_affiliate|phantom_conversion|none|aff-003|ftd|c-9"
    assert values(brk) == (None, 2500, None, "approved", 5000, "EUR")
    assert "export-2026-11-02.csv:4" in brk["details"]


def test_duplicate_conversion_the_same_ftd_booked_twice_risks_one_commission() -> None:
    ftd = conversion("c-1")

    brk = only(match_aff([ftd], [booked(ftd, line=2), booked(ftd, line=3)]))

    assert brk["break_key"] == "wallet_affiliate|duplicate_conversion|none|aff-017|ftd|c-1"
    assert values(brk) == (2500, 5000, "1", "2", 5000, "EUR")


@pytest.mark.parametrize("state", ["pending", "rejected"])
def test_status_mismatch_a_network_commission_on_a_conversion_the_platform_never_approved(
    state: str,
) -> None:
    ftd = conversion("c-1", state=state)

    brk = only(match_aff([ftd], [booked(ftd)]))

    assert brk["type"] == "status_mismatch"
    assert values(brk) == (2500, 2500, state, "approved", 5000, "EUR")


def test_affiliate_amount_mismatch() -> None:
    ftd = conversion("c-1", amount_minor=2500)

    brk = only(match_aff([ftd], [booked(ftd, amount_minor=2000)]))

    assert brk["break_key"] == "wallet_affiliate|amount_mismatch|none|aff-017|ftd|c-1"
    assert values(brk) == (2500, 2000, "approved", "approved", 500, "EUR")


def test_affiliate_currency_mismatch() -> None:
    ftd = conversion("c-1")

    brk = only(match_aff([ftd], [booked(ftd, currency="GBP")]))

    assert brk["break_key"] == "wallet_affiliate|currency_mismatch|none|aff-017|ftd|c-1"
    assert values(brk) == (2500, 2500, "EUR", "GBP", 2500, "EUR")


def test_status_mismatch_a_charged_back_ftd_still_approved_at_the_network() -> None:
    ftd = conversion("c-1", state="reversed")

    brk = only(match_aff([ftd], [booked(ftd)]))

    assert brk["break_key"] == "wallet_affiliate|status_mismatch|none|aff-017|ftd|c-1"
    assert values(brk) == (2500, 2500, "reversed", "approved", 5000, "EUR")


# -- wallet internal --------------------------------------------------------------------------


def clearing_account(account_id: int, psp: str, currency: str = "EUR") -> dict:
    return account(account_id, -1, -1, account_owner="house", account_kind="psp_clearing", psp=psp)


def check(balances: list[dict], clearing: list[dict], psp: list[dict]) -> MatchResult:
    return check_wallet_internal(
        frame(balances, BALANCES), frame(clearing, CLEARING), frame(psp, PSP_ROWS), day=DAY
    )


def test_balance_mismatch_a_stored_balance_that_is_not_the_sum_of_its_entries() -> None:
    result = check([account(1, 1000, 1000), account(2, 1000, 900)], [], [])

    brk = only(result)
    assert brk["break_key"] == "wallet_internal|balance_mismatch|none|2"
    assert (brk["pair"], brk["psp"], brk["reference"]) == ("wallet_internal", "none", "2")
    assert values(brk) == (1000, 900, None, None, 100, "EUR")
    assert result.stats["matched"] == 1


def test_clearing_nets_against_the_psps_gross_with_fees_neighbours_and_payouts() -> None:
    wallet, psp = clean_day()
    eur = [m for m in wallet if m["psp"] == "paybridge"]
    # approvals and chargeback reversals debit the clearing account, the rest credit it
    movement_minor = sum(-SIGN[m["kind"]] * m["amount_minor"] for m in eur)
    neighbour = report_row(movement("dep-7"), day=date(2026, 11, 3))
    clearing = [
        {"psp": "paybridge", "currency": "EUR", "movement_minor": movement_minor},
        {"psp": "pixgate", "currency": "JPY", "movement_minor": -3000},
    ]

    result = check([clearing_account(7, "paybridge")], clearing, [*psp, neighbour])

    assert result.breaks.empty


def test_clearing_residue_a_settlement_the_wallet_never_booked() -> None:
    booked_ = movement("dep-1", amount=2500)
    lost = movement("dep-2", amount=1000)
    clearing = [{"psp": "paybridge", "currency": "EUR", "movement_minor": -2500}]

    result = check(
        [clearing_account(7, "paybridge")],
        clearing,
        [report_row(booked_), report_row(lost, line=3), fee_row()],
    )

    brk = only(result)
    assert brk["break_key"] == "wallet_internal|clearing_residue|paybridge|EUR|2026-11-02"
    assert (brk["psp"], brk["reference"]) == ("paybridge", "7")
    assert values(brk) == (2500, 3500, None, None, 1000, "EUR")
    assert brk["occurred_at"] == pd.Timestamp("2026-11-02T00:00:00Z")


# -- rejects ----------------------------------------------------------------------------------


def test_rejected_rows_become_invalid_record_breaks_of_their_source() -> None:
    rejects = frame(
        [
            {
                "source": "psp_report",
                "source_file": "/data/reports/nordpay-settlement-2026-11-02.csv",
                "source_line": 5,
                "reason": "gross_amount: not a decimal amount: '12,5'",
                "raw": "nordpay,x,dep-1,Settled,...",
            },
            {
                "source": "affiliate_export",
                "source_file": "export.csv",
                "source_line": 9,
                "reason": "currency: unknown currency 'XXX'",
                "raw": "aff-1,...",
            },
        ],
        REJECTS,
    )

    breaks = rejects_to_breaks(rejects).set_index("pair")

    psp = breaks.loc["wallet_psp"]
    assert (
        psp["break_key"] == "wallet_psp|invalid_record|nordpay|nordpay-settlement-2026-11-02.csv:5"
    )
    assert (psp["type"], psp["psp"], psp["reference"]) == (
        "invalid_record",
        "nordpay",
        "nordpay-settlement-2026-11-02.csv:5",
    )
    assert psp["details"] == "gross_amount: not a decimal amount: '12,5'"
    assert psp["other_value"] == "nordpay,x,dep-1,Settled,..."
    aff = breaks.loc["wallet_affiliate"]
    assert (aff["psp"], aff["reference"]) == ("none", "export.csv:9")
    assert pd.isna(aff["amount_at_risk_minor"])


def test_a_reject_of_an_unknown_source_is_a_programming_error() -> None:
    rejects = frame(
        [{"source": "bank", "source_file": "b.csv", "source_line": 2, "reason": "x", "raw": ""}],
        REJECTS,
    )

    with pytest.raises(ValueError, match="unknown source"):
        rejects_to_breaks(rejects)


# -- the fast join's coded values --------------------------------------------------------------


def test_same_values_codes_are_equal_exactly_when_every_attribute_is() -> None:
    cat = lambda *v: pd.Series(v, dtype="category")  # noqa: E731
    left = [cat("a", "a", None, "b", "a"), cat("x", "y", "x", "x", None)]
    right = [cat("a", "b", None, "b", "a", "c"), cat("x", "y", "x", "z", None, "x")]

    lcode, rcode = same_values(list(zip(left, right, strict=True)))

    # row i against row i: equal, kind differs, NULL = NULL, second differs, NULL = NULL
    assert [bool(lcode[i] == rcode[i]) for i in range(5)] == [True, False, True, False, True]
    # every distinct pair of values has its own code, on either side
    assert len(set(lcode)) == 5 and len(set(rcode)) == 6
    assert rcode[5] not in set(lcode)


def test_same_values_takes_text_columns_too() -> None:
    lcode, rcode = same_values(
        [(pd.Series(["EUR", "SEK"]), pd.Series(["SEK", "EUR"], dtype="category"))]
    )
    assert lcode[0] == rcode[1] and lcode[1] == rcode[0] and lcode[0] != lcode[1]


def test_recode_labels_the_categories_and_fills_the_missing() -> None:
    states = pd.Series(["approved", None, "pending", "reversed", "pending"], dtype="category")

    out = recode(states, lambda s: s if s == "approved" else "other", "other")

    assert out.tolist() == ["approved", "other", "other", "other", "other"]
    assert list(out.cat.categories) == ["approved", "other"]
    kept = recode(states, str.upper)
    assert kept.tolist()[:1] == ["APPROVED"] and pd.isna(kept[1])


def test_same_values_of_many_values_code_in_64_bits() -> None:
    # 2,000 values a column, three columns: more codes than 32 bits hold.
    values = [f"v{i}" for i in range(2_000)]
    left = pd.Series(values, dtype="category")
    right = pd.Series(values[::-1], dtype="category")

    lcode, rcode = same_values([(left, right)] * 3)

    assert lcode.dtype == np.int64
    assert bool(lcode[0] == rcode[-1]) and bool(lcode[0] != rcode[0])
    assert len(set(lcode)) == 2_000


def test_same_values_of_too_many_values_is_refused() -> None:
    wide = pd.Series([f"v{i}" for i in range(2_000)], dtype="category")
    with pytest.raises(ValueError, match="too many attribute values"):
        same_values([(wide, wide)] * 6)
