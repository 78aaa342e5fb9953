"""bonus terms: welcome offers on the first deposit only, wagering weights and minimum odds,
one claim per offer per player (a unique index)

Revision ID: 0011_bonus_terms
Revises: 0009_reconciliation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_bonus_terms"
down_revision = "0010_kyc_retry_allowed"
branch_labels = None
depends_on = None

# The terms the existing default offers get (bonus.service.DEFAULT_OFFERS at this
# revision; frozen here, as a migration must be). Slots count in full, table and live
# games a tenth (docs/bonus.md), sportsbook stakes in full from odds of 1.50.
WEIGHTS = {"slots": 10_000, "table": 1_000, "live": 1_000, "sportsbook": 10_000}
WELCOME_OFFERS = ("WELCOME100",)
NOT_CANCELLED = sa.text("status <> 'cancelled'")

offers = sa.table(
    "bonus_offers",
    sa.column("code", sa.String),
    sa.column("first_deposit_only", sa.Boolean),
    sa.column("wagering_weights_bps", sa.JSON),
)


def _refuse_duplicate_claims() -> None:
    """Claims made twice before this revision would make the unique index fail halfway;
    they are bonus history (money moved), so they are reported, never rewritten."""
    duplicates = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT player_id, offer_code, COUNT(*) FROM player_bonuses "
                "WHERE status <> 'cancelled' GROUP BY player_id, offer_code "
                "HAVING COUNT(*) > 1"
            )
        )
        .all()
    )
    if duplicates:
        raise RuntimeError(
            f"{len(duplicates)} (player, offer) pairs were claimed more than once before "
            "one claim per offer per player was enforced; resolve them before upgrading "
            "(docs/bonus.md, 'Upgrading to one claim per offer')"
        )


def upgrade() -> None:
    op.add_column(
        "bonus_offers",
        sa.Column("first_deposit_only", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "bonus_offers",
        sa.Column(
            "wagering_weights_bps", sa.JSON(), nullable=False, server_default=sa.text("'{}'")
        ),
    )
    op.add_column(
        "bonus_offers",
        sa.Column("min_odds_milli", sa.Integer(), nullable=False, server_default=sa.text("1500")),
    )
    op.execute(offers.update().values(wagering_weights_bps=WEIGHTS))
    op.execute(
        offers.update().where(offers.c.code.in_(WELCOME_OFFERS)).values(first_deposit_only=True)
    )
    _refuse_duplicate_claims()
    op.create_index(
        "uq_player_bonuses_player_offer",
        "player_bonuses",
        ["player_id", "offer_code"],
        unique=True,
        sqlite_where=NOT_CANCELLED,
        postgresql_where=NOT_CANCELLED,
    )


def downgrade() -> None:
    op.drop_index("uq_player_bonuses_player_offer", table_name="player_bonuses")
    with op.batch_alter_table("bonus_offers") as batch:
        batch.drop_column("min_odds_milli")
        batch.drop_column("wagering_weights_bps")
        batch.drop_column("first_deposit_only")
