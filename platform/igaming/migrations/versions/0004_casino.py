"""casino: games, launch sessions, rounds, provider transactions and their pw_* views

Revision ID: 0004_casino
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_casino"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)

# Contract views (docs/contract-views-casino.md): add columns, never rename.
VIEWS: dict[str, str] = {
    "pw_casino_rounds": """
        SELECT r.id AS round_id, r.provider, r.provider_round_id, r.game_id, r.game_type,
               r.player_id, r.currency, r.stake_minor, r.win_minor, r.status,
               r.started_at, r.ended_at, r.result_delay_seconds
        FROM casino_rounds r""",
    "pw_casino_transactions": """
        SELECT t.id AS casino_transaction_id, t.provider, t.provider_tx_id, t.kind,
               t.outcome, t.amount_minor, t.currency, t.round_id, t.provider_round_id,
               t.reference_tx_id, t.platform_tx_id, t.player_id, t.http_status,
               CASE WHEN t.answer_key IS NULL THEN 0 ELSE 1 END AS first_answer,
               t.created_at
        FROM casino_transactions t""",
    "pw_game_launches": """
        SELECT s.id AS session_id, s.provider, s.game_id AS game, g.type AS game_type,
               s.player_id, s.currency,
               CASE s.status WHEN 'active' THEN 'launched'
                             WHEN 'failed' THEN 'failed'
                             ELSE 'pending' END AS outcome,
               s.reason, s.created_at AS at
        FROM casino_sessions s JOIN casino_games g ON g.id = s.game_id""",
}


def upgrade() -> None:
    op.create_table(
        "casino_games",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("type", sa.String(10), nullable=False),
        sa.Column("rtp_bps", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_casino_games")),
    )
    op.create_index(op.f("ix_casino_games_provider"), "casino_games", ["provider"])

    op.create_table(
        "casino_sessions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("player_id", sa.String(36), nullable=False),
        sa.Column("game_id", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(40), nullable=True),
        sa.Column("provider_session_id", sa.String(100), nullable=True),
        sa.Column("launch_url", sa.String(500), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["player_id"], ["players.id"], name=op.f("fk_casino_sessions_player_id_players")
        ),
        sa.ForeignKeyConstraint(
            ["game_id"], ["casino_games.id"], name=op.f("fk_casino_sessions_game_id_casino_games")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_casino_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_casino_sessions_token_hash")),
    )
    op.create_index(op.f("ix_casino_sessions_player_id"), "casino_sessions", ["player_id"])
    op.create_index(
        "ix_casino_sessions_provider_created", "casino_sessions", ["provider", "created_at"]
    )

    op.create_table(
        "casino_rounds",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("provider_round_id", sa.String(100), nullable=False),
        sa.Column("game_id", sa.String(64), nullable=False),
        sa.Column("game_type", sa.String(10), nullable=False),
        sa.Column("player_id", sa.String(36), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("stake_minor", sa.BigInteger(), nullable=False),
        sa.Column("win_minor", sa.BigInteger(), nullable=False),
        sa.Column("open_bets", sa.Integer(), nullable=False),
        sa.Column("wins", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("ended_at", TZ, nullable=True),
        sa.Column("result_delay_seconds", sa.Float(), nullable=True),
        sa.Column("updated_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["player_id"], ["players.id"], name=op.f("fk_casino_rounds_player_id_players")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_casino_rounds")),
        sa.UniqueConstraint(
            "provider", "provider_round_id", name=op.f("uq_casino_rounds_provider")
        ),
    )
    op.create_index(op.f("ix_casino_rounds_player_id"), "casino_rounds", ["player_id"])
    op.create_index("ix_casino_rounds_status_started", "casino_rounds", ["status", "started_at"])

    op.create_table(
        "casino_transactions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("answer_key", sa.String(150), nullable=True),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("provider_tx_id", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("player_id", sa.String(36), nullable=True),
        sa.Column("round_id", sa.String(36), nullable=True),
        sa.Column("provider_round_id", sa.String(100), nullable=True),
        sa.Column("reference_tx_id", sa.String(100), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("platform_tx_id", sa.String(36), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_casino_transactions")),
        sa.UniqueConstraint("answer_key", name=op.f("uq_casino_transactions_answer_key")),
    )
    op.create_index(
        "ix_casino_transactions_provider_tx",
        "casino_transactions",
        ["provider", "provider_tx_id"],
    )
    op.create_index(
        "ix_casino_transactions_reference",
        "casino_transactions",
        ["provider", "reference_tx_id"],
    )
    op.create_index(op.f("ix_casino_transactions_round_id"), "casino_transactions", ["round_id"])
    op.create_index(
        op.f("ix_casino_transactions_created_at"), "casino_transactions", ["created_at"]
    )

    for name, sql in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    for table in ("casino_transactions", "casino_rounds", "casino_sessions", "casino_games"):
        op.drop_table(table)
