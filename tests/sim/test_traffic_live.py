"""Live mode end to end: the platform and its five simulators as processes on loopback,
driven over HTTP in real time by ``run_live`` with a PSP degradation and a deploy."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from igaming.traffic.live import (
    LiveDriver,
    LiveError,
    SimUrls,
    _relabel_unreachable,
    actions_per_second,
    live_scale,
    run_live,
)
from igaming.traffic.model import NewPlayer, Player, Tally
from igaming.traffic.scenario import parse
from igaming.traffic.truth import read_incident_log

VERSION = "9.9.9-live"
RUN_SECONDS = 25
RATE = 10.0  # actions/s: ~3 sessions/s, and a session's first bet comes 10-70 s after it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what: str, check, timeout: float, procs: dict) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            assert proc.poll() is None, f"{name} exited with {proc.returncode}"
        try:
            if check():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict]:
    """The platform and the PSP, KYC, games, odds and affiliate simulators."""
    names = ("platform", "psp", "kyc", "games", "odds", "affiliates", "metrics")
    ports = {n: free_port() for n in names}
    url = {n: f"http://127.0.0.1:{p}" for n, p in ports.items()}
    db = tmp_path / "live.db"
    env = os.environ | {
        "PITWATCH_DATABASE_URL": f"sqlite:///{db}",
        "PITWATCH_PLATFORM_URL": url["platform"],
        "PITWATCH_PSP_BASE_URL": url["psp"],
        "PITWATCH_KYC_BASE_URL": url["kyc"],
        "PITWATCH_GAMES_BASE_URL": url["games"],
        "PITWATCH_AFFILIATE_NETWORK_URL": url["affiliates"],
    }
    odds_config = tmp_path / "odds.json"
    odds_config.write_text(
        json.dumps(
            {
                "feed_url": f"{url['platform']}/sportsbook/feed",
                "open_fixtures": 4,
                "lag_seconds": 0.2,
                "lag_jitter_seconds": 0.1,
            }
        )
    )
    commands = {
        "platform": ["platform", "serve", "--metrics-port", str(ports["metrics"])],
        "psp": ["sim", "psp", "serve"],
        "kyc": ["sim", "kyc", "serve"],
        "games": ["sim", "games", "serve"],
        "odds": ["sim", "odds", "serve", "--config", str(odds_config)],
        "affiliates": ["sim", "affiliates", "serve"],
    }
    procs: dict[str, subprocess.Popen] = {}
    try:
        for name, args in commands.items():
            log = (tmp_path / f"{name}.log").open("ab")
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", "pitwatch.cli", *args, "--port", str(ports[name])],
                cwd=tmp_path,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        for name in commands:
            path = "/readyz" if name == "platform" else "/healthz"
            _wait(f"{name} ready", lambda u=url[name] + path: httpx.get(u, timeout=2).is_success,
                  60, procs)  # fmt: skip
        created = subprocess.run(
            [sys.executable, "-m", "pitwatch.cli", "platform", "operator", "create",
             "--name", "simulator", "--role", "faults"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        key = created.stdout.strip().splitlines()[-1]
        assert key.startswith("pwk_"), created.stdout

        def fixtures_open() -> bool:
            fixtures = httpx.get(f"{url['platform']}/sportsbook/fixtures", timeout=2).json()
            return any(m["status"] == "active" for f in fixtures for m in f["markets"])

        _wait("odds feed opened fixtures on the platform", fixtures_open, 30, procs)
        yield {"url": url, "db": db, "key": key, "procs": procs, "tmp": tmp_path}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


SCENARIO = {
    "name": "live-test",
    "seed": 7,
    "duration": f"{RUN_SECONDS}s",
    "players": {"daily_active": 1000, "existing": 12, "sessions_per_day": 2.0},
    "geos": {"DE": 1.0, "GB": 1.0},
    "deposits": {"callback_delay_seconds": 1.0},
    "casino": {"share": 0.2, "rounds_per_session": 1.0, "seconds_between_rounds": 2.0},
    "sportsbook": {"share": 1.0, "bets_per_session": 1.0},
    "withdrawals": {"per_session": 0.0},
    "incidents": [
        {
            "type": "psp_degradation",
            "psp": "paybridge",
            "geo": "DE",
            "method": "card",
            "approval_rate": 0.05,
            "start": "5s",
            "end": "12s",
        },
        {"type": "deploy", "version": VERSION, "start": "3s"},
    ],
}


def _override(psp_url: str) -> float | None:
    config = httpx.get(f"{psp_url}/admin/config", timeout=2).json()
    override = config["psps"]["paybridge"]["overrides"].get("DE:card") or {}
    return override.get("approval_rate")


@pytest.mark.slow
def test_live_run_drives_the_platform_and_plays_incidents_on_the_simulators(stack):
    url = stack["url"]
    scenario = parse(SCENARIO, "live-test")
    sims = SimUrls(url["psp"], url["kyc"], url["games"], url["odds"], url["affiliates"])
    samples: list[tuple[datetime, datetime, float | None]] = []  # asked, answered, value
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            with contextlib.suppress(httpx.HTTPError):
                asked = datetime.now(UTC)
                value = _override(url["psp"])
                samples.append((asked, datetime.now(UTC), value))
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    progressed: list[int] = []
    began = time.monotonic()
    sampler.start()
    try:
        result = run_live(
            scenario,
            url["platform"],
            rate=RATE,
            duration=timedelta(seconds=RUN_SECONDS),
            progress=lambda now, tally: progressed.append(tally.actions),
            out_dir=stack["tmp"] / "out",
            sims=sims,
            operator_key=stack["key"],
        )
    finally:
        stop.set()
        sampler.join(timeout=5)
    took = time.monotonic() - began

    assert result.mode == "live" and result.database == {}
    assert took < RUN_SECONDS + 15, took
    assert result.invariants_ok is True
    assert progressed and progressed[-1] == result.tally.actions > 0

    # What the model did reached the platform's database.
    with sqlite3.connect(stack["db"]) as db:
        players = db.execute("SELECT count(*) FROM players").fetchone()[0]
        deposits = db.execute("SELECT count(*) FROM deposits").fetchone()[0]
        bets = db.execute("SELECT count(*) FROM sb_bets").fetchone()[0]
    flows = result.tally.as_dict()["flows"]
    assert players >= 12 and players == flows["registration"]["ok"], (players, flows)
    assert deposits >= 12, (deposits, flows)
    assert bets >= 1, (bets, flows)
    assert "unreachable" not in json.dumps(flows), flows

    # The PSP simulator showed the degradation while it was on, and not after.
    log = read_incident_log(stack["tmp"] / "out" / "incidents.jsonl")
    by_type = {row["type"]: row for row in log}
    assert set(by_type) == {"psp_degradation", "deploy"}, log
    for row in log:
        assert row["end"] is not None and row["start"] < row["end"], row
    degradation = by_type["psp_degradation"]
    start, end = (datetime.fromisoformat(degradation[k]) for k in ("start", "end"))
    # The log's times are taken just after the knob changed: keep a second's margin.
    second = timedelta(seconds=1)
    during = [v for asked, answered, v in samples if start < asked and answered < end - second]
    assert during and all(v == 0.05 for v in during), samples
    assert any(v is None for _, answered, v in samples if answered < start - second), samples
    assert _override(url["psp"]) is None
    # The baseline (per-method approval rates) was taken back too.
    config = httpx.get(f"{url['psp']}/admin/config", timeout=2).json()
    assert "card" not in config["psps"]["paybridge"]["overrides"], config

    # The deploy is the platform's version now.
    metrics = httpx.get(f"{url['metrics']}/metrics", timeout=5).text  # the internal listener
    assert f'igaming_build_info{{version="{VERSION}"}} 1.0' in metrics, metrics[:2000]

    # Ctrl-C in the middle of an incident: the incident is undone all the same.
    interrupted = parse(
        SCENARIO
        | {
            "players": {"existing": 0},
            "incidents": [SCENARIO["incidents"][0] | {"start": "1s", "end": "60s"}],
        },
        "live-test",
    )

    def interrupt_once_degraded(now: datetime, tally: object) -> None:
        if _override(url["psp"]) == 0.05:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_live(interrupted, url["platform"], rate=1.0, duration=timedelta(seconds=10),
                 progress=interrupt_once_degraded, sims=sims)  # fmt: skip
    assert _override(url["psp"]) is None
    config = httpx.get(f"{url['psp']}/admin/config", timeout=2).json()
    assert "card" not in config["psps"]["paybridge"]["overrides"], config


def test_a_fault_incident_without_an_operator_key_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("PITWATCH_OPERATOR_KEY", raising=False)
    scenario = parse(SCENARIO, "live-test")
    with pytest.raises(LiveError, match=r"deploy.*PITWATCH_OPERATOR_KEY"):
        run_live(scenario, "http://127.0.0.1:9", rate=1.0, duration=timedelta(seconds=30))


def test_an_unreachable_platform_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("PITWATCH_OPERATOR_KEY", raising=False)
    scenario = parse(SCENARIO | {"incidents": []}, "live-test")
    port = free_port()
    with pytest.raises(LiveError, match=re.escape(f"platform at http://127.0.0.1:{port}/healthz")):
        run_live(scenario, f"http://127.0.0.1:{port}", rate=1.0, duration=timedelta(seconds=5))


def _player(scenario) -> Player:
    return Player("p1", "DE", "EUR", scenario.geos["DE"])


def _driver(handler) -> LiveDriver:
    scenario = parse(SCENARIO, "live-test")
    sims = SimUrls(*(f"http://sim-{n}" for n in ("psp", "kyc", "games", "odds", "affiliates")))
    return LiveDriver(
        "http://platform", scenario, sims=sims, transport=httpx.MockTransport(handler)
    )


def test_a_platform_that_does_not_answer_is_an_outcome_and_the_run_goes_on():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    driver = _driver(refuse)
    player = _player(driver.scenario)
    new = NewPlayer("k1", "DE", "EUR", "pitwatch", "1990-01-15")
    assert driver.register(new) is None
    assert driver.click("aff", "camp", "DE") is None
    assert driver.verify(player) == "unreachable"
    assert driver.deposit(player, 2_500, "card", "d1") == "unreachable"
    assert driver.cash(player) == 0
    assert driver.launch(player, "g1") is None
    assert driver.play_round("tok", 100) == "unreachable"
    assert driver.selections() == []
    assert driver.bet(player, ("s1", "2.10"), 100, "b1") == "unreachable"
    assert driver.withdraw(player, 1_000, "card", "w1") == "unreachable"
    assert driver.unreachable["registration"] == 1 and driver.unreachable["click"] == 1

    # The model tallies a None as refused/failed: the run's tally says why.
    tally = Tally()
    tally.add("registration", "refused", "DE")
    tally.add("registration", "refused", "DE")
    _relabel_unreachable(tally, driver.unreachable)
    assert tally.flows[("registration", "unreachable")] == 1
    assert tally.flows[("registration", "refused")] == 1


def test_answers_map_to_the_accelerated_drivers_outcomes():
    def problem(status: int, kind: str, **extra: object) -> httpx.Response:
        body = {"type": f"https://pitwatch.dev/problems/{kind}", "status": status} | extra
        return httpx.Response(status, json=body)

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/cashier/deposits":
            return problem(503, "upstream-unavailable", reason="psp_unavailable")
        if path == "/cashier/withdrawals":
            return problem(403, "kyc-required")
        if path == "/sportsbook/bets":
            stake = json.loads(request.content)["stake"]
            if stake == 1:
                return problem(409, "bet-rejected", reason="odds_changed", bet_id="b")
            return problem(422, "insufficient-funds")
        if path == "/admin/sessions/gone/rounds":
            return httpx.Response(404, json={"title": "Unknown session"})
        if path.endswith("/rounds"):
            rnd = {"state": "refused", "bet_code": "INSUFFICIENT_FUNDS"}
            return httpx.Response(200, json={"rounds": [rnd]})
        if path == "/kyc/verifications":
            return httpx.Response(202, json={"status": "manual_review"})
        if path == "/wallet/balance":
            balances = [{"currency": "EUR", "cash": 700}, {"currency": "SEK", "cash": 9}]
            return httpx.Response(200, json=balances)
        return problem(404, "not-found")

    driver = _driver(answer)
    player = _player(driver.scenario)
    assert driver.deposit(player, 2_500, "card", "d1") == "psp_unavailable"
    assert driver.withdraw(player, 1_000, "card", "w1") == "kyc-required"
    assert driver.bet(player, ("s1", "2.10"), 1, "b1") == "rejected:odds_changed"
    assert driver.bet(player, ("s1", "2.10"), 2, "b2") == "insufficient_funds"
    assert driver.play_round("gone", 100) == "unknown_session"
    assert driver.play_round("tok", 100) == "insufficient_funds"
    assert driver.verify(player) == "manual_review"
    assert driver.cash(player) == 700
    assert driver.launch(player, "g1") is None
    assert not driver.unreachable


def test_the_scale_gives_the_asked_rate_at_the_hour():
    scenario = parse(SCENARIO, "live-test")
    night, evening = datetime(2026, 11, 3, 4, tzinfo=UTC), datetime(2026, 11, 3, 20, tzinfo=UTC)
    for when in (night, evening):
        scale = live_scale(scenario, 8.0, when)
        assert abs(actions_per_second(scenario, when, scale) - 8.0) < 1e-9
    # Quieter hours need a larger scale for the same rate.
    assert live_scale(scenario, 8.0, night) > 2 * live_scale(scenario, 8.0, evening)
