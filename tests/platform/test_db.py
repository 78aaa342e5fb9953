"""Engines: SQLite's durability setting per engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import text

from igaming.db import make_engine


def _synchronous(url: str, **kwargs: Any) -> tuple[int, str]:
    engine = make_engine(url, **kwargs)
    try:
        with engine.connect() as conn:
            sync = conn.execute(text("PRAGMA synchronous")).scalar_one()
            journal = conn.execute(text("PRAGMA journal_mode")).scalar_one()
        return sync, journal
    finally:
        engine.dispose()


def test_sqlite_syncs_by_default_and_not_for_a_batch_written_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert _synchronous(url) == (1, "wal")  # NORMAL
    assert _synchronous(url, durable=False) == (0, "wal")  # OFF, still write-ahead logged
