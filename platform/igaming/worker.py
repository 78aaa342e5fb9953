"""The platform's background jobs, run in one thread beside the API server.

Each pass: consume the outbox into affiliate conversions, deliver due postbacks (not while
an injected fault pauses them), settle results deferred by a settlement pause, retry KYC
checks whose vendor was unavailable, expire bonuses; once per UTC day, record the previous
day's revenue conversions. Every job is idempotent, so a pass that fails is
simply retried by the next one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import date, timedelta

import httpx

from igaming.bootstrap import Platform

log = logging.getLogger(__name__)


class BackgroundJobs:
    def __init__(self, p: Platform, client: httpx.Client, interval_seconds: float = 1.0) -> None:
        self.p = p
        self.client = client
        self.interval = interval_seconds
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="platform-jobs", daemon=True)
        self._revenue_done: date | None = None
        self._postbacks_paused = False  # logged once per pause, not on every pass

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self.stop.set()
        self._thread.join(timeout=10)

    def run_once(self) -> None:
        """One pass of every job (tests call this directly)."""
        from igaming.affiliates.dispatcher import dispatch_due
        from igaming.affiliates.outbox_consumer import consume_all
        from igaming.affiliates.revenue import record_daily_revenue
        from igaming.bonus.service import expire_due
        from igaming.kyc.service import retry_due
        from igaming.sportsbook.feed import settle_deferred

        jobs: list[tuple[str, Callable[[], object]]] = [("outbox", lambda: consume_all(self.p))]
        paused = self.p.faults.current.postbacks_paused
        if paused and not self._postbacks_paused:
            log.info("postback delivery paused by an injected fault")
        elif self._postbacks_paused and not paused:
            log.info("postback delivery resumed")
        self._postbacks_paused = paused
        if not paused:
            jobs.append(("postbacks", lambda: dispatch_due(self.p, self.client)))
        jobs += [
            ("settle_deferred", lambda: settle_deferred(self.p)),
            ("kyc_retry", lambda: retry_due(self.p)),
            ("bonus_expiry", lambda: expire_due(self.p)),
        ]
        yesterday = self.p.clock.now().date() - timedelta(days=1)
        if self._revenue_done != yesterday:
            jobs.append(("daily_revenue", lambda: record_daily_revenue(self.p, yesterday)))
        for name, job in jobs:
            try:
                job()
            except Exception:  # one failing job must not stop the others or the loop
                log.exception("background job %s failed; retried on the next pass", name)
            else:
                if name == "daily_revenue":
                    self._revenue_done = yesterday

    def _run(self) -> None:
        while not self.stop.is_set():
            self.run_once()
            self.stop.wait(self.interval)
