"""PSP settlement files in the PSPs' own formats, read through their mappings
(ground.file_formats, reconcilers.sources.mapped) into today's PSP_ROWS and REJECTS."""

from __future__ import annotations

import logging
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from ground.file_formats import FormatError, builtin_formats, load_format, parse_amount
from reconcilers.errors import SourceError
from reconcilers.frames import PSP_ROWS, REJECTS
from reconcilers.sources.psp_reports import read_psp_reports

GOLDEN = Path(__file__).parent / "golden" / "psp"
DAY = date(2026, 11, 2)
FORMATS = {"nordpay": "adyen", "paybridge": "paypal_stl", "pixgate": "trustly"}
SHOWN = [
    "psp_reference",
    "merchant_reference",
    "type",
    "created_at",
    "gross_currency",
    "gross_minor",
    "net_currency",
    "net_minor",
    "fee_minor",
    "batch_number",
    "source_line",
]


def _rows(frame: pd.DataFrame, psp: str) -> list[tuple]:
    part = frame[frame["psp"] == psp]
    out = []
    for row in part[SHOWN].itertuples(index=False):
        values = [None if pd.isna(v) else v for v in row]
        values[3] = pd.Timestamp(values[3]).strftime("%Y-%m-%dT%H:%M:%S.%f")
        out.append(tuple(values))
    return out


@pytest.fixture(scope="module")
def golden() -> tuple[pd.DataFrame, pd.DataFrame, list[Path]]:
    return read_psp_reports(GOLDEN, DAY, list(FORMATS), formats=FORMATS)


def test_golden_files_read_into_psp_rows(golden) -> None:
    rows, rejects, files = golden
    assert list(rows.columns) == list(PSP_ROWS)
    assert list(rejects.columns) == list(REJECTS)
    assert rejects.empty
    assert [f.name for f in files] == [
        "settlement_detail_report_batch_1037.csv",
        "STL-20261102.01.009.CSV",
        "trustly_settlement_2026-11-02_EUR.csv",
    ]
    assert (rows["settled_at"] == pd.Timestamp("2026-11-02T23:59:59Z")).all()


def test_adyen_golden(golden) -> None:
    # Creation Date is CET (UTC+1) on these days; fees are Commission + Markup + Scheme
    # Fees + Interchange; Fee and MerchantPayout are batch-level (money in net only).
    assert _rows(golden[0], "nordpay") == [
        ("8816178952380553", "dep-1001", "Settled", "2026-11-02T12:00:00.000000",
         "EUR", 2500, "EUR", 2445, -55, 1037, 2),
        ("8816178952380554", "dep-1002", "Settled", "2026-11-02T12:00:00.000000",
         "SEK", 50000, "EUR", 4262, -88, 1037, 3),
        ("8816178952380555", "dep-0990", "Refunded", "2026-11-02T09:15:30.000000",
         "EUR", -1000, "EUR", -1000, 0, 1037, 4),
        ("8816178952380556", "dep-0871", "Chargeback", "2026-10-30T09:14:02.000000",
         "EUR", -4000, "EUR", -5500, -1500, 1037, 5),
        ("8816178952380557", "dep-0872", "ChargebackReversed", "2026-10-29T08:00:00.000000",
         "EUR", 4000, "EUR", 4000, 0, 1037, 6),
        ("8816178952380558", "wd-2001", "Payout", "2026-11-02T12:00:00.000000",
         "EUR", -10000, "EUR", -10000, 0, 1037, 7),
        ("nordpay_batch_1037", None, "Fee", "2026-11-02T23:59:59.000000",
         "EUR", 0, "EUR", -500, -500, 1037, 8),
        ("nordpay_batch_1037", None, "Adjustment", "2026-11-02T23:59:59.000000",
         "EUR", 0, "EUR", -4707, 0, 1037, 9),
    ]  # fmt: skip


def test_paypal_stl_golden(golden) -> None:
    # Minor units with CR/DR columns; Invoice ID else Custom Field; sections skipped; the
    # header's double space ("Transaction  Debit or Credit") is an alias; the date is the batch.
    assert _rows(golden[0], "paybridge") == [
        ("5TY05013RG002845M", "dep-2001", "Settled", "2026-11-02T12:00:00.000000",
         "EUR", 2500, "EUR", 2445, -55, 20261102, 5),
        ("8AB12345CD678901E", "dep-2002", "Settled", "2026-11-02T12:30:00.000000",
         "JPY", 3000, "JPY", 2950, -50, 20261102, 6),
        ("1CD23456EF789012G", "dep-1990", "Refunded", "2026-11-02T14:00:00.000000",
         "EUR", -1000, "EUR", -1000, 0, 20261102, 7),
        ("2EF34567GH890123J", "dep-1871", "Chargeback", "2026-11-02T15:00:00.000000",
         "EUR", -4000, "EUR", -4000, 0, 20261102, 8),
        ("3GH45678JK901234L", None, "Fee", "2026-11-02T15:00:00.000000",
         "EUR", 0, "EUR", -1500, -1500, 20261102, 9),
        ("4JK56789LM012345N", "wd-2002", "Payout", "2026-11-02T16:00:00.000000",
         "EUR", -10000, "EUR", -10000, 0, 20261102, 10),
    ]  # fmt: skip


def test_trustly_golden(golden) -> None:
    # Signed major units, "+00" offsets, the deposit's fee as its own row.
    assert _rows(golden[0], "pixgate") == [
        ("1288208729", "dep-3001", "Settled", "2026-11-02T12:00:00.123456",
         "EUR", 10000, "EUR", 10000, 0, 1434179572, 2),
        ("1288208729", "dep-3001", "Fee", "2026-11-02T12:00:00.123456",
         "EUR", 0, "EUR", -100, -100, 1434179572, 3),
        ("1288208730", "dep-2990", "Refunded", "2026-11-02T14:30:00.000000",
         "EUR", -2000, "EUR", -2000, 0, 1434179572, 4),
        ("1288208731", "wd-3002", "Payout", "2026-11-02T15:00:00.000000",
         "EUR", -3500, "EUR", -3500, 0, 1434179572, 5),
    ]  # fmt: skip


ADYEN = GOLDEN / "nordpay" / "2026-11-02" / "settlement_detail_report_batch_1037.csv"


@pytest.mark.parametrize("psp", list(FORMATS))
def test_a_file_of_no_rows_reads_as_none(tmp_path: Path, psp: str) -> None:
    source = next((GOLDEN / psp).rglob("*.*"))
    target = tmp_path / source.relative_to(GOLDEN)
    target.parent.mkdir(parents=True)
    lines = source.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(('"SB"', "SB"))]
    target.write_text("".join(kept if psp == "paybridge" else lines[:1]), encoding="utf-8")
    rows, rejects, files = read_psp_reports(tmp_path, DAY, [psp], formats=FORMATS)
    assert rows.empty and rejects.empty and len(files) == 1
    assert list(rows.columns) == list(PSP_ROWS)


def _adyen_copy(tmp_path: Path, text: str, *, encoding: str = "utf-8") -> Path:
    folder = tmp_path / "nordpay" / "2026-11-02"
    folder.mkdir(parents=True)
    path = folder / "settlement_detail_report_batch_1037.csv"
    path.write_text(text, encoding=encoding)
    return path


def _read_adyen(tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame, list[Path]]:
    return read_psp_reports(tmp_path, DAY, ["nordpay"], formats={"nordpay": "adyen"})


def test_bad_rows_are_quarantined_with_the_providers_column(tmp_path: Path) -> None:
    lines = ADYEN.read_text().splitlines()
    good = lines[1]
    bad = [
        good.replace("25.00", "25.001"),  # more decimals than EUR has
        good.replace(",Settled,", ",Authorised,"),  # not a record type of the mapping
        good.replace(",CET,", ",PST,"),  # a zone the mapping does not know
        good.replace("2026-11-02 13:00:00,CET", "2026-03-29 02:30:00,CET"),  # skipped hour
        good.replace(",EUR,,25.00,", ",XXX,,25.00,"),
        good.replace(",dep-1001,", ",,"),  # no merchant reference on a transaction
        good + ",extra",
        "",
    ]
    _adyen_copy(tmp_path, "\n".join([lines[0], *bad, *lines[2:]]) + "\n")
    rows, rejects, _ = _read_adyen(tmp_path)
    assert len(rows) == len(lines) - 2  # every good row still read
    assert len(rows) + len(rejects) == len(lines) - 1 + len(bad) - 1
    reasons = list(rejects["reason"])
    assert reasons == [
        "Gross Credit (GC) '25.001' has 3 decimals (EUR has 2)",
        "Type is 'Authorised' (not a record type of format adyen: Settled, SettledBulk, "
        "Refunded, RefundedBulk, Chargeback, SecondChargeback, ChargebackReversed, "
        "RefundedReversed, ...)",
        "time zone 'PST' is not mapped (known: CET, CEST, UTC, GMT, BST)",
        "Creation Date '2026-03-29 02:30:00' is not a time CET has in Europe/Amsterdam",
        "Gross Currency is 'XXX' (not an ISO 4217 currency known here)",
        "Merchant Reference is empty (only fee and adjustment rows may have none)",
        "has 31 fields (expected 30)",
        "empty line",
    ]
    assert list(rejects["source_line"]) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert rejects["raw"].iloc[0] == bad[0]
    assert (rejects["source"] == "psp_report").all()


def test_checks_of_our_format_apply_to_mapped_rows(tmp_path: Path) -> None:
    lines = ADYEN.read_text().splitlines()
    _adyen_copy(tmp_path, "\n".join([lines[0], lines[1].replace(",1037,", ",10x7,")]) + "\n")
    rows, rejects, _ = _read_adyen(tmp_path)
    assert rows.empty
    assert list(rejects["reason"]) == ["batch_number is '10x7' (expected a whole number)"]


def test_utf16_with_bom_and_reordered_columns_read_the_same(tmp_path: Path) -> None:
    lines = [line.split(",") for line in ADYEN.read_text().splitlines()]
    order = list(reversed(range(len(lines[0]))))  # by header name, never by position
    text = "\r\n".join(",".join(line[i] for i in order) for line in lines) + "\r\n"
    _adyen_copy(tmp_path, "\ufeff" + text, encoding="utf-16")
    fmt = load_format(Path(__file__).parents[2] / "ground/file_formats/formats/adyen.toml")
    custom = tmp_path / "adyen16.toml"
    custom.write_text(
        (Path(__file__).parents[2] / "ground/file_formats/formats/adyen.toml")
        .read_text()
        .replace('encoding = "utf-8-sig"', 'encoding = "utf-16"')
    )
    assert fmt.dialect.encoding == "utf-8-sig"
    rows, rejects, _ = read_psp_reports(
        tmp_path, DAY, ["nordpay"], formats={"nordpay": str(custom)}
    )
    expected, _, _ = read_psp_reports(GOLDEN, DAY, ["nordpay"], formats={"nordpay": "adyen"})
    assert rejects.empty
    pd.testing.assert_frame_equal(
        rows.drop(columns=["source_file"]), expected.drop(columns=["source_file"])
    )


def test_file_level_problems_are_one_line_errors(tmp_path: Path, caplog) -> None:
    lines = ADYEN.read_text().splitlines()
    header = lines[0].replace("Merchant Reference,", "Shopper Reference,")
    _adyen_copy(tmp_path, "\n".join([header, *lines[1:]]) + "\n")
    with pytest.raises(SourceError, match=r"has no column 'Merchant Reference' \(format adyen\)"):
        _read_adyen(tmp_path)
    shutil.rmtree(tmp_path / "nordpay")
    with pytest.raises(SourceError, match=r"nordpay/2026-11-02/settlement_detail_report_batch_"):
        _read_adyen(tmp_path)
    _adyen_copy(tmp_path, lines[0] + ",Risk Score\n" + lines[1] + ",12\n")
    with caplog.at_level(logging.WARNING):
        rows, rejects, _ = _read_adyen(tmp_path)
    assert len(rows) == 1 and rejects.empty
    assert "columns not in format adyen, not read: Risk Score" in caplog.text
    (tmp_path / "nordpay/2026-11-02/settlement_detail_report_batch_1037.csv").write_bytes(
        lines[0].encode() + b"\n\xff\xfe,\n"
    )
    with pytest.raises(SourceError, match=r"not utf-8-sig \(byte 0xff at offset \d+\)"):
        _read_adyen(tmp_path)
    with pytest.raises(SourceError, match=r"unknown file format 'stripe'"):
        read_psp_reports(tmp_path, DAY, ["nordpay"], formats={"nordpay": "stripe"})


# A made-up PSP: semicolons, Latin-1, a preamble and a footer, signed minor units, local
# Stockholm time, its own record types. Adding it is this file and nothing else.
ACME = """\
name = "acme"
description = "ACME Pay daily statement (made up)"
kind = "psp"
optional = ["note"]

[file]
pattern = "acme_{yyyymmdd}.txt"
batch_from_name = 'acme_([0-9]+)\\.txt'

[dialect]
encoding = "latin-1"
delimiter = ";"
skip_rows = 2
skip_footer = 1

[columns]
id = ["Trans-ID", "Transaction"]
ref = "Händler-Referenz"
kind = "Art"
at = "Zeit"
currency = "Währung"
amount = "Betrag"
fee = "Gebühr"
note = "Notiz"

[psp]
[psp.references]
psp_reference = ["id"]
merchant_reference = ["ref"]

[psp.record_types]
column = "kind"
kinds = { ZAHLUNG = "settled", ERSTATTUNG = "refund", AUSZAHLUNG = "payout" }

[psp.amounts]
units = "minor"
gross = { currency = "currency", signed = "amount" }
fee = { currency = "currency", signed = "fee" }

[psp.datetimes]
created_at = "at"
formats = ["%d.%m.%Y %H:%M"]
zone = "Europe/Stockholm"
"""


def test_a_made_up_format_is_a_mapping_file_and_nothing_else(tmp_path: Path) -> None:
    mapping = tmp_path / "acme.toml"
    mapping.write_text(ACME, encoding="utf-8")
    folder = tmp_path / "reports" / "ewallo"
    folder.mkdir(parents=True)
    (folder / "acme_20261102.txt").write_bytes(
        "ACME Pay Tagesauszug\nKonto 4711\n"
        "Transaction;Händler-Referenz;Art;Zeit;Währung;Betrag;Gebühr;Notiz\n"
        "A-1;dep-9001;ZAHLUNG;02.11.2026 13:00;SEK;50000;-750;grüß\n"
        "A-2;dep-8001;ERSTATTUNG;02.11.2026 14:00;SEK;-12000;0;\n"
        "A-3;wd-9002;AUSZAHLUNG;02.11.2026 15:00;JPY;-1500;-10;\n"
        "Summe;;;;;;;\n".encode("latin-1")
    )
    rows, rejects, _ = read_psp_reports(
        tmp_path / "reports", DAY, ["ewallo"], formats={"ewallo": str(mapping)}
    )
    assert rejects.empty
    assert _rows(rows, "ewallo") == [
        ("A-1", "dep-9001", "Settled", "2026-11-02T12:00:00.000000",
         "SEK", 50000, "SEK", 49250, -750, 20261102, 4),
        ("A-2", "dep-8001", "Refunded", "2026-11-02T13:00:00.000000",
         "SEK", -12000, "SEK", -12000, 0, 20261102, 5),
        ("A-3", "wd-9002", "Payout", "2026-11-02T14:00:00.000000",
         "JPY", -1500, "JPY", -1510, -10, 20261102, 6),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('kind = "psp"', 'kind = "bank"'), r"acme.toml: kind: Input should be 'psp' or"),
        (('ZAHLUNG = "settled"', 'ZAHLUNG = "paid"'), r"'paid' is not one of settled, refund"),
        (('signed = "amount"', 'signed = "amount", debit = "x"'), r"psp.amounts.gross: Value"),
        (('zone = "Europe/Stockholm"', 'zone = "Mars/Olympus"'), r"unknown time zone 'Mars/"),
        (('at = "Zeit"', 'when = "Zeit"'), r"rule uses column 'at', which \[columns\] does"),
        (("[psp.record_types]", "[psp.record_types"), r"acme.toml: not TOML"),
    ],
)
def test_a_bad_mapping_is_one_line_naming_the_key(tmp_path: Path, change, message) -> None:
    mapping = tmp_path / "acme.toml"
    mapping.write_text(ACME.replace(*change), encoding="utf-8")
    with pytest.raises(FormatError, match=message) as caught:
        load_format(mapping)
    assert "\n" not in str(caught.value)


def test_shipped_mappings_load() -> None:
    assert {"adyen", "paypal_stl", "trustly", "affise"} <= set(builtin_formats())


def test_amounts_are_decimal_never_float() -> None:
    assert parse_amount("0.29", "EUR", "major", "x") == 29  # float would give 28.999...
    assert parse_amount("1.250", "KWD", "major", "x") == 1250
    assert parse_amount("1.2", "EUR", "major", "x") == 120
    assert parse_amount("-1500", "JPY", "minor", "x") == -1500
    with pytest.raises(ValueError, match="has 1 decimals"):
        parse_amount("15.0", "JPY", "major", "x")


def test_the_settings_name_each_counterparts_format(monkeypatch) -> None:
    from pitwatch.settings import Settings
    from reconcilers.schedule import options_for

    monkeypatch.setenv("PITWATCH_RECON_PSP_FORMATS", '{"paybridge": "adyen"}')
    monkeypatch.setenv("PITWATCH_RECON_AFFILIATE_FORMAT", "affise")
    options = options_for(Settings(), DAY, "manual")
    assert dict(options.psp_formats) == {"paybridge": "adyen"}
    assert options.affiliate_format == "affise"
