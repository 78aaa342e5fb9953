"""The game providers: open sessions, play rounds against the platform's seamless wallet.

One seeded random generator decides stakes, results and faults; time comes from the
injected clock. Results (wins) and retries wait in a queue that ``step()`` sends when due,
so tests drive a round with ``play_round()``, ``clock.advance()`` and ``step()``.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import random
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from ground.clock import Clock
from igaming.partners.request_signing import SIGNATURE_HEADER, sign_request
from igaming.sim.games.config import GamesSimConfig, ProviderKnobs
from igaming.sim.games.reports import BookedTransaction, write_game_reports

log = logging.getLogger(__name__)

FAULTS = ("timeout", "rollback_before_bet", "win_before_bet", "no_result")
# Answers after which a request is not sent again.
FINAL_CODES = {
    "bet": {"INSUFFICIENT_FUNDS", "DUPLICATE_TRANSACTION", "ROUND_CLOSED", "INVALID_SESSION"},
    "win": {"ROUND_CLOSED", "DUPLICATE_TRANSACTION", "INVALID_SESSION", "INVALID_REQUEST"},
    "rollback": {"TRANSACTION_NOT_FOUND", "ROUND_CLOSED", "DUPLICATE_TRANSACTION"},
}


class UnknownSession(LookupError):
    pass


@dataclass
class SimSession:
    token: str
    provider: str
    game_id: str
    player_ref: str
    currency: str
    wallet_url: str
    opened_at: datetime
    expires_at: datetime
    provider_session_id: str
    rounds: int = 0
    next_play_at: datetime | None = None


@dataclass
class SimRound:
    provider: str
    round_id: str
    token: str
    stake: int
    win: int
    fault: str | None
    bet_at: datetime
    state: str = "betting"  # awaiting_result, completed, rolled_back, refused, abandoned
    bet_code: str | None = None


@dataclass(frozen=True)
class Reply:
    status_code: int | None
    body: dict[str, Any] | None
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.body is not None and self.body.get("status") == "OK"

    @property
    def code(self) -> str | None:
        if self.timed_out:
            return "TIMEOUT"
        if self.body is None:
            return "NO_ANSWER"
        return self.body.get("code") if not self.ok else None


@dataclass(frozen=True)
class SentRequest:
    provider: str
    action: str
    transaction_id: str | None
    at: datetime
    status_code: int | None
    code: str | None
    duplicate: bool
    bad_signature: bool


@dataclass(order=True)
class Scheduled:
    due: datetime
    seq: int
    action: str = field(compare=False)
    payload: dict[str, Any] = field(compare=False)
    round: SimRound = field(compare=False)
    attempt: int = field(default=1, compare=False)


class GameProviderSimulator:
    def __init__(
        self, config: GamesSimConfig, clock: Clock, http_client: httpx.AsyncClient | None
    ) -> None:
        self.config = config
        self.clock = clock
        self.http_client = http_client
        self.rng = random.Random(config.seed)
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        self._queue: list[Scheduled] = []
        self.sessions: dict[str, SimSession] = {}
        self.rounds: deque[SimRound] = deque(maxlen=10_000)
        self.sent: deque[SentRequest] = deque(maxlen=10_000)
        self.counts: Counter[tuple[str, str, str]] = Counter()  # provider, action, code|OK
        self.launches: Counter[tuple[str, str]] = Counter()  # provider, outcome
        # The provider's books: every transaction it counts as done, in order (its reports).
        self.book: list[BookedTransaction] = []
        self._booked: set[tuple[str, str]] = set()
        self._stakes: dict[tuple[str, str], int] = {}  # (provider, bet id) → stake

    # -- configuration ------------------------------------------------------------------

    def knobs(self, provider: str) -> ProviderKnobs:
        return self.config.providers[provider]

    def patch_provider(self, provider: str, changes: dict[str, Any]) -> ProviderKnobs:
        with self._lock:
            current = self.config.providers[provider]
            knobs = ProviderKnobs.model_validate(current.model_dump() | changes)
            self.config = self.config.model_copy(
                update={"providers": {**self.config.providers, provider: knobs}}
            )
            return knobs

    def _random(self) -> float:
        with self._lock:
            return self.rng.random()

    # -- launch (the platform calls POST /providers/{provider}/sessions) ------------------

    def open_session(self, provider: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Open a game session or refuse it; returns the HTTP status and body."""
        knobs = self.config.providers.get(provider)
        if knobs is None:
            return 404, {"code": "UNKNOWN_PROVIDER"}
        game = self.config.games.get(str(body.get("game_id")))
        if knobs.down:
            return self._launch(provider, "down", 503, {"code": "PROVIDER_DOWN"})
        if game is None or game.provider != provider:
            return self._launch(provider, "refused", 422, {"code": "GAME_UNAVAILABLE"})
        if self._random() < knobs.launch_failure_rate:
            if self._random() < knobs.launch_refusal_share:
                return self._launch(provider, "refused", 422, {"code": "GAME_UNAVAILABLE"})
            return self._launch(provider, "error", 503, {"code": "PROVIDER_ERROR"})
        now = self.clock.now()
        try:
            expires_at = datetime.fromisoformat(str(body["expires_at"]))
            session = SimSession(
                token=str(body["session_token"]),
                provider=provider,
                game_id=str(body["game_id"]),
                player_ref=str(body["player_ref"]),
                currency=str(body["currency"]),
                wallet_url=str(body["wallet_url"]).rstrip("/"),
                opened_at=now,
                expires_at=expires_at,
                provider_session_id=f"{provider}-s{next(self._ids):06d}",
            )
        except (KeyError, ValueError):
            return self._launch(provider, "invalid", 422, {"code": "INVALID_REQUEST"})
        with self._lock:
            self.sessions[session.token] = session
        return self._launch(
            provider,
            "launched",
            201,
            {
                "provider_session_id": session.provider_session_id,
                "launch_url": f"https://games.example/{provider}/{session.provider_session_id}",
            },
        )

    def _launch(
        self, provider: str, outcome: str, status: int, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.launches[(provider, outcome)] += 1
        return status, body

    # -- rounds -------------------------------------------------------------------------

    def _draw_fault(self, knobs: ProviderKnobs) -> str | None:
        u = self._random()
        for fault, rate in (
            ("timeout", knobs.timeout_rate),
            ("rollback_before_bet", knobs.rollback_before_bet_rate),
            ("win_before_bet", knobs.win_before_bet_rate),
            ("no_result", knobs.no_result_rate),
        ):
            if u < rate:
                return fault
            u -= rate
        return None

    def _result(self, stake: int, rtp_bps: int) -> int:
        """A round's win; its expectation is stake × RTP (1 % pay 20×, 29 % pay the rest)."""
        u = self._random()
        if u < 0.01:
            return stake * 20
        if u < 0.30:
            return stake * max(0, rtp_bps - 2000) // 2900
        return 0

    async def balance(self, token: str) -> Reply:
        s = self._session(token)
        return await self._send(s, "balance", {"session_token": token})

    async def play_round(
        self, token: str, stake: int | None = None, *, fault: str | None = None
    ) -> SimRound:
        """Bet now and schedule the result; ``fault`` forces one (else the knobs decide)."""
        s = self._session(token)
        knobs = self.knobs(s.provider)
        n = next(self._ids)
        now = self.clock.now()
        stake = stake or knobs.stakes[int(self._random() * len(knobs.stakes))]
        fault = fault if fault is not None else self._draw_fault(knobs)
        game = self.config.games.get(s.game_id)
        rtp = knobs.rtp_bps if knobs.rtp_bps is not None else (game.rtp_bps if game else 9600)
        rnd = SimRound(s.provider, f"{s.provider}-r{n:06d}", token, stake, 0, fault, now)
        s.rounds += 1
        with self._lock:
            self.rounds.append(rnd)
        bet = {
            "session_token": token,
            "transaction_id": f"{s.provider}-b{n:06d}",
            "round_id": rnd.round_id,
            "amount": stake,
            "currency": s.currency,
        }
        rollback = {
            "session_token": token,
            "transaction_id": f"{s.provider}-x{n:06d}",
            "round_id": rnd.round_id,
            "reference_transaction_id": bet["transaction_id"],
        }
        if fault == "rollback_before_bet":
            # The bet was held up in transit and the provider gave up on it first.
            await self._send(s, "rollback", rollback)
            reply = await self._send(s, "bet", bet)
            rnd.state, rnd.bet_code = "rolled_back", reply.code
            return rnd
        rnd.win = self._result(stake, rtp)
        win = {
            "session_token": token,
            "transaction_id": f"{s.provider}-w{n:06d}",
            "round_id": rnd.round_id,
            "amount": rnd.win,
            "currency": s.currency,
            "round_closed": True,
        }
        if fault == "win_before_bet":
            await self._send(s, "win", win)  # refused (no bet yet); the queue retries it
        reply = await self._send(s, "bet", bet)
        rnd.bet_code = reply.code
        if fault == "timeout" or reply.timed_out or reply.status_code is None:
            # No answer in time: the bet may be booked or not, so it is rolled back.
            rnd.state = "rolled_back"
            await self._deliver(Scheduled(now, next(self._seq), "rollback", rollback, rnd))
            return rnd
        if not reply.ok:
            rnd.state = "refused"
            return rnd
        rnd.state = "awaiting_result"
        if fault == "no_result":  # the provider never sends the result: the round stays open
            return rnd
        delay = knobs.result_delay_seconds + self._random() * knobs.result_jitter_seconds
        self._schedule(Scheduled(now + timedelta(seconds=delay), next(self._seq), "win", win, rnd))
        if delay == 0:
            await self.step()
        return rnd

    def _session(self, token: str) -> SimSession:
        session = self.sessions.get(token)
        if session is None:
            raise UnknownSession(token)
        return session

    # -- the queue of results and retries -----------------------------------------------

    def _schedule(self, item: Scheduled) -> None:
        with self._lock:
            heapq.heappush(self._queue, item)

    def pending(self) -> list[Scheduled]:
        with self._lock:
            return sorted(self._queue)

    async def step(self) -> list[Reply]:
        """Send every queued result or retry that is due now, in due order."""
        now = self.clock.now()
        with self._lock:
            due: list[Scheduled] = []
            while self._queue and self._queue[0].due <= now:
                due.append(heapq.heappop(self._queue))
        return [await self._deliver(item) for item in due]

    async def _deliver(self, item: Scheduled) -> Reply:
        rnd, action = item.round, item.action
        reply = await self._send(self._session(rnd.token), action, item.payload)
        if reply.ok:
            if action == "win":
                rnd.state = "completed"
            return reply
        if reply.code in FINAL_CODES.get(action, set()):
            if action == "win":
                rnd.state = "result_refused"
            return reply
        knobs = self.knobs(rnd.provider)
        if item.attempt >= knobs.retry_max_attempts:
            log.warning("game provider %s gave up on %s %s", rnd.provider, action, rnd.round_id)
            if action == "win":
                rnd.state = "abandoned"
            return reply
        wait = knobs.retry_backoff_seconds * 2 ** (item.attempt - 1)
        item.attempt += 1
        item.due = self.clock.now() + timedelta(seconds=wait)
        item.seq = next(self._seq)
        self._schedule(item)
        return reply

    # -- the wire -----------------------------------------------------------------------

    async def _send(self, s: SimSession, action: str, payload: dict[str, Any]) -> Reply:
        knobs = self.knobs(s.provider)
        started = self.clock.now()
        reply = await self._post(s, action, payload, knobs, duplicate=False)
        if action != "balance":
            self._keep(s, action, payload, reply, started)
        if action != "balance" and self._random() < knobs.duplicate_rate:
            await self._post(s, action, payload, knobs, duplicate=True)
        return reply

    def _keep(
        self, s: SimSession, action: str, payload: dict[str, Any], reply: Reply, at: datetime
    ) -> None:
        """Book a transaction the wallet answered OK, once per id (a retry is the same)."""
        tx_id = str(payload["transaction_id"])
        with self._lock:
            if action == "bet":
                self._stakes[(s.provider, tx_id)] = int(payload["amount"])
            if not reply.ok or (s.provider, tx_id) in self._booked:
                return
            if action == "rollback":
                reference = (s.provider, str(payload["reference_transaction_id"]))
                amount = self._stakes.get(reference, 0)
            else:
                amount = int(payload["amount"])
            self._booked.add((s.provider, tx_id))
            self.book.append(
                BookedTransaction(
                    s.provider,
                    tx_id,
                    str(payload["round_id"]),
                    s.player_ref,
                    s.game_id,
                    action,
                    amount,
                    s.currency,
                    at,
                )
            )

    async def _post(
        self,
        s: SimSession,
        action: str,
        payload: dict[str, Any],
        knobs: ProviderKnobs,
        *,
        duplicate: bool,
    ) -> Reply:
        if self.http_client is None:
            raise RuntimeError("the game provider simulator has no http_client")
        body = json.dumps(payload, separators=(",", ":")).encode()
        bad = self._random() < knobs.bad_signature_rate
        secret = self.config.secret_for(s.provider) + ("-rotated" if bad else "")
        started = self.clock.now()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign_request(
                secret, int(started.timestamp()), s.provider, action, body
            ),
        }
        try:
            response = await self.http_client.post(
                f"{s.wallet_url}/{action}",
                content=body,
                headers=headers,
                timeout=knobs.request_timeout_seconds,
            )
            elapsed = (self.clock.now() - started).total_seconds()
            try:
                data = response.json()
            except ValueError:
                data = None
            reply = Reply(
                response.status_code,
                data if isinstance(data, dict) else None,
                timed_out=elapsed > knobs.request_timeout_seconds,
            )
        except httpx.TimeoutException:
            reply = Reply(None, None, timed_out=True)
        except httpx.HTTPError as exc:
            log.info("game provider %s: %s failed: %s", s.provider, action, exc)
            reply = Reply(None, None)
        sent = SentRequest(
            s.provider,
            action,
            payload.get("transaction_id"),
            started,
            reply.status_code,
            reply.code,
            duplicate,
            bad,
        )
        with self._lock:
            self.sent.append(sent)
            self.counts[(s.provider, action, reply.code or "OK")] += 1
        return reply

    # -- the daily files ----------------------------------------------------------------

    def write_reports(
        self, day: date, out_dir: Path, plant: dict[str, dict[str, int]] | None = None
    ) -> list[Any]:
        """Every provider's transaction report and GGR statement of ``day`` into
        ``out_dir`` (igaming.sim.games.reports); ``plant`` per provider, else each
        provider's ``report_discrepancies`` knob."""
        if plant is None:
            plant = {
                name: dict(knobs.report_discrepancies)
                for name, knobs in self.config.providers.items()
                if knobs.report_discrepancies
            }
        with self._lock:
            book = list(self.book)
        return write_game_reports(
            book, self.config.providers, day, out_dir, seed=self.config.seed, plant=plant
        )

    # -- live mode ----------------------------------------------------------------------

    async def autoplay(self) -> int:
        """Play one round in every live session that is due one; returns how many."""
        interval = self.config.autoplay_interval_seconds
        if interval <= 0:
            return 0
        now = self.clock.now()
        played = 0
        for s in list(self.sessions.values()):
            if s.expires_at <= now:
                self.sessions.pop(s.token, None)
                continue
            if s.next_play_at is None or s.next_play_at <= now:
                s.next_play_at = now + timedelta(seconds=interval)
                await self.play_round(s.token)
                played += 1
        return played
