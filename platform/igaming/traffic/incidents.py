"""What each incident changes, as knob changes on the simulators and the platform's faults.

Both modes apply the same ``Effect`` list: the accelerated driver on the in-process
simulators, the live driver through each simulator's admin API (``PATCH
/admin/psps/{psp}``, ``PATCH /admin/config``, ...) and the platform's ``PUT /admin/faults``.
An incident's end undoes exactly what its start did, back to the scenario's baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ground.vocabulary import METHODS
from igaming.sim.games.config import ProviderKnobs
from igaming.sim.odds.config import OddsSimConfig
from igaming.traffic.scenario import (
    DbSlowdown,
    Deploy,
    GameProviderErrors,
    KycVendorDown,
    OddsFeedLag,
    PostbackDispatcherStall,
    PostbackOutage,
    PspCallbackDelay,
    PspCallbackDuplicates,
    PspCallbackLoss,
    PspDegradation,
    PspOutage,
    Scenario,
    SettlementStall,
    TrafficSurge,
)

Target = Literal["psp", "kyc", "games", "odds", "network", "faults"]


@dataclass(frozen=True)
class Effect:
    target: Target
    name: str | None  # the PSP, provider or affiliate; None for the whole simulator
    change: dict[str, Any] | None  # None: back to normal (network knobs of an affiliate)


PSP_FIELDS: dict[type, str] = {
    PspDegradation: "approval_rate",
    PspCallbackLoss: "loss_rate",
    PspCallbackDuplicates: "duplicate_rate",
}
PSP_VALUES: dict[type, str] = {
    PspDegradation: "approval_rate",
    PspCallbackLoss: "loss_rate",
    PspCallbackDuplicates: "duplicate_rate",
}


def override_keys(geo: str | None, method: str | None) -> list[str]:
    """The PSP simulator's override keys for a scope; no scope means every method."""
    if geo and method:
        return [f"{geo}:{method}"]
    if geo:
        return [geo]
    if method:
        return [method]
    return list(METHODS)


def baseline(scenario: Scenario) -> list[Effect]:
    """The scenario's normal state: approval rates (and callback delays) by method."""
    from igaming.traffic.scenario import PSPS

    per_method: dict[str, dict[str, Any]] = {
        m: {"approval_rate": rate} for m, rate in scenario.deposits.approval.items()
    }
    if scenario.deposits.callback_delay_seconds is not None:
        for m in METHODS:
            per_method.setdefault(m, {})["callback_delay_seconds"] = (
                scenario.deposits.callback_delay_seconds
            )
    return [Effect("psp", psp, {"overrides": per_method}) for psp in PSPS if per_method]


def _psp(inc: Any, active: bool, scenario: Scenario) -> list[Effect]:
    field = PSP_FIELDS[type(inc)]
    value = getattr(inc, PSP_VALUES[type(inc)])
    overrides: dict[str, Any] = {}
    for key in override_keys(inc.geo, inc.method):
        if active:
            overrides[key] = {field: value}
        elif key in METHODS and field == "approval_rate" and key in scenario.deposits.approval:
            overrides[key] = {field: scenario.deposits.approval[key]}
        else:
            overrides[key] = {field: None}
    return [Effect("psp", inc.psp, {"overrides": overrides})]


def _every_key(inc: Any, knobs: dict[str, Any]) -> list[Effect]:
    """The same knob change on every override key of a PSP incident's scope (None: the
    knob falls back to the PSP's own)."""
    keys = override_keys(inc.geo, inc.method)
    return [Effect("psp", inc.psp, {"overrides": {k: dict(knobs) for k in keys}})]


def effects(inc: Any, active: bool, scenario: Scenario) -> list[Effect]:
    """The knob changes that start (active) or end an incident."""
    if type(inc) in PSP_FIELDS:
        return _psp(inc, active, scenario)
    if isinstance(inc, PspCallbackDelay):
        # The PSP decides as fast as ever but its webhooks go out late (a backed-up queue):
        # each callback arrives delay_seconds after the status it reports happened, which
        # is what the platform's callback delay histogram measures.
        late: dict[str, Any] = {"late_rate": None, "late_seconds": None}
        if active:
            late = {"late_rate": 1.0, "late_seconds": inc.delay_seconds}
        return _every_key(inc, late)
    if isinstance(inc, PspOutage):
        return _every_key(inc, {"down": active or None})
    if isinstance(inc, PostbackOutage):
        knobs = ({"down": True} if inc.mode == "down" else {"loss_rate": 1.0}) if active else None
        return [Effect("network", inc.affiliate, knobs)]
    if isinstance(inc, PostbackDispatcherStall):
        return [Effect("faults", None, {"postbacks_paused": active})]
    if isinstance(inc, SettlementStall):
        return [Effect("faults", None, {"settlement_paused": active})]
    if isinstance(inc, DbSlowdown):
        return [Effect("faults", None, {"db_delay_ms": inc.delay_ms if active else 0})]
    if isinstance(inc, OddsFeedLag):
        normal = OddsSimConfig().lag_seconds
        return [Effect("odds", None, {"lag_seconds": inc.lag_seconds if active else normal})]
    if isinstance(inc, KycVendorDown):
        return [Effect("kyc", None, {"down": active})]
    if isinstance(inc, GameProviderErrors):
        defaults = ProviderKnobs()
        change: dict[str, Any] = {
            "launch_failure_rate": inc.launch_failure_rate
            if active
            else defaults.launch_failure_rate
        }
        if inc.result_delay_seconds is not None:
            change["result_delay_seconds"] = (
                inc.result_delay_seconds if active else defaults.result_delay_seconds
            )
        return [Effect("games", inc.provider, change)]
    if isinstance(inc, Deploy):
        if active:
            change = {"version": inc.version}
            if inc.regression is not None:
                rate = inc.regression.deposit_failure_rate
                change["deposit_failures"] = {inc.regression.geo: rate}
            return [Effect("faults", None, change)]
        if inc.regression is not None:
            return [Effect("faults", None, {"deposit_failures": {inc.regression.geo: None}})]
        return []
    if isinstance(inc, TrafficSurge):
        return []  # the traffic model itself carries a surge
    raise TypeError(f"no effects for incident {type(inc).__name__}")


def merge_faults(current: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """Apply a faults change: deposit failures merge per GEO (None removes one)."""
    out = dict(current)
    for key, value in change.items():
        if key == "deposit_failures":
            merged = dict(out.get("deposit_failures") or {})
            for geo, rate in value.items():
                if rate is None:
                    merged.pop(geo, None)
                else:
                    merged[geo] = rate
            out[key] = merged
        else:
            out[key] = value
    return out
