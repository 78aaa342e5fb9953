"""End to end: one simulated day whose PSPs deliver their settlement files in Adyen, PayPal
STL and Trustly formats is reconciled to exactly the breaks it has when they deliver in
pitwatch's own format (docs/psp-settlement-formats.md)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from ground.vocabulary import DEFAULT_PSPS
from reconcilers.run import RunOptions, reconcile_day
from tests.reconcilers.test_reconcile_simulated_traffic import INCIDENTS, afternoon
from tests.sim.traffic_tools import run_scenario

pytestmark = pytest.mark.slow

FORMATS = {"paybridge": "adyen", "nordpay": "trustly", "pixgate": "paypal_stl"}
KEY = ["pair", "type", "psp", "reference", "wallet_amount_minor", "other_amount_minor"]


def _found(run, day, reports: Path, out: Path, formats: dict[str, str]) -> pd.DataFrame:
    options = RunOptions(
        psp_reports_dir=reports, out_dir=out, psps=DEFAULT_PSPS, psp_formats=formats
    )
    now = run.result.end + timedelta(days=3)
    result = reconcile_day(run.engine, run.engine, day, options, now)
    assert result.summary.outcome == "success"
    assert result.found is not None
    breaks = result.found.breaks
    breaks = breaks[breaks["pair"].isin(["wallet_psp", "wallet_internal"])]
    return breaks[KEY].sort_values(KEY).reset_index(drop=True), result


def test_psps_in_their_own_formats_give_the_same_breaks_as_ours(tmp_path: Path) -> None:
    run = run_scenario(afternoon(INCIDENTS), tmp_path, warmup=timedelta(minutes=10))
    try:
        day = run.start.date()
        days = (day - timedelta(days=1), day, day + timedelta(days=1))
        ours, theirs = tmp_path / "ours", tmp_path / "theirs"
        config = run.world.psp.config
        for folder, formats in ((ours, {}), (theirs, FORMATS)):
            # The same seeded discrepancies (missing, extra, wrong amount) in both.
            psps = {
                name: settings.model_copy(
                    update={
                        "report_format": formats.get(name, "pitwatch"),
                        "settlement_discrepancy_rate": 0.05,
                    }
                )
                for name, settings in config.psps.items()
            }
            run.world.psp.replace_config(config.model_copy(update={"psps": psps}))
            for when in days:
                run.world.psp.write_settlement_reports(when, folder)
        assert sorted(p.name for p in (theirs / "paybridge").glob("*")) == [
            d.isoformat() for d in days
        ]
        assert len(list((theirs / "pixgate").glob(f"STL-{day:%Y%m%d}.*.CSV"))) == 1
        assert len(list((theirs / "nordpay").glob(f"trustly_settlement_{day}_*.csv"))) == 1
        expected, ours_result = _found(run, day, ours, tmp_path / "out1", {})
        found, theirs_result = _found(run, day, theirs, tmp_path / "out2", FORMATS)
        # breaks to find in every PSP's file, whatever its format
        assert set(expected[expected["pair"] == "wallet_psp"]["psp"]) >= {*FORMATS, "ewallo"}
        assert {"missing_at_psp", "missing_in_wallet", "amount_mismatch"} <= set(expected["type"])
        assert ours_result.found.rejects.empty and theirs_result.found.rejects.empty
        pd.testing.assert_frame_equal(found, expected)
        s1, s2 = ours_result.summary, theirs_result.summary
        assert s2.matched["wallet_psp"] == s1.matched["wallet_psp"] >= 100
    finally:
        run.engine.dispose()
