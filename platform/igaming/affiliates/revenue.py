"""Daily revenue conversions: GGR and NGR per attributed player per day, from the ledger.

Read from the contract view pw_ledger_entries (entries on the player's cash and bonus
accounts, so the sign is the player's): GGR = stakes - wins (rollbacks included), NGR =
GGR - bonus cost - payment fees - chargebacks. Payment fees are not in the ledger and
count as 0 (docs/affiliates.md).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import String, case, column, func, select, table

from igaming.affiliates.conversions import new_conversion
from igaming.affiliates.models import Attribution
from igaming.affiliates.outbox_consumer import consume_all
from igaming.bootstrap import Platform
from igaming.models import UTCDateTime

# Bonus cost is what was granted less what was forfeited back to the pool; a conversion
# moves bonus to cash within the player's accounts and nets to zero here.
BONUS_TYPES = ("bonus_grant", "bonus_forfeit")
REVENUE_TYPES = ("bet", "win", "rollback", *BONUS_TYPES, "chargeback")
PAYMENT_FEES = 0  # unknown to the ledger; see the module docstring

entries = table(
    "pw_ledger_entries",
    column("account_owner", String),
    column("account_kind", String),
    column("transaction_type", String),
    column("currency", String),
    column("amount_minor"),
    column("created_at", UTCDateTime()),
)


def _sum_of(types: tuple[str, ...], sign: int):  # type: ignore[no-untyped-def]
    amount = entries.c.amount_minor * sign
    return func.coalesce(
        func.sum(case((entries.c.transaction_type.in_(types), amount), else_=0)), 0
    )


def daily_figures(p: Platform, day: date) -> list[tuple[str, str, int, int, int]]:
    """(player_id, currency, ggr, bonus_cost, chargebacks) of attributed players on ``day``."""
    start = datetime.combine(day, time(), tzinfo=UTC)
    query = (
        select(
            entries.c.account_owner,
            entries.c.currency,
            _sum_of(("bet", "win", "rollback"), -1),
            _sum_of(BONUS_TYPES, 1),
            _sum_of(("chargeback",), -1),
        )
        .where(
            entries.c.account_kind.in_(("cash", "bonus")),
            entries.c.transaction_type.in_(REVENUE_TYPES),
            entries.c.created_at >= start,
            entries.c.created_at < start + timedelta(days=1),
            entries.c.account_owner.in_(select(Attribution.player_id)),
        )
        .group_by(entries.c.account_owner, entries.c.currency)
        .order_by(entries.c.account_owner, entries.c.currency)
    )
    with p.session_factory() as session:
        return [tuple(row) for row in session.execute(query)]  # type: ignore[misc]


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
