"""The ``pitwatch`` command line: the thin glue that starts things.

Each command group is a module of this package owning its parser (``register``) and its
handlers; this module puts them together and runs one.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from pitwatch.cli import (
    backtest,
    backup,
    collect,
    contract,
    demo,
    generate,
    platform,
    reconcile,
    sim,
    simulate,
    stack,
)
from pitwatch.cli.errors import CliError, Parser, is_user_error, one_line

__all__ = ["CliError", "build_parser", "main"]

# In the order --help lists them.
COMMANDS = (
    demo,
    platform,
    generate,
    collect,
    contract,
    reconcile,
    backup,
    simulate,
    backtest,
    sim,
    stack,
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="pitwatch",
        description="Observability and business alerting for real-money gaming operators.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS:
        command.register(sub)
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
        # Bad input from the user: one line, exit code 2. Anything else is a bug and keeps
        # its traceback.
        if is_user_error(exc):
            print(one_line(exc), file=sys.stderr)
            return 2
        raise
    return code or 0
