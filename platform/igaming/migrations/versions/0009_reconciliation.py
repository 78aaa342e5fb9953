"""reconciliation: the break ledger (recon_breaks) and the run records (recon_runs)

The reconcilers' own tables, not the platform's: reconcilers/ledger.py declares the same
tables (SQLAlchemy Core) and is the only code that writes them. pitwatch creates them in its
state database itself (``reconcilers.ledger.create_tables``); where that database is this
one and pitwatch got there first, this migration leaves them as they are.

Revision ID: 0009_reconciliation
Revises: 0008_kyc_checks_view
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_reconciliation"
down_revision = "0008_kyc_checks_view"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("recon_breaks"):
        return  # created by pitwatch (reconcilers.ledger.create_tables) before the platform
    op.create_table(
        "recon_breaks",
        sa.Column("break_key", sa.Text(), nullable=False),
        sa.Column("pair", sa.String(32), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("psp", sa.String(64), nullable=False),
        sa.Column("affiliate", sa.String(64), nullable=True),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("psp_reference", sa.Text(), nullable=True),
        sa.Column("currency", sa.String(16), nullable=True),
        sa.Column("wallet_amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("other_amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("wallet_value", sa.Text(), nullable=True),
        sa.Column("other_value", sa.Text(), nullable=True),
        sa.Column("amount_at_risk_minor", sa.BigInteger(), nullable=True),
        sa.Column("occurred_at", TS, nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("scope_day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("first_run_id", sa.Integer(), nullable=True),
        sa.Column("last_run_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("break_key", name=op.f("pk_recon_breaks")),
    )
    # Open breaks by pair/type/psp (metrics, reports); the scope a run resolves in.
    op.create_index(
        "ix_recon_breaks_status", "recon_breaks", ["status", "pair", "type", "psp", "first_seen_at"]
    )
    op.create_index("ix_recon_breaks_scope", "recon_breaks", ["scope_day", "pair", "psp", "status"])
    op.create_table(
        "recon_runs",
        sa.Column("run_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("period_start", TS, nullable=False),
        sa.Column("period_end", TS, nullable=False),
        sa.Column("pairs", sa.Text(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("rows_wallet", sa.BigInteger(), nullable=True),
        sa.Column("rows_psp_report", sa.BigInteger(), nullable=True),
        sa.Column("rows_affiliate_export", sa.BigInteger(), nullable=True),
        sa.Column("matched", sa.BigInteger(), nullable=True),
        sa.Column("in_flight", sa.BigInteger(), nullable=True),
        sa.Column("new_breaks", sa.Integer(), nullable=False),
        sa.Column("resolved_breaks", sa.Integer(), nullable=False),
        sa.Column("open_breaks", sa.Integer(), nullable=True),
        sa.Column("breaks_by_type", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_recon_runs")),
    )
    op.create_index("ix_recon_runs_outcome", "recon_runs", ["outcome", "run_id"])


def downgrade() -> None:
    op.drop_index("ix_recon_runs_outcome", table_name="recon_runs")
    op.drop_table("recon_runs")
    op.drop_index("ix_recon_breaks_scope", table_name="recon_breaks")
    op.drop_index("ix_recon_breaks_status", table_name="recon_breaks")
    op.drop_table("recon_breaks")
