"""``pitwatch simulate``: drive the platform with scenario traffic and scripted incidents."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from pitwatch.cli.environment import development_by_default
from pitwatch.cli.errors import CliError
from pitwatch.cli.options import positive
from pitwatch.cli.progress import progress_bar
from pitwatch.compose import simulation_settings
from pitwatch.settings import get_settings


def cmd_simulate(args: argparse.Namespace) -> int:
    from datetime import timedelta

    development_by_default()

    from igaming.traffic import scenario as scenarios

    if args.list:
        for name in scenarios.builtin_names():
            known = scenarios.load(name)
            print(
                f"{name:<16} {known.duration.days}d {len(known.incidents):>2} incidents  "
                f"{known.description}"
            )
        return 0
    if not args.scenario:
        raise CliError("pitwatch simulate: give --scenario NAME|FILE (or --list)")
    try:
        scenario = scenarios.load(args.scenario)
    except scenarios.ScenarioError as exc:
        raise CliError(str(exc)) from None
    if args.seed is not None:
        scenario = scenario.model_copy(update={"seed": args.seed})
    duration = timedelta(days=args.days) if args.days is not None else scenario.duration
    out = Path(args.out) if args.out else Path("var/sim") / f"{scenario.name}-{scenario.seed}"
    logging.getLogger("igaming").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    psp_reports = Path(args.psp_reports) if args.psp_reports else None
    exports = Path(args.affiliate_export) if args.affiliate_export else None
    games = Path(args.game_reports) if args.game_reports else None
    if args.live and (psp_reports or exports or games):
        raise CliError(
            "pitwatch simulate: --psp-reports, --affiliate-export and --game-reports go with "
            "an accelerated run (a live run's simulators serve theirs: docs/simulator.md)"
        )
    for folder in (psp_reports, exports, games):
        if folder is not None and folder.exists() and not folder.is_dir():
            raise CliError(f"{folder}: not a folder (expected where to write the files)")
    if args.live:
        from datetime import UTC, datetime

        from igaming.traffic.live import LiveError, run_live

        now = datetime.now(UTC)  # a live run starts now (after a warm-up of seconds)
        print(
            f"live run of {scenario.name} (seed {scenario.seed}) on {args.live} "
            f"at {args.rate:g} actions/s",
            flush=True,
        )
        try:
            result = run_live(
                scenario,
                args.live,
                rate=args.rate,
                duration=duration,
                progress=progress_bar(now, now + duration),
                out_dir=out,
            )
        except LiveError as exc:
            raise CliError(str(exc)) from None
    else:
        from igaming.traffic.run import run_accelerated

        progress = progress_bar(scenario.start, scenario.start + duration, warmup=True)

        url = get_settings().database_url
        print(f"accelerated run of {scenario.name} (seed {scenario.seed}) on {url}", flush=True)
        result = run_accelerated(
            scenario,
            url,
            settings_for=simulation_settings,
            duration=duration,
            scale=args.scale,
            progress=progress,
            out_dir=out,
            psp_reports=psp_reports,
            affiliate_exports=exports,
            game_reports=games,
        )
    s = result.summary()
    flows = s["simulator"]["flows"]
    print(
        f"{s['simulator']['actions']:,} actions in {s['wall_seconds']} s "
        f"({s['actions_per_second']}/s); {s['incidents']} incidents"
    )
    for flow, outcomes in flows.items():
        line = ", ".join(f"{k} {v:,}" for k, v in sorted(outcomes.items(), key=lambda kv: -kv[1]))
        print(f"  {flow:<14} {line}")
    if s["ledger_invariants_ok"] is not None:
        print(f"ledger invariants: {'hold' if s['ledger_invariants_ok'] else 'VIOLATED'}")
    print(f"ground truth: {out / 'incidents.jsonl'}, summary: {out / 'summary.json'}")
    if result.partner_files is not None:
        _say_partner_files(result, psp_reports, exports, games)
    return 0 if s["ledger_invariants_ok"] is not False else 1


def _say_partner_files(
    result, psp_reports: Path | None, exports: Path | None, games: Path | None
) -> None:
    """Where the partners' files went, and the command that reconciles the run's first day."""
    from igaming.traffic.partner_files import conversions_name

    files = result.partner_files
    if psp_reports is not None:
        print(f"PSP settlement reports: {len(files.psp_reports)} files in {psp_reports}")
    if exports is not None:
        print(f"affiliate conversions exports: {len(files.affiliate_exports)} files in {exports}")
    if games is not None:
        print(f"game provider reports: {len(files.game_reports)} files in {games}")
    day = result.start.date()
    reports = f" --psp-reports {psp_reports}" if psp_reports is not None else ""
    export = f" --affiliate-export {exports / conversions_name(day)}" if exports else ""
    game = f" --game-reports {games}" if games is not None else ""
    print(f"reconcile a day: pitwatch reconcile run --date {day}{reports}{export}{game}")


def register(sub) -> None:
    simulate = sub.add_parser(
        "simulate",
        help="drive the platform with scenario traffic and scripted incidents",
        description="Drive the platform with a scenario's players and incidents: live over "
        "HTTP in real time, or accelerated (in-process, simulated clock, the database in "
        "PITWATCH_DATABASE_URL). Writes the incident log and a summary (ground truth).",
    )
    simulate.add_argument("--scenario", help="a built-in scenario's name or a YAML file")
    simulate.add_argument("--list", action="store_true", help="list the built-in scenarios")
    mode = simulate.add_mutually_exclusive_group()
    mode.add_argument("--live", metavar="URL", help="drive the platform running at URL")
    mode.add_argument(
        "--accelerated", action="store_true", help="in-process on a simulated clock (default)"
    )
    simulate.add_argument(
        "--rate", type=positive(float), default=5.0, help="live: player actions per second"
    )
    simulate.add_argument(
        "--days", type=positive(float), help="simulated days (fractions too: 0.25 = 6 h)"
    )
    simulate.add_argument("--seed", type=int, help="override the scenario's seed")
    simulate.add_argument(
        "--scale", type=positive(float), default=1.0, help="multiply every volume"
    )
    simulate.add_argument("--out", help="where the ground truth goes (var/sim/NAME-SEED)")
    simulate.add_argument(
        "--psp-reports",
        metavar="DIR",
        help="accelerated: write every PSP's settlement report of each day of the run into "
        "DIR ({psp}-settlement-YYYY-MM-DD.csv, docs/psp-settlement-report.md), for "
        "pitwatch reconcile run --psp-reports DIR",
    )
    simulate.add_argument(
        "--affiliate-export",
        metavar="DIR",
        help="accelerated: write the affiliate network's conversions export of each day of "
        "the run into DIR (conversions-YYYY-MM-DD.csv, docs/affiliate-conversions-export.md)",
    )
    simulate.add_argument(
        "--game-reports",
        metavar="DIR",
        help="accelerated: write every game provider's transaction report and GGR statement "
        "of each day of the run into DIR ({provider}-transactions-YYYY-MM-DD.csv, "
        "{provider}-ggr-YYYY-MM-DD.csv, docs/game-provider-reports.md), for "
        "pitwatch reconcile run --game-reports DIR",
    )
    simulate.set_defaults(func=cmd_simulate)
