"""The nightly full ledger check: an unbalanced transaction older than the exporter's
1,000-entry window, which the exporter's incremental check never sees, is found by the job,
kept as a break with its transaction id, moves the metrics, and resolves once fixed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import text

from collectors.state.base import Health, StateConfig
from collectors.state.ledger import LedgerCollector
from ground.clock import FakeClock
from reconcilers import ledger
from reconcilers.ledger_job import PAIR, run_ledger_job
from reconcilers.metrics import ReconciliationCollector
from tests.conftest import make_platform
from tests.platform.sportsbook_helpers import funded_player

NOW = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
EXTRA = 7


def pad_with_balanced_entries(conn, pairs: int, tx: str, currency: str) -> None:
    """``pairs`` balanced +1/-1 postings between two house accounts of ``currency``, on
    transaction ``tx``: the ledger grows, every invariant still holds."""
    a, b = conn.execute(
        text(
            "SELECT id FROM accounts WHERE owner = 'house' AND currency = :c "
            "AND kind <> 'psp_clearing' ORDER BY id LIMIT 2"
        ),
        {"c": currency},
    ).scalars()
    rows = [
        {"t": tx, "a": acc, "amt": amt, "c": currency, "at": NOW}
        for _ in range(pairs)
        for acc, amt in ((a, 1), (b, -1))
    ]
    conn.execute(
        text(
            "INSERT INTO ledger_entries (transaction_id, account_id, amount, currency, "
            "created_at) VALUES (:t, :a, :amt, :c, :at)"
        ),
        rows,
    )


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_an_old_unbalanced_transaction_is_a_break_until_fixed(engine):
    p = make_platform(engine, clock=FakeClock())
    for _ in range(3):
        funded_player(p)
    with engine.begin() as conn:
        last_tx = conn.execute(
            text("SELECT transaction_id FROM ledger_entries ORDER BY id DESC LIMIT 1")
        ).scalar_one()
        first_tx, currency, account = conn.execute(
            text(
                "SELECT transaction_id, currency, account_id FROM ledger_entries "
                "WHERE account_id IN (SELECT id FROM accounts WHERE owner = 'house') "
                "ORDER BY id LIMIT 1"
            )
        ).one()
        extra_id = conn.execute(
            text(
                "INSERT INTO ledger_entries (transaction_id, account_id, amount, currency, "
                "created_at) VALUES (:t, :a, :x, :c, :at) RETURNING id"
            ),
            {"t": first_tx, "a": account, "x": EXTRA, "c": currency, "at": NOW},
        ).scalar_one()
        # Older than the exporter's window (1,000 entries back, re-reading 1,000 more).
        pad_with_balanced_entries(conn, 1_100, last_tx, currency)

    # The exporter's incremental check starts 1,000 entries back: it does not see it.
    exporter = CollectorRegistry()
    exporter.register(LedgerCollector(engine, FakeClock(), StateConfig(), Health(["ledger"])))
    assert sample(exporter, "pitwatch_ledger_invariant_ok") == 1.0

    result = run_ledger_job(engine, engine, now=NOW)
    assert result.check.unbalanced_count == 1 and result.complete
    with engine.connect() as conn:
        breaks = ledger.ledger_breaks(conn, status="open", now=NOW)
    mine = breaks[breaks["pair"] == PAIR]
    [row] = mine[mine["type"] == "unbalanced_transaction"].to_dict("records")
    assert row["reference"] == str(first_tx)
    assert row["break_key"] == f"ledger|unbalanced_transaction|{first_tx}|{currency}"
    assert (row["wallet_amount_minor"], row["amount_at_risk_minor"]) == (EXTRA, EXTRA)
    assert "balance_mismatch" not in set(mine["type"])  # a house account: its sum by definition

    metrics = CollectorRegistry()
    metrics.register(ReconciliationCollector(engine, FakeClock()))
    kind = {"kind": "unbalanced_transaction"}
    assert sample(metrics, "pitwatch_ledger_full_check_violations", **kind) == 1.0
    assert sample(metrics, "pitwatch_ledger_full_check_violations", kind="balance_mismatch") == 0
    open_breaks = {"pair": "ledger", "type": "unbalanced_transaction", "psp": "none"}
    assert sample(metrics, "pitwatch_reconciliation_open_breaks", **open_breaks) == 1.0
    assert sample(
        metrics, "pitwatch_reconciliation_last_success_timestamp_seconds", pair="ledger"
    ) == pytest.approx(NOW.timestamp(), abs=60)

    # Seen again the next night: the same break, not a new one.
    again = run_ledger_job(engine, engine, now=NOW + timedelta(days=1))
    assert (again.new, again.resolved) == (0, 0)

    with engine.begin() as conn:  # fixed (in a test: the extra leg removed)
        conn.execute(text("DELETE FROM ledger_entries WHERE id = :i"), {"i": extra_id})
    fixed = run_ledger_job(engine, engine, now=NOW + timedelta(days=2))
    assert fixed.check.ok and fixed.resolved == 1
    assert sample(metrics, "pitwatch_ledger_full_check_violations", **kind) == 0.0
    assert sample(metrics, "pitwatch_reconciliation_open_breaks", **open_breaks) == 0.0


def test_a_tampered_player_balance_is_a_ledger_break_apart_from_wallet_internal(engine):
    p = make_platform(engine, clock=FakeClock())
    player = funded_player(p)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE accounts SET balance = balance + 5 WHERE owner = :o AND kind = 'cash'"),
            {"o": player.id},
        )
    result = run_ledger_job(engine, engine, now=NOW)
    assert result.check.mismatch_count == 1
    with engine.connect() as conn:
        breaks = ledger.ledger_breaks(conn, status="open", now=NOW)
    [row] = breaks.to_dict("records")
    assert row["break_key"].startswith("ledger|balance_mismatch|")
    assert row["wallet_amount_minor"] - row["other_amount_minor"] == 5
    assert pd.isna(row["amount_at_risk_minor"])  # counted at risk under wallet_internal only


def test_a_failed_check_is_recorded_as_a_failed_run(sqlite_engine):
    with sqlite_engine.begin() as conn:
        conn.execute(text("DROP VIEW pw_balances"))

    with pytest.raises(Exception, match="pw_balances"):
        run_ledger_job(sqlite_engine, sqlite_engine, now=NOW)
    with sqlite_engine.connect() as conn:
        [run] = ledger.last_runs(conn, limit=1)
    assert (run["pairs"], run["outcome"]) == (("ledger",), "failed")
    assert "pw_balances" in run["error"]
