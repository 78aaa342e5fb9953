"""The ``pitwatch`` command line: the thin glue that starts things."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

from pitwatch.settings import (
    AFFILIATE_SIM_PORT,
    COLLECT_PORT,
    GAMES_SIM_PORT,
    KYC_SIM_PORT,
    ODDS_SIM_PORT,
    PLATFORM_METRICS_PORT,
    PLATFORM_PORT,
    PSP_SIM_PORT,
    SettingsError,
    get_settings,
)


class CliError(Exception):
    """A usage or input error: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise CliError(f"{self.prog}: {message} (see --help)")


def _development_by_default() -> None:
    """The demo, the native stack and simulations run the simulators with their placeholder
    secrets: they are development unless PITWATCH_ENVIRONMENT says otherwise (the stack's
    processes inherit it). Production commands (platform serve, reconcile, ...) get no such
    default: without PITWATCH_ENVIRONMENT they run as production and refuse placeholders."""
    import os

    if "PITWATCH_ENVIRONMENT" not in os.environ:
        os.environ["PITWATCH_ENVIRONMENT"] = "development"
        get_settings.cache_clear()


def _serve(app: object, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="info")


def cmd_platform_serve(args: argparse.Namespace) -> None:
    from igaming.api.app import create_app
    from igaming.db import is_sqlite
    from igaming.migrate import is_empty, upgrade_engine
    from igaming.tracing import configure_tracing_from_env
    from pitwatch.compose import build_platform, start_platform

    configure_tracing_from_env("pitwatch-platform")
    settings = get_settings()
    platform = build_platform(settings)
    if is_sqlite(settings.database_url) and is_empty(platform.engine):
        print(f"empty SQLite database: upgrading {settings.database_url}", flush=True)
        upgrade_engine(platform.engine)
    start_platform(platform)
    from igaming.affiliates.dispatcher import make_client
    from igaming.worker import BackgroundJobs

    metrics_server = _serve_metrics(platform, args, settings)
    jobs = BackgroundJobs(platform, make_client())
    jobs.start()
    docs = " (docs /docs)" if settings.docs_enabled else ""
    print(f"platform API on http://{args.host}:{args.port}{docs}", flush=True)
    try:
        _serve(create_app(platform), args.host, args.port)
    finally:
        jobs.close()
        if metrics_server is not None:
            metrics_server.shutdown()


def _serve_metrics(platform, args: argparse.Namespace, settings):  # type: ignore[no-untyped-def]
    """The platform's /metrics on its internal listener (never the API's port)."""
    if platform.metrics is None:
        return None
    from collectors.instrumentation import serve_metrics

    host = args.metrics_host or settings.metrics_host
    port = args.metrics_port if args.metrics_port is not None else settings.metrics_port
    try:
        server, _ = serve_metrics(platform.metrics, host, port)
    except OSError as exc:
        raise CliError(f"pitwatch: metrics listener on {host}:{port}: {exc.strerror}") from None
    print(f"platform metrics on http://{host}:{server.server_port}/metrics", flush=True)
    return server


def cmd_db_upgrade(args: argparse.Namespace) -> None:
    from igaming.migrate import upgrade

    url = args.database_url or get_settings().database_url
    upgrade(url, args.revision)
    print(f"database at {args.revision}", flush=True)


def cmd_operator_create(args: argparse.Namespace) -> None:
    from igaming.admin import create_operator
    from pitwatch.compose import build_platform

    platform = build_platform(get_settings())
    print(create_operator(platform, args.name, args.role))


def cmd_sim_psp_serve(args: argparse.Namespace) -> None:
    from igaming.sim.psp.app import serve

    serve(args.host, args.port, args.config)


def cmd_sim_kyc_serve(args: argparse.Namespace) -> None:
    from pathlib import Path

    from igaming.sim.kyc.app import KycSimConfig, create_app

    config = (
        KycSimConfig.model_validate_json(Path(args.config).read_text()) if args.config else None
    )
    _serve(create_app(config), args.host, args.port)


def cmd_sim_games_serve(args: argparse.Namespace) -> None:
    from igaming.sim.games import serve

    serve(args.host, args.port, args.config)


def cmd_sim_odds_serve(args: argparse.Namespace) -> None:
    from igaming.sim.odds import serve

    serve(args.host, args.port, args.config)


def cmd_sim_affiliates_serve(args: argparse.Namespace) -> None:
    from igaming.sim.affiliate_network import serve

    serve(args.host, args.port, args.config)


def cmd_collect_serve(args: argparse.Namespace) -> None:
    from pitwatch.state import serve_state as serve

    print(f"state exporter on http://{args.host}:{args.port}/metrics", flush=True)
    serve(args.host, args.port, get_settings().database_url)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


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
    from reconcilers.schedule import serve

    serve()
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from alert_rules.config import ConfigError
    from pitwatch.generate import generate, rendered

    try:
        files = rendered()
        count = len(files)
        stale = generate(check=args.check, files=files)
    except ConfigError as exc:  # alert_rules/overrides.toml names something that is not there
        print(f"pitwatch: {exc}", file=sys.stderr)
        return 2
    if args.check:
        for path in stale:
            print(f"stale: {path} (run pitwatch generate)", file=sys.stderr)
        if not stale:
            print(f"{count} generated files are up to date")
        return 1 if stale else 0
    for path in stale:
        print(f"wrote {path}")
    print(f"{count} generated files, {len(stale)} changed")
    return 0


def _progress_bar(start, end, warmup=False):  # type: ignore[no-untyped-def]
    """A one-line progress bar on stderr: simulated time, share done, actions so far; with
    ``warmup``, before ``start`` (the existing players joining) the warm-up's share."""
    import time as _time

    from igaming.traffic.model import warmup_share

    began = _time.monotonic()
    total = (end - start).total_seconds() or 1.0

    def show(now, tally) -> None:  # type: ignore[no-untyped-def]
        rate = tally.actions / max(_time.monotonic() - began, 1e-9)
        if now < start:  # the warm-up: the existing players join before the start
            share = f"{warmup_share(now, start):6.1%}" if warmup else ""
            print(
                f"\r[{'warm-up: existing players':<30}] {share:6} {now:%a %d %b %H:%M} UTC  "
                f"{tally.actions:>9,} actions  {rate:,.0f}/s",
                end="",
                file=sys.stderr,
                flush=True,
            )
            return
        done = min(1.0, max(0.0, (now - start).total_seconds() / total))
        bar = "#" * int(done * 30)
        print(
            f"\r[{bar:<30}] {done:6.1%} {now:%a %d %b %H:%M} UTC  "
            f"{tally.actions:>9,} actions  {rate:,.0f}/s",
            end="\n" if done >= 1.0 else "",
            file=sys.stderr,
            flush=True,
        )

    return show


def _positive(kind):  # type: ignore[no-untyped-def]
    def parse(text: str):  # type: ignore[no-untyped-def]
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be greater than 0: {text!r}")
        return value

    return parse


def cmd_simulate(args: argparse.Namespace) -> int:
    from datetime import timedelta

    _development_by_default()

    from igaming.traffic import scenario as scenarios

    if args.list:
        for name in scenarios.builtin_names():
            s = scenarios.load(name)
            print(f"{name:<16} {s.duration.days}d {len(s.incidents):>2} incidents  {s.description}")
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
                progress=_progress_bar(now, now + duration),
                out_dir=out,
            )
        except LiveError as exc:
            raise CliError(str(exc)) from None
    else:
        from igaming.traffic.run import run_accelerated

        progress = _progress_bar(scenario.start, scenario.start + duration, warmup=True)

        url = get_settings().database_url
        print(f"accelerated run of {scenario.name} (seed {scenario.seed}) on {url}", flush=True)
        result = run_accelerated(
            scenario, url, duration=duration, scale=args.scale, progress=progress, out_dir=out
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
    return 0 if s["ledger_invariants_ok"] is not False else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from pitwatch.demo import run_demo

    _development_by_default()

    return run_demo(
        ports=_stack_ports(args),
        once=args.once,
        run_dir=Path(args.run_dir),
        scenario=args.scenario,
        rate=args.rate,
        duration=args.duration,
        every=args.every,
    )


def _stack_ports(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from pitwatch.stack.config import StackConfigError, StackPorts

    try:
        ports = StackPorts().shifted(args.port_offset or 0)
        for name in ("platform", "psp", "kyc"):  # the demo's older per-port flags
            if getattr(args, f"{name}_port", None) is not None:
                ports = ports.with_spec(f"{name}={getattr(args, f'{name}_port')}")
        return ports.with_spec(args.ports or "")
    except StackConfigError as exc:
        raise CliError(f"pitwatch: {exc}") from None


def _print_stack(stack) -> None:  # type: ignore[no-untyped-def]
    from pitwatch.stack.native import urls

    for what, url in urls(stack):
        print(f"  {what:<22} {url}")
    for note in stack.notes:
        print(f"  note: {note}")


def cmd_stack_up(args: argparse.Namespace) -> int:
    import signal
    import time

    from pitwatch.stack import native
    from pitwatch.stack.config import StackConfig, StackConfigError

    _development_by_default()
    try:
        config = StackConfig(
            run_dir=Path(args.run_dir),
            database_url=args.database_url or get_settings().database_url,
            scenario=args.scenario,
            rate=args.rate,
            traffic_days=args.days,
            profile=args.profile,
            ports=_stack_ports(args),
            scrape_interval=args.scrape_interval,
            evaluation_interval=args.scrape_interval,
            prometheus=not args.no_prometheus,
            alertmanager=not args.no_alertmanager,
            ready_timeout=args.timeout,
        )
    except StackConfigError as exc:
        raise CliError(f"pitwatch: {exc}") from None
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
    if not args.foreground:
        return 0
    # Foreground: Ctrl-C or SIGTERM stops everything this command started.
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
        for name, outcome in native.down(config.run_dir).items():
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


def cmd_sim_notify_serve(args: argparse.Namespace) -> None:
    from pitwatch.stack.sinks import serve

    serve(args.host, args.port, args.run_dir)


def _ports_options(p: argparse.ArgumentParser) -> None:
    from pitwatch.stack.config import StackPorts

    defaults = ",".join(f"{n}={getattr(StackPorts(), n)}" for n in StackPorts.names())
    p.add_argument(
        "--ports",
        metavar="NAME=PORT,...",
        help=f"override ports (all on 127.0.0.1); defaults: {defaults}",
    )
    p.add_argument(
        "--port-offset", type=int, default=0, metavar="N", help="add N to every default port"
    )


def _add_stack(sub) -> None:  # type: ignore[no-untyped-def]
    stack = sub.add_parser(
        "stack",
        help="the whole stack as native processes: platform, simulators, collectors, "
        "Prometheus, Alertmanager",
    )
    ssub = stack.add_subparsers(dest="stack_command", required=True, parser_class=_Parser)
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
        "--rate", type=_positive(float), default=5.0, help="traffic: player actions per second"
    )
    up.add_argument("--days", type=_positive(float), help="traffic: run this many days (real time)")
    up.add_argument(
        "--profile",
        choices=["production", "demo"],
        default="production",
        help="alert rules: alert_rules/rules (production) or alert_rules/demo (short windows, "
        "5 s scrapes, short Alertmanager group waits)",
    )
    up.add_argument("--run-dir", default="var/stack", help="logs, configs, data (var/stack)")
    up.add_argument("--database-url", help="overrides PITWATCH_DATABASE_URL")
    _ports_options(up)
    up.add_argument("--scrape-interval", help="Prometheus scrape and evaluation interval")
    up.add_argument("--no-prometheus", action="store_true", help="do not start Prometheus")
    up.add_argument("--no-alertmanager", action="store_true", help="do not start Alertmanager")
    up.add_argument(
        "--timeout", type=_positive(float), default=60.0, help="seconds per component to be ready"
    )
    up.add_argument("--foreground", action="store_true", help="stay; Ctrl-C stops everything")
    up.set_defaults(func=cmd_stack_up)
    down = ssub.add_parser("down", help="stop exactly what RUN_DIR/stack.json lists")
    down.add_argument("--run-dir", default="var/stack")
    down.add_argument(
        "--timeout", type=_positive(float), default=10.0, help="seconds before SIGKILL"
    )
    down.set_defaults(func=cmd_stack_down)
    st = ssub.add_parser(
        "status", help="what runs and answers (exit 1 when something is down or not answering)"
    )
    st.add_argument("--run-dir", default="var/stack")
    st.add_argument("--json", action="store_true", help="machine-readable")
    st.set_defaults(func=cmd_stack_status)


def _sim_server(sub, name: str, what: str, port: int, func) -> None:  # type: ignore[no-untyped-def]
    sim = sub.add_parser(name, help=what)
    ssub = sim.add_subparsers(dest=f"{name}_command", required=True, parser_class=_Parser)
    serve = ssub.add_parser("serve", help=f"serve the {what} simulator (default port {port})")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=port)
    serve.add_argument("--config", default=None, help="JSON file of the simulator's knobs")
    serve.set_defaults(func=func)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pitwatch",
        description="Observability and business alerting for real-money gaming operators.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

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
    demo.add_argument(
        "--rate", type=_positive(float), default=8.0, help="player actions per second"
    )
    demo.add_argument(
        "--duration",
        type=_positive(float),
        help="stop this many seconds after the stack is up (default: never)",
    )
    demo.add_argument(
        "--every", type=_positive(float), default=10.0, help="seconds between summaries"
    )
    _ports_options(demo)
    demo.add_argument("--platform-port", type=int, help="same as --ports platform=N")
    demo.add_argument("--psp-port", type=int, help="same as --ports psp=N")
    demo.add_argument("--kyc-port", type=int, help="same as --ports kyc=N")
    demo.add_argument(
        "--once",
        action="store_true",
        help="no traffic: one player's walk-through (register, KYC, deposit), then stop",
    )
    demo.set_defaults(func=cmd_demo)

    platform = sub.add_parser("platform", help="the reference iGaming platform")
    psub = platform.add_subparsers(dest="platform_command", required=True, parser_class=_Parser)
    serve = psub.add_parser("serve", help=f"serve the platform API (default port {PLATFORM_PORT})")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=PLATFORM_PORT)
    serve.add_argument(
        "--metrics-host",
        help="the internal /metrics listener's address (PITWATCH_METRICS_HOST, 127.0.0.1)",
    )
    serve.add_argument(
        "--metrics-port",
        type=int,
        help=f"its port (PITWATCH_METRICS_PORT, {PLATFORM_METRICS_PORT}; 0: a free one)",
    )
    serve.set_defaults(func=cmd_platform_serve)

    db = psub.add_parser("db", help="database schema")
    dsub = db.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    up = dsub.add_parser("upgrade", help="apply migrations (PITWATCH_DATABASE_URL)")
    up.add_argument("--revision", default="heads")
    up.add_argument("--database-url", default=None, help="overrides PITWATCH_DATABASE_URL")
    up.set_defaults(func=cmd_db_upgrade)

    op = psub.add_parser("operator", help="back-office operators")
    osub = op.add_subparsers(dest="operator_command", required=True, parser_class=_Parser)
    create = osub.add_parser("create", help="create an operator and print its API key")
    create.add_argument("--name", required=True)
    create.add_argument(
        "--role",
        required=True,
        choices=["finance", "support", "compliance", "admin", "faults"],
        help="faults: injected incidents only (the traffic simulator's key; no money moves)",
    )
    create.set_defaults(func=cmd_operator_create)

    gen = sub.add_parser(
        "generate",
        help="write the files generated from code: metrics reference, alert rules, promtool "
        "tests, runbooks, Alertmanager config",
    )
    gen.add_argument("--check", action="store_true", help="fail when a committed file is stale")
    gen.set_defaults(func=cmd_generate)

    collect = sub.add_parser("collect", help="the state exporter (metrics from the pw_* views)")
    csub = collect.add_subparsers(dest="collect_command", required=True, parser_class=_Parser)
    cserve = csub.add_parser(
        "serve", help=f"serve /metrics from PITWATCH_DATABASE_URL (default port {COLLECT_PORT})"
    )
    cserve.add_argument("--host", default="127.0.0.1")
    cserve.add_argument("--port", type=int, default=COLLECT_PORT)
    cserve.set_defaults(func=cmd_collect_serve)

    rec = sub.add_parser("reconcile", help="wallet ⟷ PSP ⟷ affiliate network reconciliation")
    rsub = rec.add_subparsers(dest="reconcile_command", required=True, parser_class=_Parser)
    rrun = rsub.add_parser(
        "run", help="reconcile one UTC day: breaks into the ledger, CSV/HTML reports, Slack"
    )
    rrun.add_argument("--date", type=_day, required=True, help="the UTC day, YYYY-MM-DD")
    rrun.add_argument("--psp-reports", help="folder of PSP settlement reports (settings)")
    rrun.add_argument("--affiliate-export", help="affiliate network conversions export CSV")
    rrun.add_argument("--out", help="folder for the reports (settings: recon_out_dir)")
    rrun.set_defaults(func=cmd_reconcile_run)
    rsched = rsub.add_parser(
        "schedule", help="run the daily and hourly reconciliations (APScheduler, foreground)"
    )
    rsched.set_defaults(func=cmd_reconcile_schedule)

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
        "--rate", type=_positive(float), default=5.0, help="live: player actions per second"
    )
    simulate.add_argument(
        "--days", type=_positive(float), help="simulated days (fractions too: 0.25 = 6 h)"
    )
    simulate.add_argument("--seed", type=int, help="override the scenario's seed")
    simulate.add_argument(
        "--scale", type=_positive(float), default=1.0, help="multiply every volume"
    )
    simulate.add_argument("--out", help="where the ground truth goes (var/sim/NAME-SEED)")
    simulate.set_defaults(func=cmd_simulate)

    sim = sub.add_parser("sim", help="simulators of the platform's outside world")
    ssub = sim.add_subparsers(dest="sim_command", required=True, parser_class=_Parser)
    for name, what, port, func in (
        ("psp", "payment service providers", PSP_SIM_PORT, cmd_sim_psp_serve),
        ("kyc", "the KYC vendor", KYC_SIM_PORT, cmd_sim_kyc_serve),
        ("odds", "the odds feed", ODDS_SIM_PORT, cmd_sim_odds_serve),
        ("games", "game providers (seamless wallet)", GAMES_SIM_PORT, cmd_sim_games_serve),
        ("affiliates", "the affiliate network", AFFILIATE_SIM_PORT, cmd_sim_affiliates_serve),
    ):
        _sim_server(ssub, name, what, port, func)
    notify = ssub.add_parser("notify", help="Slack and PagerDuty (a local notification sink)")
    nsub = notify.add_subparsers(dest="notify_command", required=True, parser_class=_Parser)
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
    _add_stack(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except CliError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        code = args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from json import JSONDecodeError

        from pydantic import ValidationError

        # Bad input from the user (a missing or malformed config file, bad settings):
        # one line, exit code 2. Anything else is a bug and keeps its traceback.
        user_errors = (CliError, SettingsError, ValidationError, FileNotFoundError, JSONDecodeError)
        if isinstance(exc, user_errors):
            print(f"pitwatch: {str(exc).splitlines()[0]}", file=sys.stderr)
            return 2
        raise
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
