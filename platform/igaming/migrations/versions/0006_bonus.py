"""bonus offers and player bonuses, view pw_bonuses

Revision ID: 0006_bonus
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_bonus"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bonus_offers",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("match_bps", sa.Integer(), nullable=False),
        sa.Column("max_bonus_minor", sa.BigInteger(), nullable=False),
        sa.Column("min_deposit_minor", sa.BigInteger(), nullable=False),
        sa.Column("wagering_multiplier", sa.Integer(), nullable=False),
        sa.Column("valid_days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "player_bonuses",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "player_id",
            sa.String(36),
            sa.ForeignKey("players.id", name="fk_player_bonuses_player_id_players"),
            nullable=False,
        ),
        sa.Column(
            "offer_code",
            sa.String(40),
            sa.ForeignKey("bonus_offers.code", name="fk_player_bonuses_offer_code_bonus_offers"),
            nullable=False,
        ),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("deposit_id", sa.String(36)),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("wagering_required_minor", sa.BigInteger(), nullable=False),
        sa.Column("wagered_minor", sa.BigInteger(), nullable=False),
        sa.Column("converted_minor", sa.BigInteger(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True)),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("close_reason", sa.String(40)),
    )
    op.create_index("ix_player_bonuses_player_status", "player_bonuses", ["player_id", "status"])
    op.create_index("ix_player_bonuses_status", "player_bonuses", ["status"])
    op.create_index("ix_player_bonuses_expires_at", "player_bonuses", ["expires_at"])
    op.execute(
        """CREATE VIEW pw_bonuses AS
        SELECT b.id AS bonus_id, b.player_id, b.offer_code, b.status, b.currency,
               b.deposit_id, b.amount_minor, b.wagering_required_minor, b.wagered_minor,
               b.converted_minor, p.brand, p.country AS geo, p.affiliate, p.campaign,
               b.claimed_at, b.granted_at, b.expires_at, b.closed_at, b.close_reason
        FROM player_bonuses b JOIN players p ON p.id = b.player_id"""
    )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS pw_bonuses")
    op.drop_table("player_bonuses")
    op.drop_table("bonus_offers")
