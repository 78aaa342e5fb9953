"""The CSV, rejects CSV and HTML reports of a reconciliation run."""

from __future__ import annotations

import csv
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from reconcilers.frames import REJECTS, conform
from reconcilers.report import (
    CSV_COLUMNS,
    open_breaks,
    render_html,
    report_paths,
    top_breaks,
    write_csv,
    write_html,
    write_rejects_csv,
)
from tests.reconcilers.report_helpers import (
    DAY,
    HOUR,
    NOW,
    breaks_frame,
    ledger_break,
    sample_breaks,
    summary,
)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# -- file names -------------------------------------------------------------------------------


def test_report_paths_name_the_files_after_the_reconciled_day(tmp_path: Path) -> None:
    csv_path, html_path, rejects = report_paths(tmp_path, date(2026, 11, 2))

    assert csv_path == tmp_path / "reconciliation-2026-11-02.csv"
    assert html_path == tmp_path / "reconciliation-2026-11-02.html"
    assert rejects == tmp_path / "reconciliation-2026-11-02-rejects.csv"


# -- CSV ------------------------------------------------------------------------------------


def test_csv_has_one_row_per_break_in_the_stable_column_order(tmp_path: Path) -> None:
    path = write_csv(sample_breaks(), tmp_path / "out" / "r.csv")

    with path.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    assert tuple(header) == CSV_COLUMNS
    assert sorted(r["break_key"] for r in read_csv(path)) == ["a", "b", "c", "d", "e"]


def test_csv_amounts_are_major_units_with_each_currencys_exponent(tmp_path: Path) -> None:
    rows = {r["break_key"]: r for r in read_csv(write_csv(sample_breaks(), tmp_path / "r.csv"))}

    assert rows["a"]["amount_at_risk"] == "1234.56"
    assert rows["c"]["other_amount"] == "1500"  # JPY has no minor unit
    assert rows["d"]["wallet_amount"] == "1.250"  # KWD has three
    assert rows["b"]["wallet_amount"] == "50.00"
    assert rows["b"]["other_amount"] == "49.90"
    assert rows["c"]["wallet_amount"] == ""  # the wallet has no side


def test_csv_round_trips_every_amount_exactly(tmp_path: Path) -> None:
    frame = breaks_frame(
        ledger_break("x", amount_at_risk_minor=999_999_999_999, wallet_amount_minor=1),
        ledger_break("y", currency="BHD", amount_at_risk_minor=1, other_amount_minor=-1005),
    )
    rows = read_csv(write_csv(frame, tmp_path / "r.csv"))

    for row, source in zip(rows, frame.to_dict("records"), strict=True):
        for column in ("amount_at_risk", "wallet_amount", "other_amount"):
            minor = source[f"{column}_minor"]
            if pd.isna(minor):
                assert row[column] == "" and row[f"{column}_minor"] == ""
                continue
            exponent = 3 if source["currency"] == "BHD" else 2
            assert Decimal(row[column]).scaleb(exponent) == minor
            assert int(row[f"{column}_minor"]) == minor
    assert rows[1]["other_amount"] == "-1.005"


def test_csv_scales_each_side_of_a_currency_mismatch_by_its_own_currency(tmp_path: Path) -> None:
    frame = breaks_frame(
        ledger_break(
            "m",
            type="currency_mismatch",
            currency="EUR",
            wallet_value="EUR",
            wallet_amount_minor=1200,
            other_value="JPY",
            other_amount_minor=1200,
        )
    )
    (row,) = read_csv(write_csv(frame, tmp_path / "r.csv"))

    assert (row["wallet_currency"], row["wallet_amount"]) == ("EUR", "12.00")
    assert (row["other_currency"], row["other_amount"]) == ("JPY", "1200")


def test_csv_timestamps_are_iso_8601_utc(tmp_path: Path) -> None:
    frame = breaks_frame(
        ledger_break("t", first_seen_at=pd.Timestamp("2026-11-02T13:15:00+02:00"), age=DAY + 1)
    )
    (row,) = read_csv(write_csv(frame, tmp_path / "r.csv"))

    assert row["first_seen_at"] == "2026-11-02T11:15:00Z"
    assert row["last_seen_at"] == "2026-11-03T02:00:00Z"
    assert row["resolved_at"] == ""
    assert row["age_bucket"] == "1–3 days"


def test_csv_row_order_does_not_depend_on_the_input_order(tmp_path: Path) -> None:
    frame = sample_breaks()
    forward = write_csv(frame, tmp_path / "a.csv").read_bytes()
    backward = write_csv(frame.iloc[::-1], tmp_path / "b.csv").read_bytes()

    assert forward == backward


def test_csv_is_rfc_4180_with_crlf_and_quoted_fields(tmp_path: Path) -> None:
    frame = breaks_frame(ledger_break("q", details='PSP said "no", twice\nthen yes'))
    raw = write_csv(frame, tmp_path / "r.csv").read_bytes()

    assert raw.count(b"\r\n") == 2  # header and record; the embedded newline stays quoted
    assert b'"PSP said ""no"", twice\nthen yes"' in raw
    (row,) = read_csv(tmp_path / "r.csv")
    assert row["details"] == 'PSP said "no", twice\nthen yes'


def test_csv_is_utf8(tmp_path: Path) -> None:
    frame = breaks_frame(ledger_break("u", reference="dép-€-ü"))
    raw = write_csv(frame, tmp_path / "r.csv").read_bytes()

    assert "dép-€-ü".encode() in raw


def test_csv_defuses_spreadsheet_formulas_in_references(tmp_path: Path) -> None:
    frame = breaks_frame(ledger_break("f", reference='=HYPERLINK("http://evil","x")'))
    (row,) = read_csv(write_csv(frame, tmp_path / "r.csv"))

    assert row["reference"] == '\'=HYPERLINK("http://evil","x")'
    assert row["amount_at_risk"] == "10.00"


def test_csv_of_no_breaks_is_just_the_header(tmp_path: Path) -> None:
    raw = write_csv(breaks_frame(), tmp_path / "r.csv").read_bytes()

    assert raw == (",".join(CSV_COLUMNS) + "\r\n").encode()


def test_rejects_csv_keeps_every_rejected_line_in_file_order(tmp_path: Path) -> None:
    rejects = conform(
        pd.DataFrame(
            [
                {
                    "source": "psp_report",
                    "source_file": "paybridge-settlement-2026-11-02.csv",
                    "source_line": 9,
                    "reason": "gross_amount: not a decimal amount",
                    "raw": "paybridge,pb-1,dep-1,Settled,...,12,34",
                },
                {
                    "source": "psp_report",
                    "source_file": "paybridge-settlement-2026-11-02.csv",
                    "source_line": 3,
                    "reason": "gross_currency: unknown currency 'XXX'",
                    "raw": "paybridge,pb-0,dep-0,Settled",
                },
            ]
        ),
        REJECTS,
        "rejects",
    )
    rows = read_csv(write_rejects_csv(rejects, tmp_path / "rejects.csv"))

    assert [r["source_line"] for r in rows] == ["3", "9"]
    assert rows[1]["raw"] == "paybridge,pb-1,dep-1,Settled,...,12,34"


# -- HTML -----------------------------------------------------------------------------------


class _StrictParser(HTMLParser):
    """Fails on unbalanced tags: html.parser itself accepts anything."""

    VOID = {"meta", "br", "hr", "img", "input", "link"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> _StrictParser:
    parser = _StrictParser()
    parser.feed(page)
    parser.close()
    return parser


def visible_text(page: str) -> str:
    return " ".join(" ".join(parse(page).text).split())


def test_html_is_well_formed(tmp_path: Path) -> None:
    page = write_html(summary(), sample_breaks(), tmp_path / "r.html").read_text("utf-8")
    parser = parse(page)

    assert parser.errors == []
    assert parser.stack == []
    assert page.startswith("<!DOCTYPE html>")


def test_html_states_period_outcome_and_the_run_figures() -> None:
    text = visible_text(render_html(summary(), sample_breaks()))

    assert "2026-11-02 (UTC day)" in text
    assert "Run succeeded in 12.5 s" in text
    for label, value in (("New breaks", "3"), ("Resolved", "1"), ("Open breaks", "4")):
        assert f"{label} {value}" in text
    assert "PSP settlement reports 1,200" in text
    assert "Wallet (contract views) 1,234" in text
    assert "Wallet ⟷ PSP 1,187 9 3" in text  # matched, in flight, open breaks
    assert "At risk EUR 1,234.66" in text
    assert "At risk KWD 1.250" in text


def test_html_summary_table_counts_and_sums_per_type_psp_and_currency() -> None:
    text = visible_text(render_html(summary(), sample_breaks()))

    # columns: type, PSP, count, then EUR, JPY, KWD; resolved break "e" is left out
    assert "Missing at PSP paybridge 1 1,234.56 – –" in text
    assert "Missing in wallet paybridge 1 – 1,500 –" in text
    assert "Missing postback (no PSP) 1 – – 1.250" in text
    assert "Total 4 1,234.66 1,500 1.250" in text


def test_html_draws_one_inline_svg_per_chart() -> None:
    page = render_html(summary(), sample_breaks())

    assert page.count("<svg ") == 4
    titles = re.findall(r"<svg [^>]*><title>([^<]*)</title>", page)
    assert titles == [
        "Open breaks by type",
        "Open breaks by PSP",
        "Amount at risk by currency",
        "Aging of open breaks",
    ]


def test_html_aging_chart_puts_each_break_in_its_bucket() -> None:
    page = render_html(summary(), sample_breaks())
    aging = page[page.index("<title>Aging of open breaks</title>") :]
    aging = aging[: aging.index("</svg>")]

    labels = re.findall(r'text-anchor="end">([^<]*)<', aging)
    counts = re.findall(r'<text x="\d+" y="\d+">([^<]*)<', aging)
    assert labels == ["&lt;1 day", "1–3 days", "3–7 days", "&gt;7 days"]
    assert counts == ["1", "1", "1", "1"]


def test_html_is_self_contained() -> None:
    page = render_html(summary(), sample_breaks())
    tags = parse(page).tags

    assert "script" not in tags
    assert "link" not in tags and "img" not in tags
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "@import" not in page and "url(" not in page


def test_html_escapes_a_malicious_reference_everywhere() -> None:
    evil = '<script>alert("x")</script>'
    frame = breaks_frame(
        ledger_break("x", reference=evil, psp="<b>psp</b>", details=evil, other_value=evil)
    )
    page = render_html(summary(error=None), frame)

    assert "<script" not in page
    assert "<b>psp</b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert parse(page).errors == []


def test_html_escapes_a_malicious_run_error() -> None:
    page = render_html(
        summary(outcome="failed", error="bad file <img src=x onerror=alert(1)>"), breaks_frame()
    )

    assert "<img" not in page
    assert "Run FAILED: bad file &lt;img src=x onerror=alert(1)&gt;" in page


def test_html_of_a_failed_run_says_so_and_still_draws_empty_charts() -> None:
    page = render_html(
        summary(outcome="failed", error="paybridge-settlement-2026-11-02.csv: wrong header"),
        breaks_frame(),
    )
    text = visible_text(page)

    assert "Run FAILED: paybridge-settlement-2026-11-02.csv: wrong header" in text
    assert page.count("<svg ") == 4
    assert "No open breaks" in text


def test_html_lists_both_sides_of_each_open_break() -> None:
    text = visible_text(render_html(summary(), sample_breaks()))

    assert "dep-b pb-b EUR 50.00 · approved EUR 49.90 EUR 0.10" in text
    assert "dep-c pb-c – JPY 1,500 · Settled JPY 1,500" in text
    assert "dep-e" not in text  # resolved


def test_top_breaks_are_the_oldest_first_and_capped_at_200() -> None:
    rows = [ledger_break(f"k{i:03d}", age=i * HOUR, amount_at_risk_minor=i) for i in range(250)]
    frame = open_breaks(breaks_frame(*rows), NOW)
    top = top_breaks(frame)

    assert len(top) == 200
    assert top["break_key"].iloc[0] == "k249"  # > 7 days, largest
    assert "k000" not in set(top["break_key"])  # the youngest fall off


def test_html_says_how_many_open_breaks_the_list_leaves_out() -> None:
    rows = [ledger_break(f"k{i:03d}") for i in range(205)]
    text = visible_text(render_html(summary(), breaks_frame(*rows)))

    assert "Showing 200 of 205 open breaks; every break is in the CSV." in text


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC), "2026-11-02 (UTC"),
        (
            datetime(2026, 11, 2, 13, tzinfo=UTC),
            datetime(2026, 11, 2, 14, tzinfo=UTC),
            "2026-11-02 13:00 UTC → 2026-11-02 14:00 UTC",
        ),
    ],
)
def test_html_shows_a_day_or_an_intraday_period(
    start: datetime, end: datetime, expected: str
) -> None:
    text = visible_text(render_html(summary(period_start=start, period_end=end), breaks_frame()))

    assert f"Reconciliation report {expected}" in text
