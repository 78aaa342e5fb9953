"""Wallet internal: the wallet's own books against themselves and the PSPs' settlement.

balance_mismatch: an account whose stored balance differs from the sum of its ledger
entries (house accounts' stored balance is that sum by definition, so only player
accounts can break). A state, not an event: its key has no day, so it stays one open
break until the balance is right again, and its ``occurred_at`` is empty.

clearing_residue: per PSP and currency, the day's movement on the PSP clearing account
against what the PSP reported for that day. Deposit approval posts psp_clearing −amount
(the PSP owes the merchant), a refund or chargeback +amount, a chargeback reversal
−amount, a completed payout +amount (cashier/deposits.py, withdrawals.py): so −movement
is, signed from the merchant's point of view, exactly the sum of the report rows'
``gross_minor`` in the transaction currency. The wallet books gross amounts in the
transaction's currency and never the PSP's fees or FX, so the check compares GROSS per
gross currency; net, fees and FX are the PSP's deduction when it pays out (a bank
reconciliation, not this one), and Fee rows (gross 0) add nothing. A residue that is
only timing (a callback received after midnight) shows on both days with opposite signs.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from reconcilers.frames import BALANCES, CLEARING, PSP_ROWS
from reconcilers.match.engine import (
    MatchResult,
    break_select,
    connect,
    day_bounds,
    fetch_breaks,
    require,
)

PAIR = "wallet_internal"

MISMATCHED = """
    SELECT *, coalesce(stored_minor, 0) - coalesce(entries_minor, 0) AS diff
    FROM b WHERE stored_minor IS DISTINCT FROM entries_minor"""
BALANCE_BREAKS = break_select(
    PAIR,
    "balance_mismatch",
    "mismatched",
    "true",
    ("coalesce(psp, 'none')", "account_id"),
    psp="psp",
    reference="account_id",
    currency="currency",
    wallet_amount_minor="stored_minor",
    other_amount_minor="entries_minor",
    amount_at_risk_minor="abs(diff)",
    details="'account ' || account_id || ' (' || coalesce(account_owner, '?') || ' ' "
    "|| coalesce(account_kind, '?') || '): stored balance ' "
    "|| pw_major(stored_minor, currency) || ', ledger entries sum to ' "
    "|| pw_major(entries_minor, currency)",
)

# What the PSP reported for the day, what the wallet's clearing account moved, side by side.
RESIDUES = """
    WITH reported AS (
        SELECT psp, gross_currency AS currency, sum(gross_minor) AS gross, count(*) AS n
        FROM p WHERE settled_at >= $d0 AND settled_at < $d1 AND psp IS NOT NULL
        GROUP BY ALL),
    booked AS (
        SELECT psp, currency, -sum(movement_minor) AS gross FROM cl GROUP BY ALL),
    accounts AS (
        SELECT psp, currency, min(account_id) AS account_id FROM b
        WHERE account_kind = 'psp_clearing' GROUP BY ALL)
    SELECT coalesce(w.psp, r.psp) AS psp, coalesce(w.currency, r.currency) AS currency,
           coalesce(w.gross, 0) AS booked, coalesce(r.gross, 0) AS reported,
           coalesce(r.n, 0) AS n, a.account_id
    FROM booked AS w FULL OUTER JOIN reported AS r
      ON w.psp = r.psp AND w.currency = r.currency
    LEFT JOIN accounts AS a
      ON a.psp = coalesce(w.psp, r.psp) AND a.currency = coalesce(w.currency, r.currency)
    WHERE coalesce(w.gross, 0) <> coalesce(r.gross, 0)"""
RESIDUE_BREAKS = break_select(
    PAIR,
    "clearing_residue",
    "residues",
    "true",
    ("psp", "currency", "$day"),
    psp="psp",
    reference="coalesce(account_id::VARCHAR, psp || ' clearing ' || currency)",
    currency="currency",
    wallet_amount_minor="booked",
    other_amount_minor="reported",
    amount_at_risk_minor="abs(booked - reported)",
    occurred_at="$d0",
    details="'PSP clearing ' || psp || ' ' || currency || ' on ' || $day || ': the wallet "
    "booked ' || pw_major(booked, currency) || ' settled (gross, net of refunds, chargebacks "
    "and payouts), the PSP reported ' || pw_major(reported, currency) || ' gross in ' || n || "
    "' rows; residue ' || pw_major(booked - reported, currency)",
)


def check_wallet_internal(
    balances: pd.DataFrame, clearing: pd.DataFrame, psp: pd.DataFrame, *, day: date
) -> MatchResult:
    """Balances that are not the sum of their entries, and PSP clearing accounts whose
    movement on ``day`` does not net against the PSPs' report rows of that day."""
    b = require(balances, BALANCES, "balances")
    cl = require(clearing, CLEARING, "clearing movements")
    p = require(psp, PSP_ROWS, "PSP rows")
    params = day_bounds(day) | {"day": day.isoformat()}
    with connect() as con:
        for name, frame in (("b", b), ("cl", cl), ("p", p)):
            con.register(name, frame)
        breaks, (consistent, _) = fetch_breaks(
            con,
            [("mismatched", MISMATCHED), ("residues", RESIDUES)],
            [BALANCE_BREAKS, RESIDUE_BREAKS],
            params,
            stats=("b", "count(*) FILTER (WHERE stored_minor = entries_minor)", "0"),
        )
    return MatchResult(breaks, {"rows_wallet": len(b), "rows_other": len(p), "matched": consistent})
