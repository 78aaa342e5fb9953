"""``pitwatch demo``: the native stack as separate processes over real HTTP on 127.0.0.1.
With --once, a player registers, verifies, deposits, and the PSP's signed callback arrives
and is applied; without it, traffic runs and a live summary is printed until SIGTERM or
--duration, and every process the demo started is stopped."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.stack_tools import free_stack_ports, listening, ports_spec

INSTALL_HINT = "apt-get install -y prometheus prometheus-alertmanager"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return os.environ | {"PITWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"} | extra


def _demo(*args: str) -> list[str]:
    return [sys.executable, "-m", "pitwatch.cli", "demo", *args]


def test_demo_walkthrough_across_processes(tmp_path):
    ports = free_stack_ports()
    result = subprocess.run(
        _demo("--once", "--ports", ports_spec(ports)),
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "KYC: approved" in out or "KYC: manual_review" in out or "KYC: rejected" in out
    assert "via ewallo: pending" in out
    # The signed callback arrived with a final status. The PSPs decline or fail a share of
    # payments, so any final status is right; the balance must match it.
    final = re.search(
        r"deposit (approved|declined|failed); balance \[\{'currency': 'EUR', 'cash': (\d+)", out
    )
    assert final is not None, out
    assert int(final.group(2)) == (2500 if final.group(1) == "approved" else 0), out
    assert f"http://127.0.0.1:{ports.platform}/docs" in out
    assert (tmp_path / "var" / "stack" / "platform.log").exists()
    assert not (tmp_path / "var" / "stack" / "stack.json").exists()
    assert not any(listening(getattr(ports, n)) for n in ports.names())


def test_sigterm_stops_the_demo_and_every_process_it_started(tmp_path):
    ports = free_stack_ports()
    demo = subprocess.Popen(
        _demo("--ports", ports_spec(ports), "--rate", "1", "--every", "2"),
        cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 90
        for line in demo.stdout:
            seen.append(line)
            if "slack: " in line or time.monotonic() > deadline:  # the first summary's end
                break
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=30) == 0
    finally:
        if demo.poll() is None:
            demo.kill()
    out = "".join(seen)
    assert "running; Ctrl-C stops everything" in out, out
    assert "into the demo ---" in out, out
    assert "traffic warming up" in out or "injecting:" in out, out
    assert "slack: 0 messages, pagerduty: 0 events" in out, out
    if shutil.which("prometheus"):
        assert re.search(r"\[demo\] (alerts: |pending: |firing: )", out), out
    assert not (tmp_path / "var" / "stack" / "stack.json").exists()
    for name in ports.names():  # no child is left serving
        assert not listening(getattr(ports, name)), f"{name} still served"


def test_the_demo_runs_without_prometheus_and_says_how_to_add_it(tmp_path):
    # A fresh machine: only the virtualenv on PATH, no Prometheus, no Alertmanager.
    ports = free_stack_ports()
    result = subprocess.run(
        _demo("--ports", ports_spec(ports), "--rate", "1", "--every", "3", "--duration", "6"),
        cwd=tmp_path,
        env=_env(tmp_path, PATH=str(Path(sys.executable).parent)),
        capture_output=True,
        text=True,
        timeout=90,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert INSTALL_HINT in out
    assert re.search(r"\[demo\] traffic\s+running", out), out
    assert "live run of" in (tmp_path / "var" / "stack" / "traffic.log").read_text()
    assert "Prometheus alerts" not in out
    assert out.count("into the demo ---") >= 2, out
    assert "alerts:" not in out and "firing:" not in out
    assert not (tmp_path / "var" / "stack" / "stack.json").exists()
    assert not any(listening(getattr(ports, n)) for n in ports.names())
