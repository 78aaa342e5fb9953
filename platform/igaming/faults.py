"""Fault-injection seams: the incidents the traffic simulator plays on the real code.

A ``Faults`` value says what is broken now (a stalled settlement worker or postback
dispatcher, a slow database, a deploy whose regression fails deposits in some GEOs, the
version that deploy reports); ``Platform.faults`` holds the one in force. The simulator
swaps it in-process with ``igaming.fault_injection.apply_faults`` or over HTTP with
``PUT /admin/faults``. This module holds the values and the seams, no service: the
platform's data (``igaming.bootstrap.Platform``) holds a ``FaultSwitch``.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Annotated, Any
from weakref import WeakKeyDictionary

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import Engine, event

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
    engine, however many platforms are built on it).

    The wait comes after the statement ran and before any other listener hears it did
    (``insert=True``), inside the span the statement timer measures
    (``collectors.instrumentation.db``), as a slow database's would: waiting before the
    statement, in the first ``before_cursor_execute`` listener, hid it from the timer, which
    is installed later, and ``igaming_db_query_duration_seconds`` never saw the slowdown."""
    _ENGINE_SWITCHES[engine] = switch
    if not event.contains(engine, "after_cursor_execute", _delay_statement):
        event.listen(engine, "after_cursor_execute", _delay_statement, insert=True)
