"""How an exception is shown in a one-line error: its first line, and for a database error
the driver's own message (SQLAlchemy's wrapper adds the statement and a link below it)."""

from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """The first line of ``exc`` (of its DB-API cause when it wraps one), else its type."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
