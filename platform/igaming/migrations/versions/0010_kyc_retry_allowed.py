"""players.kyc_retry_allowed: compliance let a rejected player open one new KYC check

Revision ID: 0010_kyc_retry_allowed
Revises: 0009_reconciliation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_kyc_retry_allowed"
down_revision = "0009_reconciliation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "players",
        sa.Column("kyc_retry_allowed", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("players", "kyc_retry_allowed")
