"""One module per dashboard (kubernetes-mixin style); each exposes ``board(src) -> Board``."""

from __future__ import annotations

from collections.abc import Callable

from dashboards.alerts import AlertSource
from dashboards.boards import (
    affiliates,
    casino,
    infrastructure,
    kyc,
    overview,
    payments,
    platform,
    sportsbook,
    wallet,
)
from dashboards.build import Board

# In the order of alert_rules.dashboard_uids.DASHBOARDS.
BOARDS: dict[str, Callable[[AlertSource], Board]] = {
    "overview": overview.board,
    "payments": payments.board,
    "sportsbook": sportsbook.board,
    "casino": casino.board,
    "affiliates": affiliates.board,
    "wallet": wallet.board,
    "kyc": kyc.board,
    "platform": platform.board,
    "infrastructure": infrastructure.board,
}
