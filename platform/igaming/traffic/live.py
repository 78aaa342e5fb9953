"""Live mode: the traffic model drives a running platform over HTTP, in real time.

``LiveDriver`` carries out the model's actions on the platform's public API (registration,
log-in, KYC, cashier, wallet, casino launch, sportsbook) and lets the game provider
simulator play the casino rounds (``POST /admin/sessions/{token}/rounds``). Incidents are
knob changes through the simulators' admin APIs and the platform's ``PUT /admin/faults``.
Answers map to the outcome strings of the accelerated driver: a 4xx is an outcome, never an
exception; a transport error (the platform down) is the outcome ``unreachable`` and the run
goes on. A failing *admin* call is different: the incident cannot be played, so the run
stops with a one-line ``LiveError`` naming the simulator and the URL.

``run_live`` starts the run now: the scenario's start becomes the current time plus a short
warm-up in which (a few of) the existing players register, verify and deposit; ``rate``
(player actions per second) sets the model's scale (see ``live_scale``). When the run ends,
normally or not (Ctrl-C, an error), every incident still active is undone and the PSP
overrides of the scenario's baseline are put back, so the simulators are left as found.
"""

from __future__ import annotations

import logging
import math
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from ground.ports import (
    AFFILIATE_SIM_PORT,
    GAMES_SIM_PORT,
    KYC_SIM_PORT,
    ODDS_SIM_PORT,
    PSP_SIM_PORT,
)
from igaming.traffic import incidents as fx
from igaming.traffic import partners
from igaming.traffic.model import NewPlayer, Player, Simulation, Tally, kickoff_factor
from igaming.traffic.run import Progress, RunResult
from igaming.traffic.scenario import (
    DbSlowdown,
    Deploy,
    PostbackDispatcherStall,
    Scenario,
    SettlementStall,
)

log = logging.getLogger(__name__)

PASSWORD = "simulated player 1"
OPERATOR_KEY_ENV = "PITWATCH_OPERATOR_KEY"
# Incidents played through the platform's PUT /admin/faults: they need an operator key.
FAULT_INCIDENTS = (Deploy, SettlementStall, PostbackDispatcherStall, DbSlowdown)
UNREACHABLE = "unreachable"
# Deposits a returning session makes, on average (a redeposit when cash runs low or a stake
# is refused for want of it, a retry after a decline): a rough figure for the rate estimate,
# not a model parameter (a baseline day measured 0.28).
DEPOSITS_PER_SESSION = 0.3
MODEL_DEPOSIT_CHECK_SECONDS = 45.0  # when the model looks at a deposit's outcome


class LiveError(ValueError):
    """The live run cannot go on (a simulator's admin API refused or is unreachable, an
    operator key is missing); the message is one line naming what and where."""


def _env_url(name: str, port: int) -> str:
    return (os.environ.get(name) or f"http://127.0.0.1:{port}").rstrip("/")


@dataclass(frozen=True)
class SimUrls:
    """Where the simulators' admin APIs are: the default ports on 127.0.0.1, or the
    environment (PITWATCH_PSP_URL, PITWATCH_KYC_URL, PITWATCH_GAMES_URL, PITWATCH_ODDS_URL,
    PITWATCH_AFFILIATES_URL)."""

    psp: str = field(default_factory=lambda: _env_url("PITWATCH_PSP_URL", PSP_SIM_PORT))
    kyc: str = field(default_factory=lambda: _env_url("PITWATCH_KYC_URL", KYC_SIM_PORT))
    games: str = field(default_factory=lambda: _env_url("PITWATCH_GAMES_URL", GAMES_SIM_PORT))
    odds: str = field(default_factory=lambda: _env_url("PITWATCH_ODDS_URL", ODDS_SIM_PORT))
    affiliates: str = field(
        default_factory=lambda: _env_url("PITWATCH_AFFILIATES_URL", AFFILIATE_SIM_PORT)
    )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _body(r: httpx.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return None


def _problem_type(r: httpx.Response) -> str:
    """The platform's problem type (``insufficient-funds``, ``not-found``, ...)."""
    body = _body(r)
    kind = body.get("type") if isinstance(body, dict) else None
    if isinstance(kind, str) and kind and kind != "about:blank":
        return kind.rstrip("/").rsplit("/", 1)[-1]
    return f"http-{r.status_code}"


def _detail(r: httpx.Response) -> str:
    body = _body(r)
    text = (body.get("detail") or body.get("title") or body) if isinstance(body, dict) else r.text
    return " ".join(str(text).split())[:200]


# -- the rate ----------------------------------------------------------------------------


def actions_per_second(scenario: Scenario, when: datetime, scale: float = 1.0) -> float:
    """The expected player actions per second of ``scenario`` at ``when``.

    Per returning session (the model's ``_returning_session`` and ``_play``)::

        a = 1                                          # the session: a launch or a deposit
            + casino.share * (rounds_per_session + 0.5)  # rounds: 1 + int(Exp(mean))
            + sportsbook.share * (bets_per_session + 0.5)
            + withdrawals.per_session + 0.3              # the 0.3: redeposits and retries

    Sessions per second are ``daily_active * sessions_per_day * curve(when) / 86400`` with
    ``curve`` the scenario's hour-of-day times day-of-week factor; around a kick-off, betting
    sessions come ``kickoff_factor - 1`` times more on top (``sportsbook.share`` of them,
    ``1 + bets_per_session + 0.5`` actions each). Campaign clicks add ``1 +
    click_to_registration * (1 + kyc_before_deposit + registration_to_ftd)`` actions per
    click, organic registrations ``1 + kyc_before_deposit + registration_to_ftd`` each. The
    whole is proportional to the model's ``scale``. It is the steady state: a live run
    reaches it after a session's length (a few minutes), and follows the daily curve after.
    """
    p, casino, sb = scenario.players, scenario.casino, scenario.sportsbook
    curve = scenario.curves.daily[when.hour] * scenario.curves.weekly[when.weekday()]
    per_session = (
        1
        + casino.share * (casino.rounds_per_session + 0.5)
        + sb.share * (sb.bets_per_session + 0.5)
        + scenario.withdrawals.per_session
        + DEPOSITS_PER_SESSION
    )
    sessions = p.daily_active * p.sessions_per_day / 86_400
    kick_extra = sessions * sb.share * (kickoff_factor(scenario, when) - 1)
    journey = 1 + p.kyc_before_deposit + p.registration_to_ftd
    clicks = 0.0
    for c in scenario.campaigns:
        ftd = c.registration_to_ftd or p.registration_to_ftd
        registered = 1 + p.kyc_before_deposit + ftd
        clicks += c.clicks_per_day * (1 + c.click_to_registration * registered) / 86_400
    organic = p.organic_registrations_per_day * journey / 86_400
    base = sessions * per_session + kick_extra * (1.5 + sb.bets_per_session) + clicks + organic
    return scale * curve * base


def live_scale(scenario: Scenario, rate: float, when: datetime) -> float:
    """The model's ``scale`` that makes the expected action rate at ``when`` about ``rate``
    actions per second (see ``actions_per_second``)."""
    if rate <= 0:
        raise LiveError(f"live: the rate must be greater than 0, not {rate}")
    base = actions_per_second(scenario, when)
    if base <= 0:  # a curve at zero this hour: nothing would happen at any scale
        raise LiveError(f"live: scenario {scenario.name} has no activity at {when:%H:00} UTC")
    return rate / base


# -- the driver --------------------------------------------------------------------------


class LiveDriver:
    """Carries out the model's actions on a running platform over HTTP, in real time.

    ``Player.handle`` is the platform's player id; the driver keeps each player's e-mail
    and bearer token (a player logs in once: scrypt costs the platform ~60 ms a log-in).
    """

    def __init__(
        self,
        base_url: str,
        scenario: Scenario,
        *,
        sims: SimUrls | None = None,
        operator_key: str | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.scenario = scenario
        self.sims = sims or SimUrls()
        self.operator_key = operator_key
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)
        self.admin = httpx.Client(timeout=timeout, transport=transport)
        self.run_id = uuid.uuid4().hex[:8]  # emails and keys stay unique across runs
        self.players: dict[str, tuple[str, str]] = {}  # handle -> (email, token)
        self.unreachable: Counter[str] = Counter()  # flow -> actions that got no answer
        self.active: list[Any] = []  # incidents in force, in the order they started
        self.tally: Tally | None = None
        self.progress: Progress | None = None
        self.progress_every = 1.0
        self._last_report = 0.0
        self._faults: dict[str, Any] | None = None
        self._network: dict[str, Any] = {}
        self._found: dict[tuple[str, str | None], dict[str, Any]] = {}  # knobs at the start
        self._baseline_undo: list[tuple[str, dict[str, Any]]] = []
        self._baseline_applied = False

    # -- set-up and tear-down ----------------------------------------------------------

    def start(self) -> None:
        """Check the platform answers, read the simulators' normal state, apply the
        scenario's baseline."""
        try:
            r = self.http.get("/healthz")
        except httpx.TransportError as exc:
            where = f"{self.base_url}/healthz"
            why = _one_line(exc)
            raise LiveError(f"live: the platform at {where} is not reachable: {why}") from None
        if r.status_code != 200:
            raise LiveError(
                f"live: the platform at {self.base_url}/healthz answered {r.status_code}"
            )
        targets = {
            e.target for i in self.scenario.incidents for e in fx.effects(i, True, self.scenario)
        }
        for target, name, url in (
            ("kyc", "KYC simulator", self.sims.kyc),
            ("games", "game provider simulator", self.sims.games),
            ("odds", "odds feed simulator", self.sims.odds),
        ):
            if target in targets:
                config = self._admin(name, "GET", f"{url}/admin/config") or {}
                if target == "games":
                    for provider, knobs in (config.get("providers") or {}).items():
                        self._found[("games", provider)] = knobs
                else:
                    self._found[(target, None)] = config
        if "network" in targets:
            url = f"{self.sims.affiliates}/admin/config"
            self._network = self._admin("affiliate network simulator", "GET", url) or {}
        if "faults" in targets and self.operator_key:
            url = f"{self.base_url}/admin/faults"
            self._faults = self._admin("platform", "GET", url, operator=True) or {}
            self._found[("faults", None)] = dict(self._faults)
        psp_config = self._admin("PSP simulator", "GET", f"{self.sims.psp}/admin/config")
        psps = psp_config.get("psps", {}) if isinstance(psp_config, dict) else {}
        for effect in fx.baseline(self.scenario):
            overrides = (psps.get(effect.name) or {}).get("overrides") or {}
            before = {k: overrides.get(k) for k in (effect.change or {}).get("overrides", {})}
            self._baseline_undo.append((str(effect.name), {"overrides": before}))
        self._baseline_applied = True
        for effect in fx.baseline(self.scenario):
            self.apply(effect)
        self.setup_affiliates()

    def setup_affiliates(self) -> None:
        """The scenario's affiliates with postback URLs on the network simulator and their
        deals (needs the operator key: without one, say so once and go on without)."""
        if not self.scenario.campaigns:
            return
        if not self.operator_key:
            log.warning(
                "live: no operator key, so the scenario's affiliates are not set up "
                "and FTDs queue no postbacks (PITWATCH_OPERATOR_KEY)"
            )
            return
        for a in partners.affiliate_setups(self.scenario, self.sims.affiliates):
            body: dict[str, Any] = {
                "postback_url_template": a.postback_url_template,
                "secret": a.secret,
            }
            url = f"{self.base_url}/affiliates/{a.affiliate}"
            self._admin("platform", "PUT", url, body, operator=True)
        for d in partners.deal_setups(self.scenario):
            body = {
                "kind": "hybrid",
                "currency": d.currency,
                "campaign": d.campaign,
                "cpa_amount": d.cpa_amount,
                "revshare_bps": d.revshare_bps,
            }
            url = f"{self.base_url}/affiliates/{d.affiliate}/deals"
            self._admin("platform", "POST", url, body, operator=True)

    def restore_baseline(self) -> None:
        """Put back the PSP overrides the baseline replaced (an override that was not
        there is removed)."""
        if not self._baseline_applied:
            return
        self._baseline_applied = False
        for psp, change in self._baseline_undo:
            self.apply(fx.Effect("psp", psp, change))

    def close(self) -> None:
        self.http.close()
        self.admin.close()

    def callback_wait(self) -> float:
        """Seconds after which a deposit's PSP callback has arrived: the scenario's callback
        delay, else the slowest PSP's, plus 3 s; never more than the model's 45 s."""
        delay = self.scenario.deposits.callback_delay_seconds
        if delay is None:
            config = self._admin("PSP simulator", "GET", f"{self.sims.psp}/admin/config")
            delays = [0.0]
            for psp in (config or {}).get("psps", {}).values():
                delays.append(float(psp.get("callback_delay_seconds") or 0.0))
                for o in (psp.get("overrides") or {}).values():
                    if isinstance(o, dict) and o.get("callback_delay_seconds") is not None:
                        delays.append(float(o["callback_delay_seconds"]))
            delay = max(delays)
        return min(MODEL_DEPOSIT_CHECK_SECONDS, delay + 3.0)

    # -- time --------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.now(UTC)

    def advance_to(self, when: datetime) -> None:
        """Sleep until ``when`` (at once if it has passed), reporting progress each second."""
        while True:
            self._report()
            left = (when - self.now()).total_seconds()
            if left <= 0:
                return
            time.sleep(min(left, self.progress_every / 2))

    def _report(self) -> None:
        if self.progress is None or self.tally is None:
            return
        mono = time.monotonic()
        if mono - self._last_report >= self.progress_every:
            self._last_report = mono
            self.progress(self.now(), self.tally)

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

    def _admin(
        self,
        simulator: str,
        method: str,
        url: str,
        body: Any = None,
        *,
        operator: bool = False,
    ) -> Any:
        """A call to an admin API; anything but a 2xx is a LiveError naming where."""
        headers = {"X-Api-Key": self.operator_key or ""} if operator else {}
        try:
            r = self.admin.request(method, url, json=body, headers=headers)
        except httpx.TransportError as exc:
            why = _one_line(exc)
            raise LiveError(f"live: the {simulator} at {url} is not reachable: {why}") from None
        if r.status_code >= 300:
            raise LiveError(
                f"live: the {simulator} refused {method} {url}: {r.status_code} {_detail(r)}"
            )
        return _body(r)

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
            reason = (_body(r) or {}).get("reason")
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
        url = f"{self.sims.games}/admin/sessions/{token}/rounds"
        try:
            r = self.admin.post(url, json={"rounds": 1, "stake": stake})
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
            return f"rejected:{(_body(r) or {}).get('reason')}"
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

    # -- incidents ---------------------------------------------------------------------

    def incident(self, incident: Any, active: bool) -> None:
        if active:
            self.active.append(incident)
        else:
            self.active = [i for i in self.active if i is not incident]
        for effect in fx.effects(incident, active, self.scenario):
            self.apply(effect if active else self._as_found(effect))

    def _as_found(self, e: fx.Effect) -> fx.Effect:
        """An incident's end puts a knob back to what the simulator had at the start of the
        run (its own configuration), not to the simulator's built-in default."""
        found = self._found.get((e.target, e.name))
        if found is None or e.change is None:
            return e
        merged = {"deposit_failures", "version"}  # faults that merge, or stay (a deploy)
        change = {
            k: (found[k] if k in found and k not in merged else v) for k, v in e.change.items()
        }
        return fx.Effect(e.target, e.name, change)

    def apply(self, e: fx.Effect) -> None:
        """One knob change, through the admin API of the simulator (or platform) it is on."""
        s, change = self.sims, e.change or {}
        if e.target == "psp":
            self._admin("PSP simulator", "PATCH", f"{s.psp}/admin/psps/{e.name}", change)
        elif e.target == "kyc":
            self._admin("KYC simulator", "PATCH", f"{s.kyc}/admin/config", change)
        elif e.target == "games":
            url = f"{s.games}/admin/providers/{e.name}"
            self._admin("game provider simulator", "PATCH", url, change)
        elif e.target == "odds":
            self._admin("odds feed simulator", "PATCH", f"{s.odds}/admin/config", change)
        elif e.target == "network":
            self._network_patch(e.name, e.change)
        elif e.target == "faults":
            if self._faults is None:
                raise LiveError(f"live: platform faults need an operator key ({OPERATOR_KEY_ENV})")
            merged = fx.merge_faults(self._faults, change)
            url = f"{self.base_url}/admin/faults"
            self._faults = self._admin("platform", "PUT", url, merged, operator=True)
        else:  # pragma: no cover - Effect.target is a closed set
            raise ValueError(e.target)

    def _network_patch(self, affiliate: str | None, knobs: dict[str, Any] | None) -> None:
        """Network-wide knobs (affiliate None) or one affiliate's; None knobs: as at the
        start of the run."""
        base = self._network.get("knobs") or {}
        url = self.sims.affiliates
        if affiliate is None:
            body = base | (knobs or {})
            self._admin("affiliate network simulator", "PATCH", f"{url}/admin/knobs", body)
            return
        original = (self._network.get("affiliates") or {}).get(affiliate) or {}
        entry = dict(original)
        entry["knobs"] = (base | knobs) if knobs else original.get("knobs")
        self._admin(
            "affiliate network simulator", "PUT", f"{url}/admin/affiliates/{affiliate}", entry
        )

    def invariants_ok(self) -> bool | None:
        """The platform's ledger invariants (GET /admin/invariants), when a key is at hand."""
        if not self.operator_key:
            return None
        try:
            r = self.http.get("/admin/invariants", headers={"X-Api-Key": self.operator_key})
        except httpx.TransportError:
            return None
        return bool(r.json().get("ok")) if r.status_code == 200 else None


# -- the run -----------------------------------------------------------------------------


class LiveSimulation(Simulation):
    """The model, unchanged but for one wait: it looks at a deposit's outcome
    ``deposit_check_seconds`` after asking (the PSP simulator's callback delay and a margin)
    rather than 45 s, so that players who deposit in the warm-up play seconds later."""

    deposit_check_seconds = MODEL_DEPOSIT_CHECK_SECONDS

    def after(self, seconds: float, fn: Callable[..., None], *args: Any) -> None:
        if getattr(fn, "__func__", None) is Simulation._after_deposit:
            seconds = min(seconds, self.deposit_check_seconds)
        super().after(seconds, fn, *args)


def _fault_incidents(scenario: Scenario, duration: timedelta) -> list[str]:
    return [
        i.type for i in scenario.incidents if isinstance(i, FAULT_INCIDENTS) and i.start < duration
    ]


def _relabel_unreachable(tally: Tally, unreachable: Counter[str]) -> None:
    """Actions the model tallied as refused/failed because the platform did not answer."""
    labels = {"registration": "refused", "click": "refused", "casino_launch": "failed"}
    for flow, label in labels.items():
        n = min(unreachable.get(flow, 0), tally.flows.get((flow, label), 0))
        if n:
            tally.flows[(flow, label)] -= n
            if not tally.flows[(flow, label)]:
                del tally.flows[(flow, label)]
            tally.flows[(flow, UNREACHABLE)] += n


def run_live(
    scenario: Scenario,
    base_url: str,
    *,
    rate: float,
    duration: timedelta,
    progress: Progress | None = None,
    out_dir: Path | None = None,
    sims: SimUrls | None = None,
    operator_key: str | None = None,
    warmup: timedelta | None = None,
    existing_per_rate: float = 20.0,
) -> RunResult:
    """Drive the platform at ``base_url`` with ``scenario`` for ``duration`` of real time at
    about ``rate`` player actions per second.

    The run starts now: a warm-up (``warmup``; by default 2 s plus a quarter second per
    player) registers ``min(existing players, existing_per_rate * rate)`` existing players,
    then the scenario's start is the end of the warm-up and incident times count from it.
    Platform-fault incidents (deploy, settlement_stall, postback_dispatcher_stall,
    db_slowdown) need an operator key with the faults role (``operator_key`` or
    PITWATCH_OPERATOR_KEY). With a key, the result's ``invariants_ok`` is the platform's
    GET /admin/invariants; ``database`` stays empty (the database is the platform's).
    """
    if rate <= 0:
        raise LiveError(f"live: the rate must be greater than 0, not {rate}")
    key = operator_key or os.environ.get(OPERATOR_KEY_ENV) or None
    needs_key = _fault_incidents(scenario, duration)
    if needs_key and not key:
        raise LiveError(
            f"live: scenario {scenario.name} injects platform faults ({', '.join(needs_key)}): "
            f"give a faults operator's API key in {OPERATOR_KEY_ENV} "
            "(pitwatch platform operator create --role faults)"
        )
    started = time.perf_counter()
    driver = LiveDriver(base_url, scenario, sims=sims, operator_key=key)
    sim: LiveSimulation | None = None
    try:
        driver.start()
        existing = min(scenario.existing_players, math.ceil(existing_per_rate * rate))
        warm = warmup if warmup is not None else timedelta(seconds=2 + 0.25 * existing)
        begin = driver.now() + warm
        scale = live_scale(scenario, rate, begin)
        # The model seeds existing * min(1, scale) players: ask for enough to get `existing`.
        wanted = math.ceil(existing / min(1.0, scale)) if existing else 0
        players = scenario.players.model_copy(update={"existing": wanted})
        live = scenario.model_copy(update={"start": begin, "players": players})
        sim = LiveSimulation(
            live, driver, duration=duration, scale=scale, warmup=warm, progress=progress
        )
        sim.deposit_check_seconds = driver.callback_wait()
        driver.tally, driver.progress = sim.tally, progress
        log.info(
            "live run of %s on %s: %.1f actions/s, scale %.3g, %d existing players",
            scenario.name,
            base_url,
            rate,
            scale,
            existing,
        )
        tally = sim.run()
    except BaseException:  # Ctrl-C too: leave the simulators as they were found
        _wind_down(sim, driver, strict=False)
        driver.close()
        raise
    try:
        _wind_down(sim, driver, strict=True)
        _relabel_unreachable(tally, driver.unreachable)
        invariants = driver.invariants_ok()
    finally:
        driver.close()
    result = RunResult(
        scenario=scenario.name,
        mode="live",
        seed=scenario.seed,
        start=sim.start,
        end=sim.end,
        tally=tally,
        incidents=sim.incidents,
        database={},
        invariants_ok=invariants,
        wall_seconds=time.perf_counter() - started,
    )
    if out_dir is not None:
        result.write(out_dir)
    return result


def _wind_down(sim: Simulation | None, driver: LiveDriver, *, strict: bool) -> None:
    """Undo every incident still in force (its end goes in the log) and the baseline.
    Every undo is tried; with ``strict`` the first failure is raised after."""
    errors: list[Exception] = []
    for inc in reversed(list(driver.active)):
        try:
            if sim is not None:
                sim._incident(inc, False)  # the model logs the end
            else:
                driver.incident(inc, False)
        except Exception as exc:  # keep undoing the others
            log.error("could not undo incident %s: %s", inc.type, exc)
            errors.append(exc)
    try:
        driver.restore_baseline()
    except Exception as exc:
        log.error("could not restore the PSP baseline: %s", exc)
        errors.append(exc)
    if strict and errors:
        raise errors[0]
