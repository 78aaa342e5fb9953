"""The contract views pitwatch reads: one declaration of every ``pw_*`` view a collector or
a reconciler queries, its columns and their types, and the product each view belongs to.

This is the list an operator's data engineer implements (docs/contract-views.md) and the
one ``pitwatch contract check`` verifies against a database. It cannot drift from the SQL:
tests/test_contract.py prepares every reader's statement against exactly these columns
(a view or column read but not declared fails) and drops each declared column in turn (a
column declared but read by nothing fails).

Column kinds:

- ``id``: an identifier, text or integer (never a metric label);
- ``integer``: an integer that is not money (an id that is compared or ordered);
- ``money``: an integer amount in minor units (``*_minor``); never numeric, never float;
- ``text``: text; with ``values``, the documented set (compared by pitwatch's SQL);
- ``boolean``;
- ``number``: a number that is not money (seconds), integer or not;
- ``timestamptz``: a timestamp WITH time zone (a naive one is read in the session's time
  zone, and stale-deposit ages and reconciliation days come out shifted).

``nullable``: the column must exist, but may be NULL in some rows (the docs say when).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ground.operator import PRODUCTS as PRODUCTS  # the products; each view is of one
from ground.vocabulary import TX_TYPES

KINDS = ("id", "integer", "money", "text", "boolean", "timestamptz", "number")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    nullable: bool = False
    values: tuple[str, ...] = ()  # the documented set, for text columns compared in SQL

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column {self.name}: kind {self.kind!r} is not one of {KINDS}")


@dataclass(frozen=True)
class View:
    name: str
    product: str
    columns: tuple[Column, ...]
    read_by: tuple[str, ...]  # what stops working without it
    about: str = ""

    def __post_init__(self) -> None:
        if self.product not in PRODUCTS:
            raise ValueError(f"view {self.name}: product {self.product!r} not in {PRODUCTS}")

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name}")


def _c(name: str, kind: str, *values: str, nullable: bool = False) -> Column:
    return Column(name, kind, nullable, tuple(values))


DEPOSIT_STATUSES = (
    "initiated",
    "pending",
    "timed_out",
    "approved",
    "declined",
    "failed",
    "chargeback",
    "chargeback_reversed",
    "refunded",
)
WITHDRAWAL_STATUSES = ("requested", "processing", "completed", "failed")
PLAYER_ACCOUNT_KINDS = ("cash", "bonus", "withdrawal_pending")
HOUSE_ACCOUNT_KINDS = ("psp_clearing", "sportsbook", "casino", "bonus_pool", "fees", "adjustments")
CALLBACK_OUTCOMES = (
    "applied",
    "duplicate",
    "out_of_order",
    "orphan",
    "amount_mismatch",
    "bad_signature",
    "invalid",
    "ignored",
)
CONVERSION_TYPES = ("registration", "ftd", "deposit", "revenue")
CONVERSION_STATES = ("pending", "approved", "rejected", "reversed")
POSTBACK_STATUSES = ("pending", "delivered", "dead_letter")
POSTBACK_ATTEMPT_OUTCOMES = ("delivered", "failed", "dead_letter", "lease_lost")
KYC_STATUSES = ("pending", "provider_unavailable", "manual_review", "approved", "rejected")
BET_STATUSES = (
    "placed",
    "accepted",
    "rejected",
    "void",
    "settled_won",
    "settled_lost",
    "cashed_out",
)
SETTLEMENT_ACTIONS = ("won", "lost", "void", "rollback", "cashout")
LAUNCH_OUTCOMES = ("launched", "failed", "pending")
ROUND_STATUSES = ("open", "completed", "cancelled")
CASINO_TX_KINDS = ("bet", "win", "rollback")
MARKET_STATUSES = ("active", "suspended", "settled", "cancelled")

STATE = "state collector"
RECON = "reconciliation"
VIEWS_MODE = "views mode (derived business counters)"

VIEWS: tuple[View, ...] = (
    View(
        "pw_players",
        "core",
        (
            _c("player_id", "id"),
            _c("affiliate", "text", nullable=True),
            _c("campaign", "text", nullable=True),
            _c("registered_at", "timestamptz"),
        ),
        (VIEWS_MODE,),
        "one row per player (registrations; affiliate and campaign of a referred one)",
    ),
    View(
        "pw_deposits",
        "core",
        (
            _c("deposit_id", "id"),
            _c("geo", "text"),
            _c("brand", "text"),
            _c("psp", "text"),
            _c("method", "text"),
            _c("psp_reference", "text", nullable=True),
            _c("currency", "text"),
            _c("amount_minor", "money"),
            _c("status", "text", *DEPOSIT_STATUSES),
            _c("created_at", "timestamptz"),
            _c("updated_at", "timestamptz"),
            _c("completed_at", "timestamptz", nullable=True),
        ),
        (f"{STATE} payments", f"{RECON} wallet_psp", VIEWS_MODE),
        "one row per deposit attempt",
    ),
    View(
        "pw_withdrawals",
        "core",
        (
            _c("withdrawal_id", "id"),
            _c("psp", "text"),
            _c("psp_reference", "text", nullable=True),
            _c("currency", "text"),
            _c("amount_minor", "money"),
            _c("status", "text", *WITHDRAWAL_STATUSES),
            _c("created_at", "timestamptz"),
            _c("updated_at", "timestamptz"),
            _c("completed_at", "timestamptz", nullable=True),
        ),
        (f"{STATE} payments", f"{RECON} wallet_psp", VIEWS_MODE),
        "one row per withdrawal",
    ),
    View(
        "pw_wallet_transactions",
        "core",
        (
            _c("transaction_id", "id"),
            _c("type", "text", *sorted(TX_TYPES)),
            _c("player_id", "id", nullable=True),
            _c("reference", "id", nullable=True),
            _c("flagged", "boolean"),
        ),
        (f"{STATE} ledger", f"{RECON} wallet_psp"),
        "one row per wallet transaction",
    ),
    View(
        "pw_ledger_entries",
        "core",
        (
            _c("entry_id", "integer"),
            _c("transaction_id", "id"),
            _c("account_id", "integer"),
            _c("account_owner", "id"),
            _c("account_kind", "text", *PLAYER_ACCOUNT_KINDS, *HOUSE_ACCOUNT_KINDS),
            _c("psp", "text", nullable=True),
            _c("currency", "text"),
            _c("amount_minor", "money"),
            _c("created_at", "timestamptz"),
        ),
        (f"{STATE} ledger", f"{RECON} wallet_psp, wallet_internal", "the full ledger check"),
        "append-only double-entry postings",
    ),
    View(
        "pw_balances",
        "core",
        (
            _c("account_id", "integer"),
            _c("account_owner", "id"),
            _c("account_kind", "text", *PLAYER_ACCOUNT_KINDS, *HOUSE_ACCOUNT_KINDS),
            _c("psp", "text", nullable=True),
            _c("currency", "text"),
            _c("balance_minor", "money"),
        ),
        (f"{STATE} ledger", f"{RECON} wallet_internal", "the full ledger check"),
        "one row per wallet account",
    ),
    View(
        "pw_callbacks",
        "core",
        (
            _c("callback_id", "integer"),
            _c("psp", "text"),
            _c("status", "text"),  # as the PSP sent it: no set of ours
            _c("outcome", "text", *CALLBACK_OUTCOMES),
            _c("event_id", "id", nullable=True),
            _c("merchant_reference", "id", nullable=True),
            _c("psp_reference", "text", nullable=True),
            _c("currency", "text", nullable=True),
            _c("amount_minor", "money", nullable=True),
            _c("occurred_at", "timestamptz", nullable=True),
            _c("received_at", "timestamptz"),
        ),
        (f"{RECON} wallet_psp (orphan callbacks)", VIEWS_MODE),
        "every PSP callback received",
    ),
    View(
        "pw_bets",
        "sportsbook",
        (
            _c("bet_id", "id"),
            _c("market_id", "id"),
            _c("sport", "text"),
            _c("status", "text", *BET_STATUSES),
            _c("reason", "text", nullable=True),
            _c("placed_at", "timestamptz"),
        ),
        (f"{STATE} sportsbook", VIEWS_MODE),
        "one row per bet",
    ),
    View(
        "pw_settlements",
        "sportsbook",
        (
            _c("settlement_id", "integer"),
            _c("sport", "text"),
            _c("action", "text", *SETTLEMENT_ACTIONS),
            _c("amount_minor", "money"),
            _c("currency", "text"),
            _c("settled_at", "timestamptz"),
            _c("settlement_lag_seconds", "number", nullable=True),
        ),
        (VIEWS_MODE,),
        "one row per settlement action on a bet (append-only)",
    ),
    View(
        "pw_feed_messages",
        "sportsbook",
        (
            _c("feed_message_id", "integer"),
            _c("message_type", "text"),
            _c("outcome", "text"),  # applied, duplicate, stale, ...: labels bound, no check
            _c("sport", "text"),
            _c("sent_at", "timestamptz", nullable=True),
            _c("received_at", "timestamptz"),
        ),
        (VIEWS_MODE,),
        "one row per odds feed message received (append-only)",
    ),
    View(
        "pw_markets",
        "sportsbook",
        (
            _c("market_id", "id"),
            _c("sport", "text"),
            _c("status", "text", *MARKET_STATUSES),
            _c("starts_at", "timestamptz"),
            _c("odds_updated_at", "timestamptz"),
            _c("result_at", "timestamptz", nullable=True),
        ),
        (f"{STATE} sportsbook",),
        "one row per betting market",
    ),
    View(
        "pw_game_launches",
        "casino",
        (
            _c("session_id", "id"),
            _c("provider", "text"),
            _c("outcome", "text", *LAUNCH_OUTCOMES),
            _c("reason", "text", nullable=True),
            _c("at", "timestamptz"),
        ),
        (VIEWS_MODE,),
        "one row per game launch",
    ),
    View(
        "pw_casino_rounds",
        "casino",
        (
            _c("round_id", "id"),
            _c("provider", "text"),
            _c("status", "text", *ROUND_STATUSES),
            _c("ended_at", "timestamptz", nullable=True),
            _c("result_delay_seconds", "number", nullable=True),
        ),
        (VIEWS_MODE,),
        "one row per game round",
    ),
    View(
        "pw_casino_transactions",
        "casino",
        (
            _c("casino_transaction_id", "id"),
            _c("provider", "text"),
            _c("kind", "text", *CASINO_TX_KINDS),
            _c("outcome", "text"),  # applied, or the refusal: no set of ours
            _c("created_at", "timestamptz"),
        ),
        (VIEWS_MODE,),
        "one row per seamless-wallet request of a provider (append-only)",
    ),
    View(
        "pw_casino_wallet_transactions",
        "casino",
        (
            _c("provider", "text"),
            _c("provider_transaction_id", "id"),
            _c("round_id", "id"),
            _c("player_ref", "text", nullable=True),
            _c("kind", "text", *CASINO_TX_KINDS),
            _c("amount_minor", "money"),
            _c("currency", "text"),
            _c("created_at", "timestamptz"),
            _c("game_id", "id", nullable=True),
            _c("round_status", "text", *ROUND_STATUSES, nullable=True),
        ),
        (f"{RECON} wallet_game_provider",),
        "one row per provider transaction the seamless wallet booked (applied, first answer)",
    ),
    View(
        "pw_conversions",
        "affiliates",
        (
            _c("conversion_id", "id"),
            _c("conversion_type", "text", *CONVERSION_TYPES),
            _c("state", "text", *CONVERSION_STATES),
            _c("affiliate", "text", nullable=True),
            _c("campaign", "text", nullable=True),
            _c("player_ref", "text"),
            _c("amount_minor", "money"),
            _c("currency", "text"),
            _c("occurred_at", "timestamptz"),
            _c("created_at", "timestamptz"),
            _c("qualified_at", "timestamptz", nullable=True),
        ),
        (f"{STATE} affiliates", f"{RECON} wallet_affiliate", VIEWS_MODE),
        "one row per affiliate conversion",
    ),
    View(
        "pw_postbacks",
        "affiliates",
        (
            _c("postback_id", "id"),
            _c("affiliate", "text"),
            _c("event", "text"),  # a conversion type, or one with _reversal
            _c("conversion_id", "id"),
            _c("status", "text", *POSTBACK_STATUSES),
            _c("created_at", "timestamptz"),
        ),
        (f"{STATE} affiliates", f"{RECON} wallet_affiliate", VIEWS_MODE),
        "one row per postback job",
    ),
    View(
        "pw_postback_attempts",
        "affiliates",
        (
            _c("attempt_id", "integer"),
            _c("postback_id", "id"),
            _c("affiliate", "text"),
            _c("campaign", "text", nullable=True),
            _c("outcome", "text", *POSTBACK_ATTEMPT_OUTCOMES),
            _c("attempted_at", "timestamptz"),
        ),
        (VIEWS_MODE,),
        "one row per postback HTTP attempt (append-only)",
    ),
    View(
        "pw_kyc_checks",
        "kyc",
        (_c("status", "text", *KYC_STATUSES), _c("requested_at", "timestamptz")),
        (f"{STATE} kyc",),
        "one row per identity verification",
    ),
    View(
        "pw_outbox",
        "outbox",
        (_c("outbox_id", "integer"), _c("occurred_at", "timestamptz")),
        (f"{STATE} outbox",),
        "the transactional outbox of domain events",
    ),
    View(
        "pw_outbox_cursors",
        "outbox",
        (_c("consumer", "text"), _c("last_id", "integer")),
        (f"{STATE} outbox",),
        "each outbox consumer's durable cursor",
    ),
)

BY_NAME: dict[str, View] = {v.name: v for v in VIEWS}

# Documented views that pitwatch reads nowhere today (the views mode of issue 19 §2 will
# derive business counters from some of them); contract check does not require them.
UNREAD_VIEWS = (
    "pw_clicks",
    "pw_bonuses",
)


def view(name: str) -> View:
    """The declared view ``name``; KeyError when pitwatch does not read it."""
    return BY_NAME[name]


# What only views mode reads (collectors/views: the business counters derived from the
# views, docs/metrics.md): whole views, and columns of views the rest of pitwatch reads too.
# A platform that keeps its own instrumentation (views mode off) need not provide them;
# tests/test_contract.py keeps these sets equal to what only views mode's SQL reads.
VIEWS_MODE_VIEWS = frozenset(
    {
        "pw_casino_rounds",
        "pw_casino_transactions",
        "pw_feed_messages",
        "pw_game_launches",
        "pw_players",
        "pw_postback_attempts",
        "pw_settlements",
    }
)
VIEWS_MODE_COLUMNS = frozenset(
    {
        ("pw_deposits", "geo"),
        ("pw_deposits", "brand"),
        ("pw_deposits", "method"),
        ("pw_deposits", "updated_at"),
        ("pw_withdrawals", "updated_at"),
        ("pw_bets", "bet_id"),
        ("pw_bets", "sport"),
        ("pw_bets", "reason"),
        ("pw_bets", "placed_at"),
        ("pw_conversions", "created_at"),
    }
)


# What only the wallet ⟷ game provider reconciliation reads: a casino platform that does not
# reconcile with its game providers (no game reports folder) need not provide it.
GAME_RECON_VIEWS = frozenset({"pw_casino_wallet_transactions"})


def needed_columns(view: View, views_mode: bool) -> tuple[Column, ...]:
    """The columns of ``view`` a platform must provide (views mode's too when it is on)."""
    if views_mode:
        return view.columns
    return tuple(c for c in view.columns if (view.name, c.name) not in VIEWS_MODE_COLUMNS)


def views_for(products: Iterable[str]) -> tuple[View, ...]:
    """The views the given products need (core is always needed)."""
    wanted = {"core", *products}
    unknown = sorted(wanted - set(PRODUCTS))
    if unknown:
        raise ValueError(f"unknown products {unknown}; products are {', '.join(PRODUCTS)}")
    return tuple(v for v in VIEWS if v.product in wanted)
