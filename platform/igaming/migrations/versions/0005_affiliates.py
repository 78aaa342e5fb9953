"""affiliates: clicks, deals, conversions, postbacks, outbox cursor, pw_* views

Revision ID: 0005_affiliates
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_affiliates"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)

# Contract views of the affiliates context (docs/contract-views-affiliates.md); add
# columns, never rename them.
VIEWS: dict[str, str] = {
    "pw_clicks": """
        SELECT c.click_id, c.affiliate, c.campaign, c.btag, c.sub_id, c.geo,
               c.at AS clicked_at, c.player_id, c.registered_at
        FROM affiliate_clicks c""",
    "pw_conversions": """
        SELECT v.id AS conversion_id, v.type AS conversion_type, v.state, v.reason,
               v.affiliate, v.campaign, v.click_id, v.player_id, v.player_ref, v.deposit_id,
               v.geo, v.amount AS amount_minor, v.currency, v.ggr AS ggr_minor,
               v.ngr AS ngr_minor, v.period AS period_date, v.attribution_flagged,
               v.occurred_at, v.created_at, v.updated_at, v.qualified_at
        FROM affiliate_conversions v""",
    "pw_postbacks": """
        SELECT j.id AS postback_id, j.affiliate, j.campaign, j.event, j.conversion_id,
               j.status, j.attempts, j.max_attempts, j.last_status_code, j.last_error,
               j.created_at, j.delivered_at, j.next_attempt_at
        FROM postback_jobs j""",
    "pw_postback_attempts": """
        SELECT a.id AS attempt_id, a.job_id AS postback_id, j.affiliate, j.campaign,
               j.event, j.conversion_id, a.attempt, a.at AS attempted_at, a.status_code,
               a.latency_ms, a.outcome, a.error
        FROM postback_attempts a JOIN postback_jobs j ON j.id = a.job_id""",
}


def upgrade() -> None:
    op.create_table(
        "affiliates",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("postback_url_template", sa.Text(), nullable=True),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_affiliates")),
    )
    op.create_table(
        "affiliate_deals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("affiliate", sa.String(64), nullable=False),
        sa.Column("campaign", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("cpa_amount", sa.BigInteger(), nullable=False),
        sa.Column("revshare_bps", sa.Integer(), nullable=False),
        sa.Column("min_ftd_amount", sa.BigInteger(), nullable=False),
        sa.Column("allowed_geos", sa.JSON(), nullable=False),
        sa.Column("require_kyc", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["affiliate"],
            ["affiliates.id"],
            name=op.f("fk_affiliate_deals_affiliate_affiliates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_affiliate_deals")),
    )
    op.create_index(
        "ix_affiliate_deals_affiliate_campaign", "affiliate_deals", ["affiliate", "campaign"]
    )
    op.create_table(
        "affiliate_clicks",
        sa.Column("click_id", sa.String(100), nullable=False),
        sa.Column("btag", sa.String(200), nullable=True),
        sa.Column("affiliate", sa.String(64), nullable=False),
        sa.Column("campaign", sa.String(64), nullable=True),
        sa.Column("sub_id", sa.String(100), nullable=True),
        sa.Column("geo", sa.String(2), nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("player_id", sa.String(36), nullable=True),
        sa.Column("registered_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("click_id", name=op.f("pk_affiliate_clicks")),
    )
    op.create_index("ix_affiliate_clicks_affiliate_at", "affiliate_clicks", ["affiliate", "at"])
    op.create_index("ix_affiliate_clicks_player_id", "affiliate_clicks", ["player_id"])
    op.create_table(
        "affiliate_attributions",
        sa.Column("player_id", sa.String(36), nullable=False),
        sa.Column("affiliate", sa.String(64), nullable=False),
        sa.Column("campaign", sa.String(64), nullable=True),
        sa.Column("click_id", sa.String(100), nullable=True),
        sa.Column("player_ref", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("flag_reason", sa.String(40), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("player_id", name=op.f("pk_affiliate_attributions")),
    )
    op.create_index("ix_affiliate_attributions_affiliate", "affiliate_attributions", ["affiliate"])
    op.create_table(
        "affiliate_conversions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(40), nullable=True),
        sa.Column("affiliate", sa.String(64), nullable=False),
        sa.Column("campaign", sa.String(64), nullable=True),
        sa.Column("click_id", sa.String(100), nullable=True),
        sa.Column("player_id", sa.String(36), nullable=False),
        sa.Column("player_ref", sa.String(64), nullable=False),
        sa.Column("deposit_id", sa.String(36), nullable=True),
        sa.Column("geo", sa.String(2), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("ggr", sa.BigInteger(), nullable=True),
        sa.Column("ngr", sa.BigInteger(), nullable=True),
        sa.Column("period", sa.Date(), nullable=True),
        sa.Column("attribution_flagged", sa.Boolean(), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("qualified_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_affiliate_conversions")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_affiliate_conversions_dedupe_key")),
    )
    op.create_index(
        "ix_affiliate_conversions_player_type", "affiliate_conversions", ["player_id", "type"]
    )
    op.create_index(
        "ix_affiliate_conversions_affiliate_created",
        "affiliate_conversions",
        ["affiliate", "created_at"],
    )
    op.create_index("ix_affiliate_conversions_deposit_id", "affiliate_conversions", ["deposit_id"])
    op.create_table(
        "postback_jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("affiliate", sa.String(64), nullable=False),
        sa.Column("campaign", sa.String(64), nullable=True),
        sa.Column("event", sa.String(24), nullable=False),
        sa.Column("conversion_id", sa.String(36), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("lease_owner", sa.String(36), nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postback_jobs")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_postback_jobs_dedupe_key")),
    )
    op.create_index("ix_postback_jobs_status_next", "postback_jobs", ["status", "next_attempt_at"])
    op.create_index("ix_postback_jobs_conversion_id", "postback_jobs", ["conversion_id"])
    op.create_table(
        "postback_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["postback_jobs.id"], name=op.f("fk_postback_attempts_job_id_postback_jobs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postback_attempts")),
    )
    op.create_index("ix_postback_attempts_job_id", "postback_attempts", ["job_id"])
    op.create_index("ix_postback_attempts_at", "postback_attempts", ["at"])
    op.create_table(
        "outbox_cursors",
        sa.Column("consumer", sa.String(60), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("held_since", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("consumer", name=op.f("pk_outbox_cursors")),
    )
    for name, sql in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    for table in (
        "outbox_cursors",
        "postback_attempts",
        "postback_jobs",
        "affiliate_conversions",
        "affiliate_attributions",
        "affiliate_clicks",
        "affiliate_deals",
        "affiliates",
    ):
        op.drop_table(table)
