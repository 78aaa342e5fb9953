"""Argument types and options that several commands share."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from typing import Any

from pitwatch.cli.errors import CliError


def day(text: str) -> date:
    """An argument type: a date, YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def positive(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argument type: a number of ``kind`` greater than 0."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be greater than 0: {text!r}")
        return value

    return parse


def ports_options(p: argparse.ArgumentParser) -> None:
    """--ports and --port-offset: where the stack's components listen."""
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


def stack_ports(args: argparse.Namespace):
    """The StackPorts that ports_options (and the demo's older per-port flags) ask for."""
    from pitwatch.stack.config import StackConfigError, StackPorts

    try:
        ports = StackPorts().shifted(args.port_offset or 0)
        for name in ("platform", "psp", "kyc"):  # the demo's older per-port flags
            if getattr(args, f"{name}_port", None) is not None:
                ports = ports.with_spec(f"{name}={getattr(args, f'{name}_port')}")
        return ports.with_spec(args.ports or "")
    except StackConfigError as exc:
        raise CliError(str(exc)) from None
