"""``pitwatch demo``: the whole stack on one machine, an incident injected on purpose, and a
live summary of what the suite sees.

The native stack (``pitwatch.stack.native``) runs with the demo rule profile (short
windows, 5 s scrapes) on the embedded SQLite database; live traffic plays a scenario whose
PSP outage begins a minute in. Every few seconds the demo prints what is being injected,
which alerts are pending or firing in Prometheus, and the last messages that reached
"Slack" (the local notification sink). Without Prometheus on PATH the platform, the
simulators and the traffic still run, and the demo says how to add it.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

from pitwatch.stack import native
from pitwatch.stack.config import StackConfig, StackPorts

DEMO_SCENARIO = "demo"  # platform/igaming/traffic/scenarios/demo.yaml, when it exists
FALLBACK_BASE = "psp-outage-de"
INCIDENT_START = "1m"
INCIDENT_DURATION = "10m"
HIDDEN_LABELS = ("alertname", "severity", "team")


def _say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


# -- the Debian packages the stack runs beside pitwatch --------------------------------------

# package -> the binaries that stand for it on PATH (any one will do)
PACKAGE_BINARIES: dict[str, tuple[str, ...]] = {
    "prometheus": native.PROMETHEUS_BINARIES,
    "prometheus-alertmanager": native.ALERTMANAGER_BINARIES,
    "prometheus-node-exporter": native.NODE_EXPORTER_BINARIES,
    "prometheus-postgres-exporter": native.POSTGRES_EXPORTER_BINARIES,
}
# Debian's "do not start daemons while installing" hook: the packages' own services would
# take the ports the demo's processes listen on (9090, 9093, 9100, 9187).
POLICY_RC_D = Path("/usr/sbin/policy-rc.d")

Run = Callable[[Sequence[str]], int]


def _run(argv: Sequence[str]) -> int:
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(list(argv), env=env, stdout=subprocess.DEVNULL, check=False).returncode


def missing_packages(which: Callable[[str], str | None] = shutil.which) -> list[str]:
    """The stack's Debian packages none of whose binaries is on PATH."""
    return [p for p, names in PACKAGE_BINARIES.items() if not any(which(n) for n in names)]


def install_packages(
    say: Callable[[str], None] = _say,
    *,
    which: Callable[[str], str | None] = shutil.which,
    is_root: bool | None = None,
    run: Run = _run,
    policy: Path = POLICY_RC_D,
) -> bool:
    """Install the stack's missing Debian packages when this runs as root with apt-get,
    saying so in one line; else say the one command to run. Nothing to do when every binary
    is on PATH. True when nothing is missing afterwards."""
    missing = missing_packages(which)
    if not missing:
        return True
    command = "apt-get install -y " + " ".join(missing)
    root = os.geteuid() == 0 if is_root is None else is_root
    if not root or which("apt-get") is None:
        why = "not root" if not root else "no apt-get"
        say(f"{', '.join(missing)} not installed ({why}); to see alerts, run: sudo {command}")
        return False
    say(f"installing {', '.join(missing)} (apt-get; their system services are not started)")
    ours = not policy.exists()
    try:
        if ours:
            policy.write_text("#!/bin/sh\nexit 101\n")
            policy.chmod(0o755)
        code = run(["apt-get", "update", "-qq"]) or run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing]
        )
    finally:
        if ours:
            policy.unlink(missing_ok=True)
    if code != 0 or missing_packages(which):
        say(f"could not install them (apt-get exit {code}); run: sudo {command}")
        return False
    return True


def demo_scenario(run_dir: Path) -> str:
    """The built-in demo scenario, or one written to ``run_dir``: psp-outage-de's incident
    (paybridge approves 5 % of DE card deposits) one minute in, for ten minutes."""
    from igaming.traffic.scenario import SCENARIO_DIR, builtin_names, parse

    if DEMO_SCENARIO in builtin_names():
        return DEMO_SCENARIO
    data = yaml.safe_load((SCENARIO_DIR / f"{FALLBACK_BASE}.yaml").read_text(encoding="utf-8"))
    incident = dict(data["incidents"][0])
    incident.update(start=INCIDENT_START, duration=INCIDENT_DURATION)
    incident.pop("end", None)
    data.update(
        name="demo-psp-outage-de",
        description="paybridge approves 5 % of card deposits in DE for 10 minutes, "
        "starting a minute into the demo.",
        duration="2h",
        incidents=[incident],
    )
    parse(data, "demo")  # refuse here, not in the traffic's log
    path = run_dir / "demo-scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


def smoke(base: str, timeout: float = 60) -> str:
    """Register a player, verify, deposit, wait for the PSP's callback; returns the status."""
    with httpx.Client(base_url=base, timeout=10) as http:
        email = f"demo-{uuid.uuid4().hex[:8]}@example.com"
        player = {
            "email": email,
            "password": "correct horse battery",
            "country": "DE",
            "currency": "EUR",
            "date_of_birth": "1990-05-17",
            "affiliate": "aff17",
            "campaign": "spring-de",
        }
        http.post("/players", json=player).raise_for_status()
        token = http.post("/sessions", json={"email": email, "password": player["password"]})
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        _say(f"registered {email} (DE, EUR)")
        kyc = http.post("/kyc/verifications", headers=headers).json()
        _say(f"KYC: {kyc['status']}")
        deposit = http.post(
            "/cashier/deposits",
            json={"amount": 2_500, "currency": "EUR", "method": "ewallet"},
            headers=headers | {"Idempotency-Key": uuid.uuid4().hex},
        ).json()
        _say(f"deposit 25.00 EUR via {deposit['psp']}: {deposit['status']}, waiting for callback")
        deadline = time.monotonic() + timeout
        status = deposit["status"]
        while status in ("initiated", "pending", "timed_out") and time.monotonic() < deadline:
            time.sleep(0.5)
            status = http.get(f"/cashier/deposits/{deposit['id']}", headers=headers).json()[
                "status"
            ]
        balance = http.get("/wallet/balance", headers=headers).json()
        _say(f"deposit {status}; balance {balance}")
        return status


# -- the live summary ------------------------------------------------------------------------


class Timeline:
    """The scenario's incidents on the wall clock: a live run starts after its warm-up
    (igaming.traffic.live.run_live: 2 s + 0.25 s per existing player registered)."""

    def __init__(self, scenario_ref: str, rate: float, traffic_started: datetime) -> None:
        from igaming.traffic.scenario import load

        self.scenario = load(scenario_ref)
        existing = min(self.scenario.existing_players, math.ceil(20.0 * rate))
        self.start = traffic_started + timedelta(seconds=2 + 0.25 * existing)

    @staticmethod
    def describe(incident: Any) -> str:
        scope = " ".join(f"{k}={v}" for k, v in incident.scope().items())
        params = " ".join(f"{k}={v}" for k, v in incident.parameters().items())
        return " ".join(filter(None, (incident.type, scope, params)))

    def lines(self, now: datetime) -> list[str]:
        if now < self.start:
            return [f"traffic warming up; the scenario starts in ~{_mmss(self.start - now)}"]
        active, upcoming = [], []
        for inc in self.scenario.incidents:
            begins, ends = self.start + inc.start, self.start + inc.until
            if begins <= now < ends:
                active.append(f"{self.describe(inc)} (~{_mmss(ends - now)} left)")
            elif now < begins:
                upcoming.append((begins, f"{self.describe(inc)} in ~{_mmss(begins - now)}"))
        out = [f"injecting: {a}" for a in active] or ["injecting: nothing (normal traffic)"]
        if upcoming:
            out.append(f"next: {min(upcoming)[1]}")
        return out


def _mmss(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _labels(labels: dict[str, str]) -> str:
    shown = ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k not in HIDDEN_LABELS)
    return f"{labels.get('alertname', '?')}{{{shown}}}" if shown else labels.get("alertname", "?")


def alert_lines(prometheus_url: str | None) -> list[str]:
    if prometheus_url is None:
        return []
    try:
        alerts = native.prometheus_alerts(prometheus_url)
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        return [f"alerts: Prometheus did not answer ({type(exc).__name__})"]
    out = []
    for state in ("firing", "pending"):
        names = sorted(_labels(a["labels"]) for a in alerts if a.get("state") == state)
        if names:
            out.append(f"{state}: {'; '.join(names[:6])}{' …' if len(names) > 6 else ''}")
    return out or ["alerts: none pending or firing"]


def slack_lines(notify_url: str, last: int = 3) -> list[str]:
    try:
        slack = native.notifications(notify_url, "slack")
        pages = native.notifications(notify_url, "pagerduty")
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        return [f"slack: the sink did not answer ({type(exc).__name__})"]
    out = [f"slack: {len(slack)} messages, pagerduty: {len(pages)} events"]
    for m in slack[-last:]:
        body = m["body"]
        title = (body.get("attachments") or [{}])[0].get("title") or body.get("text", "")
        out.append(f"  {body.get('channel', '(default channel)')} {title}")
    return out


def summary(stack: native.Stack, timeline: Timeline | None, began: float) -> list[str]:
    now = datetime.now(UTC)
    head = f"--- {_mmss(timedelta(seconds=time.monotonic() - began))} into the demo ---"
    lines = [head, *(timeline.lines(now) if timeline else [])]
    lines += alert_lines(stack.prometheus_url)
    lines += slack_lines(stack.notify_url)
    return lines


def _where(stack: native.Stack) -> None:
    for what, url in native.urls(stack):
        _say(f"  {what:<22} {url}")


# -- the demo --------------------------------------------------------------------------------


def run_demo(
    *,
    ports: StackPorts | None = None,
    once: bool = False,
    run_dir: Path = Path("var/stack"),
    scenario: str | None = None,
    rate: float = 8.0,
    duration: float | None = None,
    every: float = 10.0,
    install: bool = False,
) -> int:
    """Start the stack, print a summary every ``every`` seconds until Ctrl-C, SIGTERM or
    ``duration`` seconds after the stack is up; stop everything. ``once``: no traffic, one
    player's walk-through. ``install``: first install the stack's missing Debian packages
    where it can (``install_packages``)."""
    # A SIGTERM (a supervisor, `timeout`, CI) must stop the children too: turn it into
    # SystemExit so that the finally block below runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    run_dir.mkdir(parents=True, exist_ok=True)
    if install:
        install_packages()
    scenario_ref = None if once else (scenario or demo_scenario(run_dir))
    config = StackConfig(
        run_dir=run_dir,
        profile="demo",
        scenario=scenario_ref,
        rate=rate,
        ports=ports or StackPorts(),
    )
    _say(f"database {config.database_url}; logs in {run_dir}/")
    began = time.monotonic()
    try:
        try:
            stack = native.up(config, say=_say)
        except native.StackError as exc:
            print(f"pitwatch: {exc}", file=sys.stderr)
            return exc.code
        for note in stack.notes:
            _say(f"note: {note}")
        if once:
            status = smoke(stack.platform_url)
            _where(stack)
            # Declines happen (the PSPs approve ~90 %); a callback that never came is the failure.
            return 0 if status in ("approved", "declined", "failed") else 1
        _say("where to look:")
        _where(stack)
        if stack.prometheus_url is None:
            _say(f"Prometheus is not on PATH: traffic runs but no alert is evaluated. Add it: "
                 f"{native.INSTALL_HINT}, then run the demo again")  # fmt: skip
        started = stack.traffic_started_at or datetime.now(UTC)
        timeline = Timeline(scenario_ref, rate, started) if scenario_ref else None
        _say(f"running; Ctrl-C stops everything (summary every {every:g} s)")
        running = time.monotonic()  # --duration counts from here, once everything is up
        while duration is None or time.monotonic() - running < duration:
            for line in summary(stack, timeline, began):
                _say(line)
            died = [n for n, p in stack.procs.items() if n != "traffic" and p.poll() is not None]
            if died:
                _say(f"{', '.join(died)} exited (see {run_dir}/<name>.log); stopping")
                return 1
            left = None if duration is None else duration - (time.monotonic() - running)
            wait = every if left is None else min(every, left)
            time.sleep(max(0.0, wait))
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        stopped = native.down(run_dir)
        if stopped:
            _say(f"stopped {len(stopped)} processes")
