"""``pitwatch collect``: the state exporter (metrics from the pw_* views)."""

from __future__ import annotations

import argparse

from ground.ports import COLLECT_PORT
from pitwatch.cli.errors import Parser
from pitwatch.settings import get_settings


def cmd_collect_serve(args: argparse.Namespace) -> None:
    from pitwatch.state import serve_state as serve

    settings = get_settings()
    print(f"state exporter on http://{args.host}:{args.port}/metrics", flush=True)
    serve(args.host, args.port, settings.database_url, settings.state_url)


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
    cserve.set_defaults(func=cmd_collect_serve)
