"""``pitwatch demo``: the reference platform with its simulated PSPs and KYC vendor, each in
its own process talking real HTTP, on the embedded SQLite database under var/."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from pitwatch.settings import KYC_SIM_PORT, PLATFORM_PORT, PSP_SIM_PORT


@dataclass(frozen=True)
class Ports:
    platform: int = PLATFORM_PORT
    psp: int = PSP_SIM_PORT
    kyc: int = KYC_SIM_PORT


def _say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    handle = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "pitwatch.cli", *args],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_ready(url: str, proc: subprocess.Popen, name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with code {proc.returncode}; see its log in var/")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{name} not ready at {url} after {timeout:.0f} s")


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


def run_demo(host: str = "127.0.0.1", ports: Ports = Ports(), once: bool = False) -> int:
    var = Path("var")
    var.mkdir(exist_ok=True)
    env = os.environ | {
        "PITWATCH_PLATFORM_URL": f"http://{host}:{ports.platform}",
        "PITWATCH_PSP_BASE_URL": f"http://{host}:{ports.psp}",
        "PITWATCH_KYC_BASE_URL": f"http://{host}:{ports.kyc}",
    }
    env.setdefault("PITWATCH_DATABASE_URL", f"sqlite:///{var / 'pitwatch.db'}")
    _say(f"database {env['PITWATCH_DATABASE_URL']}; logs in {var}/")
    # A SIGTERM (from a supervisor, `timeout`, CI) must stop the children too: turn it into
    # SystemExit so that the finally block below runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    procs = {
        "psp simulator": (
            _start(
                ["sim", "psp", "serve", "--host", host, "--port", str(ports.psp)],
                env,
                var / "psp-sim.log",
            ),
            f"http://{host}:{ports.psp}/healthz",
        ),
        "kyc simulator": (
            _start(
                ["sim", "kyc", "serve", "--host", host, "--port", str(ports.kyc)],
                env,
                var / "kyc-sim.log",
            ),
            f"http://{host}:{ports.kyc}/healthz",
        ),
        "platform": (
            _start(
                ["platform", "serve", "--host", host, "--port", str(ports.platform)],
                env,
                var / "platform.log",
            ),
            f"http://{host}:{ports.platform}/readyz",
        ),
    }
    try:
        for name, (proc, url) in procs.items():
            _say(f"starting {name} ...")
            _wait_ready(url, proc, name)
            _say(f"{name} ready at {url.rsplit('/', 1)[0]}")
        status = smoke(f"http://{host}:{ports.platform}")
        _say(
            f"platform API  http://{host}:{ports.platform}   docs http://{host}:{ports.platform}/docs"
        )
        _say(
            f"PSP simulator http://{host}:{ports.psp}/docs   KYC simulator http://{host}:{ports.kyc}/docs"
        )
        if once:
            # Declines happen (the PSPs approve ~90 %); a callback that never came is the failure.
            return 0 if status in ("approved", "declined", "failed") else 1
        _say("running; Ctrl-C stops everything")
        while all(proc.poll() is None for proc, _ in procs.values()):
            time.sleep(1)
        _say("a process exited; stopping")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for proc, _ in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc, _ in procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
