"""Affiliate registrations (pw_players), FTDs and qualified FTDs (pw_conversions), and
postback attempts with their delivery delay (pw_postback_attempts), derived from the views
(views mode).

Players and conversions are read once, by ``(registered_at, player_id)`` and
``(created_at, conversion_id)``; qualified FTDs by ``(qualified_at, conversion_id)`` (set
once, when the FTD qualifies); postback attempts are append-only, by ``attempt_id``.
Index-backed: ``players (created_at, id)`` and ``affiliate_conversions (created_at, id)``
(migration 0013), ``affiliate_conversions (type, qualified_at)`` (migration 0007), the
attempts' primary key. The affiliate and campaign labels keep the first 50 values seen (as
the platform's instrumentation does), shared by the four.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, text

from collectors.catalog import platform as c
from collectors.catalog.labels import AFFILIATE, CAMPAIGN
from collectors.views.base import (
    Appended,
    FirstSeen,
    Once,
    ViewsCollector,
    once_statement,
    seconds_between,
)

REGISTRATIONS = once_statement(
    """SELECT player_id AS row_id, registered_at AS row_at, affiliate, campaign FROM pw_players
       WHERE (registered_at, player_id) > (:t, :id) AND registered_at <= :cutoff
       ORDER BY registered_at, player_id LIMIT :n"""
)
CONVERSIONS = once_statement(
    """SELECT conversion_id AS row_id, created_at AS row_at, conversion_type, affiliate,
              campaign FROM pw_conversions
       WHERE (created_at, conversion_id) > (:t, :id) AND created_at <= :cutoff
       ORDER BY created_at, conversion_id LIMIT :n"""
)
QUALIFIED = once_statement(
    """SELECT conversion_id AS row_id, qualified_at AS row_at, affiliate, campaign
       FROM pw_conversions
       WHERE conversion_type = 'ftd' AND qualified_at >= :t
         AND (qualified_at, conversion_id) > (:t, :id) AND qualified_at <= :cutoff
       ORDER BY qualified_at, conversion_id LIMIT :n"""
)
ATTEMPTS = text(
    """SELECT a.attempt_id AS row_id, a.attempted_at AS row_at, a.affiliate, a.campaign,
              a.outcome, j.created_at AS job_created_at
       FROM pw_postback_attempts a JOIN pw_postbacks j ON j.postback_id = a.postback_id
       WHERE a.attempt_id > :id ORDER BY a.attempt_id LIMIT :n"""
)
LAST_ATTEMPT = text("SELECT MAX(attempt_id) AS last FROM pw_postback_attempts")
# An attempt's outcome in the view -> the postbacks counter's (lease_lost counts nothing).
POSTBACK_OUTCOMES = {"delivered": "delivered", "failed": "failed", "dead_letter": "dead_lettered"}


class AffiliatesView(ViewsCollector):
    name = "views_affiliates"
    metrics = (
        c.AFFILIATE_REGISTRATIONS,
        c.AFFILIATE_FTDS,
        c.AFFILIATE_QUALIFIED_FTDS,
        c.POSTBACKS,
        c.POSTBACK_DELAY,
    )
    optional_views = ("pw_conversions", "pw_postback_attempts", "pw_postbacks")

    def zero_init(self) -> None:
        self.affiliate = FirstSeen(AFFILIATE, self.n_for(AFFILIATE))
        self.campaign = FirstSeen(CAMPAIGN, self.n_for(CAMPAIGN))
        self.pairs: set[tuple[str, str]] = set()

    def pair(self, affiliate: str | None, campaign: str | None) -> tuple[str, str]:
        """The labels of a referred player's funnel; a new pair's series start at zero."""
        labels = (self.affiliate(affiliate), self.campaign(campaign))
        if labels not in self.pairs:
            self.pairs.add(labels)
            for metric in (c.AFFILIATE_REGISTRATIONS, c.AFFILIATE_FTDS, c.AFFILIATE_QUALIFIED_FTDS):
                self.counters.zero(metric, labels)
            for outcome in c.POSTBACK_OUTCOME.values:
                self.counters.zero(c.POSTBACKS, (labels[0], outcome))
            self.counters.zero(c.POSTBACK_DELAY, (labels[0],))
        return labels

    def start(self, conn: Connection, now: datetime) -> None:
        self.players = Once(REGISTRATIONS, self.cutoff(now))
        self.conversions = Once(CONVERSIONS, self.cutoff(now))
        self.qualified = Once(QUALIFIED, self.cutoff(now))
        self.attempts = Appended(ATTEMPTS, LAST_ATTEMPT, conn)

    def advance(self, conn: Connection, now: datetime) -> None:
        # Each stream is counted as soon as it is read: a later read that fails leaves
        # the earlier ones' watermarks and counts consistent.
        cutoff, n = self.cutoff(now), self.batch_rows
        players = self.players.read(conn, cutoff, n)
        for row in players:
            if row.affiliate:
                self.counters.inc(c.AFFILIATE_REGISTRATIONS, self.pair(row.affiliate, row.campaign))
        conversions = self.conversions.read(conn, cutoff, n)
        for row in conversions:
            if row.conversion_type == "ftd":
                self.counters.inc(c.AFFILIATE_FTDS, self.pair(row.affiliate, row.campaign))
        qualified = self.qualified.read(conn, cutoff, n)
        for row in qualified:
            self.counters.inc(c.AFFILIATE_QUALIFIED_FTDS, self.pair(row.affiliate, row.campaign))
        attempts = self.attempts.read(conn, cutoff, n)
        for row in attempts:
            outcome = POSTBACK_OUTCOMES.get(row.outcome)
            if outcome is None:
                continue
            affiliate = self.pair(row.affiliate, row.campaign)[0]
            self.counters.inc(c.POSTBACKS, (affiliate, outcome))
            delay = seconds_between(row.job_created_at, row.row_at)
            if outcome == "delivered" and delay is not None:
                self.counters.observe(c.POSTBACK_DELAY, (affiliate,), delay)
        self.rows_read += len(players) + len(conversions) + len(qualified) + len(attempts)
