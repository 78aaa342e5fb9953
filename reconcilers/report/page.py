"""The HTML report: one self-contained page (inline CSS and SVG, no scripts) for a finance
lead closing the month: what happened, how much money is at risk, how old it is, and the
breaks to chase first. This module shapes the figures; ``templates/page.html.j2`` is the
markup."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from reconcilers.report.aggregate import count_by, open_breaks, risk_by_currency, top_breaks
from reconcilers.report.charts import charts
from reconcilers.report.files import replacing
from reconcilers.report.formatting import (
    age_text,
    as_text,
    duration_text,
    format_amount,
    is_missing,
    iso_utc,
    period_text,
    when,
)
from reconcilers.report.labels import (
    PAIR_LABELS,
    SOURCE_LABELS,
    TYPE_LABELS,
    label,
    psp_label,
)
from reconcilers.report.shown import shared_details, side_currency
from reconcilers.report.templating import render
from reconcilers.summary import RunSummary

TOP_HEADERS = (
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
)


def _risk_cell(amount_minor: int | None, currency: str) -> str:
    if amount_minor is None:
        return "–"
    return format_amount(amount_minor, currency).removeprefix(f"{currency} ")


def _by_type_and_psp(frame: pd.DataFrame) -> dict[str, object] | None:
    """The open breaks per (type, PSP), most first, with their amounts per currency."""
    if frame.empty:
        return None
    currencies = sorted(frame["currency"].dropna().unique().tolist())
    groups = frame.assign(psp=frame["psp"].fillna("none")).groupby(["type", "psp"], sort=False)
    rows = []
    for (break_type, psp), group in groups:
        risk = risk_by_currency(group)
        cells = [
            label(TYPE_LABELS, str(break_type)),
            psp_label(str(psp)),
            f"{len(group):,}",
            *(_risk_cell(risk.get(c), c) for c in currencies),
        ]
        rows.append((-len(group), str(break_type), str(psp), cells))
    rows.sort(key=lambda r: r[:3])
    total = risk_by_currency(frame)
    return {
        "headers": ["Type", "PSP", "Open breaks", *(f"At risk {c}" for c in currencies)],
        "rows": [r[3] for r in rows],
        "total": [
            "Total",
            "",
            f"{len(frame):,}",
            *(_risk_cell(total.get(c), c) for c in currencies),
        ],
    }


def _side(rec: Mapping[str, object], side: str) -> str:
    ccy = side_currency(str(rec["type"]), rec[f"{side}_value"], rec["currency"])
    amount = rec[f"{side}_amount_minor"]
    parts = []
    if not is_missing(amount):
        parts.append(
            format_amount(int(amount), str(ccy)) if not is_missing(ccy) else str(amount)  # type: ignore[call-overload]
        )
    if not is_missing(rec[f"{side}_value"]):
        parts.append(str(rec[f"{side}_value"]))
    return " · ".join(parts) if parts else "–"


def _to_chase(frame: pd.DataFrame) -> dict[str, object] | None:
    """The first open breaks to chase, one row of cells each, and how many are left out."""
    top = top_breaks(frame)
    if top.empty:
        return None
    rows = []
    for rec in top.to_dict("records"):
        risk = rec["amount_at_risk_minor"]
        rows.append(
            [
                age_text(int(rec["age_seconds"])),
                label(TYPE_LABELS, str(rec["type"])),
                psp_label(as_text(rec["psp"])),
                as_text(rec["affiliate"]) or "–",
                as_text(rec["reference"]),
                as_text(rec["psp_reference"]),
                _side(rec, "wallet"),
                _side(rec, "other"),
                format_amount(int(risk), str(rec["currency"]))
                if not is_missing(risk) and not is_missing(rec["currency"])
                else "–",
                iso_utc(rec["first_seen_at"]),
                as_text(shared_details(rec)),
            ]
        )
    shown = f"Showing {len(top):,} of {len(frame):,} open breaks"
    note = f"{shown}; every break is in the CSV." if len(frame) > len(top) else f"{shown}."
    return {"note": note, "headers": TOP_HEADERS, "rows": rows}


def _pairs(summary: RunSummary, frame: pd.DataFrame) -> list[list[str]]:
    """Per pair: matched, in flight, open breaks; the known pairs first."""
    open_per_pair = dict(count_by(frame, "pair"))
    known = list(PAIR_LABELS)
    pairs = sorted(
        set(summary.matched) | set(summary.in_flight) | set(open_per_pair),
        key=lambda p: (known.index(p) if p in known else len(known), p),
    )
    return [
        [
            label(PAIR_LABELS, p),
            f"{summary.matched.get(p, 0):,}",
            f"{summary.in_flight.get(p, 0):,}",
            f"{open_per_pair.get(p, 0):,}",
        ]
        for p in pairs
    ]


def render_html(summary: RunSummary, breaks: pd.DataFrame) -> str:
    """The report page as a string (see ``write_html``)."""
    frame = open_breaks(breaks, summary.finished_at)
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
    return render(
        "page.html.j2",
        title=f"Reconciliation report {period_text(summary)}",
        run_id=summary.run_id,
        started=when(summary.started_at),
        finished=when(summary.finished_at),
        duration=duration_text(summary.duration_seconds),
        failed=failed,
        outcome=outcome,
        figures=figures,
        sources=[[label(SOURCE_LABELS, s), f"{n:,}"] for s, n in summary.rows.items()],
        pairs=_pairs(summary, frame),
        by_type_and_psp=_by_type_and_psp(frame),
        charts=charts(frame),
        to_chase=_to_chase(frame),
    )


def write_html(summary: RunSummary, breaks: pd.DataFrame, path: Path) -> Path:
    """One self-contained HTML report (inline CSS and SVG, no scripts) of a run's open breaks."""
    page = render_html(summary, breaks)
    with replacing(path) as handle:
        handle.write(page)
    return path
