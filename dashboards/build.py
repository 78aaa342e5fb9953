"""Building blocks of the dashboards: metric names from the catalog, PromQL helpers, panel
builders over grafanalib, the layout, and ``finalise``, the one place where grafanalib's
output is brought to what Grafana 11 reads without migrating it (schemaVersion 39).

Every panel is a modern one (timeseries, stat, gauge, bar gauge, table, state timeline,
alert list), reads the datasource variable, has a unit, and draws the thresholds its
alerts declare (``dashboards.alerts``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from grafanalib import core as g
from grafanalib._gen import DashboardEncoder

from collectors.catalog import BY_NAME
from dashboards.alerts import AlertSource, Limit
from dashboards.uids import DASHBOARDS

SCHEMA_VERSION = 39
TAG = "pitwatch"
DATASOURCE_UID = "pitwatch-prometheus"
DATASOURCE_NAME = "Prometheus"
DS = {"type": "prometheus", "uid": "${datasource}"}
PANEL_TYPES = ("timeseries", "stat", "gauge", "bargauge", "table", "state-timeline", "alertlist")
RATE = "$__rate_interval"
# Series Prometheus writes itself that panels may read (beside the catalog's and the rules').
PROMETHEUS_SERIES = frozenset({"up", "ALERTS"})

# -- metric names: always from the catalog --------------------------------------------------


def m(name: str) -> str:
    """The name Prometheus sees for a catalog metric (``_total`` on counters)."""
    metric = BY_NAME[name]
    if metric.type == "histogram":
        raise ValueError(f"{name} is a histogram: use hist()")
    return metric.exposed_name


def hist(name: str) -> str:
    """A histogram's base name (``_bucket``/``_count``/``_sum`` are added by the helpers)."""
    metric = BY_NAME[name]
    if metric.type != "histogram":
        raise ValueError(f"{name} is a {metric.type}, not a histogram")
    return metric.name


# -- PromQL helpers -------------------------------------------------------------------------


def var(label: str) -> str:
    """The matcher of a multi-value template variable named after its label."""
    return f'{label}=~"${label}"'


def sel(metric: str, *matchers: str) -> str:
    used = [x for x in matchers if x]
    return f"{metric}{{{', '.join(used)}}}" if used else metric


def rate(metric: str, *matchers: str, window: str = RATE) -> str:
    return f"rate({sel(metric, *matchers)}[{window}])"


def increase(metric: str, *matchers: str, window: str = "$__range") -> str:
    return f"increase({sel(metric, *matchers)}[{window}])"


def sum_by(by: str, inner: str) -> str:
    return f"sum by ({by}) ({inner})" if by else f"sum({inner})"


def quantile(q: float, histogram: str, by: str, *matchers: str, window: str = RATE) -> str:
    group = f"{by}, le" if by else "le"
    buckets = rate(histogram + "_bucket", *matchers, window=window)
    return f"histogram_quantile({q}, sum by ({group}) ({buckets}))"


def ratio(numerator: str, denominator: str) -> str:
    """A ratio that is empty, not NaN or +Inf, while the denominator is zero."""
    return f"{numerator}\n/\n({denominator} > 0)"


# -- queries and links ----------------------------------------------------------------------


@dataclass(frozen=True)
class Q:
    """One query of a panel. ``column`` names its value in a table; ``unit`` its unit there."""

    expr: str
    legend: str = ""
    column: str = ""
    unit: str = ""


def link(title: str, url: str, new_tab: bool = False) -> dict[str, Any]:
    return {"title": title, "url": url, "targetBlank": new_tab}


def dashboard_link(key: str, *variables: str) -> dict[str, Any]:
    """A panel link to another dashboard, keeping the time range and the shared variables."""
    uid, title = DASHBOARDS[key]
    params = ["${__url_time_range}", *[f"${{{v}:queryparam}}" for v in variables]]
    return link(f"{title} dashboard", f"/d/{uid}?" + "&".join(params))


def runbook_links(src: AlertSource, *alerts: str) -> list[dict[str, Any]]:
    out = []
    for name in alerts:
        url = src.runbook_url(name)
        if url is not None:
            out.append(link(f"Runbook: {name}", url, new_tab=True))
    return out


# -- panels -------------------------------------------------------------------------------


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


# -- variables, annotations, dashboards ----------------------------------------------------


@dataclass(frozen=True)
class Var:
    """A multi-value query variable with All (``.*``) over one label of one metric."""

    name: str
    metric: str
    label: str = ""
    matchers: tuple[str, ...] = ()
    title: str = ""

    @property
    def query(self) -> str:
        return f"label_values({sel(self.metric, *self.matchers)}, {self.label or self.name})"


DEPLOY_EXPR = (
    f"max by (version) ({m('igaming_deploy_timestamp_seconds')} "
    f"* on(job, instance) group_left(version) {m('igaming_build')}) * 1000"
)


def deploy_annotation() -> dict[str, Any]:
    """A marker at every deploy: the deploy metric's value is the time (useValueForTime)."""
    return {
        "datasource": DS,
        "enable": True,
        "hide": False,
        "iconColor": "purple",
        "name": "Deploys",
        "expr": DEPLOY_EXPR,
        "step": "60s",
        "titleFormat": "Deploy {{version}}",
        "textFormat": "version {{version}}",
        "tagKeys": "version",
        "useValueForTime": True,
    }


BUILT_IN_ANNOTATION = {
    "builtIn": 1,
    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
    "enable": True,
    "hide": True,
    "iconColor": "rgba(0, 211, 255, 1)",
    "name": "Annotations & Alerts",
    "type": "dashboard",
}


@dataclass
class Board:
    key: str  # dashboards.uids.DASHBOARDS
    description: str
    variables: Sequence[Var]
    sections: Sequence[tuple[str, Sequence[Cell]]]
    tags: tuple[str, ...] = ()
    links: Sequence[dict[str, Any]] = field(default_factory=list)
    time_from: str = "now-6h"


def layout(sections: Sequence[tuple[str, Sequence[Cell]]]) -> tuple[list[Any], dict[int, Any]]:
    """Rows of panels flowing left to right, wrapping at 24 columns; ids in order. Returns
    the panels and, by panel id, the JSON grafanalib cannot express (for ``finalise``)."""
    panels: list[Any] = []
    extras: dict[int, Any] = {}
    y = 0
    next_id = 1
    for title, cells in sections:
        row = g.RowPanel(title=title, id=next_id, gridPos=g.GridPos(h=1, w=24, x=0, y=y))
        panels.append(row)
        next_id += 1
        y += 1
        x, row_h = 0, 0
        for cell in cells:
            if cell.w > 24:
                raise ValueError(f"{cell.panel.title}: wider than the grid")
            if x + cell.w > 24:
                x, y, row_h = 0, y + row_h, 0
            cell.panel.gridPos = g.GridPos(h=cell.h, w=cell.w, x=x, y=y)
            cell.panel.id = next_id
            if cell.extra:
                extras[next_id] = cell.extra
            next_id += 1
            panels.append(cell.panel)
            x += cell.w
            row_h = max(row_h, cell.h)
        y += row_h
    return panels, extras


def render(board: Board, src: AlertSource) -> dict[str, Any]:
    """The dashboard's JSON model, ready for Grafana 11."""
    uid, title = DASHBOARDS[board.key]
    templates = [
        g.Template(
            name="datasource",
            label="Data source",
            query="prometheus",
            type="datasource",
            default=DATASOURCE_UID,
        ),
        *[
            g.Template(
                name=v.name,
                label=v.title or v.name,
                query=v.query,
                dataSource=DS,
                includeAll=True,
                multi=True,
                allValue=".*",
                default="$__all",
                refresh=g.REFRESH_ON_TIME_RANGE_CHANGE,
                sort=g.SORT_ALPHA_ASC,
            )
            for v in board.variables
        ],
    ]
    links = [
        g.DashboardLink(
            title="pitwatch",
            type="dashboards",
            tags=[TAG],
            asDropdown=True,
            includeVars=False,
            keepTime=True,
        ),
        g.DashboardLink(
            title="Runbooks",
            type="link",
            uri=src.runbook_base,
            icon="doc",
            targetBlank=True,
            keepTime=False,
        ),
        *board.links,
    ]
    panels, extras = layout(board.sections)
    dashboard = g.Dashboard(
        title=title,
        uid=uid,
        description=board.description,
        tags=[TAG, *board.tags],
        panels=panels,
        templating=g.Templating(templates),
        annotations=g.Annotations([BUILT_IN_ANNOTATION, deploy_annotation()]),
        links=links,
        schemaVersion=SCHEMA_VERSION,
        graphTooltip=g.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
        refresh="30s",
        time=g.Time(board.time_from, "now"),
        timezone="browser",
        editable=True,
    )
    data = json.loads(json.dumps(dashboard.to_json_data(), cls=DashboardEncoder))
    return finalise(data, extras)


# -- finalise: grafanalib's output, made what Grafana 11 reads ------------------------------

_LEGACY_DASHBOARD_KEYS = ("__inputs", "rows", "style", "sharedCrosshair", "hideControls", "gnetId")
_LEGACY_PANEL_KEYS = (
    "cacheTimeout", "editable", "error", "height", "minSpan", "span", "maxDataPoints",
    "hideTimeOverride", "repeat", "repeatDirection", "maxPerRow", "interval", "timeFrom",
    "timeShift", "transparent", "color", "columns", "fontSize", "mappings", "unit",
)  # fmt: skip
_LEGACY_TEMPLATE_KEYS = ("useTags", "tagsQuery", "tagValuesQuery", "auto", "auto_min", "auto_count")


def _step(raw: dict[str, Any]) -> dict[str, Any]:
    return {"color": raw["color"], "value": None if raw["index"] == 0 else raw["value"]}


def _thresholds(steps: Any) -> dict[str, Any]:
    converted = [_step(s) for s in steps] if isinstance(steps, list) and steps else []
    return {"mode": "absolute", "steps": converted or [{"color": "green", "value": None}]}


def _target(raw: dict[str, Any]) -> dict[str, Any]:
    out = {
        "datasource": DS,
        "editorMode": "code",
        "expr": raw["expr"],
        "legendFormat": raw["legendFormat"] or "__auto",
        "refId": raw["refId"],
        "instant": raw["instant"],
        "range": not raw["instant"],
    }
    if raw["format"] == "table":
        out["format"] = "table"
    return out


def _panel(raw: dict[str, Any]) -> dict[str, Any]:
    kind = raw["type"]
    if kind == "row":
        return {
            "collapsed": False,
            "gridPos": raw["gridPos"],
            "id": raw["id"],
            "panels": [],
            "title": raw["title"],
            "type": "row",
        }
    if kind == "alertlist":
        return {
            "description": raw["description"],
            "gridPos": raw["gridPos"],
            "id": raw["id"],
            "options": {
                "alertInstanceLabelFilter": "",
                "alertName": "",
                "dashboardAlerts": False,
                "groupBy": [],
                "groupMode": "default",
                "maxItems": raw["limit"],
                "sortOrder": 1,
                "stateFilter": {
                    "error": True,
                    "firing": True,
                    "noData": False,
                    "normal": False,
                    "pending": True,
                },
                "viewMode": "list",
            },
            "title": raw["title"],
            "type": "alertlist",
        }
    out = {k: v for k, v in raw.items() if k not in _LEGACY_PANEL_KEYS and v is not None}
    out["datasource"] = DS
    out["targets"] = [_target(t) for t in raw["targets"]]
    fc = out.setdefault("fieldConfig", {"defaults": {}, "overrides": []})
    fc.setdefault("overrides", [])
    defaults = fc["defaults"]
    steps = defaults.get("thresholds", {}).get("steps")
    if kind in ("bargauge", "gauge"):
        steps = raw["options"]["fieldOptions"]["thresholds"] if kind == "bargauge" else steps
    defaults["thresholds"] = _thresholds(steps)
    for key in ("decimals", "min", "max", "noValue"):
        if defaults.get(key) is None:
            defaults.pop(key, None)
    if kind == "timeseries":
        custom = defaults["custom"]
        for key in ("axisSoftMin", "axisSoftMax"):
            if custom.get(key) is None:
                custom.pop(key)
    elif kind == "stat":
        defaults["color"] = {"mode": "thresholds"}
        defaults.pop("custom", None)
    elif kind == "gauge":
        unit, lo, hi = defaults["unit"], defaults["min"], defaults["max"]
        out["fieldConfig"] = {
            "defaults": {
                "color": {"mode": "thresholds"},
                "mappings": [],
                "max": hi,
                "min": lo,
                "thresholds": defaults["thresholds"],
                "unit": unit,
                "links": [],
            },
            "overrides": [],
        }
        out["options"] = {
            "minVizHeight": 75,
            "minVizWidth": 75,
            "orientation": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "showThresholdLabels": False,
            "showThresholdMarkers": True,
            "sizing": "auto",
        }
    elif kind == "bargauge":
        old = raw["options"]["fieldOptions"]["defaults"]
        field_defaults = {
            "color": {"mode": "thresholds"},
            "mappings": [],
            "min": old["min"],
            "thresholds": defaults["thresholds"],
            "unit": old["unit"],
        }
        if old["max"] is not None:
            field_defaults["max"] = old["max"]
        out["fieldConfig"] = {"defaults": field_defaults, "overrides": []}
        out["options"] = {
            "displayMode": raw["options"]["displayMode"],
            "maxVizHeight": 300,
            "minVizHeight": 16,
            "minVizWidth": 8,
            "namePlacement": "auto",
            "orientation": raw["options"]["orientation"],
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "showUnfilled": True,
            "sizing": "auto",
            "valueMode": "color",
        }
    elif kind == "table":
        defaults["color"] = {"mode": "thresholds"}
        defaults["custom"]["cellOptions"] = {"type": "auto"}
        defaults["custom"].pop("displayMode", None)
        out["options"] = {
            "cellHeight": "sm",
            "footer": {"show": False, "reducer": ["sum"], "fields": ""},
            "showHeader": True,
            "sortBy": raw["options"]["sortBy"],
        }
    elif kind == "state-timeline":
        defaults["custom"]["fillOpacity"] = 80
    return out


def _template(raw: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in raw.items() if k not in _LEGACY_TEMPLATE_KEYS and v is not None}
    if raw["type"] == "datasource":
        out["current"] = {"selected": True, "text": DATASOURCE_NAME, "value": DATASOURCE_UID}
        out["regex"] = ""
        out.pop("sort", None)
        return out
    out["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}
    # A plain label_values() string: what Grafana's Prometheus variables have always read
    # (and what grafonnet mixins generate); the editor shows it as a classic query.
    out["definition"] = raw["query"]
    out["regex"] = ""
    return out


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def finalise(data: dict[str, Any], extras: Mapping[int, Any] | None = None) -> dict[str, Any]:
    """Bring grafanalib's dashboard dict to the Grafana 11 model: modern field configs,
    null base thresholds, the unified alert list, clean targets and variables, plus the
    fields grafanalib lacks (``extras``, by panel id)."""
    extras = extras or {}
    out = {k: v for k, v in data.items() if k not in _LEGACY_DASHBOARD_KEYS}
    out["id"] = None
    out["panels"] = [_merge(_panel(p), extras.get(p["id"], {})) for p in data["panels"]]
    out["templating"] = {"list": [_template(t) for t in data["templating"]["list"]]}
    out["fiscalYearStartMonth"] = 0
    out["liveNow"] = False
    out["weekStart"] = ""
    out["version"] = 1
    return out
