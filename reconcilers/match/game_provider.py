"""Wallet ⟷ game provider: the seamless wallet's booked transactions
(pw_casino_wallet_transactions) against each provider's daily transaction report and GGR
statement (docs/game-provider-reports.md).

A wallet transaction and a report row are the same money when they share (provider,
transaction id); they must agree on type, amount and currency. A break belongs to ``day``
when either side's time of the transaction falls on it (the neighbour days' rows are
there to pair those that cross midnight). Rounds and GGR lines belong to the day of their
first bet and to the statement's day.

All of it is SQL over three relations a DuckDB connection holds (``gw``, ``gp``, ``gs``:
``find_breaks``): a run loads them into a workspace (``engine.workspace``), a database
whose tables, joins and aggregates spill to disk, so that a day of more rows than memory
holds is reconciled in bounded memory (``make bench-recon-games``: 100M a side).
One full outer join pairs the transactions, and only what does not match leaves it: the
clean pairs fold into one group, counted (``RESIDUE``). The round and GGR checks read
only the open rounds and the few (game, currency) sums.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import pandas as pd

from reconcilers.match.engine import MatchResult, break_select, day_bounds, fetch_breaks

PAIR = "wallet_game_provider"
TYPES = (
    "missing_in_wallet",
    "missing_at_provider",
    "amount_mismatch",
    "currency_mismatch",
    "rollback_one_sided",
    "round_open_past_window",
    "ggr_difference",
    "duplicate_at_provider",
)


def _in_day(column: str) -> str:
    return f"({column} >= $d0 AND {column} < $d1)"


# The join, with every clean in-day pair folded into one row (k false) that counts them;
# each other in-day row is its own group of one (the wallet's ids are unique per provider).
RESIDUE = f"""
    WITH j AS (
        SELECT coalesce(w.provider, p.provider) AS provider,
               coalesce(w.provider_transaction_id, p.provider_transaction_id) AS tx,
               w.kind AS wk, p.kind AS pk, w.amount_minor AS wa, p.amount_minor AS pa,
               w.currency AS wc, p.currency AS pc, w.created_at AS wt, p.created_at AS pt,
               coalesce(w.round_id, p.round_id) AS round_id,
               p.source_file AS pf, p.source_line AS pl,
               (w.kind = p.kind AND w.amount_minor = p.amount_minor
                AND w.currency = p.currency) IS TRUE AS clean
        FROM gw AS w FULL OUTER JOIN gp AS p
          ON w.provider = p.provider AND w.provider_transaction_id = p.provider_transaction_id
        WHERE coalesce({_in_day("w.created_at")}, false)
           OR coalesce({_in_day("p.created_at")}, false)
    )
    SELECT NOT clean AS k,
           CASE WHEN NOT clean THEN provider END AS provider,
           CASE WHEN NOT clean THEN tx END AS tx,
           CASE WHEN NOT clean THEN wk END AS wk, CASE WHEN NOT clean THEN pk END AS pk,
           CASE WHEN NOT clean THEN wa END AS wa, CASE WHEN NOT clean THEN pa END AS pa,
           CASE WHEN NOT clean THEN wc END AS wc, CASE WHEN NOT clean THEN pc END AS pc,
           CASE WHEN NOT clean THEN wt END AS wt, CASE WHEN NOT clean THEN pt END AS pt,
           CASE WHEN NOT clean THEN round_id END AS round_id,
           CASE WHEN NOT clean THEN pf END AS pf, CASE WHEN NOT clean THEN pl END AS pl,
           count(*) AS n
    FROM j GROUP BY ALL"""

# The residue as the break queries read it.
CLASSIFIED = """
    SELECT *, wk IS NOT NULL AS has_w, pk IS NOT NULL AS has_p,
           CAST(pf AS VARCHAR) || ':' || CAST(pl AS VARCHAR) AS src,
           pw_major(wa, wc) AS w_money, pw_major(pa, pc) AS p_money
    FROM r WHERE k"""

COMMON = {
    "psp": "provider",
    "reference": "tx",
    "psp_reference": "round_id",
    "wallet_amount_minor": "wa",
    "other_amount_minor": "pa",
    "wallet_value": "wk",
    "other_value": "pk",
    "occurred_at": "coalesce(wt, pt)",
}


def _tx_break(kind: str, where: str, **columns: str) -> str:
    return break_select(PAIR, kind, "c", where, ("provider", "tx"), **(COMMON | columns))


TRANSACTION_BREAKS = (
    _tx_break(
        "currency_mismatch",
        "has_w AND has_p AND wk = pk AND wc <> pc",
        currency="wc",
        amount_at_risk_minor="wa",
        wallet_value="wc",
        other_value="pc",
        details="'wallet ' || wk || ' ' || w_money || ', provider ' || p_money"
        " || ' (' || src || ')'",
    ),
    _tx_break(
        "amount_mismatch",
        "has_w AND has_p AND NOT (wk = pk AND wc <> pc)",
        currency="wc",
        amount_at_risk_minor="CASE WHEN wk = pk THEN abs(wa - pa) ELSE greatest(wa, pa) END",
        details="'wallet ' || wk || ' ' || w_money || ', provider ' || pk || ' ' || p_money"
        " || ' (' || src || ')'",
    ),
    _tx_break(
        "missing_at_provider",
        "has_w AND NOT has_p AND wk <> 'rollback'",
        currency="wc",
        amount_at_risk_minor="wa",
        details="'wallet ' || wk || ' ' || w_money || ' in round ' || round_id || "
        "'; not in the provider''s report'",
    ),
    _tx_break(
        "missing_in_wallet",
        "has_p AND NOT has_w AND pk <> 'rollback'",
        currency="pc",
        amount_at_risk_minor="pa",
        details="'provider reported ' || pk || ' ' || p_money || ' in round ' || round_id || "
        "' (' || src || '); the wallet never booked it'",
    ),
    _tx_break(
        "rollback_one_sided",
        "(has_w AND NOT has_p AND wk = 'rollback') OR (has_p AND NOT has_w AND pk = 'rollback')",
        currency="coalesce(wc, pc)",
        amount_at_risk_minor="coalesce(wa, pa)",
        details="CASE WHEN has_w THEN 'the wallet rolled back ' || w_money || ' in round ' || "
        "round_id || '; the provider''s report has no such rollback' ELSE 'the provider "
        "rolled back ' || p_money || ' in round ' || round_id || ' (' || src || '); the "
        "wallet has no such rollback' END",
    ),
)

# Rounds still open in the wallet whose first bet (in the day) is older than the window.
OPEN_ROUNDS = """
    SELECT provider, round_id, min(created_at) AS first_at,
           sum(CASE kind WHEN 'bet' THEN amount_minor WHEN 'rollback' THEN -amount_minor
                    ELSE 0 END) AS stake,
           min(currency) AS currency, min(game_id) AS game_id
    FROM gw WHERE round_status = 'open' GROUP BY provider, round_id
    HAVING min(created_at) >= $d0 AND min(created_at) < $d1 AND min(created_at) < $open_before"""
ROUND_BREAKS = break_select(
    PAIR,
    "round_open_past_window",
    "open_rounds",
    "true",
    ("provider", "round_id"),
    psp="provider",
    reference="round_id",
    psp_reference="game_id",
    currency="currency",
    wallet_amount_minor="stake",
    wallet_value="'open'",
    amount_at_risk_minor="abs(stake)",
    occurred_at="first_at",
    details="'round of ' || coalesce(game_id, '?') || ' open since ' || "
    "strftime(first_at, '%Y-%m-%dT%H:%M:%SZ') || ' with ' || pw_major(stake, currency) || "
    "' staked; past the provider''s window of ' || $window_hours || ' h'",
)

# The day's report summed per game (what the statement must say) beside the wallet's sums.
SUMS = """
    SELECT provider, game_id, currency,
           sum(CASE kind WHEN 'bet' THEN amount_minor WHEN 'rollback' THEN -amount_minor
                    ELSE 0 END) AS bets,
           sum(CASE WHEN kind = 'win' THEN amount_minor ELSE 0 END) AS wins
    FROM {table} WHERE {in_day} GROUP BY ALL"""
GGR = """
    SELECT coalesce(s.provider, r.provider) AS provider,
           coalesce(s.game_id, r.game_id) AS game_id,
           coalesce(s.currency, r.currency) AS currency,
           coalesce(s.bets_minor, 0) AS s_bets, coalesce(s.wins_minor, 0) AS s_wins,
           coalesce(s.ggr_minor, 0) AS s_ggr,
           coalesce(r.bets, 0) AS r_bets, coalesce(r.wins, 0) AS r_wins,
           coalesce(w.bets, 0) - coalesce(w.wins, 0) AS w_ggr,
           CAST(s.source_file AS VARCHAR) || ':' || CAST(s.source_line AS VARCHAR) AS src
    FROM gs AS s
    FULL OUTER JOIN report_once AS r
      ON r.provider = s.provider AND r.game_id = s.game_id AND r.currency = s.currency
    LEFT JOIN wallet_sums AS w
      ON w.provider = coalesce(s.provider, r.provider)
     AND w.game_id = coalesce(s.game_id, r.game_id)
     AND w.currency = coalesce(s.currency, r.currency)
    WHERE coalesce(s.provider, r.provider) IN (SELECT provider FROM providers)"""
GGR_BREAKS = break_select(
    PAIR,
    "ggr_difference",
    "ggr",
    "s_bets <> r_bets OR s_wins <> r_wins OR s_ggr <> r_bets - r_wins",
    ("provider", "game_id", "currency", "$day"),
    psp="provider",
    reference="game_id",
    psp_reference="$day",
    currency="currency",
    wallet_amount_minor="w_ggr",
    other_amount_minor="s_ggr",
    amount_at_risk_minor="abs(s_ggr - (r_bets - r_wins))",
    occurred_at="$d0",
    details="'GGR statement ' || pw_major(s_ggr, currency) || ' (bets ' || "
    "pw_major(s_bets, currency) || ', wins ' || pw_major(s_wins, currency) || ', ' || "
    "coalesce(src, 'no line') || '); the provider''s transactions of the day add up to ' || "
    "pw_major(r_bets - r_wins, currency) || ' (bets ' || pw_major(r_bets, currency) || "
    "', wins ' || pw_major(r_wins, currency) || '); the wallet''s GGR ' || "
    "pw_major(w_ggr, currency)",
)


# A transaction id the provider reported more than once (the wallet's are unique: the view
# lists the first answer of each id): every row of it is paired with the wallet's one.
# First the ids (a count over every row), then the few rows of those ids: the details'
# aggregates over every row cost more than the rest of the pair (10 s of 14 at 10M rows).
DUPLICATES = f"""
    WITH twice AS (
        SELECT provider, provider_transaction_id FROM gp
        GROUP BY provider, provider_transaction_id HAVING count(*) > 1)
    SELECT provider, provider_transaction_id AS tx, count(*) AS n, min(round_id) AS round_id,
           min(kind) AS kind, sum(amount_minor) AS total, max(amount_minor) AS amount,
           min(currency) AS currency, min(created_at) AS first_at, min(game_id) AS game_id,
           string_agg(CAST(source_file AS VARCHAR) || ':' || CAST(source_line AS VARCHAR),
                      ', ' ORDER BY source_file, source_line) AS wheres
    FROM gp SEMI JOIN twice USING (provider, provider_transaction_id)
    GROUP BY provider, provider_transaction_id
    HAVING bool_or({_in_day("created_at")})"""
DUPLICATE_BREAKS = break_select(
    PAIR,
    "duplicate_at_provider",
    "dups",
    "true",
    ("provider", "tx"),
    psp="provider",
    reference="tx",
    psp_reference="round_id",
    currency="currency",
    other_amount_minor="total",
    other_value="n",
    amount_at_risk_minor="total - amount",
    occurred_at="first_at",
    details="'the provider reported ' || kind || ' ' || tx || ' ' || n || ' times (' || "
    "coalesce(wheres, '?') || ')'",
)


# The day's report sums counting a duplicated transaction once (its break is the
# duplicate's, not a GGR difference as well).
REPORT_ONCE = """
    WITH surplus AS (
        SELECT provider, game_id, currency,
               sum(CASE kind WHEN 'bet' THEN total - amount
                             WHEN 'rollback' THEN amount - total ELSE 0 END) AS bets,
               sum(CASE WHEN kind = 'win' THEN total - amount ELSE 0 END) AS wins
        FROM dups GROUP BY ALL)
    SELECT r.provider, r.game_id, r.currency,
           r.bets - coalesce(d.bets, 0) AS bets, r.wins - coalesce(d.wins, 0) AS wins
    FROM report_sums AS r LEFT JOIN surplus AS d
      ON d.provider = r.provider AND d.game_id = r.game_id AND d.currency = r.currency"""


def find_breaks(
    con: duckdb.DuckDBPyConnection,
    *,
    day: date,
    now: datetime,
    round_window: timedelta,
    providers: list[str],
) -> MatchResult:
    """The breaks of ``day`` from the relations ``gw`` (GAME_WALLET, the day and its
    neighbours), ``gp`` (GAME_ROWS) and ``gs`` (GGR_ROWS) on ``con``, a connection with
    the ``pw_`` macros (engine.install_macros). A round open in the wallet is a break once
    its first bet is ``round_window`` old at ``now``."""
    params = day_bounds(day)
    residue = con.sql(RESIDUE, params=params).to_arrow_table()
    con.register("r", residue)
    con.register("providers", pd.DataFrame({"provider": pd.Series(providers, dtype="string")}))
    clean = residue.filter(residue["k"].to_numpy(zero_copy_only=False) == False)  # noqa: E712
    matched = int(clean["n"].to_pylist()[0]) if clean.num_rows else 0
    in_day = _in_day("created_at")
    breaks, _ = fetch_breaks(
        con,
        [
            ("c", CLASSIFIED),
            ("open_rounds", OPEN_ROUNDS),
            ("report_sums", SUMS.format(table="gp", in_day=in_day)),
            ("wallet_sums", SUMS.format(table="gw", in_day=in_day)),
            ("dups", DUPLICATES),
            ("report_once", REPORT_ONCE),
            ("ggr", GGR),
        ],
        [*TRANSACTION_BREAKS, ROUND_BREAKS, GGR_BREAKS, DUPLICATE_BREAKS],
        params
        | {
            "open_before": now - round_window,
            "window_hours": f"{round_window.total_seconds() / 3600:g}",
            "day": day.isoformat(),
        },
    )
    con.unregister("r")
    con.unregister("providers")
    # matched: the clean pairs of the day (a duplicated id's clean rows each count)
    return MatchResult(breaks, {"matched": matched})
