"""The report's charts: horizontal bar charts as inline SVG (no assets, no JavaScript)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from reconcilers.report.aggregate import AGE_BUCKETS, count_by, risk_by_currency
from reconcilers.report.formatting import format_amount
from reconcilers.report.labels import TYPE_LABELS, label, psp_label
from reconcilers.report.templating import render

ACCENT = "#2f6fb0"
AGE_COLOURS = ("#6aa84f", "#e0b400", "#e07b00", "#c0392b")
_CHART_WIDTH, _LABEL_W, _BAR_MAX, _ROW_H = 720, 210, 360, 26


@dataclass(frozen=True)
class Bar:
    label: str
    value: int  # what the bar's length is proportional to
    caption: str  # what is written after the bar
    segments: tuple[tuple[int, str], ...] = ()  # stacked parts (value, colour), if any


@dataclass(frozen=True)
class Rect:
    x: int
    width: int
    colour: str


@dataclass(frozen=True)
class Row:
    """One bar, placed: its label, its rectangles and its caption."""

    y: int
    text_y: int
    label: str
    rects: tuple[Rect, ...]
    caption: str
    caption_x: int


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: int
    label_x: int
    rows: tuple[Row, ...]
    empty: str


def layout(title: str, bars: Sequence[Bar], *, empty: str = "No open breaks") -> Chart:
    """Where each bar goes: lengths proportional to the largest value."""
    top = max((b.value for b in bars), default=0) or 1
    rows = []
    for i, bar in enumerate(bars):
        y = 6 + i * _ROW_H
        width = round(_BAR_MAX * bar.value / top) if bar.value > 0 else 0
        x = _LABEL_W
        segments = bar.segments or ((bar.value, ACCENT),)
        total = sum(v for v, _ in segments) or 1
        rects = []
        for value, colour in segments:
            seg = round(width * value / total)
            if seg > 0:
                rects.append(Rect(x, seg, colour))
            x += seg
        rows.append(Row(y, y + 15, bar.label, tuple(rects), bar.caption, _LABEL_W + width + 6))
    height = max(len(bars), 1) * _ROW_H + 12
    return Chart(title, _CHART_WIDTH, height, _LABEL_W - 8, tuple(rows), empty)


def svg_bar_chart(title: str, bars: Sequence[Bar], *, empty: str = "No open breaks") -> str:
    """A horizontal bar chart as inline SVG; labels and captions are escaped."""
    return render("bar_chart.svg.j2", chart=layout(title, bars, empty=empty))


@dataclass(frozen=True)
class Figure:
    heading: str
    chart: Chart
    note: str


def charts(frame: pd.DataFrame) -> list[Figure]:
    """The four charts of the open breaks."""
    by_type = [Bar(label(TYPE_LABELS, t), n, f"{n:,}") for t, n in count_by(frame, "type")]
    by_psp = [Bar(psp_label(p), n, f"{n:,}") for p, n in count_by(frame, "psp")]
    counts = frame["age_bucket"].value_counts()
    by_age = [
        Bar(name, int(counts.get(name, 0)), f"{int(counts.get(name, 0)):,}", ((1, colour),))
        for name, colour in zip(AGE_BUCKETS, AGE_COLOURS, strict=True)
    ]
    # Currencies are not converted: each currency's bar is its own 100%, split by age, with
    # the amount written beside it.
    by_ccy = []
    for currency, total in risk_by_currency(frame).items():
        rows = frame[frame["currency"] == currency]
        per_age = rows.groupby("age_bucket")["amount_at_risk_minor"].sum()
        parts = tuple(
            (int(per_age.get(name, 0)), colour)
            for name, colour in zip(AGE_BUCKETS, AGE_COLOURS, strict=True)
        )
        by_ccy.append(Bar(currency, 1 if total else 0, format_amount(total, currency), parts))
    legend = " · ".join(AGE_BUCKETS)
    return [
        Figure("Open breaks by type", layout("Open breaks by type", by_type), ""),
        Figure("Open breaks by PSP", layout("Open breaks by PSP", by_psp), ""),
        Figure(
            "Amount at risk by currency",
            layout("Amount at risk by currency", by_ccy),
            "Not converted between currencies: each bar is that currency's total, "
            f"coloured by age ({legend}).",
        ),
        Figure("Aging of open breaks", layout("Aging of open breaks", by_age), ""),
    ]
