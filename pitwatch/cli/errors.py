"""How the command line fails: a usage or input error is one line on stderr, exit code 2."""

from __future__ import annotations

import argparse

from pitwatch.settings import SettingsError


class CliError(Exception):
    """A usage or input error: printed as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """Every parser of the command line: a usage error is a CliError, not argparse's exit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise CliError(f"{self.prog}: {message} (see --help)")


def is_user_error(exc: BaseException) -> bool:
    """Bad input from the user (a missing or malformed config file, bad settings), as
    opposed to a bug, which keeps its traceback."""
    from json import JSONDecodeError

    from pydantic import ValidationError

    from ground.operator import OperatorConfigError

    user_errors = (
        CliError,
        SettingsError,
        OperatorConfigError,
        ValidationError,
        FileNotFoundError,
        JSONDecodeError,
    )
    return isinstance(exc, user_errors)


def one_line(exc: BaseException) -> str:
    """A user error as the command line prints it: its first line, after ``pitwatch:``
    unless it names the command already (``pitwatch simulate: ...``, as argparse's do)."""
    lines = str(exc).splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if text.startswith(("pitwatch:", "pitwatch ")) else f"pitwatch: {text}"
