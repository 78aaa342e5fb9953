"""The host and database exporters started for real, as the native stack starts them (its
own argument lists), on free ports of 127.0.0.1, scraped once over HTTP: every series the
infrastructure rules and dashboard read is there (node_*, and the pg_* of our queries file
run against the test PostgreSQL, with a lock wait and an idle transaction made on purpose).
Each process lives for a few seconds and is stopped whatever happens."""

from __future__ import annotations

import contextlib
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from collectors.catalog.exporters import METRICS
from pitwatch.stack import native
from pitwatch.stack.config import StackConfig, StackPorts
from tests.conftest import PG_URL
from tests.e2e.stack_tools import free_ports, require

READY_TIMEOUT = 20.0


@contextlib.contextmanager
def started(plan: native._Plan, log: Path) -> Iterator[str]:
    """Run a stack plan's binary; yields its base URL once /metrics answers."""
    assert plan.binary is not None and plan.port is not None
    with log.open("wb") as handle:
        proc = subprocess.Popen(
            [plan.binary, *plan.argv], env=plan.env or None, stdout=handle, stderr=handle
        )
    base = f"http://127.0.0.1:{plan.port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            assert proc.poll() is None, f"{plan.name} exited: {log.read_text()[-2000:]}"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/metrics", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, f"{plan.name} not ready: {log.read_text()}"
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def samples(base: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """One scrape: series name -> (labels, value) of each sample, by the names Prometheus
    stores (a client parser would rename a counter without _total)."""
    text = httpx.get(f"{base}/metrics", timeout=10).text
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for line in text.splitlines():
        if (match := SAMPLE.match(line)) is not None:
            labels = dict(LABEL.findall(match[2] or ""))
            out.setdefault(match[1], []).append((labels, float(match[3])))
    return out


def declared(exporter: str) -> list[str]:
    return [m.name for m in METRICS if m.exporter == exporter]


def test_the_node_exporter_serves_every_series_the_rules_read(tmp_path):
    binary = require("prometheus-node-exporter")
    (port,) = free_ports(1)
    config = StackConfig(run_dir=tmp_path, ports=StackPorts(node_exporter=port))
    plan = native._node_exporter_plan(config, binary)
    assert f"--web.listen-address=127.0.0.1:{port}" in plan.argv
    with started(plan, tmp_path / "node_exporter.log") as base:
        got = samples(base)
    missing = [name for name in declared("node_exporter") if name not in got]
    assert missing == []
    for name in declared("node_exporter"):
        metric = next(m for m in METRICS if m.name == name)
        assert all(set(metric.labels) <= set(labels) for labels, _ in got[name]), name
    # only the collectors asked for: no disk I/O, no systemd, no textfile series
    assert not [n for n in got if n.startswith(("node_disk_", "node_systemd_", "node_textfile"))]


@pytest.mark.postgres
def test_the_postgres_exporter_runs_our_queries_on_the_platforms_database(tmp_path, pg_schema):
    binary = require("prometheus-postgres-exporter")
    assert PG_URL is not None
    (port,) = free_ports(1)
    # The platform's tables live in the test schema: the exporter's session searches it.
    url = f"{PG_URL}?search_path={pg_schema}"
    config = StackConfig(
        run_dir=tmp_path, database_url=url, ports=StackPorts(postgres_exporter=port)
    )
    plan = native._postgres_exporter_plan(config, binary)
    assert "sslmode=disable" in plan.env["DATA_SOURCE_NAME"]
    with contextlib.ExitStack() as stack:
        holder = stack.enter_context(psycopg.connect(PG_URL, autocommit=False))
        waiter = stack.enter_context(psycopg.connect(PG_URL, autocommit=True))
        # An idle transaction holding a lock on the accounts table, and a session waiting
        # on it (bounded: its lock_timeout gives up after 15 s whatever happens).
        holder.execute(f"LOCK TABLE {pg_schema}.accounts IN ACCESS EXCLUSIVE MODE")
        waiter.execute("SET lock_timeout = '15s'")
        blocked = threading.Thread(
            target=_try,
            args=(waiter, f"SELECT count(*) FROM {pg_schema}.accounts"),
            daemon=True,
        )
        blocked.start()
        time.sleep(1.5)  # the wait begins and ages a little
        with started(plan, tmp_path / "postgres_exporter.log") as base:
            got = samples(base)
        holder.rollback()
        blocked.join(timeout=20)
    missing = [name for name in declared("postgres_exporter") if name not in got]
    assert missing == [], (tmp_path / "postgres_exporter.log").read_text()[-2000:]
    assert got["pg_up"][0][1] == 1

    def value(name: str, **labels: str) -> float:
        return sum(v for lbl, v in got[name] if labels.items() <= lbl.items())

    assert value("pg_lock_waits_waiting_sessions") >= 1
    assert value("pg_lock_waits_oldest_wait_seconds") >= 1
    assert value("pg_open_transactions_count", state="idle in transaction") >= 1
    assert value("pg_connections_count") >= 2
    assert value("pg_connections_limit_max") > 0
    tables = {lbl["relname"] for lbl, _ in got["pg_ledger_tables_table_bytes"]}
    assert {"accounts", "ledger_entries", "wallet_transactions"} <= tables


def _try(conn: psycopg.Connection, sql: str) -> None:
    with contextlib.suppress(psycopg.Error):
        conn.execute(sql)
