"""Shared by the two-database tests: a day of traffic with its settlement reports, the CLI
run with the two URLs, and snapshots of what a database holds."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from igaming.cashier import deposits
from pitwatch.cli import main
from pitwatch.settings import get_settings
from reconcilers.sources.psp_reports import COLUMNS, report_name
from tests.conftest import register_player
from tests.psp_world import psp_world

# Where the simulator routes: DE cards → paybridge, SE e-wallets → ewallo.
PLAYERS = (("DE", "EUR", "card"), ("SE", "SEK", "ewallet"))


def traffic_day(engine: Engine, tmp_path: Path) -> tuple[date, Path]:
    """Funded players, a few deposits and the PSPs' settlement reports of the day, ewallo's
    disagreeing with its own transactions (breaks to find). The day and the reports."""
    reports = tmp_path / "reports"
    with psp_world(engine, tmp_path / "psp") as world:
        for geo, currency, method in PLAYERS:
            player = register_player(world.platform, country=geo, currency=currency)
            for i in range(3):
                deposits.request_deposit(
                    world.platform,
                    player.id,
                    amount=1_000 + 137 * i,
                    currency=currency,
                    method=method,
                    idempotency_key=f"{geo}-{i}",
                )
        for _ in range(3):
            world.clock.advance(5)
            asyncio.run(world.psp_app.state.dispatcher.deliver_due())
        world.psp_client.patch("/admin/psps/ewallo", json={"settlement_discrepancy_rate": 1.0})
        simulator = world.psp_app.state.simulator
        simulator.replace_config(simulator.config.model_copy(update={"report_dir": str(reports)}))
        day = world.clock.now().date()
        r = world.psp_client.post("/admin/settlement-reports", json={"date": day.isoformat()})
        assert r.status_code == 200, r.text
        world.platform.engine.dispose()
    return day, reports


def empty_reports(folder: Path, day: date, psps: tuple[str, ...]) -> Path:
    """Settlement reports with a header and no row."""
    folder.mkdir(parents=True, exist_ok=True)
    for psp in psps:
        (folder / report_name(psp, day)).write_text(",".join(COLUMNS) + "\n")
    return folder


def reconcile_cli(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    source_url: str,
    state_url: str | None,
    *argv: str,
    **env: str,
) -> tuple[int, str, str]:
    """``pitwatch reconcile run ARGV`` with the two URLs: (exit code, stdout, stderr)."""
    monkeypatch.setenv("PITWATCH_DATABASE_URL", source_url)
    if state_url is None:
        monkeypatch.delenv("PITWATCH_STATE_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("PITWATCH_STATE_DATABASE_URL", state_url)
    for name, value in env.items():
        monkeypatch.setenv(f"PITWATCH_{name.upper()}", value)
    get_settings.cache_clear()
    try:
        code = main(["reconcile", "run", *argv])
    finally:
        get_settings.cache_clear()
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def sqlite_dump(path: Path | str) -> list[str]:
    """Every statement that would rebuild the SQLite database: schema and rows."""
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def sqlite_rows(path: Path | str, sql: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()
