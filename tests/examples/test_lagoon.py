"""The example operator (examples/lagoon, issue 19 §6), run as an operator would: its schema
and its pw_* views created in scratch schemas, its seed with planted problems, a read-only
login that may SELECT the views and nothing else, a SQLite file as pitwatch's own state
database, and the commands of README's walk-through (contract check, reconcile ledger,
reconcile run, collect serve) with PITWATCH_OPERATOR_CONFIG=examples/lagoon/operator.toml.
Every planted problem is reported with the values examples/lagoon/README.md gives, under
Lagoon's own names, and nothing else is; nothing in Lagoon's schema changes. In views mode
(README "Views mode") the exporter counts the live traffic ``seed.py --traffic`` adds, as
README's table says."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import make_url

from collectors.views.payments import DepositsView
from ground.dburl import normalise_url

pytestmark = pytest.mark.postgres

PG_URL = os.environ.get("PITWATCH_TEST_DATABASE_URL")
ROOT = Path(__file__).resolve().parents[2]
LAGOON = ROOT / "examples" / "lagoon"
TIMEOUT = 120  # seconds any one command may take


@dataclass(frozen=True)
class Lagoon:
    platform: str  # Lagoon's schema (its tables)
    views: str  # the schema of the pw_* views
    read_only_url: str  # a login with SELECT on the views only
    now: datetime  # what the seed's times are relative to
    reports: Path  # the PSP settlement reports the seed wrote


def _conninfo(url: str) -> str:
    return normalise_url(url).replace("+psycopg", "")


def _run_sql(conn: psycopg.Connection, search_path: str, path: Path) -> None:
    conn.execute(f"SET search_path = {search_path}")
    conn.execute(path.read_text(encoding="utf-8"))  # a script
    conn.execute("RESET search_path")


def snapshot(conn: psycopg.Connection, schema: str) -> dict[str, str]:
    """Every table of the schema with a digest of its rows."""
    tables = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", (schema,)
    ).fetchall()
    return {
        name: str(
            conn.execute(
                f"SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' "
                f"ORDER BY t::text)), '') FROM {schema}.{name} t"
            ).fetchone()
        )
        for (name,) in tables
    }


def _seed(
    schema: str, reports: Path, now: datetime, url: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(LAGOON / "seed.py"), "--database", url or PG_URL or "",
         "--schema", schema, "--psp-reports", str(reports), "--now", now.isoformat()],
        capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip


@pytest.fixture
def lagoon(tmp_path: Path) -> Iterator[Lagoon]:
    if not PG_URL:
        pytest.skip("PITWATCH_TEST_DATABASE_URL is not set")
    tag = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
    platform, views, role = f"lagoon_{tag}", f"lagoon_pw_{tag}", f"lagoon_ro_{tag}"
    admin = psycopg.connect(_conninfo(PG_URL), autocommit=True)
    try:
        admin.execute(f"CREATE SCHEMA {platform}")
        admin.execute(f"CREATE SCHEMA {views}")
        _run_sql(admin, platform, LAGOON / "schema.sql")
        _run_sql(admin, f"{views}, {platform}", LAGOON / "views.sql")
        for statement in (
            f"CREATE ROLE {role} LOGIN",
            f"GRANT USAGE ON SCHEMA {views} TO {role}",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA {views} TO {role}",
            f"ALTER ROLE {role} SET search_path = {views}",
        ):
            admin.execute(statement)
        now = datetime.now(UTC).replace(microsecond=0)
        reports = tmp_path / "psp-reports"
        seeded = _seed(platform, reports, now)
        assert seeded.returncode == 0, seeded.stderr
        url = make_url(normalise_url(PG_URL)).set(username=role, password=None)
        yield Lagoon(platform, views, url.render_as_string(hide_password=False), now, reports)
    finally:
        admin.execute(f"DROP SCHEMA IF EXISTS {views} CASCADE")
        admin.execute(f"DROP SCHEMA IF EXISTS {platform} CASCADE")
        exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if exists:
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")
        admin.close()


def _env(lagoon: Lagoon, state: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": f"{ROOT}:{ROOT / 'platform'}",
        "PITWATCH_OPERATOR_CONFIG": str(LAGOON / "operator.toml"),
        "PITWATCH_DATABASE_URL": lagoon.read_only_url,
        "PITWATCH_STATE_DATABASE_URL": f"sqlite:///{state}",
        "PITWATCH_RECON_AFFILIATE_EXPORT": "",  # no affiliate network export here
        # Production: the operator-side commands need none of the platform's secrets.
        "PITWATCH_ENVIRONMENT": "production",
    }


def pitwatch(env: dict[str, str], cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pitwatch.cli", *argv],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@contextmanager
def exporter(env: dict[str, str], cwd: Path, *argv: str) -> Iterator[Callable[[], Samples]]:
    """``pitwatch collect serve`` on 127.0.0.1 and a free port, stopped on leaving; yields
    a function that scrapes it once (a bounded wait for the first answer): every sample by
    (name, sorted labels)."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pitwatch.cli", "collect", "serve", "--host", "127.0.0.1",
         "--port", str(port), *argv],
        env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip

    def scrape_once() -> Samples:
        deadline = time.monotonic() + 60
        body = None
        while body is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                    body = r.read().decode()
            except OSError:
                time.sleep(0.2)
        assert body is not None, f"the exporter did not answer (exit {proc.poll()})"
        samples = {}
        for family in text_string_to_metric_families(body):
            for s in family.samples:
                samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return samples

    try:
        yield scrape_once
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def scrape(env: dict[str, str], cwd: Path) -> Samples:
    """One scrape of ``pitwatch collect serve`` (started, scraped, stopped)."""
    with exporter(env, cwd) as scrape_once:
        return scrape_once()


def test_the_example_operator_is_reported_exactly_as_its_readme_says(lagoon, tmp_path):
    day = (lagoon.now - timedelta(days=2)).date()
    reports = sorted(p.name for p in lagoon.reports.iterdir())
    assert reports == [f"kiwiflow-settlement-{day}.csv", f"tidepay-settlement-{day}.csv"]
    state = tmp_path / "pitwatch-state.db"
    env = _env(lagoon, state)
    admin = psycopg.connect(_conninfo(PG_URL or ""), autocommit=True)
    before = snapshot(admin, lagoon.platform)

    # 1. The contract: every view Lagoon's products need, right; sportsbook and outbox not
    #    needed (operator.toml's products).
    check = pitwatch(env, tmp_path, "contract", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "contract OK: 21 views (9 present, 12 not needed), 0 problem(s)" in check.stdout
    assert "pw_bets: not needed (sportsbook not among the products)" in check.stdout

    # 2. The full ledger check: the old unbalanced transaction and the balance mismatch.
    ledger = pitwatch(env, tmp_path, "reconcile", "ledger")
    assert ledger.returncode == 1, ledger.stderr  # violations found
    assert "1 unbalanced transactions, 1 balance mismatches" in ledger.stdout
    assert "  unbalanced_transaction LG-TX-00001 EUR: sums to -500\n" in ledger.stdout
    assert "  balance_mismatch account 5 EUR: stored 10000, entries 9000\n" in ledger.stdout
    assert "breaks: 2 new, 0 resolved" in ledger.stdout

    # 3. The reconciliation of the day the settlement reports are of.
    out = tmp_path / "out"
    run = pitwatch(env, tmp_path, "reconcile", "run", "--date", day.isoformat(),
                   "--psp-reports", str(lagoon.reports), "--out", str(out), "--quiet")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert f"reconciled {day}: 5 new, 0 resolved, 7 open breaks" in run.stdout

    with (out / f"reconciliation-{day}.csv").open(newline="") as fh:
        breaks = {
            (r["pair"], r["type"], r["psp"], r["reference"]): (
                r["currency"], r["wallet_amount_minor"], r["other_amount_minor"],
                r["amount_at_risk_minor"],
            )
            for r in csv.DictReader(fh)
        }  # fmt: skip
    assert breaks == {
        ("wallet_psp", "missing_at_psp", "tidepay", "PI-1003"): ("EUR", "7500", "", "7500"),
        ("wallet_psp", "amount_mismatch", "kiwiflow", "PI-2001"): ("EUR", "20000", "19900", "100"),
        ("wallet_internal", "clearing_residue", "tidepay", "13"): ("EUR", "34500", "27000", "7500"),
        ("wallet_internal", "clearing_residue", "kiwiflow", "14"): ("EUR", "36000", "35900", "100"),
        ("wallet_internal", "balance_mismatch", "none", "5"): ("EUR", "10000", "9000", "1000"),
        ("ledger", "unbalanced_transaction", "none", "LG-TX-00001"): ("EUR", "-500", "0", "500"),
        ("ledger", "balance_mismatch", "none", "5"): ("EUR", "10000", "9000", ""),
    }

    # 4. The state exporter: the planted problems under Lagoon's PSP and affiliate names.
    scraped_at = datetime.now(UTC)
    m = scrape(env, tmp_path)
    waited = (datetime.now(UTC) - lagoon.now).total_seconds()  # the ages' upper margin

    def value(name: str, **labels: str) -> float:
        return m[(name, tuple(sorted(labels.items())))]

    def age(name: str, planted_seconds: float, **labels: str) -> None:
        got = value(name, **labels)
        assert planted_seconds <= got <= planted_seconds + waited + 1, (name, labels, got)

    psps = ("tidepay", "kiwiflow", "other")
    stale = {p: value("igaming_deposits_pending_stale", psp=p) for p in psps}
    assert stale == {"tidepay": 3, "kiwiflow": 1, "other": 0}
    age("igaming_deposits_pending_stale_oldest_age_seconds", 40 * 60, psp="tidepay")
    age("igaming_deposits_pending_stale_oldest_age_seconds", 8 * 60, psp="kiwiflow")
    stuck = {p: value("igaming_withdrawals_stuck", psp=p) for p in psps}
    assert stuck == {"tidepay": 2, "kiwiflow": 0, "other": 0}
    age("igaming_withdrawals_stuck_oldest_age_seconds", 20 * 3600, psp="tidepay")
    gaps = {k[1]: v for k, v in m.items() if k[0] == "igaming_ftd_postback_gap"}
    assert gaps == {
        (("affiliate", "aff-7"), ("campaign", "spring")): 0,
        (("affiliate", "aff-9"), ("campaign", "summer")): 1,
    }
    midnight = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    ftd_at = midnight + timedelta(hours=10, seconds=30)
    age("igaming_ftd_postback_gap_oldest_age_seconds", (lagoon.now - ftd_at).total_seconds(),
        affiliate="aff-9", campaign="summer")  # fmt: skip
    assert value("igaming_kyc_manual_review_backlog") == 1
    age("igaming_kyc_manual_review_oldest_age_seconds", 2 * 3600)
    # The exporter's ledger window (the newest 1,000 entries and 1,000 before them) does not
    # reach the old unbalanced transaction: the nightly full check above does.
    assert value("pitwatch_ledger_invariant_ok") == 0
    violations = {
        k[1][0][1]: v for k, v in m.items() if k[0] == "pitwatch_ledger_invariant_violations"
    }
    assert violations == {"unbalanced_transaction": 0, "balance_mismatch": 1, "negative_balance": 0}
    # The reconciliations' breaks, read from pitwatch's own (SQLite) database.
    open_breaks = {
        dict(k[1])["pair"] + "/" + dict(k[1])["type"] + "/" + dict(k[1])["psp"]: v
        for k, v in m.items()
        if k[0] == "pitwatch_reconciliation_open_breaks" and v
    }
    assert open_breaks == {
        "wallet_psp/missing_at_psp/tidepay": 1,
        "wallet_psp/amount_mismatch/kiwiflow": 1,
        "wallet_internal/clearing_residue/tidepay": 1,
        "wallet_internal/clearing_residue/kiwiflow": 1,
        "wallet_internal/balance_mismatch/none": 1,
        "ledger/unbalanced_transaction/none": 1,
        "ledger/balance_mismatch/none": 1,
    }
    assert value("pitwatch_reconciliation_amount_at_risk", currency="EUR") == 167.0
    ups = {dict(k[1])["collector"]: v for k, v in m.items() if k[0] == "pitwatch_collector_up"}
    # sportsbook and outbox are switched off (Lagoon has neither), not failing
    assert ups == dict.fromkeys(
        ("payments", "affiliates", "kyc", "ledger", "reconciliation", "backup"), 1.0
    )
    assert scraped_at >= lagoon.now

    # Nothing in Lagoon's schema changed; the login cannot even read Lagoon's tables.
    assert snapshot(admin, lagoon.platform) == before
    # The seed refuses a schema it already seeded: one line, exit 2, nothing changed.
    again = _seed(lagoon.platform, tmp_path / "again", lagoon.now)
    assert again.returncode == 2
    assert again.stderr == "seed: the schema already has customers: seed an empty schema once\n"
    assert snapshot(admin, lagoon.platform) == before
    admin.close()
    with psycopg.connect(_conninfo(lagoon.read_only_url), autocommit=True) as ro:
        for statement in (
            f"SELECT count(*) FROM {lagoon.platform}.payins",
            "DELETE FROM pw_deposits",
            "CREATE TABLE pitwatch_probe (x int)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                ro.execute(statement)


def test_the_seed_refuses_a_database_that_is_not_postgresql_in_one_line(tmp_path):
    result = _seed("lagoon", tmp_path / "reports", datetime.now(UTC), url="sqlite:///x.db")
    assert result.returncode == 2
    assert result.stderr == "seed: --database: not a PostgreSQL URL: 'sqlite:///x.db'\n"
    assert not (tmp_path / "reports").exists()


def _sums(m: Samples, name: str, *by: str) -> dict[tuple[str, ...], float]:
    """``sum by (by...) (name)`` over the scrape, the series at zero left out."""
    out: dict[tuple[str, ...], float] = {}
    for (sample, labels), v in m.items():
        if sample == name and v:
            key = tuple(dict(labels)[b] for b in by)
            out[key] = out.get(key, 0.0) + v
    return out


def test_views_mode_derives_lagoons_business_counters_from_its_views(lagoon, tmp_path):
    """README "Views mode": the contract check with --views-mode passes, and the exporter
    in views mode counts the live traffic of ``seed.py --traffic`` (README's table), under
    Lagoon's PSPs, markets, methods, studio and affiliates; the seed's older rows are
    history (the counters start at the exporter's first scrape)."""
    env = _env(lagoon, tmp_path / "pitwatch-state.db")
    check = pitwatch(env, tmp_path, "contract", "check", "--views-mode")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "contract OK: 21 views (14 present, 7 not needed), 0 problem(s)" in check.stdout
    assert "pw_settlements: not needed (sportsbook not among the products)" in check.stdout

    views = ("views_deposits", "views_callbacks", "views_withdrawals", "views_affiliates",
             "views_casino")  # fmt: skip
    with exporter(env, tmp_path, "--views-mode") as scrape_once:
        first = scrape_once()  # the watermarks: the seed's rows (all older) are history
        for collector in views:
            assert first[("pitwatch_collector_up", (("collector", collector),))] == 1, collector
        assert _sums(first, "igaming_deposit_attempts_total", "psp") == {}
        assert _sums(first, "igaming_casino_rounds_total", "provider") == {}

        traffic_at = datetime.now(UTC)
        live = subprocess.run(
            [sys.executable, str(LAGOON / "seed.py"), "--database", PG_URL or "",
             "--schema", lagoon.platform, "--traffic", "--now", traffic_at.isoformat()],
            capture_output=True, text=True, timeout=TIMEOUT,
        )  # fmt: skip
        assert live.returncode == 0, live.stderr
        assert live.stdout.startswith(f"live traffic in {lagoon.platform}: 7 deposits, ")
        again = subprocess.run(
            [sys.executable, str(LAGOON / "seed.py"), "--database", PG_URL or "",
             "--schema", lagoon.platform, "--traffic"],
            capture_output=True, text=True, timeout=TIMEOUT,
        )  # fmt: skip
        assert (again.returncode, again.stderr) == (
            2, "seed: --traffic: this schema already has its live traffic: add it once\n"
        )  # fmt: skip
        # Every row of it is older than the settle time (10 s) one second after this.
        settled = traffic_at + timedelta(seconds=DepositsView.settle_seconds + 1)
        time.sleep(max(0.0, (settled - datetime.now(UTC)).total_seconds()))
        m = scrape_once()

    # Deposits: outcomes and attempts by PSP and market (README's table).
    assert _sums(m, "igaming_deposit_outcomes_total", "psp", "geo", "outcome") == {
        ("tidepay", "PT", "approved"): 2,
        ("tidepay", "PT", "declined"): 1,
        ("tidepay", "CZ", "failed"): 1,
        ("kiwiflow", "NZ", "approved"): 1,
        ("kiwiflow", "NZ", "declined"): 1,
        ("kiwiflow", "CZ", "approved"): 1,
    }
    assert _sums(m, "igaming_deposit_attempts_total", "psp", "geo") == {
        ("tidepay", "PT"): 3, ("tidepay", "CZ"): 1, ("kiwiflow", "NZ"): 2, ("kiwiflow", "CZ"): 1,
    }  # fmt: skip
    assert _sums(m, "igaming_deposit_attempts_total", "method") == {
        ("card",): 4, ("mbway",): 1, ("poli",): 2,
    }  # fmt: skip
    assert _sums(m, "igaming_deposit_attempts_total", "brand") == {
        ("lagoon",): 5, ("lagoonbet",): 2,
    }  # fmt: skip
    assert _sums(m, "igaming_deposits_approved_amount_total", "currency") == {("EUR",): 155.0}
    assert _sums(m, "igaming_deposit_approval_seconds_count", "psp") == {
        ("tidepay",): 2, ("kiwiflow",): 2,
    }  # fmt: skip
    assert _sums(m, "igaming_psp_callbacks_total", "psp", "outcome") == {
        ("tidepay", "applied"): 5, ("kiwiflow", "applied"): 3,
    }  # fmt: skip
    assert _sums(m, "igaming_withdrawal_requests_total", "psp") == {("tidepay",): 1}
    assert _sums(m, "igaming_withdrawal_outcomes_total", "psp", "outcome") == {
        ("tidepay", "completed"): 1
    }
    # The casino: reelhouse's launches, spins (rounds) and the undone bet (a rollback).
    assert _sums(m, "igaming_casino_launches_total", "provider") == {("reelhouse",): 1}
    assert _sums(m, "igaming_casino_launch_failures_total", "provider", "reason") == {
        ("reelhouse", "unavailable"): 1
    }
    assert _sums(m, "igaming_casino_rounds_total", "provider", "outcome") == {
        ("reelhouse", "completed"): 2, ("reelhouse", "cancelled"): 1,
    }  # fmt: skip
    assert _sums(m, "igaming_casino_rollbacks_total", "provider") == {("reelhouse",): 1}
    assert _sums(m, "igaming_casino_round_result_delay_seconds_sum", "provider") == {
        ("reelhouse",): 2.0 + 1.0 + 1.5
    }
    # Affiliates: lg-007's registration and FTD through aff-7, their pings taken, and the
    # retry of lg-002's queued FTD ping refused by aff-9.
    pair = ("aff-7", "spring")
    for name in ("igaming_affiliate_registrations_total", "igaming_affiliate_ftds_total",
                 "igaming_affiliate_qualified_ftds_total"):  # fmt: skip
        assert _sums(m, name, "affiliate", "campaign") == {pair: 1}, name
    assert _sums(m, "igaming_postbacks_total", "affiliate", "outcome") == {
        ("aff-7", "delivered"): 2, ("aff-9", "failed"): 1,
    }  # fmt: skip
    # The traffic leaves the planted state as it was: its deposits are final, its
    # postings balance (and move the stored balances with them).
    assert _sums(m, "igaming_deposits_pending_stale", "psp") == {("tidepay",): 3, ("kiwiflow",): 1}
    assert _sums(m, "pitwatch_ledger_invariant_violations", "kind") == {("balance_mismatch",): 1}
    assert _sums(m, "igaming_withdrawals_stuck", "psp") == {("tidepay",): 2}
    assert _sums(m, "igaming_ftd_postback_gap", "affiliate") == {("aff-9",): 1}
    assert _sums(m, "igaming_kyc_manual_review_backlog") == {(): 1}
    ups = {dict(k[1])["collector"]: v for k, v in m.items() if k[0] == "pitwatch_collector_up"}
    # no sportsbook: its three views-mode collectors are off, like its state collector
    assert {c: ups.get(c) for c in views} == dict.fromkeys(views, 1.0)
    assert not {"views_bets", "views_settlements", "views_feed"} & set(ups)
