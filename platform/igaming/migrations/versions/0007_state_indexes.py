"""state collectors: indexes their queries need, views pw_outbox and pw_outbox_cursors

Merges the heads 0003..0006. Every state collector query is a range scan on one of these
(or on an index an earlier migration made); none scans a big table (docs/state-metrics.md).

Revision ID: 0007_state_indexes
Revises: 0003_sportsbook, 0004_casino, 0005_affiliates, 0006_bonus
"""

from __future__ import annotations

from alembic import op

revision = "0007_state_indexes"
down_revision = ("0003_sportsbook", "0004_casino", "0005_affiliates", "0006_bonus")
branch_labels = None
depends_on = None

# (index, table, columns)
INDEXES: tuple[tuple[str, str, list[str]], ...] = (
    # FTD postback gap: FTDs qualified in the look-back window.
    ("ix_affiliate_conversions_type_qualified", "affiliate_conversions", ["type", "qualified_at"]),
    # KYC manual-review backlog.
    ("ix_players_kyc_status_created", "players", ["kyc_status", "created_at"]),
)

VIEWS: dict[str, str] = {
    "pw_outbox": """
        SELECT o.id AS outbox_id, o.event_id, o.event_type, o.occurred_at, o.published_at
        FROM outbox o""",
    "pw_outbox_cursors": """
        SELECT c.consumer, c.last_id, c.held_since, c.updated_at
        FROM outbox_cursors c""",
}


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    for name, sql in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
