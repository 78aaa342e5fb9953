"""``pitwatch sim``: the simulators of the platform's outside world, and the notification sink."""

from __future__ import annotations

import argparse

from ground.ports import (
    AFFILIATE_SIM_PORT,
    GAMES_SIM_PORT,
    KYC_SIM_PORT,
    ODDS_SIM_PORT,
    PSP_SIM_PORT,
)
from pitwatch.cli.errors import Parser
from pitwatch.cli.serving import serve_app


def cmd_sim_psp_serve(args: argparse.Namespace) -> None:
    from igaming.sim.psp.app import serve

    serve(args.host, args.port, args.config)


def cmd_sim_kyc_serve(args: argparse.Namespace) -> None:
    from pathlib import Path

    from igaming.sim.kyc.app import KycSimConfig, create_app

    config = (
        KycSimConfig.model_validate_json(Path(args.config).read_text()) if args.config else None
    )
    serve_app(create_app(config), args.host, args.port)


def cmd_sim_games_serve(args: argparse.Namespace) -> None:
    from igaming.sim.games import serve

    serve(args.host, args.port, args.config)


def cmd_sim_odds_serve(args: argparse.Namespace) -> None:
    from igaming.sim.odds import serve

    serve(args.host, args.port, args.config)


def cmd_sim_affiliates_serve(args: argparse.Namespace) -> None:
    from igaming.sim.affiliate_network import serve

    serve(args.host, args.port, args.config)


def cmd_sim_notify_serve(args: argparse.Namespace) -> None:
    from pitwatch.stack.sinks import serve

    serve(args.host, args.port, args.run_dir)


def _sim_server(sub, name: str, what: str, port: int, func) -> None:
    sim = sub.add_parser(name, help=what)
    ssub = sim.add_subparsers(dest=f"{name}_command", required=True, parser_class=Parser)
    serve = ssub.add_parser("serve", help=f"serve the {what} simulator (default port {port})")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=port)
    serve.add_argument("--config", default=None, help="JSON file of the simulator's knobs")
    serve.set_defaults(func=func)


def register(sub) -> None:
    sim = sub.add_parser("sim", help="simulators of the platform's outside world")
    ssub = sim.add_subparsers(dest="sim_command", required=True, parser_class=Parser)
    for name, what, port, func in (
        ("psp", "payment service providers", PSP_SIM_PORT, cmd_sim_psp_serve),
        ("kyc", "the KYC vendor", KYC_SIM_PORT, cmd_sim_kyc_serve),
        ("odds", "the odds feed", ODDS_SIM_PORT, cmd_sim_odds_serve),
        ("games", "game providers (seamless wallet)", GAMES_SIM_PORT, cmd_sim_games_serve),
        ("affiliates", "the affiliate network", AFFILIATE_SIM_PORT, cmd_sim_affiliates_serve),
    ):
        _sim_server(ssub, name, what, port, func)
    notify = ssub.add_parser("notify", help="Slack and PagerDuty (a local notification sink)")
    nsub = notify.add_subparsers(dest="notify_command", required=True, parser_class=Parser)
    nserve = nsub.add_parser(
        "serve",
        help="serve fake Slack incoming webhooks (POST /slack/...) and PagerDuty Events v2 "
        "(POST /v2/enqueue); GET /messages lists what arrived (default port 8606)",
    )
    nserve.add_argument("--host", default="127.0.0.1")
    nserve.add_argument("--port", type=int, default=8606)
    nserve.add_argument(
        "--run-dir", default="var/stack", help="where notifications.jsonl goes (var/stack)"
    )
    nserve.set_defaults(func=cmd_sim_notify_serve)
