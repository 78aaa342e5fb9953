"""The native stack: every component comes up on 127.0.0.1 and answers, Prometheus scrapes
the platform and the state exporter, Alertmanager delivers to the local Slack and PagerDuty,
``down`` stops exactly what ``up`` started, and a taken port starts nothing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
from datetime import UTC, datetime

import httpx
import pytest

from pitwatch.stack import native
from pitwatch.stack.sinks import MESSAGES_FILE, REJECTED_FILE, NotifySink
from tests.e2e.stack_tools import (
    free_stack_ports,
    gone,
    listening,
    pitwatch,
    ports_spec,
    require,
    running_stack,
    stack_config,
    wait_until,
)

ALWAYS = {"platform", "psp", "kyc", "odds", "games", "affiliates", "notify", "state"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with running_stack(stack_config(tmp_path_factory.mktemp("stack"))) as s:
        yield s


# -- the stack up ----------------------------------------------------------------------------


def test_every_component_answers_its_health_url_on_127_0_0_1(stack):
    names = {c.name for c in stack.components}
    assert names >= ALWAYS
    for binary, name in (("prometheus", "prometheus"), ("prometheus-alertmanager", "alertmanager")):
        if os.environ.get("PITWATCH_REQUIRE_PROMTOOL") == "1" or name in names:
            require(binary)
            assert name in names
    for c in stack.components:
        if c.health is not None:
            assert c.url.startswith("http://127.0.0.1:")
            assert httpx.get(c.health, timeout=5).status_code == 200, c.name
    recorded = json.loads((stack.run_dir / native.STACK_FILE).read_text())
    assert {c["name"] for c in recorded["components"]} == names
    for c in recorded["components"]:
        assert c["pid"] > 0 and c["pgid"] == c["pid"], c
        assert os.path.isfile(c["log"]), c


def test_prometheus_scrapes_the_platform_and_the_state_exporter(stack):
    require("prometheus")

    def both_up():
        r = httpx.get(f"{stack.prometheus_url}/api/v1/query", params={"query": "up"}, timeout=3)
        ups = {s["metric"]["job"]: s["value"][1] for s in r.json()["data"]["result"]}
        # the host's exporter beside them where it is installed (SQLite: no database one)
        host = {"node": "1"} if shutil.which("prometheus-node-exporter") else {}
        return ups if ups == {"igaming-platform": "1", "pitwatch-state": "1", **host} else None

    wait_until(both_up, 30, "up == 1 for both jobs (and the host exporter's)")
    rules = httpx.get(f"{stack.prometheus_url}/api/v1/rules", timeout=3).json()["data"]
    assert sum(len(g["rules"]) for g in rules["groups"]) > 0
    ams = httpx.get(f"{stack.prometheus_url}/api/v1/alertmanagers", timeout=3).json()["data"]
    if stack.alertmanager_url:
        assert [a["url"] for a in ams["activeAlertmanagers"]] == [
            f"{stack.alertmanager_url}/api/v2/alerts"
        ]


def test_alertmanager_config_is_valid_and_alertmanager_is_ready(stack):
    amtool = require("amtool")
    require("prometheus-alertmanager")
    config = stack.run_dir / "alertmanager.yml"
    checked = subprocess.run(
        [amtool, "check-config", str(config)], capture_output=True, text=True, timeout=20
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout
    assert httpx.get(f"{stack.alertmanager_url}/-/ready", timeout=3).status_code == 200
    loaded = httpx.get(f"{stack.alertmanager_url}/api/v2/status", timeout=3).json()
    assert f"{stack.notify_url}/v2/enqueue" in loaded["config"]["original"]


def test_a_critical_alert_reaches_the_local_slack_and_pagerduty(stack):
    require("prometheus-alertmanager")
    alert = {
        "labels": {"alertname": "StackE2eProbe", "severity": "critical", "team": "payments",
                   "psp": "paybridge", "geo": "DE"},
        "annotations": {"summary": "probe", "description": "probe",
                        "runbook_url": "http://runbook", "dashboard_url": "http://dashboard"},
        "startsAt": datetime.now(UTC).isoformat(),
    }  # fmt: skip
    posted = httpx.post(f"{stack.alertmanager_url}/api/v2/alerts", json=[alert], timeout=5)
    assert posted.status_code == 200

    def delivered():
        slack = native.notifications(stack.notify_url, "slack")
        pages = native.notifications(stack.notify_url, "pagerduty")
        mine = [m for m in slack if "StackE2eProbe" in json.dumps(m["body"])]
        return (mine, pages) if mine and pages else None

    slack, pages = wait_until(delivered, 30, "the probe alert in the sink")
    body = slack[0]["body"]
    assert body["channel"] == "#payments-alerts"
    assert body["attachments"][0]["title"] == "[FIRING:1] StackE2eProbe geo=DE psp=paybridge"
    assert pages[0]["body"]["routing_key"] == "pitwatch-local-routing-key"
    assert pages[0]["body"]["event_action"] == "trigger"
    lines = (stack.run_dir / MESSAGES_FILE).read_text().splitlines()
    assert any("StackE2eProbe" in line for line in lines)


def test_status_reports_every_component_up(stack):
    rows = native.status(stack.run_dir)
    assert {r.component.name for r in rows} == {c.name for c in stack.components}
    assert all(r.alive for r in rows)
    assert all(r.healthy for r in rows if r.component.health)


# -- down, and what up refuses ---------------------------------------------------------------


def test_down_stops_exactly_the_started_processes_and_leaves_an_unrelated_one(tmp_path):
    bystander = subprocess.Popen(["sleep", "120"], start_new_session=True)
    ports = free_stack_ports()
    run_dir = tmp_path / "stack"
    env = os.environ | {"PITWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    try:
        started = pitwatch("stack", "up", "--run-dir", str(run_dir), "--ports",
                           ports_spec(ports), "--timeout", "40", env=env)  # fmt: skip
        assert started.returncode == 0, started.stdout + started.stderr
        recorded = native.load(run_dir)
        assert recorded is not None
        assert {c.name for c in recorded.components} >= ALWAYS
        pids = [c.pid for c in recorded.components]
        assert not any(gone(pid) for pid in pids)
        assert f"http://127.0.0.1:{ports.platform}/docs" in started.stdout

        again = pitwatch("stack", "up", "--run-dir", str(run_dir), "--ports",
                         ports_spec(free_stack_ports()), env=env)  # fmt: skip
        assert again.returncode == 2
        assert "already running" in again.stderr

        stopped = pitwatch("stack", "down", "--run-dir", str(run_dir), env=env)
        assert stopped.returncode == 0, stopped.stderr
        assert all(gone(pid) for pid in pids), [p for p in pids if not gone(p)]
        assert not any(listening(c.port) for c in recorded.components if c.port)
        assert not (run_dir / native.STACK_FILE).exists()
        assert bystander.poll() is None  # not ours: untouched
    finally:
        native.down(run_dir, timeout=5)
        os.killpg(bystander.pid, signal.SIGKILL)
        bystander.wait()


def test_a_port_in_use_is_a_one_line_error_exit_2_and_nothing_starts(tmp_path):
    ports = free_stack_ports()
    run_dir = tmp_path / "stack"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", ports.state))
        taken.listen()
        result = pitwatch("stack", "up", "--run-dir", str(run_dir), "--ports", ports_spec(ports),
                          env=os.environ | {"PITWATCH_DATABASE_URL":
                                            f"sqlite:///{tmp_path / 'db.sqlite'}"})  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"port {ports.state} (state) is in use" in lines[0]
    assert not (run_dir / native.STACK_FILE).exists()
    assert not list(run_dir.glob("*.log"))
    others = [getattr(ports, n) for n in ports.names() if n != "state"]
    assert not any(listening(p) for p in others)


def test_a_bad_ports_option_is_a_one_line_error():
    result = pitwatch("stack", "up", "--ports", "platfrom=8700")
    assert result.returncode == 2
    assert "'platfrom=8700' is not name=port" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_down_without_a_stack_says_so(tmp_path):
    result = pitwatch("stack", "down", "--run-dir", str(tmp_path))
    assert result.returncode == 0
    assert "no stack recorded" in result.stdout


# -- the notification sink -------------------------------------------------------------------


@pytest.fixture
def sink(tmp_path):
    with NotifySink("127.0.0.1", 0, tmp_path) as s:
        yield s


def test_the_sink_records_a_slack_post_and_a_pagerduty_enqueue(sink, tmp_path):
    slack = {"channel": "#payments-alerts", "attachments": [{"title": "[FIRING:1] PspDown"}]}
    r = httpx.post(f"{sink.url}/slack/T000/B000/XXXX", json=slack, timeout=5)
    assert (r.status_code, r.text) == (200, "ok")
    event = {
        "routing_key": "key",
        "event_action": "trigger",
        "dedup_key": "abc",
        "payload": {"summary": "PspDown", "source": "alertmanager", "severity": "critical"},
    }
    r = httpx.post(f"{sink.url}/v2/enqueue", json=event, timeout=5)
    assert r.status_code == 202
    assert r.json() == {"status": "success", "message": "Event processed", "dedup_key": "abc"}

    got = httpx.get(f"{sink.url}/messages", timeout=5).json()["messages"]
    assert [(m["kind"], m["path"], m["body"]) for m in got] == [
        ("slack", "/slack/T000/B000/XXXX", slack),
        ("pagerduty", "/v2/enqueue", event),
    ]
    only = httpx.get(f"{sink.url}/messages", params={"kind": "pagerduty"}, timeout=5).json()
    assert [m["body"] for m in only["messages"]] == [event]
    lines = (tmp_path / MESSAGES_FILE).read_text().splitlines()
    assert [json.loads(line)["body"] for line in lines] == [slack, event]


def test_bad_json_gets_a_400_problem_and_is_kept_and_loses_nothing(sink, tmp_path):
    httpx.post(f"{sink.url}/slack/x", json={"text": "first"}, timeout=5)
    r = httpx.post(f"{sink.url}/slack/x", content=b"{not json", timeout=5)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 400 and "not JSON" in r.json()["detail"]
    r = httpx.post(f"{sink.url}/v2/enqueue", content=b"[1, 2", timeout=5)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert [m["body"] for m in sink.messages] == [{"text": "first"}]
    rejected = [json.loads(x) for x in (tmp_path / REJECTED_FILE).read_text().splitlines()]
    assert [x["body"] for x in rejected] == ["{not json", "[1, 2"]


def test_the_sink_refuses_what_slack_and_pagerduty_refuse(sink):
    r = httpx.post(f"{sink.url}/slack/x", json={"channel": "#x"}, timeout=5)
    assert (r.status_code, r.text) == (400, "no_text")
    r = httpx.post(f"{sink.url}/v2/enqueue", json={"event_action": "trigger"}, timeout=5)
    assert r.status_code == 400
    assert r.json()["status"] == "invalid event"
    assert any("routing_key" in e for e in r.json()["errors"])
    assert httpx.post(f"{sink.url}/elsewhere", json={}, timeout=5).status_code == 404
    assert sink.messages == []
    assert httpx.get(f"{sink.url}/healthz", timeout=5).json()["status"] == "ok"
