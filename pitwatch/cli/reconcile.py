"""``pitwatch reconcile``: wallet ⟷ PSP ⟷ affiliate network reconciliation."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from pitwatch.cli.errors import CliError, Parser
from pitwatch.cli.options import day, positive
from pitwatch.settings import get_settings


def cmd_reconcile_run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from igaming.db import make_engine
    from igaming.migrate import upgrade_engine
    from reconcilers.errors import SourceError
    from reconcilers.run import reconcile_day
    from reconcilers.schedule import options_for

    settings = get_settings()
    if args.psp_reports:
        settings = settings.model_copy(update={"recon_psp_reports_dir": Path(args.psp_reports)})
    if args.out:
        settings = settings.model_copy(update={"recon_out_dir": Path(args.out)})
    options = options_for(settings, args.date, "manual")
    if args.affiliate_export:
        export = Path(args.affiliate_export)
        if not export.is_file():
            raise CliError(f"pitwatch: {export}: no such affiliate export")
        options = replace(options, affiliate_export=export)
    options = replace(options, progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    engine = make_engine(settings.database_url, pool_size=2)
    try:
        upgrade_engine(engine)
        result = reconcile_day(engine, args.date, options, datetime.now(UTC))
    except SourceError as exc:
        print(f"pitwatch: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    s = result.summary
    print(
        f"reconciled {args.date}: {s.new_breaks} new, {s.resolved_breaks} resolved, "
        f"{s.open_breaks} open breaks; report {result.html}"
    )
    return 0


def cmd_reconcile_ledger(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from sqlalchemy.exc import DBAPIError

    from igaming.db import make_engine
    from reconcilers import ledger
    from reconcilers.ledger_job import run_ledger_job

    settings = get_settings()
    platform = make_engine(settings.database_url, pool_size=2)
    state_url = settings.state_url
    state = platform if state_url == settings.database_url else make_engine(state_url, pool_size=2)
    try:
        ledger.metadata.create_all(state, checkfirst=True)  # pitwatch's own tables only
        result = run_ledger_job(
            platform,
            state,
            now=datetime.now(UTC),
            kind="manual",
            limit=args.limit,
            progress=lambda msg: print(msg, file=sys.stderr, flush=True),
        )
    except DBAPIError as exc:
        cause = str(exc.orig if exc.orig is not None else exc).strip().splitlines()
        raise CliError(f"ledger check: {cause[0] if cause else type(exc).__name__}") from None
    finally:
        platform.dispose()
        if state is not platform:
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
    from igaming.db import make_engine
    from reconcilers.schedule import serve

    serve(get_settings(), lambda url: make_engine(url, pool_size=2))
    return 0


def register(sub) -> None:
    rec = sub.add_parser("reconcile", help="wallet ⟷ PSP ⟷ affiliate network reconciliation")
    rsub = rec.add_subparsers(dest="reconcile_command", required=True, parser_class=Parser)
    rrun = rsub.add_parser(
        "run", help="reconcile one UTC day: breaks into the ledger, CSV/HTML reports, Slack"
    )
    rrun.add_argument("--date", type=day, required=True, help="the UTC day, YYYY-MM-DD")
    rrun.add_argument("--psp-reports", help="folder of PSP settlement reports (settings)")
    rrun.add_argument("--affiliate-export", help="affiliate network conversions export CSV")
    rrun.add_argument("--out", help="folder for the reports (settings: recon_out_dir)")
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
        "schedule", help="run the daily and hourly reconciliations (APScheduler, foreground)"
    )
    rsched.set_defaults(func=cmd_reconcile_schedule)
