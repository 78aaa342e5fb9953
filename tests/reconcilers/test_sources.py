"""Sources of the reconcilers: the wallet through the contract views (SQLite and PostgreSQL),
PSP settlement reports and affiliate exports read strictly (bad files fail, bad rows are
kept as rejects, nothing is dropped)."""

from __future__ import annotations

import os
import re
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text, update

import reconcilers.sources.strict_csv as strict_csv
import reconcilers.sources.wallet as wallet_source
from ground.money import CURRENCY_EXPONENTS, to_minor
from ground.sqltypes import UTCDateTime
from igaming.cashier import deposits, withdrawals
from igaming.cashier.callbacks import handle_callback
from igaming.sim.affiliate_network.network import Record, export_csv
from igaming.sim.psp import PspSimConfig
from igaming.sim.psp.ledger import PspEvent, PspTransaction
from igaming.sim.psp.reports import write_settlement_reports
from reconcilers.errors import SourceError
from reconcilers.frames import (
    AFFILIATE_ROWS,
    BALANCES,
    CLEARING,
    ORPHAN_CALLBACKS,
    PLATFORM_CONVERSIONS,
    PSP_ROWS,
    REJECTS,
    STRING,
    WALLET_MOVEMENTS,
    arrow_to_pandas,
    from_arrow,
)
from reconcilers.sources.affiliate_export import read_affiliate_export
from reconcilers.sources.psp_reports import COLUMNS, read_psp_reports
from reconcilers.sources.wallet import (
    load_balances,
    load_clearing,
    load_orphan_callbacks,
    load_platform_conversions,
    load_wallet_movements,
)
from tests.conftest import make_platform, register_player
from tests.fakes import callback_body, signature
from tests.platform.affiliate_helpers import (
    approved_deposit,
    conversions,
    make_world,
    referred_player,
)

DAY = date(2026, 11, 2)
T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # FakeClock's start
DAY_START, DAY_END = datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC)
HEADER = ",".join(COLUMNS)
SETTLED = (
    "paybridge,pb_1,dep-1,Settled,2026-11-02T12:00:00.000Z,2026-11-02T23:59:59.000Z,"
    "EUR,25.00,EUR,24.45,-0.55,1,1037"
)


def records(frame: pd.DataFrame, *columns: str) -> list[tuple]:
    """Rows as tuples, a missing value (<NA>, NaT, a category's NaN) as None (timestamps
    compare equal to aware datetimes)."""
    subset = frame.loc[:, list(columns)] if columns else frame
    return [
        tuple(None if v is None or (pd.api.types.is_scalar(v) and pd.isna(v)) else v for v in row)
        for row in subset.astype(object).itertuples(index=False)
    ]


def ts(text_: str) -> datetime:
    return datetime.fromisoformat(text_.replace("Z", "+00:00"))


def write(folder: Path, psp: str, day: date, *lines: str, header: str = HEADER) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{psp}-settlement-{day.isoformat()}.csv"
    path.write_text("".join(f"{line}\n" for line in (header, *lines)), encoding="utf-8")
    return path


def with_field(line: str, column: str, value: str) -> str:
    fields = line.split(",")
    fields[COLUMNS.index(column)] = value
    return ",".join(fields)


# -- PSP settlement reports: good files -------------------------------------------------------


def test_report_rows_are_parsed_into_minor_units_in_each_currency(tmp_path):
    path = write(
        tmp_path,
        "paybridge",
        DAY,
        "paybridge,pb_cb,dep-0871,Chargeback,2026-10-30T09:14:02.311Z,"
        "2026-11-02T23:59:59.000Z,EUR,-40.00,EUR,-55.00,-15.00,1,1037",
        "paybridge,pb_sek,dep-1002,Settled,2026-11-02T12:00:00.000Z,"
        "2026-11-02T23:59:59.000Z,SEK,500.00,EUR,42.62,-0.88,0.0870,1037",
        "paybridge,pb_jpy,dep-1004,Settled,2026-11-02T12:00:00Z,"
        "2026-11-02T23:59:59.000Z,JPY,3000,JPY,2950,-50,1,1037",
        "paybridge,pb_kwd,wd-2001,Payout,2026-11-02T12:00:00.5+00:00,"
        "2026-11-02T23:59:59.000Z,KWD,-1.250,KWD,-1.250,0.000,1,1037",
        "paybridge,paybridge_batch_1037,,Fee,2026-11-02T23:59:59.000Z,"
        "2026-11-02T23:59:59.000Z,EUR,0.00,EUR,-5.00,-5.00,1,1037",
    )
    rows, rejects, files = read_psp_reports(tmp_path, DAY, ["paybridge"], neighbours=False)
    assert files == [path] and rejects.empty
    assert list(rows.columns) == list(PSP_ROWS)
    eod, name = ts("2026-11-02T23:59:59Z"), path.name
    assert records(rows) == [
        ("paybridge", "pb_cb", "dep-0871", "Chargeback", ts("2026-10-30T09:14:02.311Z"), eod,
         "EUR", -4000, "EUR", -5500, -1500, 1037, name, 2),
        ("paybridge", "pb_sek", "dep-1002", "Settled", ts("2026-11-02T12:00:00Z"), eod,
         "SEK", 50000, "EUR", 4262, -88, 1037, name, 3),
        ("paybridge", "pb_jpy", "dep-1004", "Settled", ts("2026-11-02T12:00:00Z"), eod,
         "JPY", 3000, "JPY", 2950, -50, 1037, name, 4),
        ("paybridge", "pb_kwd", "wd-2001", "Payout", ts("2026-11-02T12:00:00.5Z"), eod,
         "KWD", -1250, "KWD", -1250, 0, 1037, name, 5),
        ("paybridge", "paybridge_batch_1037", None, "Fee", eod, eod,
         "EUR", 0, "EUR", -500, -500, 1037, name, 6),
    ]  # fmt: skip
    assert str(rows["created_at"].dtype).endswith(", UTC]")
    assert rows["gross_minor"].dtype == "Int64"


def test_neighbour_days_are_read_when_they_exist_and_are_optional(tmp_path):
    before = write(tmp_path, "paybridge", DAY - timedelta(days=1), SETTLED)
    today = write(tmp_path, "paybridge", DAY, with_field(SETTLED, "psp_reference", "pb_2"))
    nordpay = write(tmp_path, "nordpay", DAY)
    after = write(tmp_path, "nordpay", DAY + timedelta(days=1))
    rows, _, files = read_psp_reports(tmp_path, DAY, ["paybridge", "nordpay"])
    assert files == [before, today, nordpay, after]
    assert records(rows, "psp_reference", "source_file") == [
        ("pb_1", before.name),
        ("pb_2", today.name),
    ]
    _, _, only_day = read_psp_reports(tmp_path, DAY, ["paybridge"], neighbours=False)
    assert only_day == [today]


def test_header_only_file_is_an_empty_day_not_an_error(tmp_path):
    write(tmp_path, "nordpay", DAY)
    rows, rejects, _ = read_psp_reports(tmp_path, DAY, ["nordpay"])
    assert rows.empty and rejects.empty
    assert list(rows.columns) == list(PSP_ROWS) and list(rejects.columns) == list(REJECTS)


def test_quoted_fields_follow_rfc_4180(tmp_path):
    quoted = '"paybridge","pb,1","dep ""A""",Settled,2026-11-02T12:00:00.000Z,' + (
        "2026-11-02T23:59:59.000Z,EUR,25.00,EUR,24.45,-0.55,1,1037"
    )
    multiline = with_field(SETTLED, "merchant_reference", '"dep\nB"')
    write(tmp_path, "paybridge", DAY, quoted, multiline, with_field(SETTLED, "type", "X"))
    rows, rejects, _ = read_psp_reports(tmp_path, DAY, ["paybridge"])
    assert records(rows, "psp_reference", "merchant_reference", "source_line") == [
        ("pb,1", 'dep "A"', 2),
        ("pb_1", "dep\nB", 3),
    ]
    # The record after the two-line one starts on line 5; its raw text is as written.
    assert records(rejects, "source_line", "raw") == [(5, with_field(SETTLED, "type", "X"))]


def test_quoted_and_plain_files_give_the_same_rows(tmp_path):
    lines = [with_field(SETTLED, "psp_reference", f"pb_{i}") for i in range(50)]
    write(tmp_path / "plain", "paybridge", DAY, *lines)
    quoted = [",".join(f'"{v}"' for v in line.split(",")) for line in lines]
    bad = '"paybridge","pb,x",dep-x,Refund,2026-11-02T12:00:00.000Z' + SETTLED[53:]
    write(tmp_path / "quoted", "paybridge", DAY, *quoted, bad)
    plain_rows, _, _ = read_psp_reports(tmp_path / "plain", DAY, ["paybridge"])
    quoted_rows, rejects, _ = read_psp_reports(tmp_path / "quoted", DAY, ["paybridge"])
    assert len(plain_rows) == 50
    pd.testing.assert_frame_equal(plain_rows, quoted_rows)
    assert records(rejects, "source_line", "raw") == [(52, bad)]  # as written, quotes and all


def test_crlf_line_endings_are_read_like_lf(tmp_path):
    path = tmp_path / "paybridge-settlement-2026-11-02.csv"
    path.write_bytes(f"{HEADER}\r\n{SETTLED}\r\n".encode())
    rows, rejects, _ = read_psp_reports(tmp_path, DAY, ["paybridge"])
    assert records(rows, "merchant_reference", "batch_number", "source_line") == [
        ("dep-1", 1037, 2)
    ]
    assert rejects.empty


def test_folder_with_glob_characters_is_read_as_a_plain_path(tmp_path):
    folder = tmp_path / "reports[*]"
    write(folder, "paybridge", DAY, SETTLED, with_field(SETTLED, "type", "X"))
    rows, rejects, _ = read_psp_reports(folder, DAY, ["paybridge"])
    assert records(rows, "source_line") == [(2,)] and records(rejects, "source_line") == [(3,)]


def test_utf8_references_survive(tmp_path):
    write(tmp_path, "paybridge", DAY, with_field(SETTLED, "merchant_reference", "dép-€1"))
    rows, _, _ = read_psp_reports(tmp_path, DAY, ["paybridge"])
    assert records(rows, "merchant_reference") == [("dép-€1",)]


def test_a_report_written_by_the_psp_simulator_is_read_back_exactly(tmp_path):
    config = PspSimConfig(seed=5)
    created = datetime(2026, 11, 2, 9, 30, 1, 250_000, tzinfo=UTC)

    def tx(psp, ref, kind, amount, currency, *events):
        return PspTransaction(
            psp=psp,
            kind=kind,
            psp_reference=f"{psp}_{ref}",
            merchant_reference=f"m-{ref}",
            amount=amount,
            currency=currency,
            method="card",
            geo="DE",
            callback_url="",
            created_at=created,
            fingerprint="",
            events=[
                PspEvent(f"e-{ref}-{status}", status, None, created + timedelta(hours=h))
                for status, h in events
            ],
        )

    txs = [
        tx("paybridge", "sek", "payment", 50_000, "SEK", ("approved", 1)),
        tx("paybridge", "cb", "payment", 4_000, "EUR", ("approved", 1), ("chargeback", 2)),
        tx("paybridge", "po", "payout", 10_000, "EUR", ("paid", 3)),
        tx("nordpay", "nok", "payment", 15_000, "EUR", ("approved", 4)),
        tx("pixgate", "jpy", "payment", 3_000, "JPY", ("approved", 5)),
    ]
    reports = write_settlement_reports(txs, config, DAY, tmp_path, now=DAY_END)
    rows, rejects, files = read_psp_reports(tmp_path, DAY, config.psps, neighbours=False)
    expected = [
        (r.psp, r.psp_reference, r.merchant_reference or None, r.type, r.created_at,
         r.settled_at, r.gross_currency, r.gross_minor, r.net_currency, r.net_minor,
         r.fee_minor, r.batch_number)
        for report in sorted(reports, key=lambda r: list(config.psps).index(r.psp))
        for r in report.rows
    ]  # fmt: skip
    assert rejects.empty and len(files) == len(config.psps)
    assert records(rows, *list(PSP_ROWS)[:12]) == expected
    assert {"Settled", "Chargeback", "Payout", "Fee"} <= set(rows["type"])


# -- PSP settlement reports: files that cannot be read ----------------------------------------


def test_missing_report_of_the_day_fails_naming_the_file(tmp_path):
    folder = tmp_path / "psp-reports"
    write(folder, "paybridge", DAY)
    with pytest.raises(SourceError) as error:
        read_psp_reports(folder, DAY, ["paybridge", "nordpay", "ewallo"])
    assert str(error.value) == (
        f"{folder}/nordpay-settlement-2026-11-02.csv: missing "
        "(expected one file per PSP per day; 1 more missing)"
    )


def test_missing_folder_fails_naming_it(tmp_path):
    with pytest.raises(SourceError, match=r"psp-reports: no such folder"):
        read_psp_reports(tmp_path / "psp-reports", DAY, ["paybridge"])


def test_wrong_header_fails_naming_both_headers(tmp_path):
    path = write(tmp_path, "paybridge", DAY, SETTLED, header="psp,reference,amount")
    with pytest.raises(SourceError) as error:
        read_psp_reports(tmp_path, DAY, ["paybridge"])
    assert str(error.value) == f"{path}: header is 'psp,reference,amount' (expected '{HEADER}')"


def test_reordered_header_is_a_wrong_header(tmp_path):
    swapped = HEADER.replace("gross_currency,gross_amount", "gross_amount,gross_currency")
    write(tmp_path, "paybridge", DAY, header=swapped)
    with pytest.raises(SourceError, match="header is"):
        read_psp_reports(tmp_path, DAY, ["paybridge"])


def test_byte_order_mark_is_named_in_the_header_error(tmp_path):
    write(tmp_path, "paybridge", DAY, header="\ufeff" + HEADER)
    with pytest.raises(SourceError, match="starts with a byte order mark"):
        read_psp_reports(tmp_path, DAY, ["paybridge"])


def test_empty_file_fails(tmp_path):
    path = tmp_path / "paybridge-settlement-2026-11-02.csv"
    path.write_bytes(b"")
    with pytest.raises(SourceError, match=r"settlement-2026-11-02\.csv: is empty"):
        read_psp_reports(tmp_path, DAY, ["paybridge"])


def test_latin1_byte_fails_with_its_offset(tmp_path):
    path = tmp_path / "paybridge-settlement-2026-11-02.csv"
    line = SETTLED.replace("dep-1", "dép-1").encode("latin-1")
    path.write_bytes(HEADER.encode() + b"\n" + line + b"\n")
    with pytest.raises(SourceError) as error:
        read_psp_reports(tmp_path, DAY, ["paybridge"])
    offset = len(HEADER) + 1 + len("paybridge,pb_1,d")
    assert str(error.value) == f"{path}: not UTF-8 (byte 0xe9 at offset {offset})"


def test_bad_byte_in_the_header_fails_with_its_offset(tmp_path):
    path = tmp_path / "paybridge-settlement-2026-11-02.csv"
    path.write_bytes(b"psp\xff," + HEADER.encode() + b"\n")
    with pytest.raises(SourceError, match=r"not UTF-8 \(byte 0xff at offset 3\)"):
        read_psp_reports(tmp_path, DAY, ["paybridge"])


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 64])
def test_utf8_offsets_are_right_across_read_chunks(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(strict_csv, "SCAN_CHUNK_BYTES", chunk)
    good = with_field(SETTLED, "merchant_reference", "é€😀").encode()
    path = tmp_path / "paybridge-settlement-2026-11-02.csv"
    path.write_bytes(HEADER.encode() + b"\n" + good + b"\n")
    rows, _, _ = read_psp_reports(tmp_path, DAY, ["paybridge"])
    assert records(rows, "merchant_reference") == [("é€😀",)]
    # A truncated 3-byte sequence at the very end of the file: a settlement report is cut
    # short; the strict scanner (any format's) names the byte.
    path.write_bytes(HEADER.encode() + b"\n" + good + b"\n\xe2\x82")
    with pytest.raises(SourceError, match="cut short"):
        read_psp_reports(tmp_path, DAY, ["paybridge"])
    with pytest.raises(SourceError) as error:
        strict_csv.scan_file(path, COLUMNS)
    assert str(error.value).endswith(f"(byte 0xe2 at offset {len(HEADER) + len(good) + 2})")


def test_source_errors_are_one_line(tmp_path):
    write(tmp_path, "paybridge", DAY, header="psp\r,x")
    with pytest.raises(SourceError) as error:
        read_psp_reports(tmp_path, DAY, ["paybridge"])
    assert "\n" not in str(error.value) and "\r" not in str(error.value)


# -- PSP settlement reports: rows that cannot be parsed ---------------------------------------

BAD_ROWS = [
    ("gross_amount", "25.0", "gross_amount '25.0' has 1 decimals (EUR has 2)"),
    ("gross_amount", "25.000", "gross_amount '25.000' has 3 decimals (EUR has 2)"),
    ("gross_amount", "abc", "gross_amount is 'abc' (not a decimal amount)"),
    ("gross_amount", "1e3", "gross_amount is '1e3' (not a decimal amount)"),
    ("gross_amount", "+25.00", "gross_amount is '+25.00' (not a decimal amount)"),
    ("gross_amount", " 25.00", "gross_amount is ' 25.00' (not a decimal amount)"),
    ("gross_amount", "1,000.00", "has 14 fields (expected 13)"),
    ("gross_amount", "", "gross_amount is '' (not a decimal amount)"),
    ("gross_amount", "99999999999999999999.00", "gross_amount is '99999999999999999999.00' (out"),
    ("net_amount", "24.4", "net_amount '24.4' has 1 decimals (EUR has 2)"),
    ("fee_amount", "-0.5", "fee_amount '-0.5' has 1 decimals (EUR has 2)"),
    (
        "gross_currency",
        "EURO",
        "gross_currency is 'EURO' (not an ISO 4217 currency known here)",
    ),
    ("net_currency", "", "net_currency is '' (not an ISO 4217 currency known here)"),
    ("psp_reference", "", "psp_reference is empty"),
    (
        "merchant_reference",
        "",
        "merchant_reference is empty (only Fee and Adjustment rows have none)",
    ),
    ("psp", "nordpay", "psp is 'nordpay' (expected 'paybridge', this file's PSP)"),
    ("psp", "", "psp is empty"),
    (
        "type",
        "Deposit",
        "type is 'Deposit' (expected one of Settled, Refunded, Chargeback, "
        "ChargebackReversed, Payout, Fee, Adjustment)",
    ),
    (
        "created_at",
        "2026-02-30T12:00:00.000Z",
        "created_at is '2026-02-30T12:00:00.000Z' (not a possible date and time)",
    ),
    (
        "created_at",
        "0000-01-01T00:00:00.000Z",
        "created_at is '0000-01-01T00:00:00.000Z' (not a possible date and time)",
    ),
    (
        "created_at",
        "2026-11-02 12:00:00",
        "created_at is '2026-11-02 12:00:00' (expected ISO-8601 UTC, YYYY-MM-DDTHH:MM:SS.sssZ)",
    ),
    ("created_at", "2026-11-02T12:00:00.000+02:00", "created_at is '2026-11-02T12:00:00.000+02"),
    ("settled_at", "2026-11-02T24:00:00.000Z", "settled_at is '2026-11-02T24:00:00.000Z' (exp"),
    ("settled_at", "2026-11-02T23:59:60.000Z", "settled_at is '2026-11-02T23:59:60.000Z' (exp"),
    ("exchange_rate", "0", "exchange_rate is '0' (expected a positive decimal)"),
    ("exchange_rate", "-1", "exchange_rate is '-1' (expected a positive decimal)"),
    ("batch_number", "1037.0", "batch_number is '1037.0' (expected a whole number)"),
    ("batch_number", "1038", "batch_number is 1038 (expected 1037, the file's batch: its first"),
    ("batch_number", "01036", "batch_number is 01036 (expected 1037, the file's batch: its firs"),
]


@pytest.mark.parametrize(("column", "value", "reason"), BAD_ROWS)
def test_bad_row_is_a_reject_with_its_reason_and_raw_line(tmp_path, column, value, reason):
    bad = with_field(SETTLED, column, value)
    path = write(tmp_path, "paybridge", DAY, SETTLED, bad)
    rows, rejects, _ = read_psp_reports(tmp_path, DAY, ["paybridge"])
    assert records(rows, "psp_reference", "source_line") == [("pb_1", 2)]
    assert list(rejects.columns) == list(REJECTS)
    [(source, source_file, line, why, raw)] = records(rejects)
    assert (source, source_file, line, raw) == ("psp_report", path.name, 3, bad)
    assert why.startswith(reason)


def test_jpy_amount_with_decimals_is_a_reject(tmp_path):
    jpy = SETTLED.replace("EUR,25.00,EUR,24.45,-0.55", "JPY,1500.00,JPY,1450,-50")
    write(tmp_path, "pixgate", DAY, jpy.replace("paybridge", "pixgate"))
    _, rejects, _ = read_psp_reports(tmp_path, DAY, ["pixgate"])
    assert list(rejects["reason"]) == ["gross_amount '1500.00' has 2 decimals (JPY has 0)"]


def test_fee_row_needs_no_merchant_reference_but_a_psp_reference(tmp_path):
    fee = "paybridge,,,Fee,2026-11-02T23:59:59.000Z,2026-11-02T23:59:59.000Z,EUR,0.00,EUR,-5.00,-5.00,1,1037"  # noqa: E501
    write(tmp_path, "paybridge", DAY, fee, with_field(fee, "psp_reference", "pb_batch_1"))
    rows, rejects, _ = read_psp_reports(tmp_path, DAY, ["paybridge"])
    assert records(rows, "psp_reference", "merchant_reference") == [("pb_batch_1", None)]
    assert list(rejects["reason"]) == ["psp_reference is empty"]


def test_blank_and_short_lines_are_rejects_not_skipped(tmp_path):
    path = tmp_path / "paybridge-settlement-2026-11-02.csv"
    path.write_text(f'{HEADER}\n{SETTLED}\n\npaybridge,"x\n{SETTLED}\n', encoding="utf-8")
    rows, rejects, _ = read_psp_reports(tmp_path, DAY, ["paybridge"])
    assert records(rows, "source_line") == [(2,)]
    assert records(rejects, "source_line", "reason") == [
        (3, "empty line"),
        (4, "not valid CSV: unexpected end of data"),
    ]
    assert rejects["raw"].iloc[1] == f'paybridge,"x\n{SETTLED}'


# -- PSP settlement reports: one batch per file, and whole -----------------------------------


def test_the_first_row_with_a_batch_number_sets_the_files_batch(tmp_path):
    other = with_field(with_field(SETTLED, "psp_reference", "pb_2"), "batch_number", "1036")
    no_batch = with_field(SETTLED, "batch_number", "")
    write(tmp_path, "paybridge", DAY, no_batch, other, SETTLED)
    rows, rejects, _ = read_psp_reports(tmp_path, DAY, ["paybridge"])
    assert records(rows, "psp_reference", "batch_number") == [("pb_2", 1036)]
    assert records(rejects, "source_line", "reason") == [
        (2, "batch_number is '' (expected a whole number)"),
        (4, "batch_number is 1037 (expected 1036, the file's batch: its first row's)"),
    ]


def test_a_row_of_another_batch_is_a_reject_in_a_file_read_the_slow_way_too(tmp_path):
    # A quoted line break sends the file through Python's csv reader: the same check.
    multiline = with_field(SETTLED, "merchant_reference", '"dep\nB"')
    write(tmp_path, "paybridge", DAY, multiline, with_field(SETTLED, "batch_number", "99"))
    rows, rejects, _ = read_psp_reports(tmp_path, DAY, ["paybridge"])
    assert records(rows, "merchant_reference") == [("dep\nB",)]
    assert list(rejects["reason"]) == [
        "batch_number is 99 (expected 1037, the file's batch: its first row's)"
    ]


@pytest.mark.parametrize(
    "cut",
    [
        pytest.param(len(SETTLED) - 2, id="inside-the-last-field"),
        pytest.param(len(SETTLED), id="before-the-line-break"),
        pytest.param(40, id="mid-line"),
        pytest.param(SETTLED.index("EUR,25.00") + 7, id="inside-an-amount"),
    ],
)
def test_a_file_cut_short_fails_as_a_whole_naming_it(tmp_path, cut):
    path = tmp_path / "paybridge-settlement-2026-11-02.csv"
    path.write_text(f"{HEADER}\n{SETTLED}\n{SETTLED[:cut]}", encoding="utf-8")
    with pytest.raises(SourceError) as error:
        read_psp_reports(tmp_path, DAY, ["paybridge"])
    assert str(error.value) == (
        f"{path}: is cut short: its last line has no line break (a whole report ends with one)"
    )


def test_a_neighbour_day_cut_short_fails_too(tmp_path):
    write(tmp_path, "paybridge", DAY, SETTLED)
    before = write(tmp_path, "paybridge", DAY - timedelta(days=1), SETTLED)
    before.write_text(before.read_text(encoding="utf-8")[:-3], encoding="utf-8")
    with pytest.raises(SourceError, match="cut short"):
        read_psp_reports(tmp_path, DAY, ["paybridge"])


def test_a_wrong_header_is_named_before_a_missing_line_break(tmp_path):
    path = tmp_path / "paybridge-settlement-2026-11-02.csv"
    path.write_text("psp,amount\npaybridge,1", encoding="utf-8")
    with pytest.raises(SourceError, match="header is 'psp,amount'"):
        read_psp_reports(tmp_path, DAY, ["paybridge"])


LINE_KINDS = {
    "good": SETTLED,
    "quoted": '"paybridge","pb,q",dep-q,Settled,2026-11-02T12:00:00.000Z,'
    "2026-11-02T23:59:59.000Z,EUR,1.00,EUR,0.90,-0.10,1,1037",
    "bad_amount": with_field(SETTLED, "gross_amount", "1.5"),
    "bad_date": with_field(SETTLED, "created_at", "2026-13-01T00:00:00.000Z"),
    "bad_currency": with_field(SETTLED, "gross_currency", "ZZZ"),
    "short": "paybridge,pb_1",
    "long": SETTLED + ",x",
    "blank": "",
    "bad_quote": 'paybridge,"pb"x' + SETTLED[12:],
}


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kinds=st.lists(st.sampled_from(sorted(LINE_KINDS)), max_size=30))
def test_every_data_line_is_a_row_or_a_reject(kinds):
    with tempfile.TemporaryDirectory() as folder:
        write(Path(folder), "paybridge", DAY, *(LINE_KINDS[k] for k in kinds))
        rows, rejects, _ = read_psp_reports(Path(folder), DAY, ["paybridge"])
    assert len(rows) + len(rejects) == len(kinds)
    lines = sorted([*rows["source_line"], *rejects["source_line"]])
    assert lines == list(range(2, len(kinds) + 2))
    good = {i + 2 for i, k in enumerate(kinds) if k in ("good", "quoted")}
    assert set(rows["source_line"]) == good


AMOUNT_TEXT = st.one_of(
    st.builds(
        lambda sign, whole, point, frac: f"{sign}{whole}{point}{frac}",
        st.sampled_from(["", "-", "+"]),
        st.from_regex(r"[0-9]{1,14}", fullmatch=True),
        st.sampled_from(["", "."]),
        st.from_regex(r"[0-9]{0,4}", fullmatch=True),
    ),
    st.text(alphabet="0123456789.-eE ", max_size=8),
)


def documented_minor(amount: str, currency: str) -> int | None:
    """The documented rule: exactly the exponent's decimals, valued by to_minor."""
    exp = CURRENCY_EXPONENTS[currency]
    pattern = r"-?[0-9]+" + (rf"\.[0-9]{{{exp}}}" if exp else "")
    return to_minor(amount, currency) if re.fullmatch(pattern, amount) else None


@pytest.mark.slow
@settings(max_examples=30, deadline=None)
@given(
    cases=st.lists(
        st.tuples(AMOUNT_TEXT, st.sampled_from(["EUR", "JPY", "KWD"])), min_size=1, max_size=40
    )
)
def test_amounts_are_read_as_igaming_money_to_minor_reads_them(cases):
    lines = []
    for i, (amount, currency) in enumerate(cases):
        line = with_field(SETTLED, "psp_reference", f"pb_{i}")
        line = line.replace("EUR,25.00,EUR,24.45,-0.55", f"{currency},{amount},EUR,24.45,-0.55")
        lines.append(line)
    with tempfile.TemporaryDirectory() as folder:
        write(Path(folder), "paybridge", DAY, *lines)
        rows, rejects, _ = read_psp_reports(Path(folder), DAY, ["paybridge"])
    parsed = dict(zip(rows["psp_reference"], rows["gross_minor"], strict=True))
    for i, (amount, currency) in enumerate(cases):
        assert parsed.get(f"pb_{i}") == documented_minor(amount, currency), (amount, currency)
    assert len(rows) + len(rejects) == len(cases)


def test_a_large_report_is_read_whole_and_exact(tmp_path):
    """The bulk path keeps every row and every amount (its speed is `make bench-recon`'s)."""

    body = "".join(
        f"paybridge,pb_{i},dep-{i},Settled,2026-11-02T12:00:00.000Z,2026-11-02T23:59:59.000Z,"
        f"EUR,{i // 100}.{i % 100:02d},EUR,1.00,-0.10,1,1037\n"
        for i in range(50_000)
    )
    (tmp_path / "paybridge-settlement-2026-11-02.csv").write_text(f"{HEADER}\n{body}")
    rows, rejects, _ = read_psp_reports(tmp_path, DAY, ["paybridge"])
    assert len(rows) == 50_000 and rejects.empty
    assert rows["gross_minor"].tolist() == list(range(50_000))
    assert rows["source_line"].tolist() == list(range(2, 50_002))


# -- affiliate conversion exports -------------------------------------------------------------

AFF_HEADER = (
    "affiliate,campaign,click_id,player_ref,event,conversion_id,amount,currency,status,"
    "occurred_at,received_at,commission_amount,commission_currency"
)
AFF_ROW = (
    "aff17,spring-de,clk-1,ref-1,ftd,conv-1,25.00,EUR,approved,2026-11-02T12:00:00Z,"
    "2026-11-02T12:00:03.5Z,50.00,EUR"
)


def write_export(path: Path, *lines: str, header: str = AFF_HEADER) -> Path:
    path.write_text("".join(f"{line}\n" for line in (header, *lines)), encoding="utf-8")
    return path


def test_export_written_by_the_network_simulator_is_read_exactly(tmp_path):
    at = T0 + timedelta(minutes=5)

    def record(event, conversion, amount, currency, status, commission):
        return Record("aff17", "", "", "ref-9", event, conversion, amount, currency, status,
                      at, at + timedelta(seconds=2), commission)  # fmt: skip

    path = tmp_path / "aff17-2026-11-02.csv"
    path.write_text(
        export_csv(
            [
                record("registration", "c-reg", "0.00", "EUR", "approved", 0),
                record("ftd", "c-ftd", "25.00", "EUR", "reversed", 0),
                record("revenue", "c-rev", "-12.50", "EUR", "approved", -125),
                record("ftd", "c-jpy", "3000", "JPY", "approved", 50),
            ]
        ),
        encoding="utf-8",
    )
    rows, rejects = read_affiliate_export(path)
    assert rejects.empty and list(rows.columns) == list(AFFILIATE_ROWS)
    who, f = ("aff17", None, "ref-9"), path.name
    assert records(rows) == [
        (*who, "registration", "c-reg", 0, "EUR", "approved", at, 0, "EUR", f, 2),
        (*who, "ftd", "c-ftd", 2500, "EUR", "reversed", at, 0, "EUR", f, 3),
        (*who, "revenue", "c-rev", -1250, "EUR", "approved", at, -125, "EUR", f, 4),
        (*who, "ftd", "c-jpy", 3000, "JPY", "approved", at, 50, "JPY", f, 5),
    ]  # fmt: skip


AFF_BAD_ROWS = [
    ("affiliate", "", "affiliate is empty"),
    ("event", "click", "event is 'click' (expected one of registration, deposit, ftd, revenue)"),
    ("conversion_id", "", "conversion_id is empty"),
    ("amount", "25", "amount '25' has 0 decimals (EUR has 2)"),
    ("amount", "twenty", "amount is 'twenty' (not a decimal amount)"),
    ("currency", "XXX", "currency is 'XXX' (not an ISO 4217 currency known here)"),
    ("status", "pending", "status is 'pending' (expected one of approved, reversed)"),
    ("occurred_at", "2026-11-31T00:00:00Z", "occurred_at is '2026-11-31T00:00:00Z' (not a pos"),
    ("received_at", "02/11/2026", "received_at is '02/11/2026' (expected ISO-8601 UTC"),
    ("commission_amount", "50", "commission_amount '50' has 0 decimals (EUR has 2)"),
    ("commission_currency", "", "commission_currency is '' (not an ISO 4217 currency"),
]


@pytest.mark.parametrize(("column", "value", "reason"), AFF_BAD_ROWS)
def test_bad_export_row_is_a_reject_with_its_reason(tmp_path, column, value, reason):
    fields = AFF_ROW.split(",")
    fields[AFF_HEADER.split(",").index(column)] = value
    bad = ",".join(fields)
    path = write_export(tmp_path / "export.csv", AFF_ROW, bad)
    rows, rejects = read_affiliate_export(path)
    assert records(rows, "conversion_id", "source_line") == [("conv-1", 2)]
    [(source, source_file, line, why, raw)] = records(rejects)
    assert (source, source_file, line, raw) == ("affiliate_export", "export.csv", 3, bad)
    assert why.startswith(reason)


def test_export_with_a_wrong_header_fails_naming_the_file(tmp_path):
    path = write_export(tmp_path / "export.csv", header="affiliate,event,conversion_id")
    with pytest.raises(SourceError) as error:
        read_affiliate_export(path)
    assert str(error.value) == (
        f"{path}: header is 'affiliate,event,conversion_id' (expected '{AFF_HEADER}')"
    )


def test_missing_export_fails_naming_the_file(tmp_path):
    with pytest.raises(SourceError) as error:
        read_affiliate_export(tmp_path / "export.csv")
    assert str(error.value) == f"{tmp_path / 'export.csv'}: missing"


def test_export_in_utf16_fails_as_not_utf8(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(f"{AFF_HEADER}\n{AFF_ROW}\n", encoding="utf-16")
    with pytest.raises(SourceError, match=r"export\.csv: not UTF-8 \(byte 0xff at offset 0\)"):
        read_affiliate_export(path)


def test_export_rows_and_rejects_add_up_to_its_lines(tmp_path):
    lines = [AFF_ROW, AFF_ROW.replace("25.00", "x"), "", AFF_ROW + ",extra", AFF_ROW]
    rows, rejects = read_affiliate_export(write_export(tmp_path / "export.csv", *lines))
    assert len(rows) + len(rejects) == len(lines)
    assert list(rows["source_line"]) == [2, 6]
    assert list(rejects["source_line"]) == [3, 4, 5]


def test_export_of_the_simulated_network_matches_the_platform_conversions(engine, tmp_path):
    w = make_world(engine)
    player = referred_player(w.p)
    approved_deposit(w.p, player, amount=2_500)
    w.pump()
    path = tmp_path / "export.csv"
    path.write_text(export_csv(w.network.conversions(DAY)), encoding="utf-8")
    rows, rejects = read_affiliate_export(path)
    platform = load_platform_conversions(engine, DAY_START, DAY_END)
    assert rejects.empty
    keys = ["affiliate", "event", "conversion_id", "amount_minor", "currency", "player_ref"]
    assert sorted(records(rows, *keys)) == sorted(records(platform, *keys))


# -- the wallet through the contract views ----------------------------------------------------


def deliver(p, target, status, *, kind="payment", event_id=None, reference=None):
    body = callback_body(
        merchant_reference=reference or target.id,
        status=status,
        amount=target.amount,
        currency=target.currency,
        psp=target.psp,
        kind=kind,
        occurred_at=p.clock.now(),
        event_id=event_id,
        psp_reference=target.psp_reference or "ref-1",
    )
    return handle_callback(p, target.psp, body, signature(body, p.clock.now(), target.psp))


def deposit(p, player, amount, key):
    return deposits.request_deposit(
        p, player.id, amount=amount, currency=player.currency, method="card", idempotency_key=key
    )


def test_wallet_movements_are_every_psp_movement_at_its_wallet_time(engine):
    p = make_platform(engine)
    clock = p.clock
    player = register_player(p)
    a = deposit(p, player, 2_500, "a")
    clock.advance(10)
    deliver(p, a, "approved")  # 12:00:10
    clock.advance(10)
    deliver(p, a, "chargeback")  # 12:00:20
    clock.advance(10)
    deliver(p, a, "chargeback_reversed")  # 12:00:30
    b = deposit(p, player, 1_000, "b")
    clock.advance(10)
    deliver(p, b, "approved")  # 12:00:40
    clock.advance(10)
    deliver(p, b, "refunded")  # 12:00:50
    declined = deposit(p, player, 700, "c")
    deliver(p, declined, "declined")
    pending = deposit(p, player, 800, "d")
    with p.session_factory() as s:  # withdrawals need an approved identity (test setup)
        from igaming.models import Player

        s.execute(update(Player).where(Player.id == player.id).values(kyc_status="approved"))
        s.commit()
    w = withdrawals.request_withdrawal(
        p, player.id, amount=500, currency="EUR", method="card", idempotency_key="w"
    )
    clock.advance(10)
    deliver(p, w, "paid", kind="payout")  # 12:01:00

    moves = load_wallet_movements(engine, DAY_START, DAY_END)
    assert list(moves.columns) == list(WALLET_MOVEMENTS)
    at = lambda s: T0 + timedelta(seconds=s)  # noqa: E731
    pa, pb, pw = (a.psp, b.psp, w.psp)
    ra, rb, rw = (a.psp_reference, b.psp_reference, w.psp_reference)
    won = "chargeback_reversed"
    assert records(moves) == [
        (pa, "settled", a.id, ra, "EUR", 2_500, won, at(10)),
        (pa, "chargeback", a.id, ra, "EUR", 2_500, won, at(20)),
        (pa, "chargeback_reversed", a.id, ra, "EUR", 2_500, won, at(30)),
        (pb, "settled", b.id, rb, "EUR", 1_000, "refunded", at(40)),
        (pb, "refunded", b.id, rb, "EUR", 1_000, "refunded", at(50)),
        (pw, "payout", w.id, rw, "EUR", 500, "completed", at(60)),
    ]  # fmt: skip
    assert pending.id not in set(moves["merchant_reference"])


def test_wallet_movements_period_is_half_open(engine):
    p = make_platform(engine)
    player = register_player(p)
    d = deposit(p, player, 2_500, "a")
    deliver(p, d, "approved")  # at T0
    p.clock.advance(60)
    deliver(p, d, "chargeback")  # at T0 + 60 s
    kinds = lambda s, e: list(load_wallet_movements(engine, s, e)["kind"])  # noqa: E731
    assert kinds(T0, T0 + timedelta(seconds=60)) == ["settled"]
    assert kinds(T0 + timedelta(seconds=1), T0 + timedelta(seconds=61)) == ["chargeback"]
    assert kinds(DAY_END, DAY_END + timedelta(days=1)) == []


def test_a_second_chargeback_is_a_movement_of_its_own(engine):
    p = make_platform(engine)
    player = register_player(p)
    d = deposit(p, player, 2_500, "a")
    deliver(p, d, "approved")
    for status in ("chargeback", "chargeback_reversed", "chargeback"):
        p.clock.advance(5)
        deliver(p, d, status)
    moves = load_wallet_movements(engine, DAY_START, DAY_END)
    assert list(moves["kind"]) == ["settled", "chargeback", "chargeback_reversed", "chargeback"]
    assert set(moves["status"]) == {"chargeback"}


def test_movements_read_in_chunks_are_one_frame_of_the_schemas_categories(engine, monkeypatch):
    # Row by row (SQLite) each chunk has categories of its own; the frame must not.
    monkeypatch.setattr(wallet_source, "_CHUNK", 2)
    p = make_platform(engine)
    player = register_player(p)
    deposits = [deposit(p, player, 2_500, key) for key in "abc"]
    for d in deposits:
        p.clock.advance(5)
        deliver(p, d, "approved")
    p.clock.advance(5)
    deliver(p, deposits[2], "chargeback")  # the second chunk's values differ from the first's
    moves = load_wallet_movements(engine, DAY_START, DAY_END)
    assert {c: str(t) for c, t in moves.dtypes.items() if c != "occurred_at"} == {
        c: t for c, t in WALLET_MOVEMENTS.items() if c != "occurred_at"
    }
    assert list(moves["kind"]) == ["settled", "settled", "settled", "chargeback"]
    assert list(moves["status"]) == ["approved", "approved", "chargeback", "chargeback"]
    assert list(moves["status"].cat.categories) == ["approved", "chargeback"]


def test_loaders_take_a_connection_as_well_as_an_engine(engine):
    p = make_platform(engine)
    d = deposit(p, register_player(p), 2_500, "a")
    deliver(p, d, "approved")
    with engine.connect() as conn:
        moves = load_wallet_movements(conn, DAY_START, DAY_END)
    assert records(moves, "kind", "merchant_reference") == [("settled", d.id)]


def test_naive_period_is_refused(engine):
    with pytest.raises(ValueError, match="timezone-aware"):
        load_wallet_movements(engine, datetime(2026, 11, 2), datetime(2026, 11, 3))


def test_orphan_callbacks_are_listed_once_per_event(engine):
    p = make_platform(engine)
    d = deposit(p, register_player(p), 2_500, "a")
    p.clock.advance(5)
    deliver(p, d, "approved", reference="unknown-1", event_id="ev-1")
    p.clock.advance(5)
    deliver(p, d, "approved", reference="unknown-1", event_id="ev-1")  # redelivered
    deliver(p, d, "chargeback", reference="unknown-1", event_id="ev-2")
    deliver(p, d, "approved")  # applied: not an orphan
    orphans = load_orphan_callbacks(engine, DAY_START, DAY_END)
    assert list(orphans.columns) == list(ORPHAN_CALLBACKS)
    psp, ref, at = d.psp, d.psp_reference, lambda s: T0 + timedelta(seconds=s)
    assert records(orphans) == [
        (psp, "unknown-1", ref, "approved", "EUR", 2_500, at(5)),
        (psp, "unknown-1", ref, "chargeback", "EUR", 2_500, at(10)),
    ]
    assert load_orphan_callbacks(engine, DAY_END, DAY_END + timedelta(days=1)).empty


def test_platform_conversions_carry_their_postback_status(engine):
    w = make_world(
        engine,
        deal={"kind": "cpa", "currency": "EUR", "cpa_amount": 5_000, "min_ftd_amount": 5_000},
    )
    player = referred_player(w.p)
    approved_deposit(w.p, player, amount=2_500)  # under the minimum: the FTD is rejected
    w.pump()
    frame = load_platform_conversions(engine, DAY_START, DAY_END)
    assert list(frame.columns) == list(PLATFORM_CONVERSIONS)
    by_event = {r.type: r for r in conversions(w.p)}
    got = sorted(
        records(frame, "event", "conversion_id", "amount_minor", "state", "postback_status")
    )
    assert got == [
        ("deposit", by_event["deposit"].id, 2_500, "approved", "delivered"),
        ("ftd", by_event["ftd"].id, 2_500, "rejected", None),
        ("registration", by_event["registration"].id, 0, "approved", "delivered"),
    ]
    assert set(frame["player_ref"]) == {by_event["ftd"].player_ref}
    assert set(frame["affiliate"]) == {"aff17"} and set(frame["campaign"]) == {"spring-de"}


def test_balances_put_the_stored_balance_beside_the_sum_of_entries(engine):
    p = make_platform(engine)
    player = register_player(p)
    d = deposit(p, player, 2_500, "a")
    deliver(p, d, "approved")
    with engine.begin() as conn:  # a corrupted stored balance (test setup, internal table)
        conn.execute(
            text("UPDATE accounts SET balance = balance + 1 WHERE owner = :o AND kind = 'cash'"),
            {"o": player.id},
        )
    frame = load_balances(engine)
    assert list(frame.columns) == list(BALANCES)
    mine = frame[frame["account_owner"] == player.id]
    columns = ("account_kind", "currency", "psp", "stored_minor", "entries_minor")
    assert sorted(records(mine, *columns)) == [
        ("bonus", "EUR", None, 0, 0),
        ("cash", "EUR", None, 2_501, 2_500),
        ("withdrawal_pending", "EUR", None, 0, 0),
    ]  # fmt: skip
    clearing = frame[(frame["account_kind"] == "psp_clearing") & (frame["psp"] == d.psp)]
    assert records(clearing[clearing["currency"] == "EUR"], "stored_minor", "entries_minor") == [
        (-2_500, -2_500)
    ]
    assert frame["account_id"].is_unique and frame["entries_minor"].notna().all()


def test_clearing_sums_each_psp_and_currency_over_the_period(engine):
    p = make_platform(engine)
    eur = register_player(p)
    sek = register_player(p, country="SE", currency="SEK")
    a = deposit(p, eur, 2_500, "a")
    deliver(p, a, "approved")
    p.clock.advance(60)
    deliver(p, a, "chargeback")
    s = deposit(p, sek, 10_000, "s")
    deliver(p, s, "approved")
    frame = load_clearing(engine, DAY_START, DAY_END)
    assert list(frame.columns) == list(CLEARING)
    assert records(frame) == sorted([(a.psp, "EUR", 0), (s.psp, "SEK", -10_000)])
    assert records(load_clearing(engine, T0, T0 + timedelta(seconds=30))) == [
        (a.psp, "EUR", -2_500)
    ]


def test_a_missing_view_fails_naming_it(sqlite_engine):
    with sqlite_engine.begin() as conn:
        conn.execute(text("DROP VIEW pw_callbacks"))
    with pytest.raises(SourceError) as error:
        load_orphan_callbacks(sqlite_engine, DAY_START, DAY_END)
    assert str(error.value) == "pw_callbacks: cannot be read (no such table: pw_callbacks)"


def test_empty_wallet_gives_empty_conformed_frames(engine):
    for frame, schema in [
        (load_wallet_movements(engine, DAY_START, DAY_END), WALLET_MOVEMENTS),
        (load_orphan_callbacks(engine, DAY_START, DAY_END), ORPHAN_CALLBACKS),
        (load_platform_conversions(engine, DAY_START, DAY_END), PLATFORM_CONVERSIONS),
        (load_clearing(engine, DAY_START, DAY_END), CLEARING),
    ]:
        assert frame.empty and list(frame.columns) == list(schema)
        assert {c: str(t) for c, t in frame.dtypes.items() if c != "occurred_at"} == {
            c: t for c, t in schema.items() if c != "occurred_at"
        }


# What COPY's CSV must carry exactly: NULL and '' apart, commas, quotes and line breaks
# inside values, microseconds, whatever the session's time zone and date style.
_TRICKY = text(
    """SELECT 'pay,bridge' AS psp, 'say "hi"' AS merchant_reference, '' AS psp_reference,
              NULL AS status, E'two\\nlines' AS currency, CAST(-9007199254740993 AS BIGINT)
              AS amount_minor, TIMESTAMPTZ '2026-11-02 23:59:59.123456+00' AS occurred_at
       UNION ALL
       SELECT 'p2', 'r2', NULL, 's', 'EUR', NULL, NULL"""
).columns(occurred_at=UTCDateTime)


def test_every_value_survives_the_postgresql_copy_whatever_the_session_settings(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's; SQLite is read row by row")
    with engine.connect() as conn:
        conn.execute(text("SET TimeZone = 'Asia/Tokyo'"))
        conn.execute(text("SET DateStyle = 'SQL, DMY'"))
        frame = wallet_source._load(conn, "test", _TRICKY, {}, ORPHAN_CALLBACKS, "ORPHANS")
        settings_after = conn.execute(text("SELECT current_setting('TimeZone'), "
                                           "current_setting('DateStyle')")).one()  # fmt: skip
    assert tuple(settings_after) == ("Asia/Tokyo", "SQL, DMY")
    assert records(frame) == [
        ("pay,bridge", 'say "hi"', "", None, "two\nlines", -9007199254740993,
         pd.Timestamp("2026-11-02 23:59:59.123456", tz="UTC")),
        ("p2", "r2", None, "s", "EUR", None, None),
    ]  # fmt: skip
    assert str(frame["psp"].dtype) == "string" and frame["psp"].dtype.storage == "pyarrow"


def test_the_game_wallet_is_copied_into_the_workspace_within_the_period(engine, tmp_path):
    # load_game_transactions_into on PostgreSQL: COPY into a CSV file in the spool folder,
    # read into the workspace's table; [start, end) to the microsecond, the file removed.
    if engine.dialect.name != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's; SQLite is read in chunks")
    import duckdb
    from sqlalchemy import create_engine

    schema = f"game_wallet_{os.getpid()}"
    start, end = DAY_START, DAY_END
    middle = start + (end - start) / 2
    tick = timedelta(microseconds=1)
    times = [start - tick, start, middle - tick, middle, middle + tick, end - tick, end]
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
        conn.execute(
            text(
                f"CREATE TABLE {schema}.booked (provider text, provider_transaction_id text, "
                "round_id text, player_ref text, kind text, amount_minor bigint, currency text, "
                "created_at timestamptz, game_id text, round_status text)"
            )
        )
        for i, at in enumerate(times):
            conn.execute(
                text(
                    f"INSERT INTO {schema}.booked VALUES ('spinworks', :tx, 'r', NULL, 'bet', "
                    "100, 'EUR', :at, 'g', 'completed')"
                ),
                {"tx": f"t{i}", "at": at},
            )
        conn.execute(
            text(
                f"CREATE VIEW {schema}.pw_casino_wallet_transactions AS "
                f"SELECT * FROM {schema}.booked"
            )
        )
    scoped = create_engine(engine.url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        with duckdb.connect() as con, scoped.connect() as conn:
            n = wallet_source.load_game_transactions_into(
                con, conn, start, end, table="gw", spool=tmp_path
            )
            con.execute("SET TimeZone = 'UTC'")
            rows = con.sql(
                "SELECT provider_transaction_id, created_at FROM gw ORDER BY 2"
            ).fetchall()
    finally:
        scoped.dispose()
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    assert n == 5
    assert [tx for tx, _ in rows] == ["t1", "t2", "t3", "t4", "t5"]
    assert [at for _, at in rows] == times[1:6]
    assert list(tmp_path.iterdir()) == []  # the COPY's file is gone


def test_a_day_whose_files_take_every_reading_path_reads_as_one_frame(tmp_path: Path):
    """One file read by DuckDB directly, one split by Python's csv (a blank line), one with
    no row, one with no good row (its columns have no type): one frame, every row kept."""
    header = ",".join(COLUMNS) + "\n"
    row = (
        "{psp},{ref},m-{ref},Settled,2026-11-02T10:00:00.000Z,2026-11-02T23:59:59.000Z,"
        "EUR,10.00,EUR,9.70,-0.30,1,1001\n"
    )
    day = "2026-11-02"
    (tmp_path / f"paybridge-settlement-{day}.csv").write_text(
        header + row.format(psp="paybridge", ref="pb1"), encoding="utf-8"
    )
    (tmp_path / f"nordpay-settlement-{day}.csv").write_text(
        header + "\n" + row.format(psp="nordpay", ref="np1"), encoding="utf-8"
    )
    (tmp_path / f"ewallo-settlement-{day}.csv").write_text(header, encoding="utf-8")
    (tmp_path / f"pixgate-settlement-{day}.csv").write_text(header + '"cut\n', encoding="utf-8")

    rows, rejects, files = read_psp_reports(
        tmp_path, date(2026, 11, 2), ["paybridge", "nordpay", "ewallo", "pixgate"]
    )

    assert len(files) == 4
    assert records(rows, "psp", "psp_reference", "source_file", "source_line") == [
        ("paybridge", "pb1", f"paybridge-settlement-{day}.csv", 2),
        ("nordpay", "np1", f"nordpay-settlement-{day}.csv", 3),
    ]
    assert records(rejects, "source_file", "source_line") == [
        (f"nordpay-settlement-{day}.csv", 2),
        (f"pixgate-settlement-{day}.csv", 2),
    ]


# -- Arrow results as frames -------------------------------------------------------------------


def test_a_frame_from_arrow_batches_keeps_none_of_the_batches_buffers():
    # A chunk DuckDB exported keeps its whole record batch alive: the frame's strings must
    # live in buffers of their own, not in the batches'.
    batches = [
        pa.record_batch({"ref": pa.array([f"dep-{b}-{i}" for i in range(3)], pa.large_string()),
                         "n": pa.array([1, 2, None], pa.int64())})
        for b in range(2)
    ]  # fmt: skip
    table = pa.Table.from_batches(batches)
    batch_buffers = {
        buf.address for batch in batches for col in batch.columns for buf in col.buffers() if buf
    }

    frame = arrow_to_pandas(table)

    chunks = frame["ref"].array._pa_array.chunks
    assert len(chunks) == 1
    assert not {buf.address for buf in chunks[0].buffers() if buf} & batch_buffers
    assert list(frame["ref"]) == [f"dep-{b}-{i}" for b in range(2) for i in range(3)]
    assert frame["ref"].dtype == STRING
    assert frame["n"].tolist() == [1, 2, pd.NA, 1, 2, pd.NA]


def test_categories_of_an_arrow_result_are_dictionary_encoded_and_sorted():
    table = pa.table({"psp": pa.array(["nordpay", "ewallo", None, "nordpay"], pa.large_string())})

    frame = from_arrow(table, {"psp": "category"}, "t")

    assert list(frame["psp"].cat.categories) == ["ewallo", "nordpay"]
    assert frame["psp"].tolist()[:2] == ["nordpay", "ewallo"] and pd.isna(frame["psp"][2])
