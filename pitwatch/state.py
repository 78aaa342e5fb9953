"""The state exporter as pitwatch runs it: the platform's state collectors and the
reconcilers' (their break ledger and run records are state too). collectors.exporter
serves what it is given and imports neither the reconcilers nor the platform.

Two databases: the platform's (``Settings.database_url``, the contract views, read only)
and pitwatch's own (``Settings.state_url``). A state database of its own gets pitwatch's
tables at start when it can be written (a new install then reports "no runs yet" at once);
the platform's database is never written."""

from __future__ import annotations

import logging

from collectors import exporter
from collectors.state import COLLECTORS, StateCollector
from collectors.views import VIEWS_COLLECTORS
from pitwatch.backup import metrics as backup
from reconcilers import metrics as reconciliation

log = logging.getLogger(__name__)

STATE_COLLECTORS: tuple[type[StateCollector], ...] = (
    *COLLECTORS,
    *reconciliation.COLLECTORS,
    *backup.COLLECTORS,
)


def prepare_state(state_url: str) -> bool:
    """Create pitwatch's tables in its own database where they are missing; False (and one
    log line) when that database cannot be written (its collectors then read what is
    there, or report down with the reason)."""
    from sqlalchemy.exc import SQLAlchemyError

    from igaming.db import make_engine
    from pitwatch.backup.records import ensure_table
    from reconcilers.ledger import create_tables

    try:
        engine = make_engine(state_url, pool_size=1)
    except (SQLAlchemyError, OSError) as exc:
        log.warning("pitwatch state database: %s", str(exc).splitlines()[0])
        return False
    try:
        create_tables(engine)
        ensure_table(engine)
    except (SQLAlchemyError, OSError) as exc:
        log.warning("pitwatch state database: tables not created: %s", str(exc).splitlines()[0])
        return False
    finally:
        engine.dispose()
    return True


def serve_state(
    host: str,
    port: int,
    database_url: str,
    state_url: str | None = None,
    views_mode: bool = False,
) -> None:
    """``pitwatch collect serve``: every state collector, served until interrupted; in views
    mode also the business counters derived from the views (collectors.views)."""
    if state_url is not None and state_url != database_url:
        prepare_state(state_url)
    collectors = STATE_COLLECTORS + (VIEWS_COLLECTORS if views_mode else ())
    if views_mode:
        log.info("views mode: business counters derived from the contract views")
    exporter.serve(host, port, database_url, collectors, state_url)
