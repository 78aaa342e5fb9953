"""The DataFrames that pass between sources, matching and reports: their columns and
types, in one place. Sources produce them, the matching engine consumes them, and
``conform`` checks a frame against its schema at every hand-over.

Amounts are integers in minor units (pandas ``Int64``) with the currency beside them;
timestamps are timezone-aware UTC (``datetime64[ns, UTC]``). No floats near money.

Strings are Arrow-backed (``string[pyarrow]``): a value costs its bytes and an offset, not a
Python object (~60 bytes more each; at 10M rows of five references, gigabytes), and DuckDB
hands query results over as Arrow (``from_arrow``) without a Python object per value.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

UTC_TS = "datetime64[ns, UTC]"
STRING = pd.StringDtype("pyarrow")  # what a schema's "string" means
# The DuckDB type of each schema type (a category is read and written as text).
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "category": "VARCHAR",
    "Int64": "BIGINT",
    UTC_TS: "TIMESTAMPTZ",
}

# -- sources ---------------------------------------------------------------------------------

# A wallet money movement the PSP should report: one row per deposit event or payout.
# kind: settled (approved deposit), refunded, chargeback, chargeback_reversed, payout.
# Columns of a few values for millions of rows are categories (one small code a row).
WALLET_MOVEMENTS: Mapping[str, str] = {
    "psp": "category",
    "kind": "category",
    "merchant_reference": "string",  # deposit_id / withdrawal_id
    "psp_reference": "string",  # may be <NA>
    "currency": "category",
    "amount_minor": "Int64",  # unsigned amount of the movement
    "status": "category",  # the deposit's / withdrawal's current status
    "occurred_at": UTC_TS,  # when the movement happened in the wallet
}

# A PSP settlement report row (docs/psp-settlement-report.md), amounts parsed to minor units.
# Columns of a few values for millions of rows are categories (one small code a row).
PSP_ROWS: Mapping[str, str] = {
    "psp": "category",
    "psp_reference": "string",
    "merchant_reference": "string",  # <NA> for Fee rows
    "type": "category",  # Settled, Refunded, Chargeback, ChargebackReversed, Payout, Fee
    "created_at": UTC_TS,
    "settled_at": UTC_TS,
    "gross_currency": "category",
    "gross_minor": "Int64",  # signed, merchant's point of view
    "net_currency": "category",
    "net_minor": "Int64",
    "fee_minor": "Int64",
    "batch_number": "Int64",
    "source_file": "category",
    "source_line": "Int64",
}

# An affiliate network export row (docs/affiliate-conversions-export.md).
AFFILIATE_ROWS: Mapping[str, str] = {
    "affiliate": "category",
    "campaign": "string",
    "player_ref": "string",
    "event": "category",
    "conversion_id": "string",
    "amount_minor": "Int64",
    "currency": "category",
    "status": "category",  # approved, reversed
    "occurred_at": UTC_TS,
    "commission_minor": "Int64",
    "commission_currency": "category",
    "source_file": "category",
    "source_line": "Int64",
}

# A platform conversion the network should have booked (pw_conversions ⟕ pw_postbacks).
PLATFORM_CONVERSIONS: Mapping[str, str] = {
    "affiliate": "category",
    "campaign": "string",
    "player_ref": "string",
    "event": "category",  # conversion_type: ftd (also registration, deposit, revenue)
    "conversion_id": "string",
    "amount_minor": "Int64",
    "currency": "category",
    "state": "category",  # pending, approved, rejected, reversed
    "postback_status": "category",  # pending, delivered, dead_letter, <NA> (no job)
    "occurred_at": UTC_TS,
}

# A provider transaction the seamless wallet booked (pw_casino_wallet_transactions).
GAME_WALLET: Mapping[str, str] = {
    "provider": "category",
    "provider_transaction_id": "string",
    "round_id": "string",
    "player_ref": "string",  # the provider's pseudonymous reference; never a metric label
    "kind": "category",  # bet, win, rollback
    "amount_minor": "Int64",  # unsigned; a rollback: the stake given back
    "currency": "category",
    "created_at": UTC_TS,
    "game_id": "category",
    "round_status": "category",  # open, completed, cancelled (<NA>: no round)
}

# A row of a game provider's daily transaction report (docs/game-provider-reports.md).
GAME_ROWS: Mapping[str, str] = {
    "provider": "category",
    "provider_transaction_id": "string",
    "round_id": "string",
    "player_ref": "string",
    "kind": "category",
    "amount_minor": "Int64",
    "currency": "category",
    "created_at": UTC_TS,
    "game_id": "category",
    "source_file": "category",
    "source_line": "Int64",
}

# A line of a game provider's daily GGR statement: one per game, day and currency.
GGR_ROWS: Mapping[str, str] = {
    "provider": "category",
    "day": "string",  # YYYY-MM-DD
    "game_id": "category",
    "currency": "category",
    "bets_minor": "Int64",
    "wins_minor": "Int64",
    "ggr_minor": "Int64",
    "source_file": "category",
    "source_line": "Int64",
}

# Callbacks the platform recorded as orphans (pw_callbacks, outcome orphan): a PSP told us
# about money for a reference the wallet does not know.
ORPHAN_CALLBACKS: Mapping[str, str] = {
    "psp": "string",
    "merchant_reference": "string",
    "psp_reference": "string",
    "status": "string",  # as sent by the PSP
    "currency": "string",
    "amount_minor": "Int64",
    "occurred_at": UTC_TS,  # the PSP's event time (received time when it sent none)
}

# Every account's stored balance beside the sum of its ledger entries (pw_balances,
# pw_ledger_entries); house accounts' stored balance is their sum by definition.
BALANCES: Mapping[str, str] = {
    "account_id": "Int64",
    "account_owner": "string",
    "account_kind": "string",
    "psp": "string",  # <NA> unless psp_clearing
    "currency": "string",
    "stored_minor": "Int64",
    "entries_minor": "Int64",
}

# Movements on each PSP clearing account in the reconciled period, per PSP and currency.
CLEARING: Mapping[str, str] = {
    "psp": "string",
    "currency": "string",
    "movement_minor": "Int64",  # sum of the clearing account's entries in the period
}

# A row a source could not parse: kept, and reported as an invalid_record break.
REJECTS: Mapping[str, str] = {
    "source": "string",  # psp_report, affiliate_export, game_report, ggr_statement
    "source_file": "string",
    "source_line": "Int64",
    "reason": "string",  # what is wrong, naming the column
    "raw": "string",  # the line as read
}

# -- matching output --------------------------------------------------------------------------

PAIRS = ("wallet_psp", "wallet_affiliate", "wallet_game_provider", "wallet_internal", "ledger")
BREAK_TYPES = (
    # wallet ⟷ PSP
    "missing_at_psp",
    "missing_in_wallet",
    "amount_mismatch",
    "currency_mismatch",
    "status_mismatch",
    "duplicate_at_psp",
    "duplicate_in_wallet",
    "orphan_callback",
    # wallet ⟷ affiliate network
    "missing_postback",
    "phantom_conversion",
    "duplicate_conversion",
    # wallet ⟷ game provider (and missing_in_wallet, amount_mismatch, currency_mismatch)
    "missing_at_provider",
    "rollback_one_sided",
    "round_open_past_window",
    "ggr_difference",
    "duplicate_at_provider",
    # wallet internal
    "balance_mismatch",
    "clearing_residue",
    # the full ledger check (reconcilers.ledger_job; balance_mismatch too)
    "unbalanced_transaction",
    # any source
    "invalid_record",
)

# One break. ``break_key`` is deterministic (pair, type and the business keys), so that
# re-running a day finds the same break instead of a new one.
BREAKS: Mapping[str, str] = {
    "break_key": "string",
    "pair": "string",
    "type": "string",
    "psp": "string",  # the PSP (the game provider for wallet_game_provider), or "none"
    "affiliate": "string",  # or <NA>
    "reference": "string",  # merchant reference, conversion id, account id, file:line
    "psp_reference": "string",
    "currency": "string",
    "wallet_amount_minor": "Int64",  # the wallet's side (<NA> when it has none)
    "other_amount_minor": "Int64",  # the PSP's / network's side
    "wallet_value": "string",  # e.g. the wallet's status or currency
    "other_value": "string",
    "amount_at_risk_minor": "Int64",  # unsigned, in ``currency``
    "occurred_at": UTC_TS,  # when the movement happened (ages count from first_seen)
    "details": "string",
}

# A break as the ledger keeps it: the break plus its life.
LEDGER_BREAKS: Mapping[str, str] = {
    **BREAKS,
    "status": "string",  # open, resolved
    "first_seen_at": UTC_TS,
    "last_seen_at": UTC_TS,
    "resolved_at": UTC_TS,
    "age_seconds": "Int64",  # now (or resolved_at) - first_seen_at
}

# What a matcher also reports, per pair: rows read and matched, and in-flight movements.
STATS_KEYS = ("rows_wallet", "rows_other", "matched", "in_flight")


def pandas_dtype(dtype: str) -> str | pd.StringDtype:
    """A schema's type name as pandas takes it ("string" is Arrow-backed)."""
    return STRING if dtype == "string" else dtype


def empty(schema: Mapping[str, str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=pandas_dtype(t)) for c, t in schema.items()})


def conform(frame: pd.DataFrame, schema: Mapping[str, str], name: str) -> pd.DataFrame:
    """The frame with exactly the schema's columns, in order, cast to its types; a missing
    column is a programming error and raises. A column already of its type is not copied
    (copy-on-write: the result never writes into ``frame``)."""
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing columns {missing}")
    out = frame.loc[:, list(schema)]
    for column, dtype in schema.items():
        try:
            if dtype == UTC_TS:
                out[column] = pd.to_datetime(out[column], utc=True)
            elif dtype == "category":
                out[column] = _sorted_categories(out[column].astype("category"))
            else:
                out[column] = out[column].astype(pandas_dtype(dtype))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name}: column {column} is not {dtype}: {exc}") from exc
    return out.reset_index(drop=True)


def _sorted_categories(column: pd.Series) -> pd.Series:
    # Sorted, so that ordering by a category (DuckDB reads it as an ENUM, ordered by its
    # values' positions) is ordering by its text.
    categories = list(column.cat.categories)
    if categories == sorted(categories):
        return column
    return column.cat.reorder_categories(sorted(categories))


def from_arrow(table: pa.Table, schema: Mapping[str, str], name: str) -> pd.DataFrame:
    """``conform`` of an Arrow table (a DuckDB result): strings stay in their Arrow
    buffers, integers become nullable ``Int64``, timestamps aware UTC, and the schema's
    categories are dictionary-encoded by Arrow (pandas would first make a Python string of
    every value)."""
    encode = [
        at
        for at, field in enumerate(table.schema)
        if schema.get(field.name) == "category" and not pa.types.is_dictionary(field.type)
    ]
    table = _map_columns(table, encode, pc.dictionary_encode)
    return conform(arrow_to_pandas(table), schema, name)


def arrow_to_pandas(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as a frame of this module's types: strings zero-copy when they are
    ``large_string`` (what ``STRING`` holds; see ``ARROW_OUTPUT``), any other string type is
    cast.

    A string column of several chunks is first copied into one buffer of its own: a chunk
    DuckDB exported keeps its whole record batch alive, every column of it, so a frame
    that kept the chunks would hold a second copy of every column pandas converted (at
    10M PSP rows, 2 GiB beside a 1.4 GiB frame)."""
    strings = [
        at
        for at, field in enumerate(table.schema)
        if _pandas_type_of(field.type) is STRING and table.column(at).num_chunks > 1
    ]
    table = _map_columns(table, strings, lambda column: column.combine_chunks())
    return table.to_pandas(types_mapper=_pandas_type_of)


def _map_columns(
    table: pa.Table, columns: list[int], change: Callable[[pa.ChunkedArray], pa.Array]
) -> pa.Table:
    """The table with ``change`` applied to the columns at ``columns``, a column a thread
    (Arrow's kernels release the GIL: at 10M rows each takes a second or more)."""
    if not columns:
        return table
    with ThreadPoolExecutor(max_workers=min(len(columns), os.cpu_count() or 1)) as pool:
        changed = list(pool.map(lambda at: change(table.column(at)), columns))
    for at, column in zip(columns, changed, strict=True):
        table = table.set_column(at, table.field(at).name, column)
    return table


def release_memory() -> None:
    """Give freed memory back to the system: Arrow's pool, and the C heap (glibc keeps
    what a large conversion freed, so the process's RSS would stay at its peak). For a
    source to call once its read is over and what it read from is gone: called while the
    Arrow result is still referenced, it frees nothing."""
    pa.default_memory_pool().release_unused()
    if _malloc_trim is not None:
        _malloc_trim(0)


def _find_malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim  # glibc only
    except (OSError, AttributeError):
        return None


_malloc_trim = _find_malloc_trim()


# DuckDB settings for results that become frames: VARCHAR as Arrow large_string, which is
# what pandas' Arrow-backed strings hold, so that no column is copied to change its type.
ARROW_OUTPUT = ("SET arrow_large_buffer_size = true",)


def _pandas_type_of(arrow_type: pa.DataType) -> pd.api.extensions.ExtensionDtype | None:
    if (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_string_view(arrow_type)
    ):
        return STRING
    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype()
    return None  # timestamps, booleans, floats: pandas' own
