"""``pitwatch demo``: the whole stack with the demo rules and an incident."""

from __future__ import annotations

import argparse
from pathlib import Path

from pitwatch.cli.environment import development_by_default
from pitwatch.cli.options import ports_options, positive, stack_ports


def cmd_demo(args: argparse.Namespace) -> int:
    from pitwatch.demo import run_demo

    development_by_default()

    return run_demo(
        ports=stack_ports(args),
        once=args.once,
        run_dir=Path(args.run_dir),
        scenario=args.scenario,
        rate=args.rate,
        duration=args.duration,
        every=args.every,
        install=args.install,
    )


def register(sub) -> None:
    demo = sub.add_parser(
        "demo",
        help="the whole stack with the demo rules and an incident, with a live summary",
        description="Start the native stack (pitwatch stack up) with the demo rule profile "
        "and a scenario whose PSP outage begins a minute in, then print every few seconds what "
        "is injected, which alerts are pending or firing and what reached Slack. Without "
        "Prometheus on PATH the platform, simulators and traffic still run. Ctrl-C (or "
        "--duration) stops everything.",
    )
    demo.add_argument("--run-dir", default="var/stack", help="logs, configs, data (var/stack)")
    demo.add_argument("--scenario", help="a scenario name or YAML file (default: the demo's)")
    demo.add_argument("--rate", type=positive(float), default=8.0, help="player actions per second")
    demo.add_argument(
        "--duration",
        type=positive(float),
        help="stop this many seconds after the stack is up (default: never)",
    )
    demo.add_argument(
        "--every", type=positive(float), default=10.0, help="seconds between summaries"
    )
    ports_options(demo)
    demo.add_argument("--platform-port", type=int, help="same as --ports platform=N")
    demo.add_argument("--psp-port", type=int, help="same as --ports psp=N")
    demo.add_argument("--kyc-port", type=int, help="same as --ports kyc=N")
    demo.add_argument(
        "--once",
        action="store_true",
        help="no traffic: one player's walk-through (register, KYC, deposit), then stop",
    )
    demo.add_argument(
        "--install",
        action="store_true",
        help="first install the missing Debian packages the stack uses (Prometheus, "
        "Alertmanager, the exporters) when running as root with apt-get; else print the "
        "command (make demo passes it)",
    )
    demo.set_defaults(func=cmd_demo)
