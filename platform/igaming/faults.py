"""Fault-injection seams: the incidents the traffic simulator plays on the real code.

A ``Faults`` value says what is broken now (a stalled settlement worker or postback
dispatcher, a slow database, a deploy whose regression fails deposits in some GEOs, the
version that deploy reports); ``Platform.faults`` holds the one in force. The simulator
swaps it in-process with ``apply_faults`` or over HTTP with ``PUT /admin/faults``.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import TYPE_CHECKING, Annotated, Any
from weakref import WeakKeyDictionary

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import Engine, event

from igaming.events import PlatformDeployed

if TYPE_CHECKING:
    from igaming.bootstrap import Platform

GeoCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Rate = Annotated[float, Field(ge=0.0, le=1.0)]


class Faults(BaseModel):
    """What is broken now. The default value breaks nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    settlement_paused: bool = False  # results are recorded, bets stay open
    postbacks_paused: bool = False  # the postback dispatcher stalls
    db_delay_ms: int = Field(default=0, ge=0, le=5000)  # every SQL statement waits this long
    # GEO (ISO 3166 alpha-2) -> share of its deposits that fail inside the platform.
    deposit_failures: dict[GeoCode, Rate] = Field(default_factory=dict)
    version: str | None = Field(default=None, min_length=1, max_length=64)  # a deploy marker


class FaultSwitch:
    """The faults in force; read on every SQL statement, so reading takes no lock."""

    def __init__(self, faults: Faults | None = None) -> None:
        self._faults = faults or Faults()
        self._lock = threading.Lock()

    @property
    def current(self) -> Faults:
        return self._faults  # one reference read: atomic, and Faults is immutable

    def replace(self, faults: Faults) -> Faults:
        """Put ``faults`` in force; returns the faults it replaced."""
        with self._lock:
            before, self._faults = self._faults, faults
        return before


def deposit_fails(faults: Faults, geo: str, deposit_id: str) -> bool:
    """Whether this deposit falls in its GEO's failing share; the draw hashes the deposit
    id, so a simulated run with the same ids fails the same deposits."""
    rate = faults.deposit_failures.get(geo, 0.0)
    if rate <= 0.0:
        return False
    draw = int.from_bytes(hashlib.sha256(deposit_id.encode()).digest()[:8], "big") / 2**64
    return draw < rate


# The switch whose db_delay_ms an engine obeys: that of the platform built on it last.
_ENGINE_SWITCHES: WeakKeyDictionary[Engine, FaultSwitch] = WeakKeyDictionary()


def _delay_statement(conn: Any, *_args: Any) -> None:
    switch = _ENGINE_SWITCHES.get(conn.engine)
    delay = switch.current.db_delay_ms if switch is not None else 0
    if delay > 0:
        time.sleep(delay / 1000)


def install_db_delay(engine: Engine, switch: FaultSwitch) -> None:
    """Make every statement on ``engine`` wait ``switch.current.db_delay_ms`` (one hook per
    engine, however many platforms are built on it)."""
    _ENGINE_SWITCHES[engine] = switch
    if not event.contains(engine, "before_cursor_execute", _delay_statement):
        event.listen(engine, "before_cursor_execute", _delay_statement)


def apply_faults(p: Platform, faults: Faults, actor: str, *, role: str = "system") -> Faults:
    """Put ``faults`` in force, audited under ``actor``; a new version is published as a
    deploy (``PlatformDeployed``, on the bus only: the audit entry is its record). Returns
    ``faults``."""
    from igaming.admin import OperatorIdentity, audit
    from igaming.errors import NotFound

    if not p.settings.faults_enabled:
        raise NotFound("fault injection is not enabled here (settings.faults_enabled)")
    before = p.faults.replace(faults)
    try:
        with p.uow() as uow:
            payload = {"from": before.model_dump(), "to": faults.model_dump()}
            who = OperatorIdentity(actor, role)
            audit(uow.session, p, who, "faults", "platform", "fault injection", payload)
            uow.commit()
    except BaseException:
        p.faults.replace(before)  # an unaudited fault must not stay in force
        raise
    version = faults.version or p.settings.version
    # Built only for a listener, as the metric was only set on an instrumented platform: an
    # event draws a uuid, which would shift every later id of a seeded simulation.
    if version != (before.version or p.settings.version) and p.bus.has_subscribers(
        PlatformDeployed
    ):
        p.bus.publish([PlatformDeployed(occurred_at=p.clock.now(), version=version)])
    return faults
