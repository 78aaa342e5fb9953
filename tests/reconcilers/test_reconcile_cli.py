"""``pitwatch reconcile run`` as an operator sees it: a file-level problem is one line, the
last on stderr, exit 2, and a failed run in the state database (the missing affiliate export
too); a row of another batch is a break; ``--quiet`` keeps stderr for the error alone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from ground.vocabulary import DEFAULT_PSPS
from pitwatch.cli import main
from reconcilers import ledger
from reconcilers.sources.psp_reports import COLUMNS
from tests.reconcilers.state_db_helpers import empty_reports, reconcile_cli

DAY = date(2026, 11, 2)
SETTLED = (
    "paybridge,pb_1,dep-1,Settled,2026-11-02T12:00:00.000Z,2026-11-02T23:59:59.000Z,"
    "EUR,25.00,EUR,24.45,-0.55,1,1037"
)


def runs(url: str) -> list[dict]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return ledger.last_runs(conn)
    finally:
        engine.dispose()


def reports_with(tmp_path: Path, *lines: str, end: str = "\n") -> Path:
    folder = empty_reports(tmp_path / "reports", DAY, DEFAULT_PSPS)
    path = folder / f"paybridge-settlement-{DAY}.csv"
    path.write_text(",".join(COLUMNS) + "\n" + "\n".join(lines) + end, encoding="utf-8")
    return folder


def assert_one_error_line_last(err: str, *words: str) -> str:
    lines = err.strip().splitlines()
    last = lines[-1]
    assert last.startswith("pitwatch: ") and not last.startswith("pitwatch: pitwatch"), err
    assert all(w in last for w in words), err
    # Before it, only progress lines: no traceback, no log records.
    assert "Traceback" not in err and " INFO " not in err and " WARNING " not in err, err
    assert sum(line.startswith("pitwatch:") for line in lines) == 1, err
    return last


def test_a_file_cut_inside_its_last_field_is_the_last_line_exit_2_and_a_failed_run(
    sqlite_url, tmp_path, monkeypatch, capsys
):
    folder = reports_with(tmp_path, SETTLED, SETTLED[:-2], end="")
    code, out, err = reconcile_cli(
        monkeypatch, capsys, sqlite_url, None, "--date", str(DAY),
        "--psp-reports", str(folder), "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert code == 2 and out == ""
    last = assert_one_error_line_last(err, "paybridge-settlement-2026-11-02.csv", "cut short")
    [run] = runs(sqlite_url)
    assert run["outcome"] == "failed" and "cut short" in run["error"]
    assert last.endswith(f"(run {run['run_id']} recorded as failed)")
    assert "reading PSP settlement reports" in err  # progress came first, on stderr


def test_a_missing_affiliate_export_is_named_once_and_recorded_as_a_failed_run(
    sqlite_url, tmp_path, monkeypatch, capsys
):
    folder = empty_reports(tmp_path / "reports", DAY, DEFAULT_PSPS)
    export = tmp_path / "conversions-2026-11-02.csv"
    code, _, err = reconcile_cli(
        monkeypatch, capsys, sqlite_url, None, "--date", str(DAY),
        "--psp-reports", str(folder), "--affiliate-export", str(export),
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert code == 2
    last = assert_one_error_line_last(err)
    assert last.startswith(f"pitwatch: {export}: no such affiliate export (run ")
    [run] = runs(sqlite_url)
    assert run["outcome"] == "failed"
    assert run["error"] == f"{export}: no such affiliate export"
    assert set(run["pairs"]) == {"wallet_psp", "wallet_internal", "wallet_affiliate"}


def test_quiet_leaves_stderr_to_the_error_alone(sqlite_url, tmp_path, monkeypatch, capsys):
    folder = reports_with(tmp_path, SETTLED, end="")
    code, _, err = reconcile_cli(
        monkeypatch, capsys, sqlite_url, None, "--date", str(DAY), "--quiet",
        "--psp-reports", str(folder), "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert code == 2
    assert err.count("\n") == 1 and "cut short" in err


def test_a_row_of_another_batch_is_an_invalid_record_break(
    sqlite_url, tmp_path, monkeypatch, capsys
):
    other = SETTLED.replace("pb_1,dep-1", "pb_2,dep-2").replace(",1037", ",1038")
    folder = reports_with(tmp_path, SETTLED, other)
    code, out, _ = reconcile_cli(
        monkeypatch, capsys, sqlite_url, None, "--date", str(DAY), "-q",
        "--psp-reports", str(folder), "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert code == 0, out
    engine = create_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            breaks = ledger.ledger_breaks(conn, status="open", now=datetime.now(UTC))
    finally:
        engine.dispose()
    invalid = breaks[breaks["type"] == "invalid_record"]
    assert len(invalid) == 1
    assert "batch_number is 1038 (expected 1037" in invalid["details"].iloc[0]
    rejects = (tmp_path / "out" / f"reconciliation-{DAY}-rejects.csv").read_text()
    assert "pb_2" in rejects and "expected 1037" in rejects


def test_reconcile_run_documents_quiet(capsys):
    with pytest.raises(SystemExit):
        main(["reconcile", "run", "--help"])
    assert "--quiet" in capsys.readouterr().out
