"""``pitwatch backtest``: every alert scored against ground truth, on simulated runs or on
an operator's own history (docs/backtest.md)."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

from pitwatch.backtest.session import GRACE_MINUTES
from pitwatch.cli.environment import development_by_default
from pitwatch.cli.errors import CliError
from pitwatch.cli.options import positive
from pitwatch.cli.progress import progress_bar


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _when(text: str) -> datetime:
    """An argument type: an RFC 3339 time (UTC when no offset) or Unix seconds."""
    try:
        value = datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"not a time (RFC 3339, e.g. 2026-11-02T00:00:00Z, or Unix seconds): {text!r}"
            ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def cmd_backtest(args: argparse.Namespace) -> int:
    from pitwatch.backtest import session
    from pitwatch.backtest.model import BacktestError

    # Progress lines, not the platform's and the migrations' logs (-v shows them).
    for name in ("igaming", "alembic", "collectors", "reconcilers"):
        logging.getLogger(name).setLevel(logging.DEBUG if args.verbose else logging.WARNING)

    try:
        if args.prometheus:
            if args.scenario or args.recorded:
                raise CliError("pitwatch backtest: --prometheus replaces --scenario/--recorded")
            if args.start is None or args.end is None:
                raise CliError("pitwatch backtest: --prometheus needs --from and --to")
            outcome = session.history(
                args.prometheus,
                args.start,
                args.end,
                out=Path(args.out or "var/backtest/history"),
                rules=Path(args.rules) if args.rules else None,
                compare=Path(args.compare) if args.compare else None,
                incidents=Path(args.incidents) if args.incidents else None,
                chunk_minutes=args.chunk_minutes,
                max_rps=args.max_rps,
                grace_minutes=args.grace,
                progress=_say,
            )
        else:
            if args.compare:
                raise CliError("pitwatch backtest: --compare goes with --prometheus")
            if not args.scenario and not args.recorded:
                raise CliError(
                    "pitwatch backtest: give --scenario NAME|FILE, --recorded DIR or "
                    "--prometheus URL (see --help)"
                )
            development_by_default()
            outcome = session.simulated(
                sim_progress=lambda start, end: progress_bar(start, end, warmup=True),
                scenario=args.scenario,
                recorded=[Path(d) for d in args.recorded or []],
                seeds=args.seed or None,
                days=args.days,
                scale=args.scale,
                profile=args.profile,
                rules=Path(args.rules) if args.rules else None,
                out=Path(args.out) if args.out else None,
                grace_minutes=args.grace,
                use_cache=not args.no_cache,
                progress=_say,
            )
    except BacktestError as exc:
        raise CliError(str(exc)) from None
    print(outcome.table)
    for path in outcome.files:
        print(f"wrote {path}")
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "backtest",
        help="score every alert against incidents: simulated runs or your own history",
        description="Replay the alert rules over recorded metrics with Prometheus itself and "
        "score every alert against the incidents that happened: caught or missed, detection "
        "delay, reset time, false alerts and pages per week. Either simulate a scenario "
        "(accelerated, recorded as Prometheus would have scraped it), reuse a recorded run "
        "(--recorded), or read an operator's own history from their Prometheus-compatible "
        "query API (--prometheus, read-only). Writes backtest.md, scores.json and "
        "report.html (a timeline per alert). See docs/backtest.md.",
    )
    sim = p.add_argument_group("simulated runs")
    sim.add_argument("--scenario", help="a built-in scenario's name or a YAML file")
    sim.add_argument(
        "--recorded",
        metavar="DIR",
        action="append",
        help="reuse a recorded run's directory (metrics.om, recording.json, "
        "incidents.jsonl); repeat for several",
    )
    sim.add_argument(
        "--days", type=positive(float), help="simulated days (default: the scenario's)"
    )
    sim.add_argument(
        "--seed",
        type=int,
        action="append",
        help="a seed; repeat for several (aggregated: median and worst); default the scenario's",
    )
    sim.add_argument("--scale", type=positive(float), default=1.0, help="multiply every volume")
    sim.add_argument(
        "--profile",
        choices=("production", "demo"),
        default="production",
        help="the rule profile: production (alert_rules/rules) or demo (windows / 12)",
    )
    sim.add_argument(
        "--no-cache",
        action="store_true",
        help="record again even when var/backtest/cache holds this run's recording",
    )
    hist = p.add_argument_group("an operator's history")
    hist.add_argument("--prometheus", metavar="URL", help="a Prometheus-compatible query API")
    hist.add_argument("--from", dest="start", type=_when, help="start (RFC 3339 or Unix s)")
    hist.add_argument("--to", dest="end", type=_when, help="end (RFC 3339 or Unix s)")
    hist.add_argument(
        "--incidents", metavar="FILE", help="JSON lines as incidents.jsonl: score against them"
    )
    hist.add_argument(
        "--compare",
        metavar="RULES_DIR",
        help="a second rule set, side by side with --rules on the same history",
    )
    hist.add_argument(
        "--chunk-minutes",
        type=positive(int),
        default=60,
        help="minutes of samples per request (default 60)",
    )
    hist.add_argument(
        "--max-rps", type=positive(float), default=5.0, help="requests a second at most (5)"
    )
    p.add_argument("--rules", metavar="DIR", help="rule files to evaluate (default: the profile's)")
    p.add_argument(
        "--grace",
        type=positive(float),
        default=GRACE_MINUTES,
        help="minutes after an incident's end in which a firing still counts as caught (15)",
    )
    p.add_argument("--out", help="where the results go (var/backtest/NAME)")
    p.set_defaults(func=cmd_backtest)
