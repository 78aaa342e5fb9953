"""Seed Lagoon's example platform (schema.sql) with a few days of data and PLANTED problems,
and write the PSPs' settlement reports of the reconciled day in pitwatch's format
(docs/psp-settlement-report.md). README.md lists every planted problem and the exact value
pitwatch must report for it.

    python examples/lagoon/seed.py --database postgresql://postgres@127.0.0.1/lagoon \\
        --schema lagoon --psp-reports var/lagoon/psp-reports

With ``--traffic`` it adds, to a seeded schema, a few seconds of live traffic instead (the
five seconds before ``--now``): deposits, a withdrawal, casino launches and spins, a
referred registration and postback tries, for views mode (README.md, "Views mode"), which
counts only what happens after the exporter starts.

Times are relative to ``--now`` (default: the current time, UTC); the reconciled day is
the UTC day two days before it, so that its movements are older than the settlement
window (24 h in operator.toml) whenever the reconciliation runs that day. The schema must
be empty: seed once. Writes to the platform's schema as Lagoon's own code would; pitwatch
itself never writes there.
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import psycopg

CUSTOMERS = (  # handle, country, brand
    ("lg-001", "PT", "lagoon"),
    ("lg-002", "PT", "lagoon"),
    ("lg-003", "CZ", "lagoonbet"),
    ("lg-004", "NZ", "lagoon"),
    ("lg-005", "PT", "lagoonbet"),
    ("lg-006", "CZ", "lagoon"),
)
CURRENCY = "EUR"
STUDIO = "reelhouse"  # Lagoon's game studio (a game provider of operator.toml)
WAGERS = 1_100  # casino rounds of lg-005, 0.10 EUR each: 2,200 journal lines
WAGER = Decimal("0.10")
TAMPER = Decimal("10.00")  # added to lg-005's stored balance: the balance mismatch
# PSP fees in the settlement reports (Settled: a rate; Payout: a fixed fee).
FEES = {"tidepay": (Decimal("0.015"), Decimal("0")), "kiwiflow": (Decimal("0.02"), Decimal("0.50"))}
BATCHES = {"tidepay": 501, "kiwiflow": 77}
REPORT_COLUMNS = (
    "psp", "psp_reference", "merchant_reference", "type", "created_at", "settled_at",
    "gross_currency", "gross_amount", "net_currency", "net_amount", "fee_amount",
    "exchange_rate", "batch_number",
)  # fmt: skip


class SeedError(Exception):
    """Bad input: one line, exit 2."""


def naive(at: datetime) -> datetime:
    """Lagoon stores naive timestamps holding UTC."""
    return at.astimezone(UTC).replace(tzinfo=None)


def iso_ms(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


class Lagoon:
    """Inserts as Lagoon's platform would: postings with balanced journal lines."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.customer: dict[str, int] = {}
        self.main: dict[str, int] = {}
        self.hold: dict[str, int] = {}
        self.house: dict[str, int] = {}
        self.postings = 0
        self.last_posting = 0  # the id of the newest posting
        # Keep wallets.balance up to date on every posting (live traffic); the first seed
        # settles every balance once at its end instead.
        self.book_balances = False

    def one(self, sql: str, *args: object) -> int:
        row = self.conn.execute(sql, args).fetchone()
        assert row is not None
        return int(row[0])

    def setup(self, created: datetime) -> None:
        for handle, country, brand in CUSTOMERS:
            self.customer[handle] = self.one(
                "INSERT INTO customers (handle, country, currency, brand, created) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                handle, country, CURRENCY, brand, naive(created),
            )  # fmt: skip
        for kind, into in (("MAIN", self.main), ("HOLD", self.hold)):
            for handle in self.customer:
                into[handle] = self.wallet(kind, self.customer[handle], None, "C")
        for gateway in ("tidepay", "kiwiflow"):
            self.house[gateway] = self.wallet("PSP", None, gateway, "D")
        self.house["GAME"] = self.wallet("GAME", None, None, "C")
        self.house["ADJ"] = self.wallet("ADJ", None, None, "C")

    def load(self) -> None:
        """The customers and wallets of an already seeded schema (live traffic)."""
        for handle, cid in self.conn.execute("SELECT handle, id FROM customers"):
            self.customer[handle] = cid
        rows = self.conn.execute(
            "SELECT w.id, w.kind, w.gateway, c.handle FROM wallets w "
            "LEFT JOIN customers c ON c.id = w.customer_id"
        ).fetchall()
        for wid, kind, gateway, handle in rows:
            if kind == "MAIN":
                self.main[handle] = wid
            elif kind == "HOLD":
                self.hold[handle] = wid
            else:
                self.house[gateway or kind] = wid
        row = self.conn.execute("SELECT count(*) FROM postings").fetchone()
        self.postings = int(row[0]) if row else 0

    def join(self, handle: str, country: str, brand: str, created: datetime) -> None:
        """A new customer with its cash and payout-hold wallets."""
        self.customer[handle] = self.one(
            "INSERT INTO customers (handle, country, currency, brand, created) "
            "VALUES (%s, %s, %s, %s, %s) RETURNING id",
            handle, country, CURRENCY, brand, naive(created),
        )  # fmt: skip
        self.main[handle] = self.wallet("MAIN", self.customer[handle], None, "C")
        self.hold[handle] = self.wallet("HOLD", self.customer[handle], None, "C")

    def wallet(self, kind: str, customer: int | None, gateway: str | None, side: str) -> int:
        return self.one(
            "INSERT INTO wallets (customer_id, kind, gateway, currency, normal_side) "
            "VALUES (%s, %s, %s, %s, %s) RETURNING id",
            customer, kind, gateway, CURRENCY, side,
        )  # fmt: skip

    def post(
        self,
        kind: str,
        handle: str | None,
        at: datetime,
        lines: list[tuple[int, Decimal, Decimal]],  # (wallet, debit, credit)
        ref: str | None = None,
    ) -> str:
        self.postings += 1
        posting_ref = f"LG-TX-{self.postings:05d}"
        posting = self.one(
            "INSERT INTO postings (posting_ref, kind, customer_id, ref, posted_at) "
            "VALUES (%s, %s, %s, %s, %s) RETURNING id",
            posting_ref, kind, self.customer.get(handle or ""), ref, naive(at),
        )  # fmt: skip
        self.last_posting = posting
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO journal (posting_id, wallet_id, debit, credit, booked_at) "
                "VALUES (%s, %s, %s, %s, %s)",
                [(posting, w, d, c, naive(at)) for w, d, c in lines],
            )
            if self.book_balances:
                cur.executemany(
                    "UPDATE wallets SET balance = balance + CASE normal_side "
                    "WHEN 'C' THEN %(c)s - %(d)s ELSE %(d)s - %(c)s END WHERE id = %(w)s",
                    [{"w": w, "d": d, "c": c} for w, d, c in lines],
                )
        return posting_ref

    def payin(
        self, ref: str, handle: str, gateway: str, amount: str, state: str,
        opened: datetime, closed: datetime | None = None, instrument: str = "CARD",
    ) -> None:  # fmt: skip
        value = Decimal(amount)
        gateway_ref = f"{gateway[:2]}-{ref.lower()}"
        self.conn.execute(
            "INSERT INTO payins (ref, customer_id, gateway, instrument, gateway_ref, currency, "
            "amount, state, opened_at, closed_at, state_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (ref, self.customer[handle], gateway, instrument, gateway_ref, CURRENCY, value,
             state, naive(opened), naive(closed) if closed else None, naive(closed or opened)),
        )  # fmt: skip
        if closed is not None:
            self.notify(gateway, "AUTHORISED" if state == "OK" else "REFUSED", ref,
                        gateway_ref, value, closed)  # fmt: skip
        if state == "OK":
            assert closed is not None
            self.post("PAYIN", handle, closed, [
                (self.house[gateway], value, Decimal(0)),
                (self.main[handle], Decimal(0), value),
            ], ref)  # fmt: skip

    def payout(
        self, ref: str, handle: str, gateway: str, amount: str, state: str,
        opened: datetime, closed: datetime | None = None,
    ) -> None:  # fmt: skip
        value = Decimal(amount)
        gateway_ref = f"{gateway[:2]}-{ref.lower()}" if state != "QUEUED" else None
        self.conn.execute(
            "INSERT INTO payouts (ref, customer_id, gateway, gateway_ref, currency, amount, "
            "state, opened_at, closed_at, state_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (ref, self.customer[handle], gateway, gateway_ref, CURRENCY, value, state,
             naive(opened), naive(closed) if closed else None, naive(closed or opened)),
        )  # fmt: skip
        self.post("PAYOUT_HOLD", handle, opened, [
            (self.main[handle], value, Decimal(0)),
            (self.hold[handle], Decimal(0), value),
        ], ref)  # fmt: skip
        if state == "PAID":
            assert closed is not None and gateway_ref is not None
            self.notify(gateway, "PAID", ref, gateway_ref, value, closed)
            self.post("PAYOUT", handle, closed, [
                (self.hold[handle], value, Decimal(0)),
                (self.house[gateway], Decimal(0), value),
            ], ref)  # fmt: skip

    def notify(
        self, gateway: str, state: str, ref: str, gateway_ref: str, value: Decimal, at: datetime
    ) -> None:
        self.conn.execute(
            "INSERT INTO gateway_notifications (gateway, gateway_state, result, event_key, "
            "merchant_ref, gateway_ref, currency, amount, occurred, received) "
            "VALUES (%s, %s, 'APPLIED', %s, %s, %s, %s, %s, %s, %s)",
            (gateway, state, f"{gateway_ref}:{state}", ref, gateway_ref, CURRENCY, value,
             naive(at), naive(at + timedelta(seconds=2))),
        )  # fmt: skip

    def referral(
        self, handle: str, partner: str, campaign: str, kind: str, amount: str,
        at: datetime, ping: str | None,
    ) -> None:  # fmt: skip
        """A referral, confirmed at once; its ping queued then, and when ``ping`` is SENT
        taken by the partner at the first try, a second later."""
        rid = self.one(
            "INSERT INTO referrals (customer_id, player_tag, partner, campaign, kind, state, "
            "amount, currency, happened_at, confirmed_at) "
            "VALUES (%s, %s, %s, %s, %s, 'OK', %s, %s, %s, %s) RETURNING id",
            self.customer[handle], f"tag-{handle[-3:]}", partner, campaign, kind,
            Decimal(amount), CURRENCY, naive(at), naive(at),
        )  # fmt: skip
        if ping is not None:
            ping_id = self.one(
                "INSERT INTO partner_pings (referral_id, partner, event, result, queued_at) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                rid, partner, kind, ping, naive(at),
            )  # fmt: skip
            if ping == "SENT":
                self.try_ping(ping_id, 200, "OK", at + timedelta(seconds=1))

    def try_ping(self, ping_id: int, http_code: int | None, verdict: str, at: datetime) -> None:
        self.conn.execute(
            "INSERT INTO ping_tries (ping_id, http_code, verdict, tried_at) "
            "VALUES (%s, %s, %s, %s)",
            (ping_id, http_code, verdict, naive(at)),
        )

    def session(self, handle: str, launch: str, at: datetime, fail_code: str | None = None) -> int:
        """A game session opened at reelhouse (Lagoon's studio)."""
        return self.one(
            "INSERT INTO game_sessions (customer_id, studio, game_code, launch, fail_code, "
            "opened) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
            self.customer[handle], STUDIO, "tide-slots", launch, fail_code, naive(at),
        )  # fmt: skip

    def spin(
        self, session: int, handle: str, studio_ref: str, state: str, first_bet: datetime,
        finished: datetime | None, calls: list[tuple[str, str, Decimal, datetime]],
    ) -> None:  # fmt: skip
        """A spin and the studio's calls on it (action, verdict, amount, at); an OK call
        moves money as Lagoon's wallet does: DEBIT a WAGER, CREDIT a WIN, UNDO the bet back."""
        spin = self.one(
            "INSERT INTO spins (session_id, studio_ref, state, first_bet, finished) "
            "VALUES (%s, %s, %s, %s, %s) RETURNING id",
            session, studio_ref, state, naive(first_bet), naive(finished) if finished else None,
        )  # fmt: skip
        zero = Decimal(0)
        for action, verdict, amount, at in calls:
            posting = None
            if verdict == "OK":
                player, game = self.main[handle], self.house["GAME"]
                lines = [(player, amount, zero), (game, zero, amount)]
                if action != "DEBIT":  # a win or a bet given back: the game pays the player
                    lines = [(game, amount, zero), (player, zero, amount)]
                kind = {"DEBIT": "WAGER", "CREDIT": "WIN", "UNDO": "UNDO"}[action]
                self.post(kind, handle, at, lines, studio_ref)
                posting = self.last_posting
            self.conn.execute(
                "INSERT INTO studio_calls (studio, spin_id, action, verdict, amount, posting_id, "
                "received) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (STUDIO, spin, action, verdict, amount, posting, naive(at)),
            )

    def settle_balances(self) -> None:
        """Every wallet's stored balance, on its normal side, from its journal lines."""
        self.conn.execute(
            """UPDATE wallets w SET balance = coalesce((
                   SELECT sum(CASE w.normal_side WHEN 'C' THEN j.credit - j.debit
                                                 ELSE j.debit - j.credit END)
                   FROM journal j WHERE j.wallet_id = w.id), 0)"""
        )


def seed(conn: psycopg.Connection, now: datetime) -> tuple[date, list[dict[str, str]]]:
    """The data, relative to ``now``; the reconciled day and its settlement report rows."""
    if conn.execute("SELECT count(*) FROM customers").fetchone() != (0,):
        raise SeedError("the schema already has customers: seed an empty schema once")
    day = (now - timedelta(days=2)).date()

    def on_day(hh: int, mm: int, ss: int = 0) -> datetime:
        return datetime.combine(day, time(hh, mm, ss), tzinfo=UTC)

    lg = Lagoon(conn)
    lg.setup(now - timedelta(days=10))
    zero = Decimal(0)

    # PLANTED: an old unbalanced transaction. A manual correction, three days ago, that
    # debits the adjustments account 25.00 and credits lg-001 20.00 (a typo): its entries
    # sum to -5.00. It is the oldest posting: the 2,200 casino lines below push it out of
    # the state exporter's window; the full ledger check finds it.
    lg.post("CORRECTION", "lg-001", now - timedelta(days=3), [
        (lg.house["ADJ"], Decimal("25.00"), zero),
        (lg.main["lg-001"], zero, Decimal("20.00")),
    ])  # fmt: skip

    # The reconciled day's deposits (all approved ones settle in that day's reports).
    lg.payin("PI-1001", "lg-001", "tidepay", "50.00", "OK", on_day(9, 0), on_day(9, 0, 30))
    lg.payin("PI-1002", "lg-002", "tidepay", "120.00", "OK", on_day(10, 0), on_day(10, 0, 30))
    lg.payin("PI-1003", "lg-003", "tidepay", "75.00", "OK", on_day(11, 0), on_day(11, 0, 30))
    lg.payin("PI-1004", "lg-004", "tidepay", "30.00", "KO", on_day(12, 0), on_day(12, 0, 30))
    lg.payin("PI-1005", "lg-004", "tidepay", "100.00", "OK", on_day(12, 5), on_day(12, 5, 30))
    lg.payin("PI-2001", "lg-005", "kiwiflow", "200.00", "OK", on_day(13, 0), on_day(13, 0, 30))
    lg.payin("PI-2002", "lg-006", "kiwiflow", "200.00", "OK", on_day(14, 0), on_day(14, 0, 30))
    lg.payout("PO-3001", "lg-006", "kiwiflow", "40.00", "PAID", on_day(15, 0), on_day(16, 0))

    # PLANTED: stuck withdrawals, past Lagoon's 12 h SLA (not past the default 24 h).
    lg.payout("PO-3002", "lg-002", "tidepay", "25.00", "SENT", now - timedelta(hours=13))
    lg.payout("PO-3003", "lg-003", "tidepay", "15.00", "QUEUED", now - timedelta(hours=20))
    lg.payout("PO-3004", "lg-004", "kiwiflow", "10.00", "QUEUED", now - timedelta(hours=1))

    # PLANTED: stale pending deposits, past Lagoon's 5-minute cutoff (operator.toml; with
    # the default 15 minutes only two of them would count).
    lg.payin("PI-1101", "lg-001", "tidepay", "10.00", "WAIT", now - timedelta(minutes=10))
    lg.payin("PI-1102", "lg-002", "tidepay", "20.00", "WAIT", now - timedelta(minutes=20))
    lg.payin("PI-1103", "lg-003", "tidepay", "30.00", "WAIT", now - timedelta(minutes=40))
    lg.payin("PI-2101", "lg-004", "kiwiflow", "15.00", "NEW", now - timedelta(minutes=8))
    # Final answers, not pending: not counted.
    lg.payin("PI-1104", "lg-005", "tidepay", "5.00", "KO",
             now - timedelta(minutes=30), now - timedelta(minutes=29))  # fmt: skip
    lg.payin("PI-2102", "lg-006", "kiwiflow", "5.00", "ERR",
             now - timedelta(minutes=50), now - timedelta(minutes=49))  # fmt: skip

    # Casino rounds of lg-005 on the day after the reconciled one: spins of 0.10 each at
    # reelhouse, all lost, each ended two seconds after its bet.
    start = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=UTC)
    session = lg.session("lg-005", "READY", start - timedelta(seconds=5))
    for i in range(WAGERS):
        at = start + timedelta(minutes=i)
        lg.spin(session, "lg-005", f"rh-{i + 1:05d}", "DONE", at, at + timedelta(seconds=2),
                [("DEBIT", "OK", WAGER, at)])  # fmt: skip

    # Affiliates: lg-001's FTD (aff-7) was pinged; PLANTED: lg-002's (aff-9) never was
    # delivered (its ping still queued): an FTD postback gap.
    lg.referral("lg-001", "aff-7", "spring", "SIGNUP", "0", now - timedelta(days=10), "SENT")
    lg.referral("lg-002", "aff-9", "summer", "SIGNUP", "0", now - timedelta(days=10), "SENT")
    lg.referral("lg-001", "aff-7", "spring", "FIRSTDEP", "50.00", on_day(9, 0, 30), "SENT")
    lg.referral("lg-002", "aff-9", "summer", "FIRSTDEP", "120.00", on_day(10, 0, 30), "QUEUED")
    # (its one try, a minute later, had no answer: still QUEUED, to be tried again)
    lg.try_ping(queued_ping(conn, "lg-002"), None, "RETRY", on_day(10, 1, 30))

    # KYC: everyone passed but lg-006, in manual review for two hours.
    for handle, _country, _brand in CUSTOMERS:
        outcome, asked = ("REVIEW", now - timedelta(hours=2)) if handle == "lg-006" else (
            "PASS", now - timedelta(days=10))  # fmt: skip
        conn.execute(
            "INSERT INTO id_checks (customer_id, outcome, asked_at) VALUES (%s, %s, %s)",
            (lg.customer[handle], outcome, naive(asked)),
        )

    lg.settle_balances()
    # PLANTED: a balance mismatch. lg-005's stored balance is 10.00 more than its entries.
    conn.execute("UPDATE wallets SET balance = balance + %s WHERE id = %s",
                 (TAMPER, lg.main["lg-005"]))  # fmt: skip
    return day, report_rows(conn, day)


def queued_ping(conn: psycopg.Connection, handle: str) -> int:
    """The id of the customer's FTD ping still queued (lg-002's, PLANTED)."""
    row = conn.execute(
        "SELECT p.id FROM partner_pings p JOIN referrals r ON r.id = p.referral_id "
        "JOIN customers c ON c.id = r.customer_id "
        "WHERE c.handle = %s AND r.kind = 'FIRSTDEP' AND p.result = 'QUEUED'",
        (handle,),
    ).fetchone()
    if row is None:
        raise SeedError(f"no queued FTD ping of {handle}: was this schema seeded here?")
    return int(row[0])


# Live traffic for views mode (README.md, "Views mode"): what `--traffic` adds to a seeded
# schema, all of it in the TRAFFIC_SECONDS before --now. Deposits: (ref, customer,
# gateway, instrument, amount, final state); lg-007 is a new customer (NZ), referred by
# aff-7, and PI-2201 is its first deposit.
TRAFFIC_SECONDS = 5
NEWCOMER = ("lg-007", "NZ", "lagoon")
TRAFFIC_PAYINS = (
    ("PI-1201", "lg-001", "tidepay", "CARD", "25.00", "OK"),
    ("PI-1202", "lg-002", "tidepay", "MBWAY", "40.00", "OK"),
    ("PI-1203", "lg-005", "tidepay", "CARD", "15.00", "KO"),
    ("PI-1204", "lg-003", "tidepay", "CARD", "20.00", "ERR"),
    ("PI-2201", "lg-007", "kiwiflow", "POLI", "60.00", "OK"),
    ("PI-2202", "lg-004", "kiwiflow", "POLI", "35.00", "KO"),
    ("PI-2203", "lg-006", "kiwiflow", "CARD", "30.00", "OK"),
)


def traffic(conn: psycopg.Connection, now: datetime) -> str:
    """A few seconds of live traffic on a seeded schema, all of it between ``now`` −
    TRAFFIC_SECONDS and ``now`` (what views mode counts once it is 10 s old); a summary."""
    if conn.execute("SELECT count(*) FROM customers").fetchone() == (0,):
        raise SeedError("--traffic: the schema has no customers: seed it first, without --traffic")
    if conn.execute("SELECT 1 FROM customers WHERE handle = %s", (NEWCOMER[0],)).fetchone():
        raise SeedError("--traffic: this schema already has its live traffic: add it once")
    lg = Lagoon(conn)
    lg.load()
    lg.book_balances = True
    t0 = now - timedelta(seconds=TRAFFIC_SECONDS)

    def at(seconds: float) -> datetime:
        return t0 + timedelta(seconds=seconds)

    # lg-007 registers through aff-7's spring campaign; its ping is taken at once.
    lg.join(*NEWCOMER, at(0))
    lg.referral("lg-007", "aff-7", "spring", "SIGNUP", "0", at(0), "SENT")
    # Deposits, 0.2 s apart, each answered a second later (callback 2 s after that).
    for i, (ref, handle, gateway, instrument, amount, state) in enumerate(TRAFFIC_PAYINS):
        opened = at(0.5 + 0.2 * i)
        lg.payin(ref, handle, gateway, amount, state, opened, opened + timedelta(seconds=1),
                 instrument)  # fmt: skip
        if ref == "PI-2201":  # lg-007's FTD, pinged to aff-7
            lg.referral("lg-007", "aff-7", "spring", "FIRSTDEP", amount,
                        opened + timedelta(seconds=1), "SENT")  # fmt: skip
    # lg-002's queued FTD ping is tried again: the partner answers 503.
    lg.try_ping(queued_ping(conn, "lg-002"), 503, "RETRY", at(3))
    # lg-001 cashes out 10.00 with tidepay: paid a second later.
    lg.payout("PO-3201", "lg-001", "tidepay", "10.00", "PAID", at(1), at(2))
    # The casino: lg-003's launch fails (the studio is down); lg-005 plays three spins:
    # a win (and the studio's replay of it), a loss, one the studio voids (its bet undone).
    lg.session("lg-003", "FAILED", at(0.5), "STUDIO_DOWN")
    session = lg.session("lg-005", "READY", at(1))
    one, win = Decimal("1.00"), Decimal("2.50")
    lg.spin(session, "lg-005", "rh-live-1", "DONE", at(1.5), at(3.5), [
        ("DEBIT", "OK", one, at(1.5)), ("CREDIT", "OK", win, at(3.5)),
        ("CREDIT", "DUP", win, at(3.6)),
    ])  # fmt: skip
    lg.spin(session, "lg-005", "rh-live-2", "DONE", at(2), at(3),
            [("DEBIT", "OK", one, at(2))])  # fmt: skip
    lg.spin(session, "lg-005", "rh-live-3", "VOID", at(2.5), at(4), [
        ("DEBIT", "OK", one, at(2.5)), ("UNDO", "OK", one, at(4)),
    ])  # fmt: skip
    counts = f"{len(TRAFFIC_PAYINS)} deposits, 1 withdrawal, 2 game launches, 3 spins"
    return f"{counts}, 1 registration, 3 postback tries, {iso_ms(t0)} to {iso_ms(now)}"


def report_rows(conn: psycopg.Connection, day: date) -> list[dict[str, str]]:
    """What the PSPs settled on ``day``, from Lagoon's own records, with two PLANTED
    discrepancies: tidepay leaves out PI-1003; kiwiflow reports PI-2001 as 199.00 (the
    wallet booked 200.00)."""
    settled = datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
    rows: list[dict[str, str]] = []
    movements = conn.execute(
        """SELECT gateway, gateway_ref, ref, 'Settled', opened_at, closed_at, amount FROM payins
           WHERE state = 'OK' AND closed_at >= %(d0)s AND closed_at < %(d1)s
           UNION ALL
           SELECT gateway, gateway_ref, ref, 'Payout', opened_at, closed_at, -amount FROM payouts
           WHERE state = 'PAID' AND closed_at >= %(d0)s AND closed_at < %(d1)s
           ORDER BY 6, 2""",
        {"d0": datetime.combine(day, time(0)), "d1": datetime.combine(day, time(0)) + timedelta(1)},
    ).fetchall()
    for gateway, gateway_ref, ref, kind, opened, _closed, amount in movements:
        if ref == "PI-1003":
            continue  # PLANTED: the missing row
        gross = Decimal("199.00") if ref == "PI-2001" else Decimal(amount)  # PLANTED
        rate, payout_fee = FEES[gateway]
        fee = -(abs(gross) * rate).quantize(Decimal("0.01"), ROUND_HALF_UP)
        if kind == "Payout":
            fee = -payout_fee
        rows.append({
            "psp": gateway, "psp_reference": gateway_ref, "merchant_reference": ref,
            "type": kind, "created_at": iso_ms(opened.replace(tzinfo=UTC)),
            "settled_at": iso_ms(settled), "gross_currency": CURRENCY,
            "gross_amount": money(gross), "net_currency": CURRENCY,
            "net_amount": money(gross + fee), "fee_amount": money(fee),
            "exchange_rate": "1", "batch_number": str(BATCHES[gateway]),
        })  # fmt: skip
    return rows


def write_reports(folder: Path, day: date, rows: list[dict[str, str]]) -> list[Path]:
    """One file per PSP (header only when it settled nothing), written atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for psp in FEES:
        path = folder / f"{psp}-settlement-{day.isoformat()}.csv"
        partial = path.with_suffix(".csv.part")
        with partial.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, REPORT_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(r for r in rows if r["psp"] == psp)
        partial.replace(path)
        written.append(path)
    return written


def conninfo(url: str) -> str:
    """A libpq URL from an SQLAlchemy one too (postgresql+psycopg://...)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise SeedError(f"--database: not a PostgreSQL URL: {url!r}")
    return f"postgresql://{rest}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Seed Lagoon's example platform with planted problems and write the "
        "PSP settlement reports of the reconciled day (examples/lagoon/README.md)."
    )
    parser.add_argument(
        "--database", required=True, help="PostgreSQL URL of a login that may write its schema"
    )
    parser.add_argument("--schema", default="lagoon", help="Lagoon's schema (default lagoon)")
    parser.add_argument(
        "--psp-reports", type=Path, help="folder for the settlement reports (required to seed)"
    )
    parser.add_argument("--now", help="ISO time the data is relative to (default: now, UTC)")
    parser.add_argument(
        "--traffic",
        action="store_true",
        help=f"instead, add a few seconds of live traffic (the {TRAFFIC_SECONDS} s before "
        "--now) to a seeded schema, for views mode (README.md, 'Views mode')",
    )
    args = parser.parse_args(argv)
    try:
        now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
        if now.tzinfo is None:
            raise SeedError(f"--now {args.now!r}: give a time zone (e.g. +00:00)")
        if not args.traffic and args.psp_reports is None:
            raise SeedError("--psp-reports: required (the folder for the settlement reports)")
        with psycopg.connect(conninfo(args.database)) as conn:
            conn.execute("SELECT set_config('search_path', %s, true)", (args.schema,))
            if args.traffic:
                summary = traffic(conn, now.astimezone(UTC))
            else:
                day, rows = seed(conn, now.astimezone(UTC))
        if args.traffic:
            print(f"live traffic in {args.schema}: {summary}")
            return 0
        paths = write_reports(args.psp_reports, day, rows)
    except (SeedError, ValueError) as exc:
        print(f"seed: {exc}", file=sys.stderr)
        return 2
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()
        print(f"seed: {first[0] if first else type(exc).__name__}", file=sys.stderr)
        return 2
    print(f"seeded {args.schema}; reconcile day {day.isoformat()}; reports: "
          + ", ".join(str(p) for p in paths))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
