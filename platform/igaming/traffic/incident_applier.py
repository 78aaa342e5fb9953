"""The live mode's incidents: knob changes through the simulators' admin APIs and the
platform's ``PUT /admin/faults``, the scenario's PSP baseline, and the operator's set-up of
the scenario's affiliates.

A failing admin call means the incident cannot be played, so the run stops with a one-line
``LiveError`` naming the simulator and the URL. An incident's end, and the end of the run,
put the knobs back as they were found at the start.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
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
from igaming.traffic.live_http import LiveError, json_body, one_line
from igaming.traffic.scenario import Scenario

log = logging.getLogger(__name__)

OPERATOR_KEY_ENV = "PITWATCH_OPERATOR_KEY"
MODEL_DEPOSIT_CHECK_SECONDS = 45.0  # when the model looks at a deposit's outcome


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


def _detail(r: httpx.Response) -> str:
    body = json_body(r)
    text = (body.get("detail") or body.get("title") or body) if isinstance(body, dict) else r.text
    return " ".join(str(text).split())[:200]


class IncidentApplier:
    """Plays a scenario's incidents and baseline on the simulators and the platform
    through their admin APIs, and undoes them; as the operator (with a key) it also sets up
    the scenario's affiliates and reads the platform's ledger invariants."""

    def __init__(
        self,
        base_url: str,
        scenario: Scenario,
        sims: SimUrls,
        *,
        operator_key: str | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.scenario = scenario
        self.sims = sims
        self.operator_key = operator_key
        self.admin = httpx.Client(timeout=timeout, transport=transport)
        self.active: list[Any] = []  # incidents in force, in the order they started
        self._faults: dict[str, Any] | None = None
        self._network: dict[str, Any] = {}
        self._found: dict[tuple[str, str | None], dict[str, Any]] = {}  # knobs at the start
        self._baseline_undo: list[tuple[str, dict[str, Any]]] = []
        self._baseline_applied = False

    def close(self) -> None:
        self.admin.close()

    # -- set-up and tear-down ----------------------------------------------------------

    def start(self) -> None:
        """Read the simulators' normal state, apply the scenario's baseline, set up its
        affiliates."""
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

    # -- HTTP --------------------------------------------------------------------------

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
            why = one_line(exc)
            raise LiveError(f"live: the {simulator} at {url} is not reachable: {why}") from None
        if r.status_code >= 300:
            raise LiveError(
                f"live: the {simulator} refused {method} {url}: {r.status_code} {_detail(r)}"
            )
        return json_body(r)

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
        url = f"{self.base_url}/admin/invariants"
        try:
            r = self.admin.get(url, headers={"X-Api-Key": self.operator_key})
        except httpx.TransportError:
            return None
        return bool(r.json().get("ok")) if r.status_code == 200 else None
