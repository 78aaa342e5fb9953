"""Which views (or tables) a database has: the contract views a reader needs, pitwatch's
own tables in its state database."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, inspect


def missing_views(conn: Connection, names: Iterable[str]) -> list[str]:
    """The views (or tables) of ``names`` the connection's database does not have (on
    PostgreSQL: none visible on the search_path)."""
    inspector = inspect(conn)
    return [name for name in names if not inspector.has_table(name)]
