"""Rows a source could not parse, as invalid_record breaks: quarantined, never dropped.

The break's pair is its source's (psp_report → wallet_psp, affiliate_export →
wallet_affiliate, game_report and ggr_statement → wallet_game_provider, wallet →
wallet_internal); its reference is ``file:line`` with the file's base name, so that
re-reading the same file from another folder finds the same break; the PSP is read from a
settlement report's name (``{psp}-settlement-{date}.csv``), the game provider from its
files' (``{provider}-transactions-{date}.csv``, ``{provider}-ggr-{date}.csv``), else
"none". The reason is the details, the raw line the other side's value. There is no
amount: a row that could not be read has none that can be trusted.
"""

from __future__ import annotations

import pandas as pd

from reconcilers.frames import REJECTS
from reconcilers.match.engine import break_select, connect, fetch_breaks, require

PAIR_OF_SOURCE = {
    "psp_report": "wallet_psp",
    "affiliate_export": "wallet_affiliate",
    "game_report": "wallet_game_provider",
    "ggr_statement": "wallet_game_provider",
    "wallet": "wallet_internal",
}
_FILE = r"regexp_extract(coalesce(source_file, ''), '[^/\\]*$')"
_PSP = rf"nullif(regexp_extract({_FILE}, '^(.+)-settlement-\d{{4}}-\d{{2}}-\d{{2}}\.csv$', 1), '')"
_REFERENCE = f"{_FILE} || ':' || coalesce(source_line::VARCHAR, '?')"
# A game provider's files: {provider}-transactions-{date}.csv, {provider}-ggr-{date}.csv.
_GAME_FILE = r"'^(.+)-(transactions|ggr)-\d{4}-\d{2}-\d{2}\.csv$'"
_PROVIDER = f"nullif(regexp_extract({_FILE}, {_GAME_FILE}, 1), '')"
_COUNTERPARTY = {"psp_report": _PSP, "game_report": _PROVIDER, "ggr_statement": _PROVIDER}


def rejects_to_breaks(rejects: pd.DataFrame) -> pd.DataFrame:
    """One invalid_record break (BREAKS) per rejected row."""
    frame = require(rejects, REJECTS, "rejects")
    unknown = sorted(set(frame["source"].dropna()) - set(PAIR_OF_SOURCE))
    if unknown or frame["source"].isna().any():
        raise ValueError(
            f"rejects: unknown source {unknown or [None]}; expected one of {sorted(PAIR_OF_SOURCE)}"
        )
    selects = [
        break_select(
            pair,
            "invalid_record",
            "rj",
            f"source = '{source}'",
            (f"coalesce({_COUNTERPARTY.get(source, 'NULL')}, 'none')", _REFERENCE),
            psp=_COUNTERPARTY.get(source, "NULL"),
            reference=_REFERENCE,
            other_value="left(raw, 1000)",
            details="coalesce(reason, 'unreadable row')",
        )
        for source, pair in PAIR_OF_SOURCE.items()
    ]
    with connect() as con:
        con.register("rj", frame)
        breaks, _ = fetch_breaks(con, [], selects, {})
    return breaks
