"""The break ledger and the run records, on SQLite and PostgreSQL: idempotent re-runs,
automatic resolution within a run's scope only, reopening, and the run record."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import Engine, event, inspect, select

from reconcilers import frames
from reconcilers.ledger import (
    LedgerChange,
    apply_breaks,
    finish_run,
    last_runs,
    ledger_breaks,
    recon_breaks,
    recon_runs,
    start_run,
)
from tests.reconcilers.ledger_helpers import T0, brk

DAY = date(2026, 11, 2)
PSP_PAIR = ["wallet_psp"]


def frame(*rows: dict) -> pd.DataFrame:
    if not rows:
        return frames.empty(frames.BREAKS)
    return frames.conform(pd.DataFrame(list(rows)), frames.BREAKS, "test breaks")


def run(conn, now: datetime, pairs=("wallet_psp",), kind: str = "daily") -> int:
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    return start_run(
        conn, kind=kind, period_start=start, period_end=start + timedelta(days=1),
        pairs=pairs, now=now,
    )  # fmt: skip


def reconcile(
    engine: Engine,
    now: datetime,
    *rows: dict,
    day: date = DAY,
    pairs=PSP_PAIR,
    psps=None,
) -> LedgerChange:
    with engine.begin() as conn:
        run_id = run(conn, now, pairs)
        return apply_breaks(
            conn, frame(*rows), run_id=run_id, scope_day=day, pairs=pairs, psps=psps, now=now
        )


def ledger(engine: Engine, status: str | None = None, now: datetime = T0) -> pd.DataFrame:
    with engine.connect() as conn:
        return ledger_breaks(conn, status=status, now=now).set_index("break_key")


def test_rerunning_the_same_day_finds_the_same_breaks_and_adds_no_duplicate(engine):
    first = reconcile(engine, T0, brk("a"), brk("b"))
    second = reconcile(engine, T0 + timedelta(hours=1), brk("a"), brk("b"))
    assert first == LedgerChange(new=2, seen_again=0, resolved=0, reopened=0)
    assert second == LedgerChange(new=0, seen_again=2, resolved=0, reopened=0)
    book = ledger(engine)
    assert sorted(book.index) == ["a", "b"]
    assert (book["status"] == "open").all()
    assert (book["first_seen_at"] == pd.Timestamp(T0)).all()
    assert (book["last_seen_at"] == pd.Timestamp(T0 + timedelta(hours=1))).all()
    with engine.connect() as conn:
        runs = conn.execute(select(recon_breaks.c.first_run_id, recon_breaks.c.last_run_id)).all()
    assert {(first_run, last_run) for first_run, last_run in runs} == {(1, 2)}


def test_a_rerun_updates_the_values_of_a_break_it_reports_again(engine):
    reconcile(engine, T0, brk("a", other_amount_minor=2_500, amount_at_risk_minor=2_500))
    reconcile(
        engine, T0 + timedelta(hours=1), brk("a", other_amount_minor=900, amount_at_risk_minor=900)
    )
    book = ledger(engine)
    assert book.loc["a", "other_amount_minor"] == 900
    assert book.loc["a", "amount_at_risk_minor"] == 900


def test_a_break_a_later_run_no_longer_reports_is_resolved_with_its_age(engine):
    reconcile(engine, T0, brk("a"), brk("b"))
    later = T0 + timedelta(hours=3)
    change = reconcile(engine, later, brk("a"))
    assert change == LedgerChange(new=0, seen_again=1, resolved=1, reopened=0)
    book = ledger(engine, now=later + timedelta(hours=5))
    assert book.loc["b", "status"] == "resolved"
    assert book.loc["b", "resolved_at"] == pd.Timestamp(later)
    assert book.loc["b", "age_seconds"] == 3 * 3600  # frozen at resolution
    assert book.loc["a", "status"] == "open"
    assert book.loc["a", "age_seconds"] == 8 * 3600  # still counting
    assert list(ledger(engine, "open").index) == ["a"]


def test_a_run_that_matches_everything_resolves_every_open_break_of_its_scope(engine):
    reconcile(engine, T0, brk("a"), brk("b"))
    change = reconcile(engine, T0 + timedelta(hours=1))
    assert change.resolved == 2
    assert ledger(engine, "open").empty


def test_a_resolved_break_that_comes_back_reopens_and_keeps_its_first_seen(engine):
    reconcile(engine, T0, brk("a"), brk("b"))
    reconcile(engine, T0 + timedelta(hours=1), brk("a"))
    change = reconcile(engine, T0 + timedelta(hours=2), brk("a"), brk("b"))
    assert change == LedgerChange(new=0, seen_again=1, resolved=0, reopened=1)
    book = ledger(engine, now=T0 + timedelta(hours=2))
    assert book.loc["b", "status"] == "open"
    assert pd.isna(book.loc["b", "resolved_at"])
    assert book.loc["b", "first_seen_at"] == pd.Timestamp(T0)
    assert book.loc["b", "age_seconds"] == 2 * 3600


def test_resolving_a_day_leaves_other_days_psps_and_pairs_alone(engine):
    d1 = DAY - timedelta(days=1)
    reconcile(engine, T0, brk("yesterday"), day=d1, psps=["paybridge", "nordpay"])
    reconcile(
        engine, T0, brk("pb"), brk("np", psp="nordpay"), brk("ew", psp="ewallo"),
        psps=["paybridge", "nordpay", "ewallo"],
    )  # fmt: skip
    reconcile(
        engine, T0, brk("aff", pair="wallet_affiliate", type="missing_postback", psp="none"),
        pairs=["wallet_affiliate"],
    )  # fmt: skip
    # Day D again, paybridge and nordpay only: both matched now. ewallo's report was not read.
    change = reconcile(engine, T0 + timedelta(hours=1), psps=["paybridge", "nordpay"])
    assert change.resolved == 2
    book = ledger(engine)
    assert book["status"].to_dict() == {
        "yesterday": "open",
        "pb": "resolved",
        "np": "resolved",
        "ew": "open",
        "aff": "open",
    }


def test_a_break_reported_by_another_day_moves_to_that_days_scope(engine):
    reconcile(engine, T0, brk("late"))
    reconcile(engine, T0 + timedelta(hours=1), brk("late"), day=DAY + timedelta(days=1))
    change = reconcile(engine, T0 + timedelta(hours=2))  # day D again: no longer its scope
    assert change.resolved == 0
    assert ledger(engine).loc["late", "status"] == "open"


def test_breaks_outside_the_runs_pairs_or_reported_twice_are_refused(engine):
    with pytest.raises(ValueError, match="outside the run's pairs"):
        reconcile(engine, T0, brk("x", pair="wallet_affiliate", psp="none"))
    with pytest.raises(ValueError, match="reported twice"):
        reconcile(engine, T0, brk("x"), brk("x"))
    assert ledger(engine).empty


def test_ledger_breaks_are_conformed_and_keep_missing_amounts_missing(engine):
    reconcile(engine, T0, brk("a", wallet_amount_minor=None, other_amount_minor=10**12))
    with engine.connect() as conn:  # closed: a leaked one would block the next TRUNCATE
        book = ledger_breaks(conn, status="open", now=T0 + timedelta(seconds=90))
    assert list(book.columns) == list(frames.LEDGER_BREAKS)
    assert str(book["other_amount_minor"].dtype) == "Int64"
    assert book.loc[0, "other_amount_minor"] == 10**12
    assert pd.isna(book.loc[0, "wallet_amount_minor"])
    assert book.loc[0, "age_seconds"] == 90
    assert book.loc[0, "occurred_at"] == pd.Timestamp(T0 - timedelta(hours=20))


def test_a_run_record_holds_its_period_rows_counts_and_breaks_by_type(engine):
    with engine.begin() as conn:
        previous = run(conn, T0 - timedelta(days=1))
        apply_breaks(
            conn, frame(brk("old"), brk("gone")), run_id=previous, scope_day=DAY,
            pairs=PSP_PAIR, psps=None, now=T0 - timedelta(days=1),
        )  # fmt: skip
    with engine.begin() as conn:
        run_id = run(conn, T0, pairs=["wallet_psp", "wallet_internal"])
        assert last_runs(conn)[0]["outcome"] == "running"
    with engine.begin() as conn:
        apply_breaks(
            conn,
            frame(brk("old"), brk("n1", type="amount_mismatch"), brk("n2", type="amount_mismatch")),
            run_id=run_id, scope_day=DAY, pairs=PSP_PAIR, psps=None, now=T0,
        )  # fmt: skip
        internal = brk("acc-7", pair="wallet_internal", type="balance_mismatch", psp="none")
        apply_breaks(
            conn, frame(internal), run_id=run_id, scope_day=DAY, pairs=["wallet_internal"],
            psps=None, now=T0,
        )  # fmt: skip
        finish_run(
            conn, run_id, outcome="success", now=T0 + timedelta(seconds=42),
            rows={"wallet": 1_000, "psp_report": 990},
            matched={"wallet_psp": 950, "wallet_internal": 40}, in_flight=7,
        )  # fmt: skip
        runs = last_runs(conn)
    record = runs[0]
    assert [r["run_id"] for r in runs] == [run_id, previous]
    assert record["pairs"] == ("wallet_psp", "wallet_internal")
    assert record["kind"] == "daily"
    assert record["period_start"] == datetime(2026, 11, 2, tzinfo=UTC)
    assert record["period_end"] == datetime(2026, 11, 3, tzinfo=UTC)
    assert record["started_at"] == T0
    assert record["finished_at"] == T0 + timedelta(seconds=42)
    assert record["duration_seconds"] == 42
    assert record["outcome"] == "success" and record["error"] is None
    assert (record["rows_wallet"], record["rows_psp_report"]) == (1_000, 990)
    assert record["rows_affiliate_export"] is None  # not read
    assert (record["matched"], record["in_flight"]) == (990, 7)
    assert (record["new_breaks"], record["resolved_breaks"], record["open_breaks"]) == (3, 1, 4)
    assert record["breaks_by_type"] == {
        "amount_mismatch": 2,
        "balance_mismatch": 1,
        "missing_in_wallet": 1,
    }


def test_a_failed_run_records_its_error_and_cannot_finish_twice(engine):
    with engine.begin() as conn:
        run_id = run(conn, T0)
    with engine.begin() as conn:
        finish_run(
            conn, run_id, outcome="failed", now=T0 + timedelta(seconds=3), rows={}, matched=0,
            in_flight=0, error="psp-paybridge-2026-11-02.csv: wrong header",
        )  # fmt: skip
    with engine.begin() as conn:
        record = last_runs(conn)[0]
        with pytest.raises(ValueError, match="already finished"):
            finish_run(conn, run_id, outcome="success", now=T0, rows={}, matched=0, in_flight=0)
    assert record["outcome"] == "failed"
    assert record["error"] == "psp-paybridge-2026-11-02.csv: wrong header"
    assert record["new_breaks"] == 0 and record["rows_wallet"] is None


def test_a_run_its_process_never_finished_is_recorded_failed_by_a_later_run(engine):
    with engine.begin() as conn:
        crashed = run(conn, T0)  # its process was killed: no finish_run
        recent = run(conn, T0 + timedelta(hours=5))  # another one, still running
    with engine.begin() as conn:
        later = run(conn, T0 + timedelta(hours=6, seconds=1))
        records = {r["run_id"]: r for r in last_runs(conn)}
    assert records[crashed]["outcome"] == "failed"
    assert records[crashed]["error"].startswith("abandoned: still running 6 h after it started")
    assert records[crashed]["finished_at"] == T0 + timedelta(hours=6, seconds=1)
    assert records[recent]["outcome"] == "running" and records[recent]["error"] is None
    assert records[later]["outcome"] == "running"
    # an abandoned run is finished: it cannot finish again
    with engine.begin() as conn, pytest.raises(ValueError, match="already finished"):
        finish_run(conn, crashed, outcome="success", now=T0, rows={}, matched=0, in_flight=0)


def test_bad_run_arguments_are_refused(engine):
    with engine.begin() as conn:
        with pytest.raises(ValueError, match="kind"):
            run(conn, T0, kind="weekly")
        with pytest.raises(ValueError, match="pairs"):
            run(conn, T0, pairs=["wallet_bank"])
        run_id = run(conn, T0)
        with pytest.raises(ValueError, match="sources"):
            finish_run(
                conn, run_id, outcome="success", now=T0, rows={"bank": 1}, matched=0, in_flight=0
            )
        with pytest.raises(LookupError):
            finish_run(conn, 999, outcome="success", now=T0, rows={}, matched=0, in_flight=0)


@pytest.mark.slow
def test_a_hundred_thousand_breaks_go_in_with_bulk_statements(engine):
    n = 100_000
    many = frames.conform(
        pd.DataFrame(
            {
                **{k: [v] * n for k, v in brk("_").items()},
                "break_key": [f"wallet_psp|missing_in_wallet|{i}" for i in range(n)],
                "reference": [f"dep-{i}" for i in range(n)],
            }
        ),
        frames.BREAKS,
        "many",
    )
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(1))
    started = time.perf_counter()
    with engine.begin() as conn:
        run_id = run(conn, T0)
        first = apply_breaks(
            conn, many, run_id=run_id, scope_day=DAY, pairs=PSP_PAIR, psps=None, now=T0
        )
    with engine.begin() as conn:
        run_id = run(conn, T0 + timedelta(hours=1))
        half = many.iloc[: n // 2]
        second = apply_breaks(
            conn, half, run_id=run_id, scope_day=DAY, pairs=PSP_PAIR, psps=None,
            now=T0 + timedelta(hours=1),
        )  # fmt: skip
    elapsed = time.perf_counter() - started
    assert first.new == n
    assert second == LedgerChange(new=0, seen_again=n // 2, resolved=n // 2, reopened=0)
    assert len(statements) < 400  # chunks of rows, not a statement per break
    assert elapsed < 60


def test_the_migration_creates_the_tables_the_ledger_declares(engine):
    inspector = inspect(engine)
    for table in (recon_breaks, recon_runs):
        migrated = {c["name"]: c["nullable"] for c in inspector.get_columns(table.name)}
        declared = {c.name: c.nullable for c in table.columns}
        assert migrated == declared, table.name
        assert {i["name"] for i in inspector.get_indexes(table.name)} == {
            i.name for i in table.indexes
        }
