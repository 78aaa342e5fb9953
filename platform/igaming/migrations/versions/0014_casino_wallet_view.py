"""casino: the provider's player reference on each seamless-wallet request, the view the
wallet ⟷ game provider reconciliation reads (pw_casino_wallet_transactions), and the
reconcilers' count of the game provider reports a run read (recon_runs.rows_game_report)

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
    # The reconcilers' run records (0009) count the game provider reports they read; where
    # pitwatch created its tables here first, the column is there already.
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("recon_runs")}
    if "rows_game_report" not in columns:
        op.add_column("recon_runs", sa.Column("rows_game_report", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recon_runs") as batch:
        batch.drop_column("rows_game_report")
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    with op.batch_alter_table("casino_transactions") as batch:
        batch.drop_column("player_ref")
