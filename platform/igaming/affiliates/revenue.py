"""Daily revenue conversions: GGR and NGR per attributed player per day, from the ledger.

Read from the contract views pw_ledger_entries and pw_wallet_transactions. GGR is what
the products' house accounts (sportsbook, casino) kept from the player's transactions:
stakes - wins - voided stakes refunded - casino bets rolled back, + settlement rollbacks.
NGR = GGR - bonus cost - payment fees - chargebacks, the last two from the entries on the
player's cash and bonus accounts (the player's sign reversed). Payment fees are not in the
ledger and count as 0 (docs/affiliates.md).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import String, case, column, func, select, table

from ground.sqltypes import UTCDateTime
from igaming.affiliates.conversions import new_conversion
from igaming.affiliates.models import Attribution
from igaming.affiliates.outbox_consumer import consume_all
from igaming.bootstrap import Platform
from igaming.wallet.accounts import HOUSE
from igaming.wallet.service import PRODUCTS

# Bonus cost is what was granted less what was forfeited back to the pool; a conversion
# moves bonus to cash within the player's accounts and nets to zero here.
BONUS_TYPES = ("bonus_grant", "bonus_forfeit")
COST_TYPES = (*BONUS_TYPES, "chargeback")
PAYMENT_FEES = 0  # unknown to the ledger; see the module docstring

entries = table(
    "pw_ledger_entries",
    column("transaction_id", String),
    column("account_owner", String),
    column("account_kind", String),
    column("transaction_type", String),
    column("currency", String),
    column("amount_minor"),
    column("created_at", UTCDateTime()),
)
transactions = table(
    "pw_wallet_transactions",
    column("transaction_id", String),
    column("player_id", String),
)


def _sum_of(types: tuple[str, ...], sign: int):
    amount = entries.c.amount_minor * sign
    return func.coalesce(
        func.sum(case((entries.c.transaction_type.in_(types), amount), else_=0)), 0
    )


def _ggr(start: datetime, end: datetime):
    """GGR per (player, currency), from the products' side of each movement.

    By transaction type it cannot be told apart: a voided bet's refund is a ``reversal``,
    and so is a deposit refund. Every movement between a player and a product, and only
    those, has an entry on the product's house account, whatever its type.
    """
    return (
        select(
            transactions.c.player_id,
            entries.c.currency,
            func.coalesce(func.sum(entries.c.amount_minor), 0),
        )
        .select_from(
            entries.join(transactions, transactions.c.transaction_id == entries.c.transaction_id)
        )
        .where(
            entries.c.account_owner == HOUSE,
            entries.c.account_kind.in_(PRODUCTS),
            entries.c.created_at >= start,
            entries.c.created_at < end,
            transactions.c.player_id.in_(select(Attribution.player_id)),
        )
        .group_by(transactions.c.player_id, entries.c.currency)
    )


def _costs(start: datetime, end: datetime):
    """(bonus cost, chargebacks) per (player, currency), from the player's accounts."""
    return (
        select(
            entries.c.account_owner,
            entries.c.currency,
            _sum_of(BONUS_TYPES, 1),
            _sum_of(("chargeback",), -1),
        )
        .where(
            entries.c.account_kind.in_(("cash", "bonus")),
            entries.c.transaction_type.in_(COST_TYPES),
            entries.c.created_at >= start,
            entries.c.created_at < end,
            entries.c.account_owner.in_(select(Attribution.player_id)),
        )
        .group_by(entries.c.account_owner, entries.c.currency)
    )


def daily_figures(p: Platform, day: date) -> list[tuple[str, str, int, int, int]]:
    """(player_id, currency, ggr, bonus_cost, chargebacks) of attributed players on ``day``,
    a row for each player and currency with any of the three, ordered."""
    start = datetime.combine(day, time(), tzinfo=UTC)
    end = start + timedelta(days=1)
    figures: dict[tuple[str, str], list[int]] = {}
    with p.session_factory() as session:
        for player_id, currency, ggr in session.execute(_ggr(start, end)):
            figures.setdefault((player_id, currency), [0, 0, 0])[0] = int(ggr)
        for player_id, currency, bonus_cost, chargebacks in session.execute(_costs(start, end)):
            row = figures.setdefault((player_id, currency), [0, 0, 0])
            row[1:] = [int(bonus_cost), int(chargebacks)]
    return [(player, currency, *row) for (player, currency), row in sorted(figures.items())]  # type: ignore[misc]


def record_daily_revenue(p: Platform, day: date) -> int:
    """Create the revenue conversions of ``day`` (idempotent); returns how many are new.
    Run once per closed day, by one scheduler."""
    consume_all(p)  # attributions of players registered that day come from the outbox
    figures = daily_figures(p, day)
    now = p.clock.now()
    end_of_day = datetime.combine(day, time(), tzinfo=UTC) + timedelta(days=1)
    created = 0
    with p.uow() as uow:
        for player_id, currency, ggr, bonus_cost, chargebacks in figures:
            a = uow.session.get(Attribution, player_id)
            assert a is not None
            ngr = int(ggr) - int(bonus_cost) - PAYMENT_FEES - int(chargebacks)
            conv = new_conversion(
                uow.session,
                uow,
                a,
                key=f"revenue:{player_id}:{day.isoformat()}:{currency}",
                type_="revenue",
                state="approved",
                occurred_at=end_of_day,
                now=now,
                amount=ngr,
                currency=currency,
                ggr=int(ggr),
                ngr=ngr,
                period=day,
            )
            created += conv is not None
        uow.commit()
    return created
