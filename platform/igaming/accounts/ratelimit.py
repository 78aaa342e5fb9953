"""In-process sliding-window rate limits for log-in and registration.

Every attempt costs a scrypt, so unlimited attempts are a CPU denial of service as much as
a password-guessing channel. One process keeps its own windows (no shared store: a
reference platform runs one process; N processes allow N times the limits). Time comes
from the platform's clock, so simulations on a ``FakeClock`` see their own time.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ground.clock import Clock
from igaming.errors import RateLimited

if TYPE_CHECKING:
    from pitwatch.settings import Settings

_SWEEP_AT = 4096  # keys kept before windows that have emptied are dropped


@dataclass(frozen=True)
class Limit:
    name: str  # the refusal's reason, e.g. login_per_ip
    attempts: int  # 0: no limit
    seconds: float
    what: str  # for the refusal's detail, e.g. "log-in attempts from this address"


class RateLimiter:
    """At most ``attempts`` per ``seconds`` per (limit, key), over a sliding window."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[tuple[str, str], tuple[timedelta, deque[datetime]]] = {}
        self._sweep_at = _SWEEP_AT

    def __len__(self) -> int:
        """How many (limit, key) windows are held."""
        return len(self._hits)

    def hit(self, checks: Sequence[tuple[Limit, str]]) -> None:
        """Count one attempt against every (limit, key), or none of them and raise
        RateLimited if any is spent (a refused attempt does not count)."""
        now = self._clock.now()
        with self._lock:
            windows = []
            for limit, key in checks:
                if limit.attempts <= 0:
                    continue
                span = timedelta(seconds=limit.seconds)
                window = self._window(limit.name, key, span, now)
                if len(window) >= limit.attempts:
                    wait = math.ceil((window[0] + span - now).total_seconds())
                    raise RateLimited(
                        f"too many {limit.what}; try again in {wait} s",
                        retry_after=max(1, wait),
                        reason=limit.name,
                    )
                windows.append(window)
            for window in windows:
                window.append(now)

    def _window(self, name: str, key: str, span: timedelta, now: datetime) -> deque[datetime]:
        entry = self._hits.get((name, key))
        if entry is None:
            if len(self._hits) >= self._sweep_at:
                self._sweep(now)
            entry = self._hits[(name, key)] = (span, deque())
        window = entry[1]
        while window and window[0] <= now - span:
            window.popleft()
        return window

    def _sweep(self, now: datetime) -> None:
        # Without it every address and e-mail ever tried would be kept for ever.
        stale = [k for k, (span, w) in self._hits.items() if not w or w[-1] <= now - span]
        for key in stale:
            del self._hits[key]
        self._sweep_at = max(_SWEEP_AT, 2 * len(self._hits))


def login_checks(settings: Settings, ip: str, email: str) -> list[tuple[Limit, str]]:
    s = settings
    return [
        (
            Limit(
                "login_per_ip",
                s.login_rate_per_ip,
                s.login_rate_per_ip_seconds,
                "log-in attempts from this address",
            ),
            ip,
        ),
        (
            Limit(
                "login_per_email",
                s.login_rate_per_email,
                s.login_rate_per_email_seconds,
                "log-in attempts for this account",
            ),
            email.strip().lower(),
        ),
    ]


def registration_checks(settings: Settings, ip: str) -> list[tuple[Limit, str]]:
    s = settings
    limit = Limit(
        "registration_per_ip",
        s.registration_rate_per_ip,
        s.registration_rate_per_ip_seconds,
        "registrations from this address",
    )
    return [(limit, ip)]
