"""Wallet ⟷ affiliate network: the platform's conversions against the network's export.

A platform conversion and a network row are the same conversion when they share
(affiliate, event, conversion_id). A break belongs to ``day`` when a row of its key
occurred on it (platform or network). Within a key the i-th platform conversion pairs
with the i-th network row (by time / file line); the network's surplus rows are a
duplicate commission.

Amount at risk is what the operator may overpay the network: the commission of a
phantom, a duplicate or a conversion still approved at the network that the platform
reversed (charged back) or never approved; the |difference| of an amount mismatch (the
revenue share follows the amount); the platform amount of a currency mismatch. A
missing postback puts nothing at risk for the operator (the network pays less, the
affiliate complains): its amount at risk is 0 and the deposit amount is the wallet side.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd

from reconcilers.frames import AFFILIATE_ROWS, PLATFORM_CONVERSIONS
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

PAIR = "wallet_affiliate"
KEYS = ("affiliate", "event", "ref")


def _in_day(column: str) -> str:
    return f"({column} >= $d0 AND {column} < $d1)"


# What the network should say of a platform conversion: approved, reversed, or nothing.
EXPECTED = ("approved", "reversed")
NOT_APPROVED = "not approved"

# The fast join joins by conversion id alone and compares the rest: affiliate, event,
# currency and the status the network should show as one integer a row (``same_values``;
# NULL equals NULL, as in the residue's keys) and the amount. Any difference, or an id
# with more than one row a side, falls through to the residue, paired there by
# (affiliate, event, conversion id).
FAST_KEYS = ("ref",)
FAST_COMPARED = ("_attrs", "_amount")
FAST_PLATFORM = f"""
    SELECT _r, conversion_id AS ref, _attrs, amount_minor AS _amount,
           {_in_day("occurred_at")} AS _day
    FROM c"""
FAST_NETWORK = f"""
    SELECT _r, conversion_id AS ref, _attrs, amount_minor AS _amount,
           {_in_day("occurred_at")} AS _day
    FROM n"""


def _residue_side(table: str, columns: str) -> str:
    # Keys never NULL in the residue: NULL would pair nothing and group everything.
    return f"""
        SELECT _r, coalesce(affiliate, '') AS affiliate, coalesce(event, '') AS event,
               coalesce(conversion_id, '?{table}' || _r::VARCHAR) AS ref, {columns},
               amount_minor AS _amount, {_in_day("occurred_at")} AS _day
        FROM {table}"""


RESIDUE_PLATFORM = _residue_side(
    "rc", "conversion_id, currency, state, postback_status, occurred_at"
)
RESIDUE_NETWORK = _residue_side(
    "rn",
    "conversion_id, currency, status, occurred_at, commission_minor, commission_currency, "
    "source_file, source_line, source_file || ':' || source_line AS src",
)

CLASSIFIED = """
    SELECT *,
        l__r IS NOT NULL AND r__r IS NOT NULL AS paired,
        l__r IS NOT NULL AND r__r IS NULL AND _i = 1 AND nr = 0 AS only_c,
        r__r IS NOT NULL AND l__r IS NULL AND _i = 1 AND nl = 0 AS only_n,
        r__r IS NOT NULL AND l__r IS NULL AND NOT (_i = 1 AND nl = 0) AS surplus_n,
        coalesce(l_currency <> r_currency, true) AS currency_differs,
        coalesce(l__amount <> r__amount, true) AS amount_differs,
        -- one side pays a commission the other says is not (or no longer) due
        (r_status = 'approved' AND coalesce(l_state, '') <> 'approved')
        OR (r_status = 'reversed' AND l_state = 'approved') AS status_differs,
        l_state = 'approved' AND event = 'ftd' AS postback_due,
        coalesce(l_occurred_at >= $young_since, false) AS young,
        CASE WHEN _i = 1 THEN ref ELSE ref || '|' || _i END AS pair_ref,
        coalesce(l_conversion_id, r_conversion_id) AS reference,
        pw_major(l__amount, l_currency) AS c_money,
        pw_major(r__amount, r_currency) AS n_money,
        pw_major(r_commission_minor, r_commission_currency) AS commission
    FROM j"""

COMMON = {
    "affiliate": "affiliate",
    "reference": "reference",
    "wallet_amount_minor": "l__amount",
    "other_amount_minor": "r__amount",
    "wallet_value": "l_state",
    "other_value": "r_status",
    "occurred_at": "coalesce(l_occurred_at, r_occurred_at)",
}
BOTH = "'platform ' || c_money || ' ' || l_state || ', network ' || n_money || ' ' || r_status"


def _conversion_break(kind: str, where: str, **columns: str) -> str:
    return break_select(
        PAIR, kind, "c", where, ("'none'", "affiliate", "event", "pair_ref"), **(COMMON | columns)
    )


BREAKS_SQL = (
    _conversion_break(
        "currency_mismatch",
        "paired AND currency_differs",
        currency="l_currency",
        amount_at_risk_minor="l__amount",
        wallet_value="l_currency",
        other_value="r_currency",
        details=f"{BOTH} || ' (' || r_src || ')'",
    ),
    _conversion_break(
        "amount_mismatch",
        "paired AND NOT currency_differs AND amount_differs",
        currency="l_currency",
        amount_at_risk_minor="abs(l__amount - r__amount)",
        details=f"{BOTH} || ' (' || r_src || ')'",
    ),
    _conversion_break(
        "status_mismatch",
        "paired AND status_differs",
        currency="r_commission_currency",
        amount_at_risk_minor="CASE WHEN r_status = 'approved' "
        "THEN abs(r_commission_minor) ELSE 0 END",
        details=f"{BOTH} || '; network commission ' || commission || ' (' || r_src || ')'",
    ),
    _conversion_break(
        "missing_postback",
        "only_c AND postback_due AND NOT young",
        currency="l_currency",
        amount_at_risk_minor="0",
        wallet_value="coalesce(l_postback_status, 'no postback job')",
        other_value="NULL",
        details="'approved ' || event || ' of ' || c_money || ', postback ' "
        "|| coalesce(l_postback_status, 'never queued') || '; the network has no conversion'",
    ),
    _conversion_break(
        "phantom_conversion",
        "only_n",
        currency="r_commission_currency",
        amount_at_risk_minor="abs(r_commission_minor)",
        wallet_value="NULL",
        details="'network booked ' || event || ' ' || n_money || ' ' || r_status "
        "|| ', commission ' || commission || ' (' || r_src || '); no platform conversion'",
    ),
)

# The network's surplus rows of a key: one break, the surplus commission at risk.
DUPLICATES = """
    SELECT affiliate, event, ref, any_value(reference) AS reference,
           first(l__amount ORDER BY _i) AS platform_amount,
           first(l_state ORDER BY _i) AS platform_state,
           sum(r__amount) AS total,
           first(r_commission_currency ORDER BY _i) AS currency,
           sum(r_commission_minor) FILTER (WHERE surplus_n) AS surplus,
           min(r_occurred_at) AS first_at,
           string_agg(r_src, ', ' ORDER BY _i) AS wheres,
           max(nl) AS nl, max(nr) AS nr
    FROM c WHERE nr > nl AND nr > 1 GROUP BY affiliate, event, ref"""
DUPLICATE_BREAKS = break_select(
    PAIR,
    "duplicate_conversion",
    "dups",
    "true",
    ("'none'", "affiliate", "event", "ref"),
    affiliate="affiliate",
    reference="reference",
    currency="currency",
    wallet_amount_minor="platform_amount",
    other_amount_minor="total",
    wallet_value="nl",
    other_value="nr",
    amount_at_risk_minor="abs(coalesce(surplus, 0))",
    occurred_at="first_at",
    details="nr || ' network rows for ' || nl || ' platform conversion(s); surplus commission '"
    " || pw_major(surplus, currency) || ' (' || wheres || ')'",
)


def match_wallet_affiliate(
    platform: pd.DataFrame,
    network: pd.DataFrame,
    *,
    day: date,
    now: datetime,
    grace: timedelta,
) -> MatchResult:
    """The wallet ⟷ affiliate network breaks of ``day``. An approved FTD the network has
    not booked that is younger than ``grace`` at ``now`` is in flight, not a break."""
    c = with_positions(require(platform, PLATFORM_CONVERSIONS, "platform conversions"))
    n = with_positions(require(network, AFFILIATE_ROWS, "affiliate network rows"))
    expected = recode(c["state"], lambda s: s if s in EXPECTED else NOT_APPROVED, NOT_APPROVED)
    c_attrs, n_attrs = same_values(
        [
            (c["affiliate"], n["affiliate"]),
            (c["event"], n["event"]),
            (c["currency"], n["currency"]),
            (expected, n["status"]),
        ]
    )
    c, n = c.assign(_attrs=c_attrs), n.assign(_attrs=n_attrs)
    params = day_bounds(day)
    with connect() as con:
        con.register("c", c)
        con.register("n", n)
        pairing = pair_rows(
            con,
            FAST_PLATFORM,
            FAST_NETWORK,
            keys=FAST_KEYS,
            compared=FAST_COMPARED,
            n_left=len(c),
            n_right=len(n),
            params=params,
        )
        con.register("rc", c.iloc[pairing.left])
        con.register("rn", n.iloc[pairing.right])
        residue = pair_residue(
            RESIDUE_PLATFORM,
            RESIDUE_NETWORK,
            keys=KEYS,
            left_order="occurred_at, _r",
            right_order="source_file, source_line, _r",
        )
        breaks, (matched, in_flight) = fetch_breaks(
            con,
            [("j", residue), ("c", CLASSIFIED), ("dups", DUPLICATES)],
            [*BREAKS_SQL, DUPLICATE_BREAKS],
            params | {"young_since": now - grace},
            stats=(
                "c",
                "count(*) FILTER (WHERE paired AND NOT currency_differs AND NOT amount_differs"
                " AND NOT status_differs)",
                "count(*) FILTER (WHERE only_c AND postback_due AND young)",
            ),
        )
    stats = {
        "rows_wallet": len(c),
        "rows_other": len(n),
        "matched": pairing.matched + matched,
        "in_flight": in_flight,
    }
    return MatchResult(breaks, stats)
