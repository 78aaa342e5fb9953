"""Panel builders over grafanalib: each takes its queries, unit and the alert limits it
draws, and returns a ``Cell`` (the panel and its size on the grid).

Every panel is a modern one (timeseries, stat, gauge, bar gauge, table, state timeline,
alert list), reads the datasource variable, has a unit, and draws the thresholds its
alerts declare (``dashboards.alerts``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from grafanalib import core as g

from dashboards.alerts import Limit
from dashboards.datasource import DS
from dashboards.links import link

PANEL_TYPES = ("timeseries", "stat", "gauge", "bargauge", "table", "state-timeline", "alertlist")


@dataclass(frozen=True)
class Q:
    """One query of a panel. ``column`` names its value in a table; ``unit`` its unit there."""

    expr: str
    legend: str = ""
    column: str = ""
    unit: str = ""


@dataclass
class Cell:
    """A panel with its size on the 24-column grid."""

    panel: Any
    w: int
    h: int
    extra: dict[str, Any] = field(default_factory=dict)  # what grafanalib cannot express


def _limits(limits: Iterable[Limit | None]) -> list[Limit]:
    return [x for x in limits if x is not None]


def _steps(limits: Sequence[Limit], base: str = "green") -> list[g.Threshold]:
    """Threshold steps: red on the side the alerts call bad, the strictest limit last."""
    if not limits:
        return [g.Threshold(base, 0, 0.0)]
    sides = {x.bad for x in limits}
    if len(sides) != 1:
        raise ValueError("a panel draws limits of one side only")
    values = sorted({x.step for x in limits})
    if sides == {"above"}:
        colors = ["orange"] * (len(values) - 1) + ["red"]
        return [g.Threshold("green", 0, 0.0)] + [
            g.Threshold(c, i, v) for i, (c, v) in enumerate(zip(colors, values, strict=True), 1)
        ]
    colors = ["orange"] * (len(values) - 1) + ["green"]
    return [g.Threshold("red", 0, 0.0)] + [
        g.Threshold(c, i, v) for i, (c, v) in enumerate(zip(colors, values, strict=True), 1)
    ]


def _description(desc: str, limits: Sequence[Limit]) -> str:
    return "\n\n".join([desc, *[x.describe() for x in limits]]).strip()


def _targets(queries: Sequence[Q], instant: bool, table: bool = False) -> list[g.Target]:
    return [
        g.Target(
            expr=q.expr.strip(),
            legendFormat=q.legend,
            refId=chr(ord("A") + i),
            instant=instant,
            format="table" if table else "time_series",
            datasource=DS,
        )
        for i, q in enumerate(queries)
    ]


def _links(limits: Sequence[Limit], links: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for x in limits:
        rb = link(f"Runbook: {x.alert}", x.runbook, new_tab=True)
        if rb not in out:
            out.append(rb)
    for lk in links:
        if lk not in out:
            out.append(lk)
    return out


def timeseries(
    title: str,
    *queries: Q,
    unit: str,
    desc: str = "",
    limits: Iterable[Limit | None] = (),
    links: Iterable[dict[str, Any]] = (),
    stack: bool = False,
    bars: bool = False,
    min_: int | None = None,
    max_: int | None = None,
    overrides: Sequence[dict[str, Any]] = (),
    w: int = 12,
    h: int = 8,
) -> Cell:
    lim = _limits(limits)
    panel = g.TimeSeries(
        title=title,
        description=_description(desc, lim),
        dataSource=DS,
        targets=_targets(queries, instant=False),
        unit=unit,
        thresholds=_steps(lim),
        thresholdsStyleMode="dashed" if lim else "off",
        stacking={"mode": "normal", "group": "A"} if stack else {"mode": "none"},
        drawStyle="bars" if bars else "line",
        fillOpacity=60 if bars else (25 if stack else 8),
        lineWidth=1,
        showPoints="never",
        valueMin=min_,
        valueMax=max_,
        legendDisplayMode="table",
        legendPlacement="right" if len(queries) > 1 or stack else "bottom",
        legendCalcs=["lastNotNull", "max"],
        tooltipMode="multi",
        tooltipSort="desc",
        overrides=list(overrides),
        links=_links(lim, links),
    )
    return Cell(panel, w, h)


def stat(
    title: str,
    *queries: Q,
    unit: str,
    desc: str = "",
    limits: Iterable[Limit | None] = (),
    links: Iterable[dict[str, Any]] = (),
    mappings: Sequence[dict[str, Any]] = (),
    decimals: int | None = None,
    graph: bool = True,
    instant: bool = False,
    w: int = 4,
    h: int = 4,
) -> Cell:
    lim = _limits(limits)
    panel = g.Stat(
        title=title,
        description=_description(desc, lim),
        dataSource=DS,
        targets=_targets(queries, instant=instant),
        format=unit,
        decimals=decimals,
        graphMode="area" if graph and not instant else "none",
        colorMode="background" if lim or mappings else "value",
        reduceCalc="lastNotNull",
        mappings=list(mappings),
        noValue="0" if instant else "no data",
        links=_links(lim, links),
    )
    panel.thresholds = _steps(lim, base="text" if not lim and not mappings else "green")
    return Cell(panel, w, h)


def gauge(
    title: str,
    *queries: Q,
    unit: str,
    min_: float = 0,
    max_: float = 1,
    desc: str = "",
    limits: Iterable[Limit | None] = (),
    links: Iterable[dict[str, Any]] = (),
    w: int = 4,
    h: int = 6,
) -> Cell:
    lim = _limits(limits)
    panel = g.GaugePanel(
        title=title,
        description=_description(desc, lim),
        dataSource=DS,
        targets=_targets(queries, instant=False),
        format=unit,
        min=min_,
        max=max_,
        calc="lastNotNull",
        thresholds=_steps(lim),
        thresholdMarkers=True,
        links=_links(lim, links),
    )
    return Cell(panel, w, h)


def bargauge(
    title: str,
    *queries: Q,
    unit: str,
    desc: str = "",
    limits: Iterable[Limit | None] = (),
    links: Iterable[dict[str, Any]] = (),
    min_: float = 0,
    max_: float | None = None,
    w: int = 8,
    h: int = 8,
) -> Cell:
    lim = _limits(limits)
    panel = g.BarGauge(
        title=title,
        description=_description(desc, lim),
        dataSource=DS,
        targets=_targets(queries, instant=True),
        format=unit,
        min=min_,
        max=max_,
        calc="lastNotNull",
        displayMode=g.GAUGE_DISPLAY_MODE_GRADIENT,
        orientation=g.ORIENTATION_HORIZONTAL,
        thresholds=_steps(lim, base="blue" if not lim else "green"),
        links=_links(lim, links),
    )
    return Cell(panel, w, h)


def table(
    title: str,
    *queries: Q,
    unit: str,
    desc: str = "",
    limits: Iterable[Limit | None] = (),
    links: Iterable[dict[str, Any]] = (),
    sort_by: str = "",
    hide: Sequence[str] = (),
    field_links: Mapping[str, dict[str, Any]] | None = None,
    w: int = 12,
    h: int = 8,
) -> Cell:
    """Instant queries merged on their labels, one column per query (``Q.column``)."""
    lim = _limits(limits)
    value_names = (
        ["Value"]
        if len(queries) == 1
        else [f"Value #{chr(ord('A') + i)}" for i in range(len(queries))]
    )
    rename = {v: q.column for v, q in zip(value_names, queries, strict=True) if q.column}
    # organize excludes by the names before renaming
    original = {column: value for value, column in rename.items()}
    excluded = {original.get(name, name): True for name in hide}
    overrides = [
        {
            "matcher": {"id": "byName", "options": q.column},
            "properties": [{"id": "unit", "value": q.unit}],
        }
        for q in queries
        if q.column and q.unit
    ]
    for name, lk in (field_links or {}).items():
        overrides.append(
            {
                "matcher": {"id": "byName", "options": name},
                "properties": [{"id": "links", "value": [lk]}],
            }
        )
    if lim:
        names = [q.column for q in queries if q.column] or ["Value"]
        overrides.append(
            {
                "matcher": {"id": "byName", "options": names[0]},
                "properties": [{"id": "custom.cellOptions", "value": {"type": "color-background"}}],
            }
        )
    panel = g.Table(
        title=title,
        description=_description(desc, lim),
        dataSource=DS,
        targets=_targets(queries, instant=True, table=True),
        unit=unit,
        thresholds=_steps(lim),
        overrides=overrides,
        sortBy=[g.TableSortByField(displayName=sort_by, desc=True)] if sort_by else [],
        transformations=[
            *([{"id": "merge", "options": {}}] if len(queries) > 1 else []),
            {
                "id": "organize",
                "options": {
                    "excludeByName": {"Time": True, **excluded},
                    "renameByName": rename,
                },
            },
        ],
        links=_links(lim, links),
    )
    return Cell(panel, w, h)


def timeline(
    title: str,
    *queries: Q,
    unit: str,
    mappings: Sequence[dict[str, Any]],
    desc: str = "",
    links: Iterable[dict[str, Any]] = (),
    w: int = 12,
    h: int = 6,
) -> Cell:
    panel = g.StateTimeline(
        title=title,
        description=desc,
        dataSource=DS,
        targets=_targets(queries, instant=False),
        colorMode="thresholds",
        mappings=list(mappings),
        links=list(links),
    )
    return Cell(panel, w, h, extra={"fieldConfig": {"defaults": {"unit": unit}}})


def alert_list(title: str, desc: str = "", w: int = 12, h: int = 8) -> Cell:
    """Firing and pending alerts: Grafana's own and the Prometheus rules (data source-managed)."""
    return Cell(g.AlertList(title=title, description=desc, limit=20), w, h)


def up_down(ok: str = "OK", bad: str = "DOWN") -> list[dict[str, Any]]:
    """Value mappings of a 1/0 health gauge."""
    return [
        {
            "type": "value",
            "options": {
                "1": {"text": ok, "color": "green", "index": 0},
                "0": {"text": bad, "color": "red", "index": 1},
            },
        }
    ]


# Grafana's currency units, so that amounts by currency read as money (the rest stay short).
CURRENCY_UNITS = {
    c: f"currency{c}"
    for c in ("EUR", "GBP", "USD", "SEK", "NOK", "DKK", "CHF", "PLN", "BRL", "INR", "JPY")
}


def currency_overrides() -> list[dict[str, Any]]:
    """Series named after their currency (legend ``{{currency}}``) read as money."""
    return [
        {
            "matcher": {"id": "byName", "options": code},
            "properties": [{"id": "unit", "value": unit}],
        }
        for code, unit in CURRENCY_UNITS.items()
    ]
