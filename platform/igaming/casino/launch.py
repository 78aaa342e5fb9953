"""Game launch: the platform opens a session at the game provider over HTTP.

The session row is written before the call (status ``pending``) and settled after it; no
database transaction is held open across the call.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from igaming.casino.events import GameLaunched, GameLaunchFailed
from igaming.casino.gateway import (
    GameProviderGateway,
    OpenedSession,
    OpenSession,
    ProviderRefused,
    ProviderUnavailable,
)
from igaming.casino.models import CasinoGame, CasinoSession
from igaming.errors import DomainError, NotFound, ResponsibleGamblingBlock, UpstreamUnavailable
from igaming.models import Player
from igaming.partners.pseudonyms import GAME_PROVIDER_REF_HEX_CHARS, player_ref

if TYPE_CHECKING:
    from igaming.bootstrap import Platform

SESSION_TTL = timedelta(hours=4)


class GameLaunchRefused(DomainError):
    status, type, title = 502, "game-launch-failed", "The game provider refused the launch"


def install_gateway(p: Platform, gateway: GameProviderGateway) -> None:
    """Give the platform another game-provider client (tests, a fake provider)."""
    p.games = gateway


def gateway_for(p: Platform) -> GameProviderGateway:
    return p.games


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Launch:
    session_id: str
    session_token: str
    provider: str
    game_id: str
    currency: str
    launch_url: str
    expires_at: datetime


def launch_game(p: Platform, player_id: str, game_id: str) -> Launch:
    """Open a game session for a player at the game's provider."""
    now = p.clock.now()
    token = secrets.token_urlsafe(32)
    with p.uow() as uow:
        game = uow.session.get(CasinoGame, game_id)
        if game is None or not game.active:
            raise NotFound(f"game {game_id!r} not found")
        player = uow.session.get(Player, player_id)
        if player is None:
            raise NotFound(f"player {player_id} not found")
        if player.status != "active":
            raise ResponsibleGamblingBlock(f"account is {player.status}")
        if player.self_excluded_until is not None and player.self_excluded_until > now:
            raise ResponsibleGamblingBlock(
                f"self-excluded until {player.self_excluded_until.isoformat()}",
                reason="self_excluded",
            )
        session = CasinoSession(
            id=str(uuid.uuid4()),
            token_hash=token_hash(token),
            player_id=player_id,
            game_id=game.id,
            provider=game.provider,
            currency=player.currency,
            status="pending",
            created_at=now,
            expires_at=now + SESSION_TTL,
        )
        uow.session.add(session)
        uow.commit()
    provider, game_type = game.provider, game.type

    request = OpenSession(
        provider=provider,
        session_token=token,
        player_ref=player_ref(p.settings.player_ref_key, player_id, GAME_PROVIDER_REF_HEX_CHARS),
        game_id=game_id,
        currency=session.currency,
        expires_at=session.expires_at,
        wallet_url=f"{p.settings.platform_url}/casino/seamless/{provider}",
    )
    try:
        opened = gateway_for(p).open_session(request)
    except (ProviderRefused, ProviderUnavailable) as exc:
        _settle(p, session.id, None, failure=exc.reason, game_type=game_type)
        extra = {"provider": provider, "reason": exc.reason, "session_id": session.id}
        if isinstance(exc, ProviderUnavailable):
            raise UpstreamUnavailable(
                f"game provider {provider} is unavailable ({exc.reason})", **extra
            ) from exc
        raise GameLaunchRefused(
            f"game provider {provider} refused the launch ({exc.reason})", **extra
        ) from exc
    if not _settle(p, session.id, opened, failure=None, game_type=game_type):
        # The account changed during the call (end_player_sessions ended this session):
        # the provider's session is useless, do not hand it out.
        raise ResponsibleGamblingBlock("the account may no longer play")
    return Launch(
        session.id,
        token,
        provider,
        game_id,
        session.currency,
        opened.launch_url,
        session.expires_at,
    )


def _settle(
    p: Platform,
    session_id: str,
    opened: OpenedSession | None,
    *,
    failure: str | None,
    game_type: str,
) -> bool:
    """Record the launch's outcome; False if the session was ended meanwhile."""
    now = p.clock.now()
    with p.uow() as uow:
        s = uow.session.get(CasinoSession, session_id, with_for_update=True)
        assert s is not None
        common: dict[str, Any] = {
            "occurred_at": now,
            "provider": s.provider,
            "game_type": game_type,
            "game_id": s.game_id,
            "player_id": s.player_id,
            "session_id": s.id,
        }
        if opened is None:
            s.status, s.reason = "failed", failure
            uow.emit(GameLaunchFailed(**common, reason=failure or "unavailable"))
        else:
            s.status = "active"
            s.provider_session_id = opened.provider_session_id[:100]
            s.launch_url = opened.launch_url[:500]
            uow.emit(GameLaunched(**common))
        usable = opened is not None and s.expires_at > now
        uow.commit()
    return usable
