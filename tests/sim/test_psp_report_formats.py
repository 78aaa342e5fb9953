"""The PSP simulator writes a settlement report in a PSP's own format through the format's
mapping; the reconcilers read it back into the rows of pitwatch's own format."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from ground.file_formats import get_format
from igaming.sim.psp.formats import file_name, render_mapped
from igaming.sim.psp.reports import SettlementRow, render_csv, report_filename
from reconcilers.sources.psp_reports import read_psp_reports

DAY = date(2026, 11, 2)
EOD = datetime(2026, 11, 2, 23, 59, 59, tzinfo=UTC)


def _row(ref: str, merchant: str, kind: str, gross: int, net: int, fee: int, **kw) -> SettlementRow:
    values = {
        "psp": "nordpay",
        "psp_reference": ref,
        "merchant_reference": merchant,
        "type": kind,
        "created_at": datetime(2026, 11, 2, 12, 30, 1, tzinfo=UTC),
        "settled_at": EOD,
        "gross_currency": "EUR",
        "gross_minor": gross,
        "net_currency": "EUR",
        "net_minor": net,
        "fee_minor": fee,
        "exchange_rate": "1",
        "batch_number": 1037,
    }
    return SettlementRow(**{**values, **kw})


ROWS = [
    _row("n_pay_1", "dep-1", "Settled", 2500, 2445, -55),
    _row("n_pay_2", "dep-2", "Settled", 3000, 2950, -50, gross_currency="JPY",
         net_currency="JPY", created_at=datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
    _row("n_pay_3", "dep-3", "Refunded", -1000, -1000, 0),
    _row("n_pay_4", "dep-4", "Chargeback", -4000, -5500, -1500),
    _row("n_pay_5", "dep-5", "ChargebackReversed", 4000, 4000, 0),
    _row("n_po_6", "wd-6", "Payout", -10000, -10025, -25),
    _row("nordpay_batch_1037", "", "Fee", 0, -500, -500, created_at=EOD),
]  # fmt: skip
FX = _row("n_pay_7", "dep-7", "Settled", 50000, 4262, -88, gross_currency="SEK",
          exchange_rate="0.0870")  # fmt: skip


def _read(folder: Path, formats: dict[str, str]) -> pd.DataFrame:
    rows, rejects, _ = read_psp_reports(folder, DAY, ["nordpay"], formats=formats)
    assert rejects.empty, rejects.to_dict("records")
    return rows.drop(columns=["source_file", "source_line"])


@pytest.mark.parametrize("name", ["adyen", "paypal_stl", "trustly"])
def test_written_in_a_format_reads_back_as_ours(tmp_path: Path, name: str) -> None:
    rows = [*ROWS, FX] if name == "adyen" else ROWS  # the others carry no exchange rate
    if name == "trustly":  # bank transfers have no chargebacks
        rows = [r for r in rows if not r.type.startswith("Chargeback")]
    (tmp_path / "ours").mkdir()
    (tmp_path / "ours" / report_filename("nordpay", DAY)).write_text(render_csv(rows))
    fmt = get_format(name)
    path = tmp_path / "theirs" / "nordpay" / file_name(fmt, DAY, 1037)
    path.parent.mkdir(parents=True)
    path.write_bytes(render_mapped(rows, fmt))
    expected = _read(tmp_path / "ours", {})
    got = _read(tmp_path / "theirs", {"nordpay": name})
    if name != "adyen":
        batch = got["batch_number"].iloc[0]
        assert batch == (20261102 if name == "paypal_stl" else 1037)
        got["batch_number"] = pd.array([1037] * len(got), dtype="Int64")
    if name == "trustly":  # a fee is a row of its own there: the transactions lose it ...
        fees = got[got["type"] == "Fee"]
        got = got[got["type"] != "Fee"].reset_index(drop=True)
        exp = expected[expected["type"] != "Fee"].reset_index(drop=True)
        # ... and its Fee rows add up to the same money
        assert fees["net_minor"].sum() == expected["fee_minor"].sum()
        assert (got["fee_minor"] == 0).all()
        assert list(got["gross_minor"]) == list(exp["gross_minor"])
        got = got.drop(columns=["net_minor", "fee_minor"])
        expected = exp.drop(columns=["net_minor", "fee_minor"])
    if name != "adyen":  # the Fee row's reference is made up from the batch on reading
        got["psp_reference"] = got["psp_reference"].str.replace("_20261102", "_1037")
    pd.testing.assert_frame_equal(got, expected, check_categorical=False)


def test_adyen_writes_local_time_with_its_abbreviation(tmp_path: Path) -> None:
    text = render_mapped(ROWS[:2], get_format("adyen")).decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].startswith("Company Account,Merchant Account,Psp Reference,")
    assert ",2026-11-02 13:30:01,CET,Settled," in lines[1]
    assert ",2026-03-29 03:30:00,CEST,Settled," in lines[2]  # the day DST began
    paypal = render_mapped(ROWS[:1], get_format("paypal_stl")).decode("utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in paypal] == [
        "RH", "FH", "SH", "CH", "SB", "SF", "SC", "RF", "RC", "FF",
    ]  # fmt: skip
    assert ",T0006,2026/11/02 12:30:01 +0000,," in paypal[4]
    assert ",CR,2500,EUR,DR,55,," in paypal[4]
    with pytest.raises(ValueError, match="format trustly has no record type for Chargeback"):
        render_mapped(ROWS[3:4], get_format("trustly"))


def test_the_simulator_config_names_a_psps_report_format() -> None:
    from pydantic import ValidationError

    from igaming.sim.psp.config import PspSettings

    assert PspSettings(report_format="paypal_stl").report_format == "paypal_stl"
    with pytest.raises(ValidationError, match="unknown file format 'stripe'"):
        PspSettings(report_format="stripe")
    with pytest.raises(ValidationError, match="'affise' is not a PSP settlement format"):
        PspSettings(report_format="affise")
