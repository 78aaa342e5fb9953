"""``pitwatch reconcile``: wallet ⟷ PSP ⟷ affiliate network reconciliation.

The wallet is read from the platform's database (``PITWATCH_DATABASE_URL``: the contract
views, read only); the break ledger, the run records and the scheduler's jobs are kept in
pitwatch's own (``PITWATCH_STATE_DATABASE_URL``, else the platform's), whose tables pitwatch
creates itself. The platform's migrations are never run here (``pitwatch platform db
upgrade`` is the reference platform's)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ground.errors import first_line
from pitwatch.cli.errors import CliError, Parser
from pitwatch.cli.options import day, positive
from pitwatch.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine


def _shown(url: str) -> str:
    """A database URL as an error message may show it: without its password."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url.split("@")[-1])


def state_engine(url: str) -> Engine:
    """pitwatch's own database with its tables (created where missing); a database that
    cannot be reached or written (or a URL that is not one) is a CliError naming it."""
    from sqlalchemy.exc import SQLAlchemyError

    from igaming.db import make_engine
    from reconcilers.ledger import create_tables

    engine = None
    try:
        engine = make_engine(url, pool_size=2)
        create_tables(engine)
    except (SQLAlchemyError, OSError) as exc:
        if engine is not None:
            engine.dispose()
        raise CliError(f"the state database {_shown(url)}: {first_line(exc)}") from None
    return engine


def source_engine(url: str) -> Engine:
    """The platform's database, read only (nothing is connected yet)."""
    from sqlalchemy.exc import SQLAlchemyError

    from collectors.exporter import make_read_engine

    try:
        return make_read_engine(url, "pitwatch-reconcile")
    except SQLAlchemyError as exc:
        raise CliError(f"the platform database {_shown(url)}: {first_line(exc)}") from None


def cmd_reconcile_run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from reconcilers.errors import SourceError
    from reconcilers.run import reconcile_day
    from reconcilers.schedule import options_for

    settings = get_settings()
    if args.psp_reports:
        settings = settings.model_copy(update={"recon_psp_reports_dir": Path(args.psp_reports)})
    if args.out:
        settings = settings.model_copy(update={"recon_out_dir": Path(args.out)})
    if args.game_reports:
        update = {"recon_game_reports_dir": Path(args.game_reports)}
        settings = settings.model_copy(update=update)
    options = options_for(settings, args.date, "manual")
    if args.affiliate_export:  # its existence is the run's to check (a failed run)
        options = replace(options, affiliate_export=Path(args.affiliate_export))
    if not args.quiet:
        options = replace(options, progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    source = source_engine(settings.database_url)
    state = state_engine(settings.state_url)
    failed: SourceError | None = None
    try:
        result = reconcile_day(source, state, args.date, options, datetime.now(UTC))
    except SourceError as exc:
        # Recorded as a failed run in the state database; the one line comes last on
        # stderr, after the engines are closed.
        failed = exc
    finally:
        source.dispose()
        state.dispose()
    if failed is not None:
        recorded = f" (run {failed.run_id} recorded as failed)" if failed.run_id else ""
        raise CliError(f"{failed}{recorded}")
    s = result.summary
    print(
        f"reconciled {args.date}: {s.new_breaks} new, {s.resolved_breaks} resolved, "
        f"{s.open_breaks} open breaks; report {result.html}"
    )
    return 0


def cmd_reconcile_ledger(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from sqlalchemy.exc import DBAPIError

    from reconcilers.ledger_job import run_ledger_job

    settings = get_settings()
    platform = source_engine(settings.database_url)
    state = state_engine(settings.state_url)
    try:
        result = run_ledger_job(
            platform,
            state,
            now=datetime.now(UTC),
            kind="manual",
            limit=args.limit,
            progress=lambda msg: print(msg, file=sys.stderr, flush=True),
        )
    except DBAPIError as exc:
        raise CliError(f"ledger check: {first_line(exc)}") from None
    finally:
        platform.dispose()
        state.dispose()
    c = result.check
    print(
        f"ledger check (run {result.run_id}): {c.summary()}; breaks: {result.new} new, "
        f"{result.resolved} resolved"
    )
    for u in c.unbalanced[:20]:
        print(f"  unbalanced_transaction {u.transaction_id} {u.currency}: sums to {u.total_minor}")
    for m in c.mismatches[:20]:
        print(
            f"  balance_mismatch account {m.account_id} {m.currency}: stored {m.balance_minor}, "
            f"entries {m.entries_minor}"
        )
    return 0 if c.ok else 1


def cmd_reconcile_schedule(args: argparse.Namespace) -> int:
    from pitwatch.backup.jobs import add_jobs
    from reconcilers.schedule import serve

    settings = get_settings()
    source_engine(settings.database_url).dispose()  # a URL that is one
    state_engine(settings.state_url).dispose()  # its tables, before the first job
    serve(settings, source_engine, state_engine, extra_jobs=add_jobs)
    return 0


def register(sub) -> None:
    rec = sub.add_parser(
        "reconcile", help="wallet ⟷ PSP ⟷ affiliate network ⟷ game provider reconciliation"
    )
    rsub = rec.add_subparsers(dest="reconcile_command", required=True, parser_class=Parser)
    rrun = rsub.add_parser(
        "run", help="reconcile one UTC day: breaks into the ledger, CSV/HTML reports, Slack"
    )
    rrun.add_argument("--date", type=day, required=True, help="the UTC day, YYYY-MM-DD")
    rrun.add_argument("--psp-reports", help="folder of PSP settlement reports (settings)")
    rrun.add_argument("--affiliate-export", help="affiliate network conversions export CSV")
    rrun.add_argument(
        "--game-reports",
        metavar="DIR",
        help="folder of the game providers' daily transaction reports and GGR statements "
        "(docs/game-provider-reports.md; settings: recon_game_reports_dir): reconciles the "
        "wallet with the game providers too",
    )
    rrun.add_argument("--out", help="folder for the reports (settings: recon_out_dir)")
    rrun.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress lines on stderr (an error is still its one line there)",
    )
    rrun.set_defaults(func=cmd_reconcile_run)
    rled = rsub.add_parser(
        "ledger",
        help="the full ledger check: every transaction sums to zero, every balance equals "
        "its entries (breaks of the pair ledger); exit 1 when a violation is found",
    )
    rled.add_argument(
        "--limit",
        type=positive(int),
        default=100_000,
        help="violations of each kind kept as breaks (default 100000; counts stay exact)",
    )
    rled.set_defaults(func=cmd_reconcile_ledger)
    rsched = rsub.add_parser(
        "schedule",
        help="run the daily and hourly reconciliations, the nightly ledger check, the backups "
        "and their restore tests (APScheduler, foreground; its jobs in the state database)",
    )
    rsched.set_defaults(func=cmd_reconcile_schedule)
