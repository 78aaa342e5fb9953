"""Walking the generated dashboards: their panels, queries and the PromQL behind the
Grafana variables."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# What Grafana puts in place of its built-in intervals; a query variable set to All.
BUILTINS = {"$__rate_interval": "1m", "$__range": "1m", "$__interval": "15s"}
VARIABLE = re.compile(r"\$\{?(\w+)(?::\w+)?\}?")
LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.*),\s*(?P<label>\w+)\)$", re.S)


def promql(expr: str) -> str:
    """The expression as Prometheus receives it with every variable set to All."""
    for name, value in BUILTINS.items():
        expr = expr.replace(name, value)
    return VARIABLE.sub(".*", expr)


def panels(model: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel but the rows."""
    for panel in model["panels"]:
        if panel["type"] != "row":
            yield panel


def expressions(model: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, PromQL) of every query of the dashboard: targets, annotations, variables."""
    for panel in panels(model):
        for target in panel.get("targets", []):
            yield f"{panel['title']} [{target['refId']}]", target["expr"]
    for annotation in model["annotations"]["list"]:
        if "expr" in annotation:
            yield f"annotation {annotation['name']}", annotation["expr"]
    for variable in model["templating"]["list"]:
        if variable["type"] == "query":
            match = LABEL_VALUES.match(variable["definition"])
            assert match, f"variable {variable['name']}: not a label_values() query"
            yield f"variable {variable['name']}", match["selector"]
