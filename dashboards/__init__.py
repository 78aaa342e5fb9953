"""Dashboards as code: grafanalib sources (``dashboards/boards/``) rendered to the committed
``dashboards/<key>.json`` and the Grafana provisioning files, by ``pitwatch generate``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dashboards.alerts import AlertSource


def dashboards(src: AlertSource | None = None) -> dict[str, dict[str, Any]]:
    """Every dashboard's JSON model, by key of ``dashboards.uids.DASHBOARDS``."""
    # Imported here: alert_rules.render imports dashboards.uids, so this package must not
    # import alert_rules when it is first imported.
    from dashboards.alerts import AlertSource
    from dashboards.boards import BOARDS
    from dashboards.build import render

    src = src or AlertSource.registered()
    return {key: render(build(src), src) for key, build in BOARDS.items()}


def artefacts(src: AlertSource | None = None) -> dict[str, str]:
    """Every generated file of the dashboards: repository path -> content."""
    from dashboards import provisioning

    out = {
        f"dashboards/{key}.json": json.dumps(model, indent=2, sort_keys=True) + "\n"
        for key, model in dashboards(src).items()
    }
    out.update(provisioning.files())
    return out


__all__ = ["artefacts", "dashboards"]
