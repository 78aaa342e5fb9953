"""The error a source raises when it cannot be read at all (a run fails on it)."""

from __future__ import annotations

import os


def one_line(text: str) -> str:
    """``text`` with its line breaks escaped, so that a message stays on one line."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


class SourceError(Exception):
    """A missing file, a wrong header, a wrong encoding, an unreadable view: the run
    fails with ``str(error)``, one line naming the file (or view) and the problem."""

    run_id: int | None = None  # the failed run that recorded it, once recorded

    def __init__(self, source: str | os.PathLike[str], problem: str) -> None:
        self.source = os.fspath(source)
        self.problem = problem
        super().__init__(one_line(f"{self.source}: {problem}"))
