"""Panel links: to another dashboard (keeping the time range and variables) and to
runbooks."""

from __future__ import annotations

from typing import Any

from alert_rules.dashboard_uids import DASHBOARDS
from dashboards.alerts import AlertSource


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
