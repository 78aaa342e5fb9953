"""Who may stake in a game session, and ending a player's sessions when they may not.

Launch checks the player once, but a session lasts hours: a self-exclusion, a block, a
fraud flag or a closure must stop the stakes of the sessions already open. The seamless
wallet checks ``may_stake`` on every balance and bet (wins and rollbacks of rounds already
played are still paid: that money is the player's), and the account changes call
``end_player_sessions`` so that a session stays dead even if the player is reactivated.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from igaming.casino.models import CasinoSession


def may_stake(status: str, self_excluded_until: datetime | None, now: datetime) -> bool:
    """Whether a player with this account status and exclusion may place a stake now."""
    return status == "active" and (self_excluded_until is None or self_excluded_until <= now)


def end_player_sessions(session: Session, player_id: str, now: datetime) -> int:
    """End the player's open (or still launching) game sessions at ``now``, in the caller's
    transaction; returns how many. An ended session is an expired one: its balance and
    bets are refused, the wins and rollbacks of its rounds still accepted."""
    # Expiry rather than a new status: the launch outcome (status, reason) stays what
    # reporting reads (pw_game_launches), and the wallet already treats expiry this way.
    result = session.execute(
        update(CasinoSession)
        .where(
            CasinoSession.player_id == player_id,
            CasinoSession.status.in_(("pending", "active")),
            CasinoSession.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    # Session.execute is typed as returning a Result; a DML statement's is a CursorResult.
    return cast(CursorResult[Any], result).rowcount
