"""The affiliate network's export in its own format (Affise's conversion fields), read
through a mapping into today's AFFILIATE_ROWS and REJECTS."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from reconcilers.errors import SourceError
from reconcilers.frames import AFFILIATE_ROWS
from reconcilers.sources.affiliate_export import read_affiliate_export

GOLDEN = Path(__file__).parent / "golden" / "affiliate" / "affise_conversions_2026-11-02.csv"


def test_affise_export_reads_into_affiliate_rows() -> None:
    rows, rejects = read_affiliate_export(GOLDEN, "affise")
    assert list(rows.columns) == list(AFFILIATE_ROWS)
    got = [
        (r.affiliate, r.campaign, r.player_ref, r.event, r.conversion_id, r.amount_minor,
         r.currency, r.status, r.occurred_at, r.commission_minor, r.commission_currency,
         r.source_line)
        for r in rows.itertuples()
    ]  # fmt: skip
    at = pd.Timestamp
    assert got == [
        ("aff17", "spring-de", "p-1001", "ftd", "5f1a2b3c4d5e6f7a8b9c0d1e", 2500, "EUR",
         "approved", at("2026-11-02T12:00:00Z"), 3000, "EUR", 2),
        ("aff17", "spring-de", "p-1002", "registration", "5f1a2b3c4d5e6f7a8b9c0d1f", 0, "EUR",
         "approved", at("2026-11-02T12:05:00Z"), 200, "EUR", 3),
        ("betpartners", "br-football", "p-1003", "ftd", "5f1a2b3c4d5e6f7a8b9c0d20", 10000,
         "BRL", "reversed", at("2026-11-02T13:00:00Z"), 4000, "BRL", 4),
    ]  # fmt: skip
    # pending (2) is not final: quarantined with its code; 3 decimals of EUR: rejected
    assert list(rejects["source_line"]) == [5, 6]
    assert list(rejects["reason"]) == [
        "status is '2' (not final: the format maps 1 to approved, 3 to reversed)",
        "sum '25.005' has 3 decimals (EUR has 2)",
    ]
    assert (rejects["source"] == "affiliate_export").all()


def test_an_affise_export_without_action_id_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(GOLDEN.read_text().replace("action_id,", "id,", 1))
    with pytest.raises(SourceError, match=r"has no column 'action_id' / 'Action ID'"):
        read_affiliate_export(path, "affise")
    with pytest.raises(SourceError, match=r"format adyen is not an affiliate format"):
        read_affiliate_export(path, "adyen")
