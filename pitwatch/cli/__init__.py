"""The ``pitwatch`` command line: the thin glue that starts things.

Each command group is a module of this package owning its parser (``register``) and its
handlers; this module puts them together and runs one.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from pitwatch.cli.errors import CliError, Parser, is_user_error, one_line
from pitwatch.cli.operator import OperatorConfigError, choose

__all__ = ["CliError", "build_parser", "main"]

# In the order --help lists them. Imported when the parser is built, after the operator
# configuration is chosen (pitwatch.cli.operator): they load the metric catalog.
COMMANDS = (
    "demo",
    "platform",
    "generate",
    "collect",
    "contract",
    "reconcile",
    "backup",
    "simulate",
    "backtest",
    "sim",
    "stack",
)

# Commands that read an operator's platform (views, partner files) and sign nothing: they
# run without the reference platform's secrets in production (pitwatch.settings).
OPERATOR_SIDE = frozenset({"generate", "collect", "contract", "reconcile", "backup"})


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = Parser(
        prog="pitwatch",
        description="Observability and business alerting for real-money gaming operators.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name in COMMANDS:
        importlib.import_module(f"pitwatch.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        elsewhere = choose(argv)  # the operator configuration, before the catalog loads
    except OperatorConfigError as exc:
        print(f"pitwatch: {exc}", file=sys.stderr)
        return 2
    if elsewhere is not None:
        return elsewhere
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
    from pitwatch.settings import PLATFORM_SECRETS_USED

    # Reset after the command: main() runs in-process in tests, one command after another.
    token = PLATFORM_SECRETS_USED.set(args.command not in OPERATOR_SIDE)
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
    finally:
        PLATFORM_SECRETS_USED.reset(token)
    return code or 0
