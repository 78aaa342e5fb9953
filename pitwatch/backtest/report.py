"""The backtest's outputs: Markdown tables (what docs/backtest.md holds), ``scores.json``, and
an HTML report with a timeline per alert (incident bars against pending and firing bars)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from pitwatch.backtest.paging import Page
from pitwatch.backtest.score import Aggregate, RunScore, Spread, iso

SCORES_FILE = "scores.json"
REPORT_FILE = "report.html"


# -- formatting --------------------------------------------------------------------------


def duration(value: float | None) -> str:
    """Seconds as ``45s``, ``12m30s``, ``1h05m``, ``2d3h``; a dash for none."""
    if value is None:
        return "–"
    sign, v = ("-" if value < 0 else ""), round(abs(value))
    if v < 60:
        return f"{sign}{v}s"
    if v < 3600:
        m, s = divmod(v, 60)
        return f"{sign}{m}m{s:02d}s" if s else f"{sign}{m}m"
    if v < 86400:
        h, rest = divmod(v, 3600)
        return f"{sign}{h}h{rest // 60:02d}m"
    d, rest = divmod(v, 86400)
    return f"{sign}{d}d{rest // 3600}h"


def number(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def _spread(s: Spread, fmt: Any, runs: int) -> str:
    """``median`` for one run, ``median (worst)`` for several when they differ."""
    if s.median is None:
        return "–"
    if runs > 1 and s.worst != s.median:
        return f"{fmt(s.median)} ({fmt(s.worst)})"
    return str(fmt(s.median))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# -- Markdown ------------------------------------------------------------------------------


def alert_rows(agg: Aggregate) -> list[tuple[str, ...]]:
    """The per-alert table's rows (Markdown and HTML)."""
    n = len(agg.runs)
    return [
        (
            a.alert,
            a.severity,
            a.team,
            "; ".join(a.catches) or "–",
            _spread(a.caught, number, n),
            _spread(a.missed, number, n),
            _spread(a.detection_median, duration, n),
            _spread(a.detection_worst, duration, n),
            a.promise or "–",
            _spread(a.reset_median, duration, n),
            _spread(a.false_per_week, number, n),
            _spread(a.false_pages_per_week, number, n),
        )
        for a in agg.alerts
    ]


def type_rows(agg: Aggregate) -> list[tuple[str, ...]]:
    """The per-incident-type table's rows (Markdown and HTML)."""
    n = len(agg.runs)
    return [
        (
            t.incident,
            _spread(t.incidents, number, n),
            _spread(t.caught, number, n),
            ", ".join(t.declared_by) or "none",
            ", ".join(f"{k} ({v})" for k, v in sorted(t.caught_by.items())) or "–",
            _spread(t.detection_best, duration, n),
            _spread(t.detection_worst, duration, n),
            _spread(t.pages, number, n),
            ", ".join(t.paged_teams) or "–",
            _spread(t.critical_firings, number, n),
            _spread(t.warnings, number, n),
        )
        for t in agg.types
    ]


def _row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def markdown(agg: Aggregate) -> str:
    """The tables per alert, per incident type and per team (Markdown)."""
    n = len(agg.runs)
    worst = " Several runs: median (worst)." if n > 1 else ""
    lines = [
        "### Per alert",
        "",
        f"Detection: incident start to first firing; reset: incident end to resolution.{worst}",
        "",
        "| alert | severity | team | catches | caught | missed | detection median | "
        "detection worst | promise | reset median | false / week | false pages / week |",
        "|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    lines += [_row(row) for row in alert_rows(agg)]
    lines += [
        "",
        "### Per incident type",
        "",
        "Pages: what PagerDuty received on the type's incidents, after Alertmanager's "
        "inhibition and grouping (the target: one an incident); critical firings: the "
        "critical alerts' firing episodes on them, before Alertmanager.",
        "",
        "| incident type | incidents | caught | declared by | caught by (incidents) | "
        "first detection | latest first detection | pages (after inhibition and grouping) | "
        "paged teams | critical firings | warnings |",
        "|---|--:|--:|---|---|--:|--:|--:|---|--:|--:|",
    ]
    lines += [_row(row) for row in type_rows(agg)]
    lines += [
        "",
        "### False alerts per team",
        "",
        "| team | false / week | false pages / week |",
        "|---|--:|--:|",
    ]
    for team in agg.teams:
        lines.append(
            f"| {_cell(team.team)} | {_spread(team.false_per_week, number, n)} | "
            f"{_spread(team.false_pages_per_week, number, n)} |"
        )
    return "\n".join(lines) + "\n"


ALERT_FIGURES = ("caught", "missed", "detection median", "detection worst", "false / week")


def _alert_figures(agg: Aggregate | None, name: str) -> tuple[str, ...]:
    a = next((a for a in agg.alerts if a.alert == name), None) if agg else None
    if agg is None or a is None:
        return ("–",) * len(ALERT_FIGURES)
    n = len(agg.runs)
    return (
        _spread(a.caught, number, n),
        _spread(a.missed, number, n),
        _spread(a.detection_median, duration, n),
        _spread(a.detection_worst, duration, n),
        _spread(a.false_per_week, number, n),
    )


def _type_pages(agg: Aggregate | None, kind: str) -> str:
    t = next((t for t in agg.types if t.incident == kind), None) if agg else None
    return "–" if agg is None or t is None else _spread(t.pages, number, len(agg.runs))


def before_after(
    before: Aggregate | None, after: Aggregate, ref: str = "", why: str | None = None
) -> str:
    """The same runs through the rules at ``ref`` (before) and now (after), side by side:
    per alert, caught, missed, detection and false alerts; per incident type, its pages.
    An alert of one rule set only shows a dash on the other side. Without ``before``, only
    the after columns, and ``why``."""
    sides = (before, after) if before is not None else (after,)
    words = ("before", "after")[-len(sides) :]

    def head(figures: Sequence[str]) -> str:
        return " | ".join(
            f"{figure}: {word}" if i == 0 else word
            for figure in figures
            for i, word in enumerate(words)
        )

    lines = [f"### Before and after: the rules at {ref or 'before'} and now", ""]
    if before is None:
        lines += [f"No before columns: {why or 'no before rules'}.", ""]
    lines += [
        f"| alert | {head(ALERT_FIGURES)} |",
        "|---|" + "--:|" * (len(ALERT_FIGURES) * len(sides)),
    ]
    for name in dict.fromkeys(a.alert for agg in (after, before) if agg for a in agg.alerts):
        figures = [_alert_figures(agg, name) for agg in sides]
        lines.append(_row((name, *(f[k] for k in range(len(ALERT_FIGURES)) for f in figures))))
    lines += ["", f"| incident type | {head(['pages'])} |", "|---|" + "--:|" * len(sides)]
    for kind in dict.fromkeys(t.incident for agg in (after, before) if agg for t in agg.types):
        lines.append(_row((kind, *(_type_pages(agg, kind) for agg in sides))))
    return "\n".join(lines) + "\n"


def findings(agg: Aggregate) -> str:
    """What the tables say, in words: alerts that missed incidents meant for them, alerts
    slower than their promise, alerts that fired on nothing, incident types nothing
    caught (worst over the runs), incidents a critical alert is meant for that did not page
    exactly once and incidents none is meant for that paged, false pages."""
    lines = ["### Findings", ""]
    for a in agg.alerts:
        incidents, missed = a.incidents.worst or 0, a.missed.worst or 0
        if incidents and missed:
            lines.append(
                f"- **{a.alert}** missed {number(missed)} of {number(incidents)} incidents "
                f"meant for it ({'; '.join(a.catches)}) in the worst run."
            )
        worst, promise = a.detection_worst.worst, a.promise_seconds
        if worst is not None and promise is not None and worst > promise:
            lines.append(
                f"- **{a.alert}** detected in {duration(worst)} at worst, slower than its "
                f"promise of {a.promise}."
            )
        if (a.false_per_week.worst or 0) > 0:
            pages = a.false_pages_per_week.worst or 0
            kind = "false pages" if pages else "false alerts"
            rate = number(a.false_per_week.worst)
            lines.append(
                f"- **{a.alert}** ({a.severity}) fired on nothing: {rate} {kind} a week at worst."
            )
    for t in agg.types:
        # incidents no alert is meant for (a traffic surge; an endpoint that answers 200 and
        # loses postbacks) are not to be caught: what fired on them is counted false above
        if (t.meant.worst or 0) and not (t.caught.worst or 0):
            who = ", ".join(t.declared_by)
            lines.append(f"- No alert caught **{t.incident}** in the worst run ({who}).")
    for t in agg.types:
        pairs = list(zip(t.pages_per_incident, t.pageworthy_per_incident, strict=True))
        worthy = [p for p, w in pairs if w]
        if any(p != 1 for p in worthy):
            lines.append(
                f"- **{t.incident}**: {sum(p != 1 for p in worthy)} of {len(worthy)} "
                "incidents a critical alert is meant for did not page exactly once: pages "
                f"per incident {', '.join(map(str, worthy))}."
            )
        unworthy = [p for p, w in pairs if not w]
        if any(unworthy):
            lines.append(
                f"- **{t.incident}**: {sum(p > 0 for p in unworthy)} of {len(unworthy)} "
                "incidents no critical alert is meant for paged: pages per incident "
                f"{', '.join(map(str, unworthy))}."
            )
    if agg.false_pages.worst:
        lines.append(
            f"- {number(agg.false_pages.worst)} false pages (a page no incident explains) in "
            "the worst run."
        )
    if len(lines) == 2:
        lines.append(
            "- Every incident caught within its promise and paged once, and nothing fired "
            "on nothing."
        )
    return "\n".join(lines) + "\n"


def firing_markdown(runs: Mapping[str, RunScore]) -> str:
    """How often and how long each alert fired, one column group per rule set (an
    operator's history, ``--compare``: what changes if I merge this rule set)."""
    names = sorted({a.alert for r in runs.values() for a in r.alerts})
    labels = list(runs)
    head = "| alert | " + " | ".join(
        f"{_cell(label)}: firings | {_cell(label)}: time firing | {_cell(label)}: longest"
        for label in labels
    )
    lines = [
        "### How often each alert would have fired",
        "",
        "Firing episodes in the period (from the ALERTS samples, gaps of at most one "
        "evaluation), their total and longest duration.",
        "",
        head + " |",
        "|---|" + "--:|--:|--:|" * len(labels),
    ]
    for name in names:
        cells = [_cell(name)]
        for label in labels:
            mine = [f for f in runs[label].firings if f.alert == name]
            lengths = [f.end - f.start for f in mine]
            cells += [
                str(len(mine)),
                duration(sum(lengths)) if mine else "–",
                duration(max(lengths)) if mine else "–",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# -- JSON ----------------------------------------------------------------------------------


def scores_json(agg: Aggregate, runs: Sequence[RunScore]) -> str:
    """Everything scored: the aggregate and each run (times in Unix seconds)."""
    data = {"aggregate": agg.to_dict(), "runs": [r.to_dict() for r in runs]}
    return json.dumps(data, indent=1, sort_keys=True, allow_nan=False) + "\n"


def write(directory: Path, agg: Aggregate, runs: Sequence[RunScore]) -> list[Path]:
    """scores.json and report.html in ``directory``; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    out = [directory / SCORES_FILE, directory / REPORT_FILE]
    out[0].write_text(scores_json(agg, runs), encoding="utf-8")
    out[1].write_text(html(agg, runs), encoding="utf-8")
    return out


# -- HTML ----------------------------------------------------------------------------------


def _page_text(page: Page) -> str:
    """A page in a line: its time, its teams and the alerts it carried."""
    alerts = ", ".join(a.alert + "".join(f" {k}={v}" for k, v in a.labels) for a in page.alerts)
    return f"{', '.join(page.teams) or page.receiver} at {iso(page.start)}: {alerts}"


WIDTH = 960  # the timeline's drawing width in px
LANE = 12
GAP = 4


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    css: str
    title: str


@dataclass(frozen=True)
class Timeline:
    alert: str
    severity: str
    team: str
    summary: str
    height: int
    bars: tuple[Bar, ...]
    lanes: tuple[tuple[str, float], ...]  # lane name, y of its middle
    ticks: tuple[tuple[float, str], ...]


def _ticks(start: float, end: float) -> tuple[tuple[float, str], ...]:
    span = end - start
    if span <= 4 * 3600:  # a close-up: every 10 or 30 minutes
        step = 600.0 if span <= 2 * 3600 else 1800.0
    else:
        step = 86400.0 if span > 2 * 86400 else 3600.0 * max(1, round(span / 3600 / 12))
    out = []
    t = start - (start % step) + step if start % step else start
    while t <= end:
        label = iso(t)[:10] if step >= 86400 else iso(t)[11:16]
        out.append((WIDTH * (t - start) / span, label))
        t += step
    return tuple(out)


def timelines(run: RunScore) -> tuple[list[Timeline], list[str]]:
    """A timeline for every alert that fired, pended or declares incidents; the names of
    the others (quiet all run, nothing to catch)."""
    span = max(run.end - run.measured_from, 1.0)

    def x(t: float) -> float:
        return max(0.0, min(WIDTH, WIDTH * (t - run.measured_from) / span))

    def bar(start: float, end: float, y: float, css: str, title: str) -> Bar:
        left = x(start)
        return Bar(round(left, 1), y, round(max(x(end) - left, 1.5), 1), LANE, css, title)

    ticks = _ticks(run.measured_from, run.end)
    incidents = {i.index: i for i in run.incidents}
    shown, quiet = [], []
    for a in run.alerts:
        mine = [e for e in run.episodes if e.alert == a.alert]
        # The incidents it is meant to catch (its catches' types, needs met) in full colour.
        targets = {i.index for i in run.incidents for d in i.detections if d.alert == a.alert}
        if not mine and not a.catches:
            quiet.append(a.alert)
            continue
        bars: list[Bar] = []
        lanes = (("incidents", 0.0), ("pending", LANE + GAP), ("firing", 2 * (LANE + GAP)))
        for i in incidents.values():
            css = "incident" if i.index in targets else "incident other"
            scope = ", ".join(f"{k}={v}" for k, v in i.scope.items())
            title = f"{i.type} {scope} {iso(i.start)} to {iso(i.end)}"
            bars.append(bar(i.start, i.end, lanes[0][1], css, title))
        kinds = {(f.alert, f.start, f.labels): f.kind for f in run.firings}
        for e in mine:
            labels = ", ".join(f"{k}={v}" for k, v in e.labels)
            end = "still firing at the end" if e.open else iso(e.end)
            if e.state == "pending":
                title = f"pending {{{labels}}} {iso(e.start)} to {end}"
                bars.append(bar(e.start, e.end, lanes[1][1], "pending", title))
            else:
                kind = kinds.get((e.alert, e.start, e.labels), "false")
                title = f"firing ({kind}) {{{labels}}} {iso(e.start)} to {end}"
                bars.append(bar(e.start, e.end, lanes[2][1], f"firing {kind}", title))
        summary = (
            f"caught {a.caught} of {a.incidents}; detection median "
            f"{duration(a.detection_median)} (promise {a.promise or '–'}); "
            f"{a.false_alerts} false, {a.collateral} collateral"
        )
        shown.append(
            Timeline(
                a.alert,
                a.severity,
                a.team,
                summary,
                3 * (LANE + GAP) + 14,
                tuple(bars),
                tuple((name, y + LANE / 2) for name, y in lanes),
                ticks,
            )
        )
    return shown, quiet


ZOOM_MARGIN = 1800.0  # seconds shown before an incident's start and after its end


def zooms(run: RunScore) -> list[Timeline]:
    """A close-up of every incident (30 minutes either side): one lane per alert that was
    pending or firing in that window, so that the order in which alerts fired, and the
    collateral around the one meant for it, can be read at the minute."""
    out = []
    kinds = {(f.alert, f.start, f.labels): f.kind for f in run.firings}
    for inc in run.incidents:
        lo, hi = inc.start - ZOOM_MARGIN, min(inc.end + ZOOM_MARGIN, run.end)
        span = max(hi - lo, 1.0)

        def x(t: float, lo: float = lo, span: float = span) -> float:
            return max(0.0, min(WIDTH, WIDTH * (t - lo) / span))

        def bar(start: float, end: float, y: float, css: str, title: str) -> Bar:
            left = x(start)
            return Bar(round(left, 1), y, round(max(x(end) - left, 1.5), 1), LANE, css, title)

        near = [e for e in run.episodes if e.start < hi and e.end > lo]
        names = sorted({e.alert for e in near})
        scope = ", ".join(f"{k}={v}" for k, v in inc.scope.items())
        lanes = [(f"{inc.type}", 0.0)] + [
            (name, (i + 1) * (LANE + GAP)) for i, name in enumerate(names)
        ]
        y_of = dict(lanes)
        bars = [bar(inc.start, inc.end, 0.0, "incident", f"{inc.type} {scope}")]
        for e in sorted(near, key=lambda e: e.state != "pending"):  # firing drawn on top
            labels = ", ".join(f"{k}={v}" for k, v in e.labels)
            end = "still firing at the end" if e.open else iso(e.end)
            if e.state == "pending":
                css, what = "pending", "pending"
            else:
                kind = kinds.get((e.alert, e.start, e.labels), "false")
                css, what = f"firing {kind}", f"firing ({kind})"
            title = f"{e.alert} {what} {{{labels}}} {iso(e.start)} to {end}"
            bars.append(bar(e.start, e.end, y_of[e.alert], css, title))
        out.append(
            Timeline(
                f"#{inc.index + 1} {inc.type}",
                "",
                "",
                f"{scope or 'no scope'}; {iso(inc.start)} to "
                f"{'open' if inc.open else iso(inc.end)}; {len(names)} alerts around it",
                len(lanes) * (LANE + GAP) + 14,
                tuple(bars),
                tuple((name, y + LANE / 2) for name, y in lanes),
                _ticks(lo, hi),
            )
        )
    return out


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("pitwatch.backtest", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def html(agg: Aggregate, runs: Sequence[RunScore]) -> str:
    """The HTML report: the aggregate tables, then each run's timelines."""
    alerts = alert_rows(agg)
    types = type_rows(agg)
    sections = []
    for run in runs:
        shown, quiet = timelines(run)
        incidents = [
            (
                i.index + 1,
                i.type,
                ", ".join(f"{k}={v}" for k, v in i.scope.items()) or "–",
                iso(i.start),
                "open" if i.open else iso(i.end),
                ", ".join(
                    f"{f.alert} ({f.kind}{', critical' if f.severity == 'critical' else ''})"
                    for f in i.firings
                )
                or "nothing fired",
                "; ".join(_page_text(p) for p in i.paged) or "no page",
            )
            for i in run.incidents
        ]
        sections.append(
            {
                "run": run.run or "run",
                "period": f"{iso(run.measured_from)} to {iso(run.end)}",
                "interval": duration(run.interval),
                "engine": run.engine,
                "incidents": incidents,
                "timelines": shown,
                "zooms": zooms(run),
                "quiet": quiet,
            }
        )
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            title="Backtest: every alert against the incidents",
            runs=", ".join(agg.runs) or "one run",
            engines=", ".join(agg.engines),
            weeks=f"{agg.weeks:.2f}",
            alerts=alerts,
            types=types,
            sections=sections,
            width=WIDTH,
        )
    )
