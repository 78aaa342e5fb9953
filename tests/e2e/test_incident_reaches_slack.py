"""From an injected incident to a message in a Slack channel, with real binaries over real
HTTP on loopback: two native stacks side by side (the demo rule profile, 5 s scrapes), one
driven by live traffic with German card deposits failing at paybridge, the other by the
same traffic without the incident. The broken one's Prometheus fires, its Alertmanager
delivers to the local Slack-compatible receiver; the healthy one delivers nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.alert_rules.tools import require

TRAFFIC = {
    "description": "German card deposits and the rest of a small operator's day",
    "seed": 11,
    "duration": "20m",
    "players": {
        "daily_active": 5000,
        "existing": 60,
        "sessions_per_day": 6,
        "organic_registrations_per_day": 3000,
    },
    "geos": {"DE": {"weight": 1.0, "methods": {"card": 1.0}, "deposit_median": 2000}},
    "campaigns": [
        {"affiliate": "aff17", "campaign": "spring-de", "clicks_per_day": 20000, "geos": ["DE"],
         "click_to_registration": 0.3, "registration_to_ftd": 1.0},
    ],
    "deposits": {"redeposit_below": 1.0, "retry_after_decline": 0.0},
    "casino": {"share": 1.0, "rounds_per_session": 2, "stake_share": 0.5},
    "sportsbook": {"share": 0.4, "bets_per_session": 1, "stake_share": 0.1},
    "withdrawals": {"per_session": 0.05},
}  # fmt: skip
INCIDENT = {
    "type": "psp_degradation",
    "start": "45s",
    "duration": "19m",
    "psp": "paybridge",
    "geo": "DE",
    "method": "card",
    "approval_rate": 0.02,
}
RATE = 6.0
DEADLINE_SECONDS = 480  # the demo profile fires in ~2 min; traffic needs a minute to build


def _scenario(path: Path, name: str, incidents: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"name": name, **TRAFFIC, "incidents": incidents}))
    return path


def _firing_slack(notify_url: str) -> list[dict[str, Any]]:
    from pitwatch.stack.native import notifications

    return [m for m in notifications(notify_url, "slack") if "[FIRING" in _title(m)]


def _title(message: dict[str, Any]) -> str:
    body = message.get("body") or message
    attachments = body.get("attachments") or [{}]
    return str(attachments[0].get("title", ""))


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from pitwatch.stack.config import StackConfig, StackPorts
    from pitwatch.stack.native import down, up

    require("prometheus")
    require("prometheus-alertmanager")
    tmp = tmp_path_factory.mktemp("stacks")
    base = StackPorts()
    plans = {
        "incident": (_scenario(tmp / "incident.yaml", "e2e-incident", [INCIDENT]), 3000),
        "healthy": (_scenario(tmp / "healthy.yaml", "e2e-healthy", []), 3100),
    }
    started: dict[str, Any] = {}
    try:
        for name, (scenario, offset) in plans.items():
            config = StackConfig(
                run_dir=tmp / name,
                database_url=f"sqlite:///{tmp / name / 'pitwatch.db'}",
                scenario=str(scenario),
                rate=RATE,
                profile="demo",
                ports=base.shifted(offset),
            )
            started[name] = up(config)
        yield started
    finally:
        for name in started:
            down(tmp / name)


def _incident_messages(stacks: dict[str, Any]) -> list[dict[str, Any]]:
    """The incident stack's DepositSuccessRateDropGeo messages in Slack, waiting for the
    first (once per module: the tests after it read a stack that has played the incident)."""
    if "messages" not in stacks:
        incident = stacks["incident"]
        deadline = time.monotonic() + DEADLINE_SECONDS
        found: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not found:
            found = [
                m
                for m in _firing_slack(incident.notify_url)
                if "DepositSuccessRateDropGeo" in _title(m)
            ]
            if not found:
                time.sleep(5)
        stacks["messages"] = found
    return stacks["messages"]


def test_a_psp_degradation_in_one_geo_reaches_the_payments_slack_channel(stacks):
    incident = stacks["incident"]
    found = _incident_messages(stacks)
    assert found, (
        "no DepositSuccessRateDropGeo message reached Slack; alerts: "
        f"{[a['labels']['alertname'] for a in _alerts(incident.prometheus_url)]}"
    )
    body = found[0].get("body") or found[0]
    text = body["attachments"][0]["text"]
    assert body["channel"] == "#payments-alerts"
    assert "geo=DE" in _title(found[0])
    assert "(critical, team payments" in text or "(warning, team payments" in text
    assert "geo=DE" in text
    assert "alert_rules/runbooks/DepositSuccessRateDropGeo.md|Runbook>" in text
    assert "/d/pitwatch-payments" in text and "var-geo=DE" in text


def test_the_psp_degradation_is_also_paged_or_named_by_psp(stacks):
    """The same outage seen by PSP: an alert naming paybridge fires in Prometheus."""
    incident = stacks["incident"]
    _incident_messages(stacks)
    names = {
        (a["labels"]["alertname"], a["labels"].get("psp")) for a in _alerts(incident.prometheus_url)
    }
    assert any(psp == "paybridge" for _, psp in names), names


# Alerts on the machine the stacks run on (node exporter), not on the simulated traffic:
# the demo profile's 30-minute disk trend fires while other tests write gigabytes beside the
# stack, which is the host's truth and not the traffic's.
HOST_ALERTS = frozenset({"DiskFillingUp", "HostMemoryPressure"})


def test_the_same_traffic_without_the_incident_delivers_nothing(stacks):
    _incident_messages(stacks)  # as long as the incident took to reach Slack
    healthy = stacks["healthy"]
    firing = [
        a["labels"]
        for a in _alerts(healthy.prometheus_url)
        if a["state"] == "firing" and a["labels"]["alertname"] not in HOST_ALERTS
    ]
    assert _deposits_seen(healthy.prometheus_url) > 20  # the healthy stack had traffic
    assert firing == []
    slack = [m for m in _firing_slack(healthy.notify_url) if not _about_the_host(m)]
    assert slack == []


def _about_the_host(message: dict[str, Any]) -> bool:
    title = _title(message)
    return any(name in title for name in HOST_ALERTS)


def _alerts(prometheus_url: str) -> list[dict[str, Any]]:
    from pitwatch.stack.native import prometheus_alerts

    return prometheus_alerts(prometheus_url)


def _deposits_seen(prometheus_url: str) -> float:
    r = httpx.get(
        f"{prometheus_url}/api/v1/query",
        params={"query": "sum(igaming_deposit_attempts_total)"},
        timeout=5,
    )
    r.raise_for_status()
    result = r.json()["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


# Panels with no data in these stacks, each for a reason of the data, not of the query
# (tests/dashboards proves every query against series of every catalog metric):
# (dashboard key, panel title) -> why. Everything else must show data; these may.
_DEAD = "a postback is dead-lettered after 8 failed attempts over hours: none in minutes"
_GAP = "series only for campaigns with an FTD whose postback is undelivered: none here"
_BREAKS = "series only per open reconciliation break: the stack's reconciliation finds none"
_PENDING = "series only while a postback waits: sent within a second, rarely at a scrape"
QUIET_PANELS: dict[tuple[str, str], str] = {
    ("affiliates", "Dead-lettered postbacks"): _DEAD,
    ("affiliates", "Dead-lettered postbacks by affiliate"): _DEAD,
    ("affiliates", "FTDs without a delivered postback"): _GAP,
    ("affiliates", "FTDs without a delivered postback, by affiliate and campaign"): _GAP,
    ("affiliates", "Oldest FTD without a delivered postback"): _GAP,
    ("affiliates", "Pending postbacks by affiliate"): _PENDING,
    ("affiliates", "Oldest pending postback by affiliate"): _PENDING,
    ("wallet", "Break aging: oldest open break by pair and type"): _BREAKS,
    ("wallet", "Open breaks by pair, type and PSP"): _BREAKS,
    ("wallet", "Open breaks by type"): _BREAKS,
    ("wallet", "Wallet ⟷ game provider: open breaks by provider and type"): _BREAKS,
    ("infrastructure", "Disk time to full (at the rate of the last 6h)"): "series only for "
    "a filesystem whose free space is shrinking: none may be, minutes into a stack",
    **{
        ("infrastructure", title): "the first restore test runs 30 minutes after the first "
        "backup: the stack lives minutes"
        for title in (
            "Last restore test",
            "Last restore test ran",
            "Last passing restore test",
            "Restore duration and the RTO",
        )
    },
}


def _postgres_only(key: str, panel: dict[str, Any]) -> bool:
    """A panel of the PostgreSQL exporter's series alone: the incident stacks run on SQLite,
    which has no exporter (tests/e2e/test_exporters.py scrapes a real one)."""
    from tests.dashboards.tools import promql

    targets = panel.get("targets", [])
    return (
        key == "infrastructure"
        and bool(targets)
        and all("pg_" in promql(t["expr"]) for t in targets)
        and not any("pitwatch_" in promql(t["expr"]) for t in targets)
    )


def test_every_dashboard_panel_shows_data_against_the_incident_stacks_prometheus(stacks):
    assert _incident_messages(stacks)  # the incident has played, with its traffic
    prometheus = stacks["incident"].prometheus_url
    # Referred players' FTDs and their postbacks come minutes into the traffic: look again
    # until every panel but the quiet ones shows data, or the time is up.
    deadline = time.monotonic() + 240
    while True:
        empty = _empty_panels(prometheus)
        if empty <= set(QUIET_PANELS) or time.monotonic() > deadline:
            break
        time.sleep(10)
    # The quiet ones may show data now and then (a postback pending for a second).
    assert sorted(empty - set(QUIET_PANELS)) == []


def _empty_panels(prometheus: str) -> set[tuple[str, str]]:
    from dashboards import dashboards
    from tests.dashboards.tools import panels, promql

    empty = set()
    for key, model in dashboards().items():
        for panel in panels(model):
            if _postgres_only(key, panel):
                continue
            targets = panel.get("targets", [])
            results = [_query(prometheus, promql(t["expr"])) for t in targets]
            if targets and not any(results):
                empty.add((key, panel["title"]))
    return empty


def _query(prometheus_url: str, expr: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{prometheus_url}/api/v1/query", params={"query": expr}, timeout=10)
    r.raise_for_status()
    return r.json()["data"]["result"]
