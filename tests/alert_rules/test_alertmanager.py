"""The generated Alertmanager configuration: amtool accepts it, every alert routes to its
team (and critical ones to the pager), and a real Alertmanager delivers readable Slack and
PagerDuty messages to local fakes, inhibiting what a PSP outage explains."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from alert_rules import DOMAINS, all_alerts, load
from alert_rules.alertmanager import (
    CHANNELS,
    CONFIG_PATH,
    INHIBITIONS,
    TEMPLATE_PATH,
    Delivery,
    render_config,
)
from alert_rules.model import Fires
from alert_rules.render import expected_alert
from tests.alert_rules.tools import require

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / CONFIG_PATH


def test_amtool_check_config_passes():
    amtool = require("amtool")
    result = subprocess.run(
        [amtool, "check-config", str(COMMITTED)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_no_secret_is_committed_only_the_files_that_hold_them():
    text = COMMITTED.read_text()
    assert "hooks.slack.com" not in text
    assert "slack_api_url_file: /run/secrets/slack_webhook_url" in text
    assert "routing_key_file: /run/secrets/pagerduty_routing_key" in text
    assert "routing_key:" not in text and "slack_api_url:" not in text


def routes(amtool: str, **labels: str) -> str:
    result = subprocess.run(
        [amtool, "config", "routes", "test", f"--config.file={COMMITTED}",
         *[f"{k}={v}" for k, v in labels.items()]],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize("alert", all_alerts(), ids=lambda a: a.name)
def test_every_alert_routes_to_its_team_and_pages_when_critical(alert):
    amtool = require("amtool")
    got = routes(amtool, alertname=alert.name, severity=alert.severity, team=alert.team)
    expected = {
        "critical": f"pagerduty,slack-{alert.team}",
        "warning": f"slack-{alert.team}",
        "info": "blackhole",
    }[alert.severity]
    assert got == expected


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        ({"team": "payments", "severity": "critical"}, "pagerduty,slack-payments"),
        ({"team": "affiliates", "severity": "warning"}, "slack-affiliates"),
        ({"team": "finance", "severity": "warning"}, "slack-finance"),
        ({"team": "sportsbook", "severity": "info"}, "blackhole"),
        ({"team": "nobody", "severity": "warning"}, "slack-sre"),  # unknown team: SRE hears it
        ({"team": "nobody", "severity": "critical"}, "pagerduty"),
    ],
)
def test_routing_expectations(labels, receivers):
    assert routes(require("amtool"), alertname="X", **labels) == receivers


def test_every_inhibition_names_alerts_that_exist_and_share_the_equal_labels():
    alerts = {a.name: a for a in all_alerts()}
    for inhibition in INHIBITIONS:
        source = alerts[inhibition.source]
        targets = (
            [
                a
                for a in alerts.values()
                if a.team in inhibition.target.removeprefix("team:").split("|")
            ]
            if inhibition.target.startswith("team:")
            else [alerts[inhibition.target]]
        )
        assert targets
        for label in inhibition.equal:
            assert label in source.scope
            assert all(label in t.scope for t in targets)


# -- a real Alertmanager ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """A local stand-in for Slack's incoming webhook and PagerDuty's Events API v2."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict]] = []
        received = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.path, json.loads(body)))
                self.send_response(202 if self.path == "/pagerduty" else 200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while len(self.posts) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # anything more that would arrive (it must not)

    def slack(self) -> list[dict]:
        return [body for path, body in self.posts if path == "/slack"]

    def pagerduty(self) -> list[dict]:
        return [body for path, body in self.posts if path == "/pagerduty"]


@pytest.fixture
def alertmanager(tmp_path):
    binary = require("prometheus-alertmanager")
    receiver = Receiver()
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "slack_webhook_url").write_text(receiver.url + "/slack\n")
    (secrets / "pagerduty_routing_key").write_text("test-routing-key\n")
    delivery = Delivery(
        secrets_dir=str(secrets),
        pagerduty_url=receiver.url + "/pagerduty",
        group_wait="1s",
        group_interval="1s",
        page_group_wait="1s",
        page_group_interval="1s",
    )
    (tmp_path / "alertmanager.yml").write_text(render_config(DOMAINS, delivery))
    shutil.copy(ROOT / TEMPLATE_PATH, tmp_path / "pitwatch.tmpl")
    port = free_port()
    proc = subprocess.Popen(
        [binary, f"--config.file={tmp_path / 'alertmanager.yml'}",
         f"--storage.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address="],
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "alertmanager.log", "w"),  # noqa: SIM115
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(url + "/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(
                    "alertmanager did not start: " + (tmp_path / "alertmanager.log").read_text()
                )
            time.sleep(0.1)
        yield url, receiver
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        receiver.server.shutdown()


def alert(name: str, labels: dict[str, str], value: float) -> dict:
    """An alert as Prometheus would send it, annotations rendered from its declaration."""
    declared = {a.name: a for a in all_alerts()}[name]
    exp = expected_alert(declared, Fires("0m", labels, value), load())
    return {
        "labels": {"alertname": name, **exp["exp_labels"]},
        "annotations": exp["exp_annotations"],
        "startsAt": datetime.now(UTC).isoformat(),
    }


def test_a_real_alertmanager_delivers_to_slack_and_pages_and_inhibits_what_a_psp_outage_explains(
    alertmanager,
):
    url, receiver = alertmanager
    alerts = [
        alert("PspDown", {"psp": "paybridge", "geo": "DE"}, 75),
        # explained by the PSP outage in DE: inhibited
        alert("DepositSuccessRateDropGeo", {"geo": "DE"}, 0.4),
        # GB has no PSP outage: delivered
        alert("DepositSuccessRateDropGeo", {"geo": "GB"}, 0.55),
        # a warning: Slack only
        alert("DepositsAwaitingCallback", {"psp": "pixgate"}, 9),
    ]
    assert httpx.post(url + "/api/v2/alerts", json=alerts, timeout=5).status_code == 200
    # PspDown (Slack + pager), the GB drop (Slack + pager), the warning (Slack)
    receiver.wait(5)

    slack = receiver.slack()
    titles = sorted(m["attachments"][0]["title"] for m in slack)
    assert titles == [
        "[FIRING:1] DepositSuccessRateDropGeo geo=GB",
        "[FIRING:1] DepositsAwaitingCallback psp=pixgate",
        "[FIRING:1] PspDown geo=DE psp=paybridge",
    ]
    down = next(m for m in slack if "PspDown" in m["attachments"][0]["title"])
    assert down["channel"] == CHANNELS["payments"]
    text = down["attachments"][0]["text"]
    assert "75 deposits attempted through paybridge in DE" in text
    assert "(critical, team payments geo=DE psp=paybridge)" in text
    assert "alert_rules/runbooks/PspDown.md|Runbook>" in text
    assert "/d/pitwatch-payments?var-psp=paybridge&var-geo=DE|Dashboard>" in text
    assert down["attachments"][0]["color"] == "danger"

    # One page for the team: both of payments' critical alerts in one PagerDuty incident
    # (pages group by team), the inhibited DE drop not among them.
    pages = receiver.pagerduty()
    assert len(pages) == 1, [p["payload"]["summary"] for p in pages]
    summary = pages[0]["payload"]["summary"]
    assert summary.startswith("payments: ")
    listed = summary.removeprefix("payments: ").split(": ")[0].split("; ")
    assert sorted(listed) == ["DepositSuccessRateDropGeo geo=GB", "PspDown geo=DE psp=paybridge"]
    assert {p["routing_key"] for p in pages} == {"test-routing-key"}
    assert all(p["event_action"] == "trigger" for p in pages)
    assert any(link["text"] == "Runbook" for link in pages[0]["links"])

    state = httpx.get(url + "/api/v2/alerts", timeout=5).json()
    de_drop = next(
        a for a in state
        if a["labels"]["alertname"] == "DepositSuccessRateDropGeo" and a["labels"]["geo"] == "DE"
    )  # fmt: skip
    assert de_drop["status"]["state"] == "suppressed"
    assert de_drop["status"]["inhibitedBy"]


def test_a_platform_outage_silences_the_business_alerts_it_explains_but_not_the_ledger(
    alertmanager,
):
    url, receiver = alertmanager
    alerts = [
        alert("PlatformDown", {"job": "igaming-platform"}, 2),
        alert("PspDown", {"psp": "paybridge", "geo": "DE"}, 75),  # payments: inhibited
        alert("FtdPostbackGap", {"affiliate": "topcasinos", "campaign": "spring"}, 4),
        alert("LedgerInvariantBroken", {"kind": "balance_mismatch"}, 2),  # wallet: stays on
    ]
    assert httpx.post(url + "/api/v2/alerts", json=alerts, timeout=5).status_code == 200
    receiver.wait(4)  # PlatformDown and the ledger, each to Slack and the pager

    titles = sorted(m["attachments"][0]["title"] for m in receiver.slack())
    assert titles == [
        "[FIRING:1] LedgerInvariantBroken kind=balance_mismatch",
        "[FIRING:1] PlatformDown job=igaming-platform",
    ]
    channels = sorted(m["channel"] for m in receiver.slack())
    assert channels == sorted([CHANNELS["sre"], CHANNELS["wallet"]])
    assert len(receiver.pagerduty()) == 2
    state = {a["labels"]["alertname"]: a["status"]["state"] for a in httpx.get(
        url + "/api/v2/alerts", timeout=5).json()}  # fmt: skip
    assert state["PspDown"] == state["FtdPostbackGap"] == "suppressed"
    assert state["LedgerInvariantBroken"] == state["PlatformDown"] == "active"
