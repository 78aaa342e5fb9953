"""The reconciliation reports: a CSV of breaks, a rejects CSV and one self-contained HTML page.

The CSV is for spreadsheets and other systems (``csv_report``); the HTML page for a finance
lead closing the month (``page``, its charts in ``charts``, its markup in ``templates/``).
Both count the open breaks the same way (``aggregate``) and write money and time the same
way (``formatting``). This package re-exports the public names only.
"""

from reconcilers.report.aggregate import (
    AGE_BUCKETS,
    TOP_BREAKS,
    age_bucket,
    count_by,
    open_breaks,
    risk_by_currency,
    top_breaks,
)
from reconcilers.report.charts import svg_bar_chart
from reconcilers.report.csv_report import CSV_COLUMNS, csv_rows, write_csv, write_rejects_csv
from reconcilers.report.files import report_paths
from reconcilers.report.formatting import (
    duration_text,
    format_amount,
    iso_utc,
    known_currency,
    major,
    period_text,
)
from reconcilers.report.labels import PAIR_LABELS, SOURCE_LABELS, TYPE_LABELS
from reconcilers.report.page import render_html, write_html
from reconcilers.report.shown import shared_details

__all__ = [
    "AGE_BUCKETS",
    "CSV_COLUMNS",
    "PAIR_LABELS",
    "SOURCE_LABELS",
    "TOP_BREAKS",
    "TYPE_LABELS",
    "age_bucket",
    "count_by",
    "csv_rows",
    "duration_text",
    "format_amount",
    "iso_utc",
    "known_currency",
    "major",
    "open_breaks",
    "period_text",
    "render_html",
    "report_paths",
    "risk_by_currency",
    "shared_details",
    "svg_bar_chart",
    "top_breaks",
    "write_csv",
    "write_html",
    "write_rejects_csv",
]
