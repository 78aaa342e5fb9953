"""Reconciling a simulated day with the command line only, as the docs tell a user to:
``pitwatch simulate --psp-reports DIR --affiliate-export DIR`` writes the partners' files
of every day of the run, and ``pitwatch reconcile run`` finds the money a simulated
incident (ewallo's callbacks lost) put at risk."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from ground.vocabulary import DEFAULT_PSPS
from pitwatch.cli import main
from pitwatch.settings import get_settings
from reconcilers import ledger

# Half an hour of new players in GB paying by e-wallet (ewallo), every callback lost for
# the first twenty minutes; a quarter of them through an affiliate campaign. Long past:
# every settlement window has closed when the test reconciles (now, wall clock).
SCENARIO = """
name: lost-callbacks
seed: 5
start: 2025-03-04T12:00:00Z
duration: 30m
curves: {daily: [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1], weekly: [1,1,1,1,1,1,1]}
players:
  daily_active: 50
  existing: 0
  sessions_per_day: 1
  organic_registrations_per_day: 1500
  registration_to_ftd: 1.0
  kyc_before_deposit: 0.0
geos:
  GB: {weight: 1.0, methods: {ewallet: 1.0}}
campaigns:
  - {affiliate: aff17, campaign: spring-gb, clicks_per_day: 2000, geos: [GB], click_to_registration: 0.2}
deposits: {retry_after_decline: 0.0}
casino: {share: 0.0}
sportsbook: {share: 0.0, kickoffs: []}
withdrawals: {per_session: 0.0}
incidents:
  - {type: psp_callback_loss, start: 0m, end: 20m, psp: ewallo, loss_rate: 1.0}
"""  # noqa: E501


@pytest.mark.slow
def test_a_simulated_day_is_reconciled_from_the_command_line(tmp_path, monkeypatch, capsys):
    scenario = tmp_path / "lost-callbacks.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'platform.db'}"
    monkeypatch.setenv("PITWATCH_DATABASE_URL", url)
    monkeypatch.delenv("PITWATCH_STATE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    psp, aff = tmp_path / "psp", tmp_path / "affiliates"
    try:
        code = main(
            ["simulate", "--scenario", str(scenario), "--out", str(tmp_path / "sim"),
             "--psp-reports", str(psp), "--affiliate-export", str(aff)]
        )  # fmt: skip
        out = capsys.readouterr().out
        assert code == 0, out
        # The day, its neighbours (the warm-up's day is the day before), one file per PSP.
        days = ["2025-03-03", "2025-03-04", "2025-03-05"]
        assert sorted(p.name for p in psp.iterdir()) == sorted(
            f"{name}-settlement-{day}.csv" for name in DEFAULT_PSPS for day in days
        )
        assert sorted(p.name for p in aff.iterdir()) == [f"conversions-{d}.csv" for d in days]
        hint = f"pitwatch reconcile run --date 2025-03-04 --psp-reports {psp}"
        assert hint in out
        code = main(
            ["reconcile", "run", "--date", "2025-03-04", "--quiet", "--psp-reports", str(psp),
             "--affiliate-export", str(aff / "conversions-2025-03-04.csv"),
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
    found = set(zip(breaks["pair"], breaks["type"], breaks["psp"], strict=True))
    assert found == {
        ("wallet_psp", "missing_in_wallet", "ewallo"),
        ("wallet_internal", "clearing_residue", "ewallo"),
    }
    assert (breaks["type"] == "missing_in_wallet").sum() >= 3
