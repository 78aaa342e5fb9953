"""``pitwatch reconcile``: wallet ⟷ PSP ⟷ affiliate network reconciliation."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from pitwatch.cli.errors import CliError, Parser
from pitwatch.cli.options import day
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


def cmd_reconcile_schedule(args: argparse.Namespace) -> int:
    from igaming.db import make_engine
    from pitwatch.backup.jobs import add_jobs
    from reconcilers.schedule import serve

    serve(get_settings(), lambda url: make_engine(url, pool_size=2), extra_jobs=add_jobs)
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
    rsched = rsub.add_parser(
        "schedule",
        help="run the daily and hourly reconciliations, the backups and their restore tests "
        "(APScheduler, foreground)",
    )
    rsched.set_defaults(func=cmd_reconcile_schedule)
