"""``pitwatch stack``: the whole stack as native processes (up, down, status)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pitwatch.cli.environment import development_by_default
from pitwatch.cli.errors import CliError, Parser
from pitwatch.cli.options import ports_options, positive, stack_ports
from pitwatch.settings import get_settings


def _print_stack(stack) -> None:
    from pitwatch.stack.native import urls

    for what, url in urls(stack):
        print(f"  {what:<22} {url}")
    for note in stack.notes:
        print(f"  note: {note}")


def cmd_stack_up(args: argparse.Namespace) -> int:
    from pitwatch.stack import native
    from pitwatch.stack.config import StackConfig, StackConfigError

    development_by_default()
    try:
        config = StackConfig(
            run_dir=Path(args.run_dir),
            database_url=args.database_url or get_settings().database_url,
            scenario=args.scenario,
            rate=args.rate,
            traffic_days=args.days,
            profile=args.profile,
            ports=stack_ports(args),
            scrape_interval=args.scrape_interval,
            evaluation_interval=args.scrape_interval,
            prometheus=not args.no_prometheus,
            alertmanager=not args.no_alertmanager,
            ready_timeout=args.timeout,
        )
    except StackConfigError as exc:
        raise CliError(str(exc)) from None
    _, note = config.rules_dir()
    if note:
        print(f"note: {note}", flush=True)
    try:
        stack = native.up(config, say=lambda msg: print(msg, flush=True))
    except native.StackError as exc:
        print(f"pitwatch: {exc}", file=sys.stderr)
        return exc.code
    print(
        f"stack up ({config.profile} rules); stop it with: pitwatch stack down "
        f"--run-dir {args.run_dir}"
    )
    _print_stack(stack)
    return _stay(stack, config.run_dir) if args.foreground else 0


def _stay(stack, run_dir: Path) -> int:
    """In the foreground until Ctrl-C, SIGTERM or a component's exit, then stop everything
    this command started; 1 when a component exited."""
    import signal
    import time

    from pitwatch.stack import native

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    code = 0
    try:
        print("running in the foreground; Ctrl-C stops everything", flush=True)
        while True:
            time.sleep(1)
            dead = [n for n, p in stack.procs.items() if p.poll() is not None]
            if "traffic" in dead:
                print(f"traffic ended (code {stack.procs['traffic'].returncode})", flush=True)
                stack.procs.pop("traffic")
                dead.remove("traffic")
            if dead:
                print(f"pitwatch: {', '.join(dead)} exited; stopping", file=sys.stderr)
                code = 1
                break
    except KeyboardInterrupt:
        pass
    finally:
        for name, outcome in native.down(run_dir).items():
            print(f"{name:<12} {outcome}", flush=True)
    return code


def cmd_stack_down(args: argparse.Namespace) -> int:
    from pitwatch.stack import native

    outcome = native.down(Path(args.run_dir), timeout=args.timeout)
    if not outcome:
        print(f"no stack recorded in {args.run_dir} ({native.STACK_FILE})")
    for name, what in outcome.items():
        print(f"{name:<12} {what}")
    return 0


def cmd_stack_status(args: argparse.Namespace) -> int:
    import json

    from pitwatch.stack import native

    rows = native.status(Path(args.run_dir))
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": r.component.name,
                        "pid": r.component.pid,
                        "url": r.component.url,
                        "alive": r.alive,
                        "healthy": r.healthy,
                    }
                    for r in rows
                ],
                indent=2,
            )
        )
    elif not rows:
        print(f"no stack recorded in {args.run_dir} ({native.STACK_FILE})")
    for r in [] if args.json else rows:
        state = "up" if r.alive else "DOWN"
        health = {None: "", True: "healthy", False: "NOT ANSWERING"}[r.healthy]
        c = r.component
        print(f"{c.name:<12} {state:<5} pid {c.pid:<8} {c.url or '':<24} {health}")
    return 0 if rows and all(r.alive and r.healthy is not False for r in rows) else 1


def register(sub) -> None:
    stack = sub.add_parser(
        "stack",
        help="the whole stack as native processes: platform, simulators, collectors, "
        "Prometheus, Alertmanager",
    )
    ssub = stack.add_subparsers(dest="stack_command", required=True, parser_class=Parser)
    up = ssub.add_parser(
        "up",
        help="start the stack (returns once every component is ready)",
        description="Start the platform, the five simulators, the notification sink (fake "
        "Slack and PagerDuty), the state exporter, the reconciliation scheduler and, when on "
        "PATH, Prometheus and Alertmanager, each as its own process on 127.0.0.1 logging to "
        "RUN_DIR/<name>.log; RUN_DIR/stack.json lists them for `pitwatch stack down`. With "
        "--scenario, live traffic drives the platform. Exit code 2: a port in use or a bad "
        "option (nothing started); 1: a component did not come up (everything stopped).",
    )
    up.add_argument("--scenario", help="live traffic: a built-in scenario's name or a YAML file")
    up.add_argument(
        "--rate", type=positive(float), default=5.0, help="traffic: player actions per second"
    )
    up.add_argument("--days", type=positive(float), help="traffic: run this many days (real time)")
    up.add_argument(
        "--profile",
        choices=["production", "demo"],
        default="production",
        help="alert rules: alert_rules/rules (production) or alert_rules/demo (short windows, "
        "5 s scrapes, short Alertmanager group waits)",
    )
    up.add_argument("--run-dir", default="var/stack", help="logs, configs, data (var/stack)")
    up.add_argument("--database-url", help="overrides PITWATCH_DATABASE_URL")
    ports_options(up)
    up.add_argument("--scrape-interval", help="Prometheus scrape and evaluation interval")
    up.add_argument("--no-prometheus", action="store_true", help="do not start Prometheus")
    up.add_argument("--no-alertmanager", action="store_true", help="do not start Alertmanager")
    up.add_argument(
        "--timeout", type=positive(float), default=60.0, help="seconds per component to be ready"
    )
    up.add_argument("--foreground", action="store_true", help="stay; Ctrl-C stops everything")
    up.set_defaults(func=cmd_stack_up)
    down = ssub.add_parser("down", help="stop exactly what RUN_DIR/stack.json lists")
    down.add_argument("--run-dir", default="var/stack")
    down.add_argument(
        "--timeout", type=positive(float), default=10.0, help="seconds before SIGKILL"
    )
    down.set_defaults(func=cmd_stack_down)
    st = ssub.add_parser(
        "status", help="what runs and answers (exit 1 when something is down or not answering)"
    )
    st.add_argument("--run-dir", default="var/stack")
    st.add_argument("--json", action="store_true", help="machine-readable")
    st.set_defaults(func=cmd_stack_status)
