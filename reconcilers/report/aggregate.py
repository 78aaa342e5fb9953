"""The open breaks as the reports count them: ages, sums per currency, the ones to chase."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from reconcilers.frames import LEDGER_BREAKS, conform
from reconcilers.report.formatting import DAY, is_missing

TOP_BREAKS = 200

AGE_BUCKETS: tuple[str, ...] = ("<1 day", "1–3 days", "3–7 days", ">7 days")
_AGE_LIMITS = (DAY, 3 * DAY, 7 * DAY)


def age_bucket(age_seconds: object) -> str:
    if is_missing(age_seconds):
        return ""
    for label, limit in zip(AGE_BUCKETS, _AGE_LIMITS, strict=False):
        if int(age_seconds) < limit:  # type: ignore[call-overload]
            return label
    return AGE_BUCKETS[-1]


def open_breaks(breaks: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """The open breaks, conformed, with ages filled in (from ``now`` where the ledger gave none)
    and an ``age_bucket`` column."""
    frame = conform(breaks, LEDGER_BREAKS, "breaks")
    frame = frame[frame["status"] == "open"].copy()
    elapsed = (pd.Timestamp(now) - frame["first_seen_at"]).dt.total_seconds()
    computed = elapsed.floordiv(1).astype("Int64")  # whole seconds; fractions would not cast
    frame["age_seconds"] = frame["age_seconds"].fillna(computed).fillna(0).clip(lower=0)
    frame["age_bucket"] = [age_bucket(a) for a in frame["age_seconds"]]
    return frame.reset_index(drop=True)


def risk_by_currency(frame: pd.DataFrame) -> dict[str, int]:
    known = frame.dropna(subset=["amount_at_risk_minor", "currency"])
    sums = known.groupby("currency")["amount_at_risk_minor"].sum()
    return {str(k): int(v) for k, v in sorted(sums.items())}


def count_by(frame: pd.DataFrame, column: str) -> list[tuple[str, int]]:
    """Counts per value, largest first (ties by name)."""
    counts = frame[column].fillna("none").value_counts()
    return sorted(((str(k), int(v)) for k, v in counts.items()), key=lambda kv: (-kv[1], kv[0]))


def top_breaks(frame: pd.DataFrame, limit: int = TOP_BREAKS) -> pd.DataFrame:
    """The open breaks to chase first: oldest age bucket first, then the largest per currency."""
    # Amounts in different currencies are not comparable without FX rates, so within a bucket
    # the breaks are grouped by currency, largest first.
    ranked = frame.assign(
        _bucket=frame["age_bucket"].map(AGE_BUCKETS.index),
        _risk=frame["amount_at_risk_minor"].fillna(0),
    )
    ranked = ranked.sort_values(
        ["_bucket", "currency", "_risk", "age_seconds", "break_key"],
        ascending=[False, True, False, False, True],
        kind="mergesort",
        na_position="last",
    )
    return ranked.drop(columns=["_bucket", "_risk"]).head(limit).reset_index(drop=True)
