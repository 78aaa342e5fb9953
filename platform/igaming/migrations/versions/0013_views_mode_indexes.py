"""views mode: the indexes its watermark scans need (docs/metrics.md, "Views mode")

Deposits and withdrawals change status: views mode reads them in (updated_at, id) order
past a watermark, and by (created_at, id) for requests, (completed_at, id) for approvals.
Rows read once are read in (time, id) order: bets by placed_at, players, affiliate
conversions, casino sessions and transactions by created_at, casino rounds by ended_at.
Callbacks, settlements and postback attempts are read by their primary key.

Revision ID: 0013_views_mode_indexes
Revises: 0012_balances_bigint
"""

from __future__ import annotations

from alembic import op

revision = "0013_views_mode_indexes"
down_revision = "0012_balances_bigint"
branch_labels = None
depends_on = None

# (index, table, columns)
INDEXES: tuple[tuple[str, str, list[str]], ...] = (
    ("ix_deposits_updated_id", "deposits", ["updated_at", "id"]),
    ("ix_deposits_created_id", "deposits", ["created_at", "id"]),
    ("ix_deposits_completed_id", "deposits", ["completed_at", "id"]),
    ("ix_withdrawals_updated_id", "withdrawals", ["updated_at", "id"]),
    ("ix_withdrawals_created_id", "withdrawals", ["created_at", "id"]),
    ("ix_sb_bets_placed_id", "sb_bets", ["placed_at", "id"]),
    ("ix_players_created_id", "players", ["created_at", "id"]),
    ("ix_affiliate_conversions_created_id", "affiliate_conversions", ["created_at", "id"]),
    ("ix_casino_sessions_created_id", "casino_sessions", ["created_at", "id"]),
    ("ix_casino_rounds_ended_id", "casino_rounds", ["ended_at", "id"]),
    ("ix_casino_transactions_created_id", "casino_transactions", ["created_at", "id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
