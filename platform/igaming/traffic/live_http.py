"""What the live mode's HTTP clients share: the error that stops a live run, and reading
an answer's body."""

from __future__ import annotations

from typing import Any

import httpx


class LiveError(ValueError):
    """The live run cannot go on (a simulator's admin API refused or is unreachable, an
    operator key is missing); the message is one line naming what and where."""


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def json_body(r: httpx.Response) -> Any:
    """The answer's JSON, or None when it is not JSON."""
    try:
        return r.json()
    except ValueError:
        return None
