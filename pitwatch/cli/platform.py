"""``pitwatch platform``: serve the reference iGaming platform, its schema, its operators."""

from __future__ import annotations

import argparse

from ground.ports import PLATFORM_METRICS_PORT, PLATFORM_PORT
from pitwatch.cli.errors import CliError, Parser
from pitwatch.cli.serving import serve_app
from pitwatch.settings import get_settings


def cmd_platform_serve(args: argparse.Namespace) -> None:
    from ground.dburl import is_sqlite
    from igaming.api.app import create_app
    from igaming.migrate import is_empty, upgrade_engine
    from igaming.tracing import configure_tracing_from_env
    from pitwatch.compose import build_platform, start_platform

    configure_tracing_from_env("pitwatch-platform")
    settings = get_settings()
    platform = build_platform(settings)
    # pitwatch's own tables may be there first (one database, `reconcile` started first).
    if is_sqlite(settings.database_url) and is_empty(platform.engine, pitwatch_tables()):
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
        serve_app(create_app(platform), args.host, args.port)
    finally:
        jobs.close()
        if metrics_server is not None:
            metrics_server.shutdown()


def pitwatch_tables() -> set[str]:
    """The tables pitwatch keeps in its state database (when that is the platform's)."""
    from reconcilers.ledger import metadata
    from reconcilers.schedule import JOB_TABLE

    return {*metadata.tables, JOB_TABLE}


def _serve_metrics(platform, args: argparse.Namespace, settings):
    """The platform's /metrics on its internal listener (never the API's port)."""
    if platform.metrics is None:
        return None
    from collectors.instrumentation import serve_metrics

    host = args.metrics_host or settings.metrics_host
    port = args.metrics_port if args.metrics_port is not None else settings.metrics_port
    try:
        server, _ = serve_metrics(platform.metrics, host, port)
    except OSError as exc:
        raise CliError(f"metrics listener on {host}:{port}: {exc.strerror}") from None
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


def register(sub) -> None:
    platform = sub.add_parser("platform", help="the reference iGaming platform")
    psub = platform.add_subparsers(dest="platform_command", required=True, parser_class=Parser)
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
    dsub = db.add_subparsers(dest="db_command", required=True, parser_class=Parser)
    up = dsub.add_parser("upgrade", help="apply migrations (PITWATCH_DATABASE_URL)")
    up.add_argument("--revision", default="heads")
    up.add_argument("--database-url", default=None, help="overrides PITWATCH_DATABASE_URL")
    up.set_defaults(func=cmd_db_upgrade)

    op = psub.add_parser("operator", help="back-office operators")
    osub = op.add_subparsers(dest="operator_command", required=True, parser_class=Parser)
    create = osub.add_parser("create", help="create an operator and print its API key")
    create.add_argument("--name", required=True)
    create.add_argument(
        "--role",
        required=True,
        choices=["finance", "support", "compliance", "admin", "faults"],
        help="faults: injected incidents only (the traffic simulator's key; no money moves)",
    )
    create.set_defaults(func=cmd_operator_create)
