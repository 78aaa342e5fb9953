"""The game providers' session API, as the platform calls it over HTTP.

``POST {base}/providers/{provider}/sessions`` (docs/casino-seamless-wallet.md); the
protocol ``GameProviderGateway`` is what the platform holds (``Platform.games``), so a
test or a simulator can put another client in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import httpx

from ground.ports import GAMES_SIM_PORT
from igaming.tracing import client_span, record_status

DEFAULT_GAMES_BASE_URL = f"http://127.0.0.1:{GAMES_SIM_PORT}"
DEFAULT_TIMEOUT_SECONDS = 5.0


class ProviderRefused(Exception):
    """The provider answered 4xx (or nonsense): it will not open this session."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class ProviderUnavailable(Exception):
    """The provider answered 5xx, could not be reached or did not answer in time."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class OpenSession:
    provider: str
    session_token: str
    player_ref: str
    game_id: str
    currency: str
    expires_at: datetime
    wallet_url: str


@dataclass(frozen=True)
class OpenedSession:
    provider_session_id: str
    launch_url: str


class GameProviderGateway(Protocol):
    def open_session(self, request: OpenSession) -> OpenedSession:
        """Ask the provider to open a game session; raises ProviderRefused/Unavailable."""
        ...


class HttpGameProviderGateway:
    """``POST {base}/providers/{provider}/sessions`` (docs/casino-seamless-wallet.md)."""

    def __init__(
        self,
        base_url: str = DEFAULT_GAMES_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        client: httpx.Client | None = None,
    ) -> None:
        self._client = client or httpx.Client(base_url=base_url, timeout=timeout)

    def open_session(self, request: OpenSession) -> OpenedSession:
        body = {
            "session_token": request.session_token,
            "player_ref": request.player_ref,
            "game_id": request.game_id,
            "currency": request.currency,
            "expires_at": request.expires_at.isoformat(),
            "wallet_url": request.wallet_url,
        }
        path = f"/providers/{request.provider}/sessions"
        with client_span("provider.open_session", provider=request.provider) as headers:
            try:
                response = self._client.post(path, json=body, headers=headers)
            except httpx.TimeoutException as exc:
                raise ProviderUnavailable("timeout", str(exc) or "timed out") from exc
            except httpx.TransportError as exc:
                raise ProviderUnavailable("unavailable", str(exc) or type(exc).__name__) from exc
            record_status(response.status_code)
        if response.status_code >= 500:
            raise ProviderUnavailable("unavailable", f"answered {response.status_code}")
        if response.status_code >= 400:
            raise ProviderRefused("refused", f"answered {response.status_code}")
        try:
            data = response.json()
            return OpenedSession(str(data["provider_session_id"]), str(data["launch_url"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ProviderRefused("invalid_answer", "answer without a session") from exc
