"""The platform, the PSP simulator and the KYC simulator as separate processes over real
HTTP on 127.0.0.1: a player registers, verifies, deposits, and the PSP's signed callback
arrives and is applied."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_walkthrough_across_processes(tmp_path):
    env = os.environ | {"PITWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"}
    ports = [str(free_port()) for _ in range(3)]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pitwatch.cli",
            "demo",
            "--once",
            "--platform-port",
            ports[0],
            "--psp-port",
            ports[1],
            "--kyc-port",
            ports[2],
        ],
        cwd=tmp_path,
        env=env,
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
    assert (tmp_path / "var" / "platform.log").exists()


def test_sigterm_stops_the_demo_and_every_process_it_started(tmp_path):
    import signal
    import time

    env = os.environ | {"PITWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"}
    ports = [str(free_port()) for _ in range(3)]
    demo = subprocess.Popen(
        [sys.executable, "-m", "pitwatch.cli", "demo",
         "--platform-port", ports[0], "--psp-port", ports[1], "--kyc-port", ports[2]],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        for line in demo.stdout:  # type: ignore[union-attr]
            if "running; Ctrl-C stops everything" in line or time.monotonic() > deadline:
                break
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=30) == 0
    finally:
        if demo.poll() is None:
            demo.kill()
    for port in ports:  # no child is left serving
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", int(port))) != 0, f"port {port} still served"
