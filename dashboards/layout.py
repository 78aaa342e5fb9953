"""The grid: sections of cells laid out as rows of panels, 24 columns wide."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grafanalib import core as g

from dashboards.panels import Cell


def layout(sections: Sequence[tuple[str, Sequence[Cell]]]) -> tuple[list[Any], dict[int, Any]]:
    """Rows of panels flowing left to right, wrapping at 24 columns; ids in order. Returns
    the panels and, by panel id, the JSON grafanalib cannot express (for
    ``dashboards.grafana11.finalise``)."""
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
