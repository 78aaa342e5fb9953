"""contract view pw_kyc_checks (the manual-review age needs the check's own time)

Revision ID: 0008_kyc_checks_view
Revises: 0007_state_indexes
"""

from __future__ import annotations

from alembic import op

revision = "0008_kyc_checks_view"
down_revision = "0007_state_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_kyc_checks_status_requested", "kyc_checks", ["status", "requested_at"])
    op.execute(
        """CREATE VIEW pw_kyc_checks AS
        SELECT k.id AS check_id, k.player_id, p.country AS geo, p.brand, k.status,
               k.attempts, k.requested_at, k.decided_at, k.next_retry_at
        FROM kyc_checks k JOIN players p ON p.id = k.player_id"""
    )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS pw_kyc_checks")
    op.drop_index("ix_kyc_checks_status_requested", table_name="kyc_checks")
