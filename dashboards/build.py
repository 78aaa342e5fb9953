"""A dashboard assembled: its variables, annotations, links and sections of panels, laid
out and rendered through grafanalib into the JSON model Grafana 11 reads.

The parts: PromQL (``dashboards.promql``), panels (``dashboards.panels``), links
(``dashboards.links``), the grid (``dashboards.layout``) and the rewrite of grafanalib's
output into Grafana 11's schema (``dashboards.grafana11``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from grafanalib import core as g
from grafanalib._gen import DashboardEncoder

from alert_rules.dashboard_uids import DASHBOARDS
from dashboards.alerts import AlertSource
from dashboards.datasource import DATASOURCE_UID, DS
from dashboards.grafana11 import SCHEMA_VERSION, finalise
from dashboards.layout import layout
from dashboards.panels import Cell
from dashboards.promql import DEPLOY_EXPR, sel

TAG = "pitwatch"


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
    key: str  # alert_rules.dashboard_uids.DASHBOARDS
    description: str
    variables: Sequence[Var]
    sections: Sequence[tuple[str, Sequence[Cell]]]
    tags: tuple[str, ...] = ()
    links: Sequence[dict[str, Any]] = field(default_factory=list)
    time_from: str = "now-6h"


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
