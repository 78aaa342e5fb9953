"""Wallet ⟷ PSP: wallet movements against PSP settlement report rows.

A movement and a report row are the same money when they share (psp, merchant_reference,
kind), the kind mapped from the row's type (Settled ↔ settled, Refunded ↔ refunded,
Chargeback ↔ chargeback, ChargebackReversed ↔ chargeback_reversed, Payout ↔ payout). A
row (or movement) without a merchant reference is keyed by the merchant reference the
other side gives its psp_reference, else by ``#psp_reference``. Amounts are compared
unsigned — |gross| in minor units of the gross currency against the movement's amount —
because the wallet books gross amounts: fees and FX are the PSP's deductions at
settlement and belong to the clearing check. Fee and Adjustment rows (batch-level: a batch
fee, a payout to the merchant's bank, a correction; docs/psp-settlement-formats.md) are not
transactions: not matched.

A break belongs to ``day`` when a wallet movement's ``occurred_at`` or a report row's
``settled_at`` of its key falls on it; the neighbour days' rows are there to match the
movements that cross midnight. Within a key the i-th movement pairs with the i-th row
(by time), so a second chargeback after a reversal is no duplicate; only one side's
surplus is.

A refund, chargeback or reversal on one side only is a status_mismatch rather than a
missing row: past the window when the wallet has it alone; when the PSP has it alone and
the wallet's movements show the deposit in another status (looked up by reference among
all movements, of any kind; a deposit the frame does not show at all is missing_in_wallet).

Values: ``wallet_value`` is the movement's deposit / withdrawal status (for a row the PSP
has alone, the looked-up status), ``other_value`` the row's type — except
currency_mismatch (each side's currency) and the duplicates (each side's row count for
the key). Amount at risk: the movement's amount (missing, status, currency), the
|difference| (amount), the surplus rows (duplicates), the callback's amount (orphan).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd

from reconcilers.frames import ORPHAN_CALLBACKS, PSP_ROWS, WALLET_MOVEMENTS
from reconcilers.match.engine import (
    MatchResult,
    break_select,
    connect,
    day_bounds,
    fetch_breaks,
    pair_residue,
    pair_rows,
    recode,
    require,
    same_values,
    with_positions,
)

PAIR = "wallet_psp"
KIND_OF_TYPE = {
    "Settled": "settled",
    "Refunded": "refunded",
    "Chargeback": "chargeback",
    "ChargebackReversed": "chargeback_reversed",
    "Payout": "payout",
}
# Kinds that change a deposit's status: one side without the other is a status dispute.
STATUS_KINDS = ("refunded", "chargeback", "chargeback_reversed")
STATUS_TYPES = tuple(t for t, k in KIND_OF_TYPE.items() if k in STATUS_KINDS)
KEYS = ("psp", "kind", "ref")

KIND_SQL = (
    "CASE type "
    + " ".join(f"WHEN '{t}' THEN '{k}'" for t, k in KIND_OF_TYPE.items())
    + " ELSE lower(type) END"
)


def _in_day(column: str) -> str:
    return f"({column} >= $d0 AND {column} < $d1)"


# The fast join joins by reference alone and compares the rest: psp, kind and currency as
# one integer a row (``same_values``; NULL equals NULL, as the residue's psp "none" and
# IS NOT DISTINCT FROM have it) and the amount. A deposit with one movement a side
# (nearly all) is a clean pair, and every movement of a reference with more — or with a
# kind, psp or value the other side lacks — falls through to the residue together, where
# it is paired by (psp, kind, reference) with its status at hand. A missing merchant
# reference (NULL) never joins: such rows fall through too, to the psp_reference fallback.
FAST_KEYS = ("ref",)
FAST_COMPARED = ("_attrs", "_amount")
FAST_WALLET = f"""
    SELECT _r, nullif(merchant_reference, '') AS ref, _attrs, amount_minor AS _amount,
           {_in_day("occurred_at")} AS _day
    FROM w"""
FAST_PSP = f"""
    SELECT _r, nullif(merchant_reference, '') AS ref, _attrs, abs(gross_minor) AS _amount,
           {_in_day("settled_at")} AS _day
    FROM p WHERE type NOT IN ('Fee', 'Adjustment')"""

# The residue rows, read from the frames once, with their kind and merchant reference.
# Keys are never NULL in the residue: NULL would pair nothing, yet group everything.
RESIDUE_W = """
    SELECT _r, coalesce(psp, 'none') AS psp, coalesce(kind, '?') AS kind,
           nullif(merchant_reference, '') AS mr, psp_reference, currency, amount_minor, status,
           occurred_at
    FROM rw"""
RESIDUE_P = f"""
    SELECT _r, coalesce(psp, 'none') AS psp, coalesce({KIND_SQL}, '?') AS kind,
           nullif(merchant_reference, '') AS mr, psp_reference,
           type, gross_currency, abs(gross_minor) AS amount, created_at, settled_at,
           source_file, source_line
    FROM rp"""

# psp_reference → merchant_reference, from whichever side knows both, for the rows that
# have no merchant reference (usually none: then the EXISTS stops it early).
REFS = """
    WITH u AS (SELECT psp, psp_reference, mr FROM w0
               UNION ALL SELECT psp, psp_reference, mr FROM p0)
    SELECT psp, psp_reference, min(mr) AS mr FROM u
    WHERE mr IS NOT NULL AND EXISTS (
        SELECT 1 FROM u AS x
        WHERE x.mr IS NULL AND x.psp = u.psp AND x.psp_reference = u.psp_reference)
    GROUP BY ALL"""


def _residue_side(table: str, columns: str, amount: str, at: str) -> str:
    return f"""
        SELECT {columns}, s.kind,
               coalesce(s.mr, m.mr, '#' || s.psp_reference, '?{table}' || s._r::VARCHAR) AS ref,
               {amount} AS _amount, {_in_day("s." + at)} AS _day
        FROM {table} AS s LEFT JOIN refs AS m
          ON m.psp = s.psp AND m.psp_reference = s.psp_reference"""


RESIDUE_WALLET = _residue_side(
    "w0",
    "s._r, s.psp, s.psp_reference, s.currency, s.status, s.occurred_at",
    "s.amount_minor",
    "occurred_at",
)
RESIDUE_PSP = _residue_side(
    "p0",
    "s._r, s.psp, s.psp_reference, s.type, s.gross_currency, "
    "s.created_at, s.settled_at, s.source_file, s.source_line",
    "s.amount",
    "settled_at",
)

# The wallet's current status of each deposit of the residue, by reference: every
# movement of a deposit the PSP reported a movement of alone is in the residue (it joined
# that row in the fast join, with another kind). A PSP row without a merchant reference
# is looked up by psp_reference among all movements instead (``_by_psp_reference``).
KNOWN = """
    SELECT psp, mr AS ref, min(status) AS status FROM w0 WHERE mr IS NOT NULL GROUP BY ALL
    UNION ALL
    SELECT psp, ref, status FROM known_by_psp_ref"""

# Each residue row with what the classification needs.
CLASSIFIED = f"""
    SELECT j.*,
        j.l__r IS NOT NULL AND j.r__r IS NOT NULL AS paired,
        j.l__r IS NOT NULL AND j.r__r IS NULL AND j._i = 1 AND j.nr = 0 AS only_w,
        j.r__r IS NOT NULL AND j.l__r IS NULL AND j._i = 1 AND j.nl = 0 AS only_p,
        coalesce(j.l_currency <> j.r_gross_currency, true) AS currency_differs,
        coalesce(j.l__amount <> j.r__amount, true) AS amount_differs,
        coalesce(j.l_occurred_at >= $young_since, false) AS young,
        j.kind IN {STATUS_KINDS} AS status_kind,
        CASE WHEN j._i = 1 THEN j.ref ELSE j.ref || '|' || j._i END AS pair_ref,
        CASE WHEN starts_with(j.ref, '#') THEN coalesce(j.r_psp_reference, j.l_psp_reference)
             ELSE j.ref END AS reference,
        coalesce(j.r_psp_reference, j.l_psp_reference) AS any_psp_reference,
        j.r_source_file || ':' || j.r_source_line AS src,
        -- a report row has no event time: its settlement day, not before its creation
        greatest(j.r_created_at, date_trunc('day', j.r_settled_at)) AS psp_time,
        pw_major(j.l__amount, j.l_currency) AS w_money,
        pw_major(j.r__amount, j.r_gross_currency) AS p_money
    FROM j"""
# Only the rows the PSP reported alone need the wallet's status: join it to those only.
WITH_STATUS = "(SELECT c.*, k.status AS wallet_status FROM c LEFT JOIN known AS k USING (psp, ref))"

PSP_SAYS = "'PSP reported ' || r_type || ' ' || p_money || ' (' || src || ')'"
COMMON = {
    "psp": "psp",
    "reference": "reference",
    "psp_reference": "any_psp_reference",
    "wallet_amount_minor": "l__amount",
    "other_amount_minor": "r__amount",
    "wallet_value": "l_status",
    "other_value": "r_type",
    "occurred_at": "coalesce(l_occurred_at, psp_time)",
}


def _pair_break(kind: str, where: str, source: str = "c", **columns: str) -> str:
    return break_select(
        PAIR, kind, source, where, ("psp", "kind", "pair_ref"), **(COMMON | columns)
    )


BREAKS_SQL = (
    _pair_break(
        "currency_mismatch",
        "paired AND currency_differs",
        currency="l_currency",
        amount_at_risk_minor="l__amount",
        wallet_value="l_currency",
        other_value="r_gross_currency",
        details="'wallet ' || w_money || ', PSP ' || p_money || ' (' || src || ')'",
    ),
    _pair_break(
        "amount_mismatch",
        "paired AND NOT currency_differs AND amount_differs",
        currency="l_currency",
        amount_at_risk_minor="abs(l__amount - r__amount)",
        details="'wallet ' || w_money || ', PSP ' || p_money || ' (' || src || ')'",
    ),
    _pair_break(
        "missing_at_psp",
        "only_w AND NOT young AND NOT status_kind",
        currency="l_currency",
        amount_at_risk_minor="l__amount",
        details="'wallet ' || kind || ' ' || w_money || '; no PSP row past the settlement window'",
    ),
    _pair_break(
        "status_mismatch",
        "only_w AND NOT young AND status_kind",
        currency="l_currency",
        amount_at_risk_minor="l__amount",
        details="'wallet recorded ' || kind || ' ' || w_money || '; the PSP reported none "
        "past the settlement window'",
    ),
    _pair_break(
        "status_mismatch",
        "only_p AND status_kind AND wallet_status IS NOT NULL AND wallet_status <> kind",
        WITH_STATUS,
        currency="r_gross_currency",
        amount_at_risk_minor="r__amount",
        wallet_value="wallet_status",
        details=f"{PSP_SAYS} || '; the wallet''s status is ' || wallet_status",
    ),
    _pair_break(
        "missing_in_wallet",
        "only_p AND NOT (status_kind AND wallet_status IS NOT NULL AND wallet_status <> kind)",
        WITH_STATUS,
        currency="r_gross_currency",
        amount_at_risk_minor="r__amount",
        wallet_value="wallet_status",
        details=f"{PSP_SAYS} || '; no wallet movement'",
    ),
)

# One break per key with a surplus on one side; the side's amount is the key's total
# there, the values are each side's row count, the amount at risk is the surplus.
SURPLUS = """
    SELECT psp, kind, ref, any_value(reference) AS reference,
           first(any_psp_reference ORDER BY _i) AS any_psp_reference,
           first({cur} ORDER BY _i) AS currency,
           sum({amount}) AS total,
           sum({amount}) FILTER (WHERE {surplus}) AS surplus,
           first({other_amount} ORDER BY _i) AS other_first,
           min({at}) FILTER (WHERE {surplus}) AS first_at,
           string_agg(src, ', ' ORDER BY _i) FILTER (WHERE {surplus}) AS wheres,
           max({n}) AS n, max({n_other}) AS n_other
    FROM c WHERE {more} GROUP BY psp, kind, ref"""
SURPLUS_W = "l__r IS NOT NULL AND r__r IS NULL AND NOT only_w"
SURPLUS_P = "r__r IS NOT NULL AND l__r IS NULL AND NOT only_p"
DUPLICATES = (
    SURPLUS.format(
        cur="l_currency",
        amount="l__amount",
        other_amount="r__amount",
        surplus=SURPLUS_W,
        more="nl > nr AND nl > 1",
        at="l_occurred_at",
        n="nl",
        n_other="nr",
    ),
    SURPLUS.format(
        cur="r_gross_currency",
        amount="r__amount",
        other_amount="l__amount",
        surplus=SURPLUS_P,
        more="nr > nl AND nr > 1",
        at="psp_time",
        n="nr",
        n_other="nl",
    ),
)
_DUP_COMMON = {
    "psp": "psp",
    "reference": "reference",
    "psp_reference": "any_psp_reference",
    "currency": "currency",
    "amount_at_risk_minor": "abs(surplus)",
    "occurred_at": "first_at",
}
DUPLICATE_BREAKS = (
    break_select(
        PAIR,
        "duplicate_in_wallet",
        "dup_w",
        "true",
        ("psp", "kind", "ref"),
        **_DUP_COMMON,
        wallet_amount_minor="total",
        other_amount_minor="other_first",
        wallet_value="n",
        other_value="n_other",
        details="n || ' wallet ' || kind || ' movements, ' || n_other || ' PSP rows; surplus '"
        " || pw_major(surplus, currency)",
    ),
    break_select(
        PAIR,
        "duplicate_at_psp",
        "dup_p",
        "true",
        ("psp", "kind", "ref"),
        **_DUP_COMMON,
        wallet_amount_minor="other_first",
        other_amount_minor="total",
        wallet_value="n_other",
        other_value="n",
        details="n || ' PSP ' || kind || ' rows, ' || n_other || ' wallet movements; surplus '"
        " || pw_major(surplus, currency) || ' (' || wheres || ')'",
    ),
)

# One break per orphan event of the day (a redelivered event is the same break).
ORPHANS = """
    SELECT psp, merchant_reference, psp_reference, status, min(currency) AS currency,
           max(amount_minor) AS amount_minor, min(occurred_at) AS occurred_at, count(*) AS n
    FROM o WHERE occurred_at >= $d0 AND occurred_at < $d1 GROUP BY ALL"""
ORPHAN_BREAKS = break_select(
    PAIR,
    "orphan_callback",
    "orphans",
    "true",
    ("psp", "status", "merchant_reference", "psp_reference"),
    psp="psp",
    reference="merchant_reference",
    psp_reference="psp_reference",
    currency="currency",
    other_amount_minor="amount_minor",
    other_value="status",
    amount_at_risk_minor="abs(amount_minor)",
    occurred_at="occurred_at",
    details="'PSP callback ''' || status || ''' for ' || pw_major(amount_minor, currency) || "
    "' with a reference the wallet does not know (' || n || ' received)'",
)


def match_wallet_psp(
    wallet: pd.DataFrame,
    psp: pd.DataFrame,
    orphans: pd.DataFrame,
    *,
    day: date,
    now: datetime,
    settlement_window: timedelta,
) -> MatchResult:
    """The wallet ⟷ PSP breaks of ``day``. A movement the PSP has not reported that is
    younger than ``settlement_window`` at ``now`` is in flight, not a break."""
    w = with_positions(require(wallet, WALLET_MOVEMENTS, "wallet movements"))
    p = with_positions(require(psp, PSP_ROWS, "PSP rows"))
    w_attrs, p_attrs = same_values(
        [
            (w["psp"], p["psp"]),
            (w["kind"], _kinds(p["type"])),
            (w["currency"], p["gross_currency"]),
        ]
    )
    w, p = w.assign(_attrs=w_attrs), p.assign(_attrs=p_attrs)
    o = require(orphans, ORPHAN_CALLBACKS, "orphan callbacks")
    params = day_bounds(day)
    with connect() as con:
        for name, frame in (("w", w), ("p", p), ("o", o)):
            con.register(name, frame)
        pairing = pair_rows(
            con,
            FAST_WALLET,
            FAST_PSP,
            keys=FAST_KEYS,
            compared=FAST_COMPARED,
            n_left=len(w),
            n_right=len(p),
            params=params,
        )
        con.register("rw", w.iloc[pairing.left])
        con.register("rp", p.iloc[pairing.right])
        con.register("known_by_psp_ref", _by_psp_reference(con, w, p.iloc[pairing.right_alone]))
        residue = pair_residue(
            RESIDUE_WALLET,
            RESIDUE_PSP,
            keys=KEYS,
            left_order="occurred_at, _amount, _r",
            right_order="settled_at, source_file, source_line, _r",
        )
        breaks, (matched, in_flight) = fetch_breaks(
            con,
            [
                ("w0", RESIDUE_W),
                ("p0", RESIDUE_P),
                ("refs", REFS),
                ("j", residue),
                ("known", KNOWN),
                ("c", CLASSIFIED),
                ("dup_w", DUPLICATES[0]),
                ("dup_p", DUPLICATES[1]),
                ("orphans", ORPHANS),
            ],
            [*BREAKS_SQL, *DUPLICATE_BREAKS, ORPHAN_BREAKS],
            params | {"young_since": now - settlement_window},
            stats=(
                "c",
                "count(*) FILTER (WHERE paired AND NOT currency_differs AND NOT amount_differs)",
                "count(*) FILTER (WHERE only_w AND young)",
            ),
        )
    stats = {
        "rows_wallet": len(w),
        "rows_other": len(p),
        "matched": pairing.matched + matched,
        "in_flight": in_flight,
    }
    return MatchResult(breaks, stats)


def _kinds(types: pd.Series) -> pd.Series:
    """The movement kind of each report row's type, as ``KIND_SQL`` has it."""
    return recode(types, lambda t: KIND_OF_TYPE.get(t, t.lower()))


def _by_psp_reference(
    con: duckdb.DuckDBPyConnection, w: pd.DataFrame, alone: pd.DataFrame
) -> pd.DataFrame:
    """(psp, ref, status): the wallet's current status of the deposits of which the PSP
    reported, without a merchant reference, a refund, chargeback or reversal that no
    movement joined; found by psp_reference among all the movements (of any kind).

    It costs a scan of the movements, so it runs only when there are such rows (a PSP
    that drops merchant references), reads one column in DuckDB (the build side is the
    few references wanted) and takes the few movements found from the frame by position."""
    alone = alone[alone["type"].isin(STATUS_TYPES)]
    wanted = alone["psp_reference"][alone["merchant_reference"].replace("", pd.NA).isna()]
    wanted = wanted.dropna().unique()
    if not len(wanted):
        return pd.DataFrame({c: pd.Series(dtype="string") for c in ("psp", "ref", "status")})
    con.register("wanted", pd.DataFrame({"k": wanted}))
    at = con.execute("SELECT _r FROM w WHERE psp_reference IN (SELECT k FROM wanted)")
    hits = w.iloc[np.asarray(at.fetchnumpy()["_r"])]
    known = pd.DataFrame(
        {"psp": hits["psp"], "ref": "#" + hits["psp_reference"], "status": hits["status"]}
    ).astype("string")
    return known.groupby(["psp", "ref"], as_index=False)["status"].min()
