"""Schema migrations (Alembic), run from code: ``pitwatch platform db upgrade``."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect

from ground.dburl import normalise_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)


def upgrade_engine(engine: Engine, revision: str = "heads") -> None:
    """Upgrade through an existing engine (tests, an in-memory database)."""
    cfg = alembic_config(str(engine.url))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def is_empty(engine: Engine, ignore: Collection[str] = ()) -> bool:
    """No table but those of ``ignore`` (another program's, sharing the database)."""
    return not set(inspect(engine).get_table_names()) - set(ignore)
