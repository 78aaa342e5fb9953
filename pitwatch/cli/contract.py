"""``pitwatch contract check``: a platform database's pw_* views against the contract."""

from __future__ import annotations

import argparse

from ground.errors import first_line
from pitwatch.cli.errors import CliError, Parser
from pitwatch.settings import get_settings


def products(text: str) -> tuple[str, ...]:
    """An argument type: products separated by commas (core is always in)."""
    from ground.contract import PRODUCTS

    chosen = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = sorted(set(chosen) - set(PRODUCTS))
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown products {unknown or [text]}; products are {', '.join(PRODUCTS)}"
        )
    return chosen


def cmd_contract_check(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

    from collectors.contract_check import check_contract, read_only_engine
    from ground.vocabulary import PRODUCTS  # the operator file's (pitwatch.cli.operator)

    chosen = args.products if args.products is not None else PRODUCTS
    url = args.database or get_settings().database_url
    try:
        engine = read_only_engine(url, statement_timeout_ms=int(args.timeout * 1000))
    except (ValueError, ArgumentError, NoSuchModuleError) as exc:
        raise CliError(f"contract check: bad database URL: {exc}") from None
    try:
        with engine.connect() as conn:
            report = check_contract(
                conn,
                chosen,
                sample_rows=args.sample_rows,
                views_mode=args.views_mode or get_settings().views_mode,
                games=args.game_reconciliation or get_settings().recon_game_reports_dir is not None,
            )
    except DBAPIError as exc:
        raise CliError(f"contract check: cannot read the database: {first_line(exc)}") from None
    finally:
        engine.dispose()
    for line in report.lines():
        print(line)
    print(report.summary())
    return 0 if report.ok else 1


def register(sub) -> None:
    from pitwatch.cli.options import positive

    con = sub.add_parser("contract", help="the contract views (pw_*) of a platform database")
    csub = con.add_subparsers(dest="contract_command", required=True, parser_class=Parser)
    check = csub.add_parser(
        "check",
        help="check every pw_* view pitwatch reads: present, columns, types, values (read-only)",
        description="Exit 0 when every view the products need is right, 1 when something "
        "is wrong (one line per problem), 2 on bad input (unreachable database, bad URL).",
    )
    check.add_argument("--database", help="database URL (default: settings database_url)")
    check.add_argument(
        "--products",
        type=products,
        default=None,
        help="comma-separated products the platform has: core (always), sportsbook, "
        "casino, affiliates, kyc, outbox (default: the operator file's products)",
    )
    check.add_argument(
        "--config",
        metavar="FILE",
        help="the operator configuration file (docs/operator-config.md); default: "
        "PITWATCH_OPERATOR_CONFIG, else ground/reference-operator.toml",
    )
    check.add_argument(
        "--sample-rows",
        type=positive(int),
        default=10_000,
        help="rows of a view sampled for money and status values (default 10000)",
    )
    check.add_argument(
        "--timeout",
        type=positive(float),
        default=10.0,
        help="seconds a statement may take on PostgreSQL (default 10)",
    )
    check.add_argument(
        "--views-mode",
        action="store_true",
        help="also require what views mode reads (the business counters derived from the "
        "views: pitwatch collect serve --views-mode; PITWATCH_VIEWS_MODE=1)",
    )
    check.add_argument(
        "--game-reconciliation",
        action="store_true",
        help="also require what the wallet ⟷ game provider reconciliation reads "
        "(pw_casino_wallet_transactions; on when PITWATCH_RECON_GAME_REPORTS_DIR is set)",
    )
    check.set_defaults(func=cmd_contract_check)
