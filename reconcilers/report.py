"""The reconciliation reports: a CSV of breaks, a rejects CSV and one self-contained HTML page.

The CSV is for spreadsheets and other systems (every break, exact amounts); the HTML page is for
a finance lead closing the month (what happened, how much money is at risk, how old it is, and
the breaks to chase first). Charts are inline SVG drawn here: no external assets, no JavaScript.
"""

from __future__ import annotations

import csv
import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd

from igaming.money import CURRENCY_EXPONENTS, to_major
from reconcilers.frames import LEDGER_BREAKS, REJECTS, conform
from reconcilers.summary import RunSummary

TOP_BREAKS = 200

DAY = 86_400
AGE_BUCKETS: tuple[str, ...] = ("<1 day", "1–3 days", "3–7 days", ">7 days")
_AGE_LIMITS = (DAY, 3 * DAY, 7 * DAY)

# Stable, documented CSV columns: identity, money in major units, both sides, life, then the
# exact minor-unit amounts for machines.
CSV_COLUMNS: tuple[str, ...] = (
    "break_key",
    "status",
    "pair",
    "type",
    "psp",
    "affiliate",
    "reference",
    "psp_reference",
    "currency",
    "amount_at_risk",
    "wallet_currency",
    "wallet_amount",
    "other_currency",
    "other_amount",
    "wallet_value",
    "other_value",
    "occurred_at",
    "first_seen_at",
    "last_seen_at",
    "resolved_at",
    "age_seconds",
    "age_bucket",
    "details",
    "amount_at_risk_minor",
    "wallet_amount_minor",
    "other_amount_minor",
)

# Text that comes from PSP files, exports or the wallet: a spreadsheet must not run it.
_UNTRUSTED_TEXT = (
    "psp",
    "affiliate",
    "reference",
    "psp_reference",
    "wallet_value",
    "other_value",
    "details",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

TYPE_LABELS: Mapping[str, str] = {
    "missing_at_psp": "Missing at PSP",
    "missing_in_wallet": "Missing in wallet",
    "amount_mismatch": "Amount mismatch",
    "currency_mismatch": "Currency mismatch",
    "status_mismatch": "Status mismatch",
    "duplicate_at_psp": "Duplicate at PSP",
    "duplicate_in_wallet": "Duplicate in wallet",
    "orphan_callback": "Orphan callback",
    "missing_postback": "Missing postback",
    "phantom_conversion": "Phantom conversion",
    "duplicate_conversion": "Duplicate conversion",
    "balance_mismatch": "Balance mismatch",
    "clearing_residue": "Clearing residue",
    "invalid_record": "Invalid record",
}
PAIR_LABELS: Mapping[str, str] = {
    "wallet_psp": "Wallet ⟷ PSP",
    "wallet_affiliate": "Wallet ⟷ affiliate network",
    "wallet_internal": "Wallet internal",
}
SOURCE_LABELS: Mapping[str, str] = {
    "wallet": "Wallet (contract views)",
    "psp_report": "PSP settlement reports",
    "affiliate_export": "Affiliate conversion exports",
}


# -- file names -----------------------------------------------------------------------------


def report_paths(out_dir: Path, day: date) -> tuple[Path, Path, Path]:
    """The breaks CSV, the HTML report and the rejects CSV of one reconciled day."""
    stem = f"reconciliation-{day.isoformat()}"
    return (
        out_dir / f"{stem}.csv",
        out_dir / f"{stem}.html",
        out_dir / f"{stem}-rejects.csv",
    )


# -- money and time formatting ----------------------------------------------------------------


def known_currency(currency: object) -> bool:
    return isinstance(currency, str) and currency in CURRENCY_EXPONENTS


def major(amount_minor: object, currency: object) -> str:
    """Minor units as a plain decimal string in major units ('-12.34'); '' when unknowable."""
    if _missing(amount_minor) or not known_currency(currency):
        return ""
    return to_major(int(amount_minor), str(currency))  # type: ignore[call-overload]


def format_amount(amount_minor: int, currency: str) -> str:
    """For people: 'EUR 1,234.56'; a currency without a known exponent stays in minor units."""
    if not known_currency(currency):
        return f"{currency} {amount_minor:,} (minor units)"
    value = Decimal(to_major(amount_minor, currency))
    return f"{currency} {value:,.{CURRENCY_EXPONENTS[currency]}f}"


def iso_utc(value: object) -> str:
    """ISO 8601 in UTC with a Z ('2026-11-02T10:15:00Z'); '' for a missing timestamp."""
    if _missing(value):
        return ""
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.isoformat().replace("+00:00", "Z")


def age_bucket(age_seconds: object) -> str:
    if _missing(age_seconds):
        return ""
    for label, limit in zip(AGE_BUCKETS, _AGE_LIMITS, strict=False):
        if int(age_seconds) < limit:  # type: ignore[call-overload]
            return label
    return AGE_BUCKETS[-1]


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or bool(pd.isna(value))


def _side_currency(break_type: str, side_value: object, currency: object) -> object:
    # A currency mismatch carries each side's currency in its value column; each amount must
    # be scaled by its own currency's exponent (EUR 12.00 against JPY 1200).
    if break_type == "currency_mismatch" and known_currency(side_value):
        return side_value
    return currency


# -- CSV ------------------------------------------------------------------------------------


def _ordered(breaks: pd.DataFrame) -> pd.DataFrame:
    # break_key is unique, so the order is total and does not depend on the input's order.
    frame = conform(breaks, LEDGER_BREAKS, "breaks")
    keys = ["pair", "type", "psp", "reference", "break_key"]
    return frame.sort_values(keys, kind="mergesort", na_position="last").reset_index(drop=True)


def _defuse(text: object) -> str:
    # A cell starting with = + - @ is a formula in Excel/Sheets (CSV injection); a leading
    # apostrophe makes it text.
    if _missing(text):
        return ""
    value = str(text)
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def shared_details(rec: Mapping[str, object]) -> object:
    """A break's details as the shared reports show them (the CSV uploaded to Slack, the
    HTML report). A balance_mismatch's ledger details name the account's owner, a player
    id: the break ledger (the operator's own database) keeps them for investigation, the
    reports rebuild them from the break's columns, where the account id (the reference)
    leads an investigator back to the player without naming them to the channel."""
    if rec["type"] != "balance_mismatch":
        return rec["details"]
    currency = _text(rec["currency"])
    stored = major(rec["wallet_amount_minor"], currency) or _text(rec["wallet_amount_minor"])
    entries = major(rec["other_amount_minor"], currency) or _text(rec["other_amount_minor"])
    return (
        f"account {_text(rec['reference'])}: stored balance {stored} {currency}, "
        f"ledger entries sum to {entries} {currency}"
    )


def csv_rows(breaks: pd.DataFrame) -> list[dict[str, str]]:
    """The breaks as CSV records (strings), in the report's stable order."""
    rows: list[dict[str, str]] = []
    for rec in _ordered(breaks).to_dict("records"):
        wallet_ccy = _side_currency(rec["type"], rec["wallet_value"], rec["currency"])
        other_ccy = _side_currency(rec["type"], rec["other_value"], rec["currency"])
        row = {
            "break_key": _text(rec["break_key"]),
            "status": _text(rec["status"]),
            "pair": _text(rec["pair"]),
            "type": _text(rec["type"]),
            "currency": _text(rec["currency"]),
            "amount_at_risk": major(rec["amount_at_risk_minor"], rec["currency"]),
            "wallet_currency": _text(wallet_ccy),
            "wallet_amount": major(rec["wallet_amount_minor"], wallet_ccy),
            "other_currency": _text(other_ccy),
            "other_amount": major(rec["other_amount_minor"], other_ccy),
            "occurred_at": iso_utc(rec["occurred_at"]),
            "first_seen_at": iso_utc(rec["first_seen_at"]),
            "last_seen_at": iso_utc(rec["last_seen_at"]),
            "resolved_at": iso_utc(rec["resolved_at"]),
            "age_seconds": _text(rec["age_seconds"]),
            "age_bucket": age_bucket(rec["age_seconds"]),
            "amount_at_risk_minor": _text(rec["amount_at_risk_minor"]),
            "wallet_amount_minor": _text(rec["wallet_amount_minor"]),
            "other_amount_minor": _text(rec["other_amount_minor"]),
        }
        row.update({column: _defuse(rec[column]) for column in _UNTRUSTED_TEXT})
        row["details"] = _defuse(shared_details(rec))
        rows.append({column: row[column] for column in CSV_COLUMNS})
    return rows


def _text(value: object) -> str:
    return "" if _missing(value) else str(value)


def _write_records(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    # RFC 4180: CRLF records, fields quoted only when needed; written then renamed so that a
    # report that exists is complete.
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)
    return path


def write_csv(breaks: pd.DataFrame, path: Path) -> Path:
    """Every break, one row each: amounts in major units and in minor units, UTC timestamps."""
    return _write_records(path, CSV_COLUMNS, csv_rows(breaks))


def write_rejects_csv(rejects: pd.DataFrame, path: Path) -> Path:
    """The quarantined input rows (REJECTS), ordered by file and line, for whoever fixes them."""
    frame = conform(rejects, REJECTS, "rejects").sort_values(
        ["source", "source_file", "source_line", "reason"], kind="mergesort", na_position="last"
    )
    rows = (
        {
            "source": _text(r["source"]),
            "source_file": _defuse(r["source_file"]),
            "source_line": _text(r["source_line"]),
            "reason": _defuse(r["reason"]),
            "raw": _defuse(r["raw"]),
        }
        for r in frame.to_dict("records")
    )
    return _write_records(path, list(REJECTS), rows)


# -- aggregation ------------------------------------------------------------------------------


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


# -- HTML -----------------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(_text(value), quote=True)


def _label(labels: Mapping[str, str], key: str) -> str:
    return labels.get(key, key)


def _psp_label(psp: str) -> str:
    return "(no PSP)" if psp in ("none", "") else psp


def _when(value: datetime) -> str:
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.strftime("%Y-%m-%d %H:%M UTC")


def period_text(summary: RunSummary) -> str:
    """'2026-11-02 (UTC day)' for a whole day, else the [start, end) range."""
    start, end = pd.Timestamp(summary.period_start), pd.Timestamp(summary.period_end)
    if start == start.normalize() and end - start == timedelta(days=1):
        return f"{start.date().isoformat()} (UTC day)"
    return f"{_when(start)} → {_when(end)}"


def duration_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def _age_text(age_seconds: int) -> str:
    if age_seconds < DAY:
        return f"{age_seconds / 3600:.1f} h"
    return f"{age_seconds / DAY:.1f} d"


@dataclass(frozen=True)
class _Bar:
    label: str
    value: int  # what the bar's length is proportional to
    caption: str  # what is written after the bar
    segments: tuple[tuple[int, str], ...] = ()  # stacked parts (value, colour), if any


_ACCENT = "#2f6fb0"
_AGE_COLOURS = ("#6aa84f", "#e0b400", "#e07b00", "#c0392b")
_CHART_WIDTH, _LABEL_W, _BAR_MAX, _ROW_H = 720, 210, 360, 26


def svg_bar_chart(title: str, bars: Sequence[_Bar], *, empty: str = "No open breaks") -> str:
    """A horizontal bar chart as inline SVG; labels and captions are escaped."""
    height = max(len(bars), 1) * _ROW_H + 12
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{_CHART_WIDTH}" '
        f'height="{height}" viewBox="0 0 {_CHART_WIDTH} {height}" role="img" '
        f'aria-label="{_e(title)}">',
        f"<title>{_e(title)}</title>",
    ]
    if not bars:
        parts.append(f'<text x="0" y="20" class="muted">{_e(empty)}</text>')
    top = max((b.value for b in bars), default=0) or 1
    for i, bar in enumerate(bars):
        y = 6 + i * _ROW_H
        width = round(_BAR_MAX * bar.value / top) if bar.value > 0 else 0
        parts.append(
            f'<text x="{_LABEL_W - 8}" y="{y + 15}" text-anchor="end">{_e(bar.label)}</text>'
        )
        x = _LABEL_W
        segments = bar.segments or ((bar.value, _ACCENT),)
        total = sum(v for v, _ in segments) or 1
        for value, colour in segments:
            seg = round(width * value / total)
            if seg > 0:
                parts.append(
                    f'<rect x="{x}" y="{y}" width="{seg}" height="18" fill="{colour}"></rect>'
                )
            x += seg
        parts.append(f'<text x="{_LABEL_W + width + 6}" y="{y + 15}">{_e(bar.caption)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _charts(frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(heading, svg, note) for the four charts."""
    by_type = [_Bar(_label(TYPE_LABELS, t), n, f"{n:,}") for t, n in count_by(frame, "type")]
    by_psp = [_Bar(_psp_label(p), n, f"{n:,}") for p, n in count_by(frame, "psp")]
    counts = frame["age_bucket"].value_counts()
    by_age = [
        _Bar(label, int(counts.get(label, 0)), f"{int(counts.get(label, 0)):,}", ((1, colour),))
        for label, colour in zip(AGE_BUCKETS, _AGE_COLOURS, strict=True)
    ]
    # Currencies are not converted: each currency's bar is its own 100%, split by age, with
    # the amount written beside it.
    by_ccy = []
    for currency, total in risk_by_currency(frame).items():
        rows = frame[frame["currency"] == currency]
        per_age = rows.groupby("age_bucket")["amount_at_risk_minor"].sum()
        parts = tuple(
            (int(per_age.get(label, 0)), colour)
            for label, colour in zip(AGE_BUCKETS, _AGE_COLOURS, strict=True)
        )
        by_ccy.append(_Bar(currency, 1 if total else 0, format_amount(total, currency), parts))
    legend = " · ".join(AGE_BUCKETS)
    return [
        ("Open breaks by type", svg_bar_chart("Open breaks by type", by_type), ""),
        ("Open breaks by PSP", svg_bar_chart("Open breaks by PSP", by_psp), ""),
        (
            "Amount at risk by currency",
            svg_bar_chart("Amount at risk by currency", by_ccy),
            "Not converted between currencies: each bar is that currency's total, "
            f"coloured by age ({legend}).",
        ),
        ("Aging of open breaks", svg_bar_chart("Aging of open breaks", by_age), ""),
    ]


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, numeric_from: int) -> str:
    """A table of already-escaped cells; columns from ``numeric_from`` are right-aligned."""

    def cells(tag: str, values: Sequence[str]) -> str:
        return "".join(
            f'<{tag} class="num">{v}</{tag}>' if i >= numeric_from else f"<{tag}>{v}</{tag}>"
            for i, v in enumerate(values)
        )

    body = "".join(f"<tr>{cells('td', r)}</tr>" for r in rows)
    return (
        f"<table><thead><tr>{cells('th', [_e(h) for h in headers])}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def _summary_by_type_and_psp(frame: pd.DataFrame) -> str:
    if frame.empty:
        return '<p class="muted">No open breaks.</p>'
    currencies = sorted(frame["currency"].dropna().unique().tolist())
    groups = frame.assign(psp=frame["psp"].fillna("none")).groupby(["type", "psp"], sort=False)
    rows = []
    for (break_type, psp), group in groups:
        risk = risk_by_currency(group)
        rows.append(
            (
                -len(group),
                str(break_type),
                str(psp),
                [
                    _e(_label(TYPE_LABELS, str(break_type))),
                    _e(_psp_label(str(psp))),
                    f"{len(group):,}",
                    *(_e(_risk_cell(risk.get(c), c)) for c in currencies),
                ],
            )
        )
    rows.sort(key=lambda r: r[:3])
    total = risk_by_currency(frame)
    totals = [
        "<strong>Total</strong>",
        "",
        f"<strong>{len(frame):,}</strong>",
        *(f"<strong>{_e(_risk_cell(total.get(c), c))}</strong>" for c in currencies),
    ]
    headers = ["Type", "PSP", "Open breaks", *(f"At risk {c}" for c in currencies)]
    return _table(headers, [*(r[3] for r in rows), totals], numeric_from=2)


def _risk_cell(amount_minor: int | None, currency: str) -> str:
    if amount_minor is None:
        return "–"
    return format_amount(amount_minor, currency).removeprefix(f"{currency} ")


def _side(rec: Mapping[str, object], side: str) -> str:
    ccy = _side_currency(str(rec["type"]), rec[f"{side}_value"], rec["currency"])
    amount = rec[f"{side}_amount_minor"]
    parts = []
    if not _missing(amount):
        parts.append(
            format_amount(int(amount), str(ccy)) if not _missing(ccy) else str(amount)  # type: ignore[call-overload]
        )
    if not _missing(rec[f"{side}_value"]):
        parts.append(str(rec[f"{side}_value"]))
    return _e(" · ".join(parts)) if parts else "–"


def _top_table(frame: pd.DataFrame) -> str:
    top = top_breaks(frame)
    if top.empty:
        return '<p class="muted">No open breaks.</p>'
    rows = []
    for rec in top.to_dict("records"):
        risk = rec["amount_at_risk_minor"]
        rows.append(
            [
                _e(_age_text(int(rec["age_seconds"]))),
                _e(_label(TYPE_LABELS, str(rec["type"]))),
                _e(_psp_label(_text(rec["psp"]))),
                _e(rec["affiliate"]) or "–",
                f"<code>{_e(rec['reference'])}</code>",
                f"<code>{_e(rec['psp_reference'])}</code>",
                _side(rec, "wallet"),
                _side(rec, "other"),
                _e(format_amount(int(risk), str(rec["currency"])))
                if not _missing(risk) and not _missing(rec["currency"])
                else "–",
                _e(iso_utc(rec["first_seen_at"])),
                _e(shared_details(rec)),
            ]
        )
    headers = [
        "Age",
        "Type",
        "PSP",
        "Affiliate",
        "Reference",
        "PSP reference",
        "Wallet side",
        "PSP / network side",
        "At risk",
        "First seen",
        "Details",
    ]
    shown = f"Showing {len(top):,} of {len(frame):,} open breaks"
    note = f"{shown}; every break is in the CSV." if len(frame) > len(top) else f"{shown}."
    return f'<p class="muted">{_e(note)}</p>' + _table(headers, rows, numeric_from=99)


def _kv_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    return _table(headers, rows, numeric_from=1)


_CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1d2430;
margin:2rem auto;max-width:1200px;padding:0 1rem;line-height:1.4}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;
border-bottom:1px solid #d8dde6;padding-bottom:.2rem}
.muted{color:#5d6b7e;fill:#5d6b7e}.outcome{padding:.6rem 1rem;border-radius:6px;margin:1rem 0;
font-weight:600}.success{background:#e6f4ea;color:#1e5631}.failed{background:#fdecea;color:#8a1c12}
.figures{display:flex;gap:1rem;flex-wrap:wrap}.figure{border:1px solid #d8dde6;border-radius:6px;
padding:.6rem 1rem;min-width:9rem}.figure .n{font-size:1.6rem;font-weight:700}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #d8dde6;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f3f5f8}.num{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:.85rem;word-break:break-all}svg.chart{font-size:12px;fill:#1d2430;max-width:100%;
height:auto}.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:1rem}
@media print{.charts{display:block}h2{page-break-after:avoid}}
"""


def render_html(summary: RunSummary, breaks: pd.DataFrame) -> str:
    """The report page as a string (see ``write_html``)."""
    frame = open_breaks(breaks, summary.finished_at)
    period = period_text(summary)
    failed = summary.outcome != "success"
    outcome = (
        f"Run FAILED: {summary.error or 'no error recorded'}. The figures below are incomplete."
        if failed
        else f"Run succeeded in {duration_text(summary.duration_seconds)}."
    )
    risk = summary.amount_at_risk_minor or risk_by_currency(frame)
    figures = [
        ("New breaks", f"{summary.new_breaks:,}"),
        ("Resolved", f"{summary.resolved_breaks:,}"),
        ("Open breaks", f"{summary.open_breaks:,}"),
        *((f"At risk {c}", format_amount(a, c).removeprefix(f"{c} ")) for c, a in risk.items()),
    ]
    figure_html = "".join(
        f'<div class="figure"><div class="muted">{_e(k)}</div><div class="n">{_e(v)}</div></div>'
        for k, v in figures
    )
    sources = _kv_table(
        ["Source", "Rows read"],
        ([_e(_label(SOURCE_LABELS, s)), f"{n:,}"] for s, n in summary.rows.items()),
    )
    open_per_pair = dict(count_by(frame, "pair"))
    known = list(PAIR_LABELS)
    pairs = sorted(
        set(summary.matched) | set(summary.in_flight) | set(open_per_pair),
        key=lambda p: (known.index(p) if p in known else len(known), p),
    )
    pair_table = _kv_table(
        ["Pair", "Matched", "In flight (inside settlement window)", "Open breaks"],
        (
            [
                _e(_label(PAIR_LABELS, p)),
                f"{summary.matched.get(p, 0):,}",
                f"{summary.in_flight.get(p, 0):,}",
                f"{open_per_pair.get(p, 0):,}",
            ]
            for p in pairs
        ),
    )
    charts = "".join(
        f"<figure><figcaption><strong>{_e(h)}</strong></figcaption>{svg}"
        + (f'<p class="muted">{_e(note)}</p>' if note else "")
        + "</figure>"
        for h, svg, note in _charts(frame)
    )
    title = f"Reconciliation report {period}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_e(title)}</h1>"
        f'<p class="muted">Run {summary.run_id} · started {_e(_when(summary.started_at))} · '
        f"finished {_e(_when(summary.finished_at))} · "
        f"{_e(duration_text(summary.duration_seconds))}</p>"
        f'<div class="outcome {"failed" if failed else "success"}">{_e(outcome)}</div>'
        f'<div class="figures">{figure_html}</div>'
        "<h2>Rows read per source</h2>"
        f"{sources}"
        "<h2>Matching per pair</h2>"
        f"{pair_table}"
        "<h2>Open breaks by type and PSP</h2>"
        f"{_summary_by_type_and_psp(frame)}"
        "<h2>Charts</h2>"
        f'<div class="charts">{charts}</div>'
        "<h2>Breaks to chase first</h2>"
        '<p class="muted">Oldest first; within an age bucket, the largest amounts of each '
        "currency first.</p>"
        f"{_top_table(frame)}"
        "</body></html>\n"
    )


def write_html(summary: RunSummary, breaks: pd.DataFrame, path: Path) -> Path:
    """One self-contained HTML report (inline CSS and SVG, no scripts) of a run's open breaks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_html(summary, breaks), encoding="utf-8")
    tmp.replace(path)
    return path
