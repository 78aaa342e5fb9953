"""A reconciliation of real traffic: the platform and the PSP simulator exchange deposits
and callbacks over the real protocol, the simulator writes its settlement reports, and
``reconcile_day`` must find exactly the faults the simulator injected — and nothing on a
clean day."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from ground.vocabulary import DEFAULT_PSPS
from igaming.cashier import deposits
from reconcilers import ledger
from reconcilers.run import PHASES, RunOptions, SlackTarget, read_wallet, reconcile_day
from tests.conftest import register_player
from tests.psp_world import psp_world
from tests.reconcilers.fake_slack import TOKEN, running_fake_slack

# Where the simulator routes: DE cards → paybridge, SE e-wallets → ewallo.
PLAYERS = (("DE", "EUR", "card"), ("SE", "SEK", "ewallet"))


@pytest.fixture
def world(engine, tmp_path):
    with psp_world(engine, tmp_path / "psp") as w:
        yield w


def deliver(world) -> None:
    for _ in range(3):
        world.clock.advance(5)
        asyncio.run(world.psp_app.state.dispatcher.deliver_due())


def traffic(world, n: int = 4) -> list:
    """``n`` deposits per player kind, all approved and credited."""
    made = []
    for geo, currency, method in PLAYERS:
        player = register_player(world.platform, country=geo, currency=currency)
        for i in range(n):
            made.append(
                deposits.request_deposit(
                    world.platform,
                    player.id,
                    amount=1_000 + 137 * i,
                    currency=currency,
                    method=method,
                    idempotency_key=f"{geo}-{i}",
                )
            )
    deliver(world)
    return made


def settlement(world, out: Path) -> list[dict]:
    # Into the configured report folder: a request may only name a folder under it.
    simulator = world.psp_app.state.simulator
    simulator.replace_config(simulator.config.model_copy(update={"report_dir": str(out)}))
    r = world.psp_client.post(
        "/admin/settlement-reports", json={"date": world.clock.now().date().isoformat()}
    )
    assert r.status_code == 200, r.text
    return [d for report in r.json()["reports"] for d in report["discrepancies"]]


def options(tmp_path: Path, **kw) -> RunOptions:
    return RunOptions(
        psp_reports_dir=tmp_path / "reports",
        out_dir=tmp_path / "out",
        psps=DEFAULT_PSPS,
        **kw,
    )


def test_a_clean_day_reconciles_without_a_single_break(world, engine, tmp_path):
    made = traffic(world)
    assert settlement(world, tmp_path / "reports") == []
    day = world.clock.now().date()

    now = world.clock.now() + timedelta(days=3)
    result = reconcile_day(engine, engine, day, options(tmp_path), now)

    s = result.summary
    assert s.outcome == "success"
    assert s.open_breaks == 0 and s.new_breaks == 0
    assert s.matched["wallet_psp"] == len(made)
    assert s.rows["wallet"] == len(made)
    assert result.csv.exists() and result.html.exists() and result.rejects is None


def test_injected_faults_show_up_as_exactly_the_expected_breaks(world, engine, tmp_path):
    traffic(world)
    # A lost callback: the PSP approves and settles, the wallet never hears of it.
    world.psp_client.patch("/admin/psps/paybridge", json={"loss_rate": 1.0})
    player = register_player(world.platform, country="DE", currency="EUR")
    lost = deposits.request_deposit(
        world.platform, player.id, amount=5_000, currency="EUR", method="card",
        idempotency_key="lost",
    )  # fmt: skip
    deliver(world)
    world.psp_client.patch("/admin/psps/paybridge", json={"loss_rate": 0.0})
    # Duplicated callbacks are the wallet's business (idempotent): no break.
    world.psp_client.patch("/admin/psps/ewallo", json={"duplicate_rate": 1.0})
    traffic(world, n=2)
    # ewallo's report disagrees with its own transactions, row by row.
    world.psp_client.patch("/admin/psps/ewallo", json={"settlement_discrepancy_rate": 1.0})
    discrepancies = settlement(world, tmp_path / "reports")
    assert discrepancies, "the simulator injected nothing"
    day = world.clock.now().date()

    now = world.clock.now() + timedelta(days=3)
    result = reconcile_day(engine, engine, day, options(tmp_path), now)

    with engine.connect() as conn:
        found = ledger.ledger_breaks(conn, status="open", now=now)
    psp_breaks = found[found["pair"] == "wallet_psp"]
    got = sorted(zip(psp_breaks["type"], psp_breaks["reference"], strict=True))
    as_break = {"amount_mismatch": "amount_mismatch", "missing_row": "missing_at_psp",
                "extra_row": "missing_in_wallet"}  # fmt: skip
    expected = sorted(
        [(as_break[d["kind"]], d["merchant_reference"]) for d in discrepancies]
        + [("missing_in_wallet", lost.id)]
    )
    assert got == expected
    # The clearing accounts no longer net to what the PSPs settled, where the faults are.
    internal = found[found["pair"] == "wallet_internal"]
    assert set(internal["type"]) <= {"clearing_residue"}
    assert set(internal["psp"]) == {"paybridge", "ewallo"}
    assert result.summary.open_breaks == len(found)

    again = reconcile_day(engine, engine, day, options(tmp_path), now + timedelta(hours=1))
    assert again.summary.new_breaks == 0
    assert again.summary.open_breaks == result.summary.open_breaks


def test_each_phase_of_a_run_goes_through_the_phase_hook_in_order(world, engine, tmp_path):
    made = traffic(world, n=1)
    settlement(world, tmp_path / "reports")
    day = world.clock.now().date()
    seen: list[tuple[str, str]] = []
    wallet_reads: list[bool] = []

    @contextmanager
    def phase(name: str) -> Iterator[None]:
        seen.append(("start", name))
        yield
        seen.append(("end", name))

    def wallet(engine, day, conversions):
        wallet_reads.append(conversions)
        return read_wallet(engine, day, conversions)

    result = reconcile_day(
        engine,
        engine,
        day,
        options(tmp_path, phase=phase, wallet=wallet),
        world.clock.now() + timedelta(days=3),
    )

    # no affiliate export, no game provider reports, no Slack: those phases do not run
    skipped = ("read_affiliate", "match_affiliate", "read_games", "match_games", "tell_slack")
    ran = [p for p in PHASES if p not in skipped]
    assert seen == [(edge, p) for p in ran for edge in ("start", "end")]
    assert wallet_reads == [False]
    assert result.summary.matched["wallet_psp"] == len(made)
    assert result.found is not None
    assert result.found.stats_by_pair["wallet_psp"]["matched"] == len(made)


def test_the_summary_reaches_slack_with_the_csv(world, engine, tmp_path):
    traffic(world, n=1)
    world.psp_client.patch("/admin/psps/paybridge", json={"loss_rate": 1.0})
    player = register_player(world.platform, country="DE", currency="EUR")
    deposits.request_deposit(
        world.platform, player.id, amount=7_700, currency="EUR", method="card",
        idempotency_key="lost",
    )  # fmt: skip
    deliver(world)
    settlement(world, tmp_path / "reports")
    day = world.clock.now().date()
    with running_fake_slack() as slack:
        target = SlackTarget(TOKEN, "#finance-recon", slack.url + "/api/")
        now = world.clock.now() + timedelta(days=3)
        result = reconcile_day(engine, engine, day, options(tmp_path, slack=target), now)
    [message] = slack.messages
    text = str(message["blocks"])
    assert "missing_in_wallet" in text or "Missing in wallet" in text
    assert list(slack.uploads.values()) == [result.csv.read_bytes()]
