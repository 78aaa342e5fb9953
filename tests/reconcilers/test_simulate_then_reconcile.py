"""Reconciling a simulated day with the command line only, the commands of
docs/reconciliation.md: ``pitwatch simulate --scenario lost-callbacks --psp-reports DIR
--affiliate-export DIR`` writes the partners' files of every day of the run, and ``pitwatch
reconcile run`` finds the money its incidents (ewallo's callbacks and aff17's postbacks
lost) put at risk, and nothing else."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from ground.vocabulary import DEFAULT_PSPS
from pitwatch.cli import main
from pitwatch.settings import get_settings
from reconcilers import ledger


@pytest.mark.slow
def test_a_simulated_day_is_reconciled_from_the_command_line(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'platform.db'}"
    monkeypatch.setenv("PITWATCH_DATABASE_URL", url)
    monkeypatch.delenv("PITWATCH_STATE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    psp, aff = tmp_path / "psp", tmp_path / "affiliates"
    try:
        code = main(
            ["simulate", "--scenario", "lost-callbacks", "--out", str(tmp_path / "sim"),
             "--psp-reports", str(psp), "--affiliate-export", str(aff)]
        )  # fmt: skip
        out = capsys.readouterr().out
        assert code == 0, out
        # The day, its neighbours (the warm-up's day is the day before), one file per PSP.
        days = ["2026-11-02", "2026-11-03", "2026-11-04"]
        assert sorted(p.name for p in psp.iterdir()) == sorted(
            f"{name}-settlement-{day}.csv" for name in DEFAULT_PSPS for day in days
        )
        assert sorted(p.name for p in aff.iterdir()) == [f"conversions-{d}.csv" for d in days]
        hint = f"pitwatch reconcile run --date 2026-11-03 --psp-reports {psp}"
        assert hint in out
        code = main(
            ["reconcile", "run", "--date", "2026-11-03", "--quiet", "--psp-reports", str(psp),
             "--affiliate-export", str(aff / "conversions-2026-11-03.csv"),
             "--out", str(tmp_path / "out")]
        )  # fmt: skip
        assert code == 0, capsys.readouterr()
    finally:
        get_settings.cache_clear()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            [run] = ledger.last_runs(conn)
            breaks = ledger.ledger_breaks(conn, status="open", now=run["finished_at"])
    finally:
        engine.dispose()
    assert run["outcome"] == "success" and run["rows_psp_report"] >= 5
    found = set(zip(breaks["pair"], breaks["type"], strict=True))
    assert found == {
        ("wallet_psp", "missing_in_wallet"),
        ("wallet_internal", "clearing_residue"),
        ("wallet_affiliate", "missing_postback"),
    }
    assert set(breaks.loc[breaks["pair"] != "wallet_affiliate", "psp"]) == {"ewallo"}
    assert set(breaks.loc[breaks["pair"] == "wallet_affiliate", "affiliate"]) == {"aff17"}
    assert (breaks["type"] == "missing_in_wallet").sum() >= 3
    assert (breaks["type"] == "missing_postback").sum() >= 3


def test_partner_files_go_with_an_accelerated_run_only(tmp_path, capsys):
    argv = ["simulate", "--scenario", "demo", "--live", "http://127.0.0.1:9"]
    for option in ("--psp-reports", "--affiliate-export", "--game-reports"):
        assert main([*argv, option, str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert err.startswith(
            "pitwatch simulate: --psp-reports, --affiliate-export and --game-reports go with an"
        )


def test_a_file_where_the_partner_files_folder_goes_is_one_line(tmp_path, capsys):
    taken = tmp_path / "taken"
    taken.write_text("", encoding="utf-8")
    assert main(["simulate", "--scenario", "demo", "--affiliate-export", str(taken)]) == 2
    err = capsys.readouterr().err
    assert err == f"pitwatch: {taken}: not a folder (expected where to write the files)\n"
