"""The state exporter as pitwatch runs it: the platform's state collectors and the
reconcilers' (their break ledger and run records are state too). collectors.exporter
serves what it is given and imports neither the reconcilers nor the platform."""

from __future__ import annotations

from collectors import exporter
from collectors.state import COLLECTORS, StateCollector
from pitwatch.backup import metrics as backup
from reconcilers import metrics as reconciliation

STATE_COLLECTORS: tuple[type[StateCollector], ...] = (
    *COLLECTORS,
    *reconciliation.COLLECTORS,
    *backup.COLLECTORS,
)


def serve_state(host: str, port: int, database_url: str) -> None:
    """``pitwatch collect serve``: every state collector, served until interrupted."""
    exporter.serve(host, port, database_url, STATE_COLLECTORS)
