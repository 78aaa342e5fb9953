"""grafanalib's output, made what Grafana 11 reads without migrating it (schemaVersion
39): modern field configs, null base thresholds, the unified alert list, clean targets and
variables, legacy keys dropped. The one place that knows where grafanalib lags Grafana."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dashboards.datasource import DATASOURCE_NAME, DATASOURCE_UID, DS

# The schema version Grafana 11 loads as is, without running its migrations.
SCHEMA_VERSION = 39

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
