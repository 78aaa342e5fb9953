"""casino: the provider's player reference on each seamless-wallet request, and the view the
wallet ⟷ game provider reconciliation reads (pw_casino_wallet_transactions)

Revision ID: 0014_casino_wallet_view
Revises: 0013_views_mode_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_casino_wallet_view"
down_revision = "0013_views_mode_indexes"
branch_labels = None
depends_on = None

# Contract view (docs/contract-views-casino.md): one row per transaction of a provider the
# wallet booked (the first, final answer of its id, applied): what the provider's daily
# transaction report lists. A rollback's amount is the stake it gave back.
VIEWS: dict[str, str] = {
    "pw_casino_wallet_transactions": """
        SELECT t.provider, t.provider_tx_id AS provider_transaction_id,
               t.provider_round_id AS round_id, t.player_ref, t.kind,
               CAST(COALESCE(t.amount_minor, 0) AS BIGINT) AS amount_minor, t.currency,
               t.created_at, r.game_id, r.status AS round_status
        FROM casino_transactions t
        LEFT JOIN casino_rounds r ON r.id = t.round_id
        WHERE t.answer_key IS NOT NULL AND t.outcome = 'applied'""",
}


def upgrade() -> None:
    # The pseudonymous reference the provider was given at launch (NULL on older rows).
    op.add_column("casino_transactions", sa.Column("player_ref", sa.String(64), nullable=True))
    for name, sql in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    with op.batch_alter_table("casino_transactions") as batch:
        batch.drop_column("player_ref")
