"""Shared by the backup tests: the platform's URL as the settings name it, settings with a
backup folder of the test's own, a ledger with rows, and the libpq tools' presence."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from ground.clock import FakeClock
from pitwatch.settings import Settings
from tests.conftest import PG_URL, make_platform
from tests.platform.sportsbook_helpers import funded_player

# One extra leg on the first transaction: its entries no longer sum to zero.
EXTRA_LEG = (
    "INSERT INTO ledger_entries (transaction_id, account_id, amount, currency, created_at)"
    " SELECT transaction_id, account_id, 7, currency, created_at FROM ledger_entries"
    " WHERE id = (SELECT MIN(id) FROM ledger_entries)"
)


def platform_url(engine: Engine) -> str:
    """The URL the settings give for ``engine``'s database: on PostgreSQL, the test's
    schema as the URL's search_path (what a backup of one schema reads)."""
    if engine.dialect.name == "sqlite":
        return str(engine.url)
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


def settings_for(engine: Engine, folder: Path, **kw) -> Settings:
    if engine.dialect.name == "postgresql":
        pg_tools_or_skip()
    return Settings(environment="test", database_url=platform_url(engine), backup_dir=folder, **kw)


def pg_tools_or_skip() -> None:
    """pg_dump and pg_restore (Debian: postgresql-client); absent, the test skips unless
    PITWATCH_REQUIRE_PROMTOOL (CI: every tool installed) says they must be there."""
    if shutil.which("pg_dump") and shutil.which("pg_restore"):
        return
    if os.environ.get("PITWATCH_REQUIRE_PROMTOOL") == "1":
        pytest.fail("pg_dump/pg_restore are required (PITWATCH_REQUIRE_PROMTOOL=1)")
    pytest.skip("pg_dump/pg_restore not installed (postgresql-client)")


def funded(engine: Engine, players: int = 3):
    """A platform on ``engine`` with ``players`` funded players: the ledger has rows."""
    p = make_platform(engine, clock=FakeClock())
    for _ in range(players):
        funded_player(p)
    return p


def scratch_databases(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT datname FROM pg_database WHERE datname LIKE 'pitwatch_restore_%'")
            ).scalars()
        )
