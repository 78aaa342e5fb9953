"""The live mode's simulated players: the calls a player makes on the platform's public
API (registration, log-in, KYC, cashier, wallet, casino launch, sportsbook), and the casino
rounds the game provider simulator plays for them (``POST /admin/sessions/{token}/rounds``).

Answers map to the outcome strings of the accelerated driver: a 4xx is an outcome, never an
exception; a transport error (the platform down) is the outcome ``unreachable``, counted
per flow, and the run goes on.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from typing import Any

import httpx

from igaming.traffic.live_http import json_body
from igaming.traffic.model import NewPlayer, Player

log = logging.getLogger(__name__)

PASSWORD = "simulated player 1"
UNREACHABLE = "unreachable"


def _problem_type(r: httpx.Response) -> str:
    """The platform's problem type (``insufficient-funds``, ``not-found``, ...)."""
    body = json_body(r)
    kind = body.get("type") if isinstance(body, dict) else None
    if isinstance(kind, str) and kind and kind != "about:blank":
        return kind.rstrip("/").rsplit("/", 1)[-1]
    return f"http-{r.status_code}"


class PlayerClient:
    """The players' HTTP calls on a running platform.

    ``Player.handle`` is the platform's player id; the client keeps each player's e-mail
    and bearer token (a player logs in once: scrypt costs the platform ~60 ms a log-in).
    """

    def __init__(
        self,
        base_url: str,
        games_url: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.games_url = games_url
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)
        self.rounds = httpx.Client(timeout=timeout, transport=transport)  # the games simulator
        self.run_id = uuid.uuid4().hex[:8]  # emails and keys stay unique across runs
        self.players: dict[str, tuple[str, str]] = {}  # handle -> (email, token)
        self.unreachable: Counter[str] = Counter()  # flow -> actions that got no answer

    def close(self) -> None:
        self.http.close()
        self.rounds.close()

    def health(self) -> int:
        """The platform's ``GET /healthz`` status; a transport error is raised."""
        return self.http.get("/healthz").status_code

    # -- HTTP --------------------------------------------------------------------------

    def _headers(self, player: Player | None, key: str | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if player is not None and player.handle in self.players:
            headers["Authorization"] = f"Bearer {self.players[player.handle][1]}"
        if key is not None:
            headers["Idempotency-Key"] = f"{self.run_id}-{key}"
        return headers

    def _call(
        self,
        flow: str,
        method: str,
        path: str,
        *,
        player: Player | None = None,
        json: Any = None,
        key: str | None = None,
    ) -> httpx.Response | None:
        """One request to the platform; None when it could not be reached."""
        try:
            r = self.http.request(method, path, json=json, headers=self._headers(player, key))
            if r.status_code == 401 and player is not None and self._login(player.handle):
                r = self.http.request(method, path, json=json, headers=self._headers(player, key))
        except httpx.TransportError as exc:
            log.debug("%s %s: %s", method, path, exc)
            self.unreachable[flow] += 1
            return None
        return r

    def _login(self, handle: str) -> bool:
        """Log in again (a token expired after 12 h); True when a new token came."""
        email = self.players[handle][0]
        r = self.http.post("/sessions", json={"email": email, "password": PASSWORD})
        if r.status_code != 200:
            return False
        self.players[handle] = (email, r.json()["token"])
        return True

    # -- players -----------------------------------------------------------------------

    def click(self, affiliate: str, campaign: str, geo: str) -> str | None:
        body = {"affiliate": affiliate, "campaign": campaign, "geo": geo}
        r = self._call("click", "POST", "/affiliates/clicks", json=body)
        if r is None or r.status_code != 201:
            return None
        return str(r.json()["click_id"])

    def register(self, new: NewPlayer) -> str | None:
        email = f"{new.key}-{self.run_id}@players.example.com"
        body = {
            "email": email,
            "password": PASSWORD,
            "country": new.geo,
            "currency": new.currency,
            "date_of_birth": new.born,
            "brand": new.brand,
            "click_id": new.click_id,
            "affiliate": new.affiliate,
            "campaign": new.campaign,
        }
        r = self._call("registration", "POST", "/players", json=body)
        if r is None or r.status_code != 201:
            return None
        handle = str(r.json()["id"])
        login = self._call(
            "registration", "POST", "/sessions", json={"email": email, "password": PASSWORD}
        )
        if login is None or login.status_code != 200:
            return None
        self.players[handle] = (email, str(login.json()["token"]))
        return handle

    def verify(self, player: Player) -> str | None:
        r = self._call("kyc", "POST", "/kyc/verifications", player=player)
        if r is None:
            return UNREACHABLE
        return str(r.json()["status"]) if r.status_code in (200, 201, 202) else None

    def deposit(self, player: Player, amount: int, method: str, key: str) -> str:
        body = {"amount": amount, "currency": player.currency, "method": method}
        r = self._call("deposit", "POST", "/cashier/deposits", player=player, json=body, key=key)
        if r is None:
            return UNREACHABLE
        if r.status_code in (200, 201):
            return str(r.json()["status"])
        kind = _problem_type(r)
        if kind == "upstream-unavailable":
            reason = (json_body(r) or {}).get("reason")
            return str(reason or "failed")
        return kind

    def cash(self, player: Player) -> int:
        r = self._call("balance", "GET", "/wallet/balance", player=player)
        if r is None or r.status_code != 200:
            return 0
        return sum(int(b["cash"]) for b in r.json() if b.get("currency") == player.currency)

    def launch(self, player: Player, game_id: str) -> str | None:
        r = self._call(
            "casino_launch", "POST", "/casino/launch", player=player, json={"game_id": game_id}
        )
        if r is None or r.status_code != 201:
            return None
        return str(r.json()["session_token"])

    def play_round(self, token: str, stake: int) -> str:
        """The game provider simulator plays the round (its bet hits the platform's
        seamless wallet before it answers)."""
        url = f"{self.games_url}/admin/sessions/{token}/rounds"
        try:
            r = self.rounds.post(url, json={"rounds": 1, "stake": stake})
        except httpx.TransportError:
            self.unreachable["casino_round"] += 1
            return UNREACHABLE
        if r.status_code == 404:
            return "unknown_session"
        if r.status_code != 200:
            return f"http-{r.status_code}"
        rnd = r.json()["rounds"][0]
        if rnd.get("bet_code") == "INSUFFICIENT_FUNDS":
            return "insufficient_funds"
        return str(rnd["state"])

    def selections(self) -> list[tuple[str, str]]:
        r = self._call("fixtures", "GET", "/sportsbook/fixtures")
        if r is None or r.status_code != 200:
            return []
        return [
            (str(sel["id"]), str(sel["odds"]))
            for fixture in r.json()
            for market in fixture.get("markets", [])
            if market.get("status") == "active"
            for sel in market.get("selections", [])
        ]

    def bet(self, player: Player, selection: tuple[str, str], stake: int, key: str) -> str:
        body = {
            "selection_id": selection[0],
            "stake": stake,
            "currency": player.currency,
            "odds": selection[1],
        }
        r = self._call("bet", "POST", "/sportsbook/bets", player=player, json=body, key=key)
        if r is None:
            return UNREACHABLE
        if r.status_code in (200, 201):
            return str(r.json()["status"])
        kind = _problem_type(r)
        if kind == "bet-rejected":
            return f"rejected:{(json_body(r) or {}).get('reason')}"
        return "insufficient_funds" if kind == "insufficient-funds" else kind

    def withdraw(self, player: Player, amount: int, method: str, key: str) -> str:
        body = {"amount": amount, "currency": player.currency, "method": method}
        r = self._call(
            "withdrawal", "POST", "/cashier/withdrawals", player=player, json=body, key=key
        )
        if r is None:
            return UNREACHABLE
        if r.status_code in (200, 201):
            return str(r.json()["status"])
        return _problem_type(r)
