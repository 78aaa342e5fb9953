"""``pitwatch collect``: the state exporter (metrics from the pw_* views)."""

from __future__ import annotations

import argparse

from ground.ports import COLLECT_PORT
from pitwatch.cli.errors import Parser
from pitwatch.settings import get_settings


def cmd_collect_serve(args: argparse.Namespace) -> None:
    from pitwatch.state import serve_state as serve

    settings = get_settings()
    views_mode = args.views_mode or settings.views_mode
    mode = " (views mode: business counters from the views)" if views_mode else ""
    print(f"state exporter on http://{args.host}:{args.port}/metrics{mode}", flush=True)
    serve(args.host, args.port, settings.database_url, settings.state_url, views_mode)


def register(sub) -> None:
    collect = sub.add_parser("collect", help="the state exporter (metrics from the pw_* views)")
    csub = collect.add_subparsers(dest="collect_command", required=True, parser_class=Parser)
    cserve = csub.add_parser(
        "serve",
        help=f"serve /metrics from PITWATCH_DATABASE_URL (the platform's views) and "
        f"PITWATCH_STATE_DATABASE_URL (pitwatch's own state) (default port {COLLECT_PORT})",
    )
    cserve.add_argument("--host", default="127.0.0.1")
    cserve.add_argument("--port", type=int, default=COLLECT_PORT)
    cserve.add_argument(
        "--config",
        metavar="FILE",
        help="the operator configuration file: label values and thresholds "
        "(docs/operator-config.md); default: PITWATCH_OPERATOR_CONFIG, else the reference's",
    )
    cserve.add_argument(
        "--views-mode",
        action="store_true",
        help="also derive the platform's business counters (deposits, callbacks, "
        "withdrawals, ...) from the contract views, for a platform that exports none "
        "(PITWATCH_VIEWS_MODE=1; docs/metrics.md)",
    )
    cserve.set_defaults(func=cmd_collect_serve)
