"""sportsbook: fixtures, markets, selections, bets, settlements, feed messages; views

Revision ID: 0003_sportsbook
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_sportsbook"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)

# Contract views of the sportsbook (docs/contract-views-sportsbook.md): add, never rename.
VIEWS: dict[str, str] = {
    "pw_markets": """
        SELECT m.id AS market_id, m.fixture_id, f.sport, f.competition,
               f.home, f.away, f.starts_at, m.type AS market_type, m.status,
               m.odds_updated_at, m.generation, m.result_at, m.settled_at,
               m.created_at, m.updated_at
        FROM sb_markets m JOIN sb_fixtures f ON f.id = m.fixture_id""",
    "pw_bets": """
        SELECT b.id AS bet_id, b.player_id, p.country AS geo, p.brand, f.sport,
               f.competition, b.market_id, m.type AS market_type, b.selection_id,
               b.status, b.reason, b.stake AS stake_minor, b.currency,
               b.odds_milli / 1000.0 AS odds, b.odds_milli,
               b.requested_odds_milli, b.potential_payout AS potential_payout_minor,
               b.payout AS payout_minor, b.generation, b.placed_at, b.settled_at,
               b.result_at, b.settlement_lag_seconds
        FROM sb_bets b
        JOIN sb_markets m ON m.id = b.market_id
        JOIN sb_fixtures f ON f.id = m.fixture_id
        JOIN players p ON p.id = b.player_id""",
    "pw_settlements": """
        SELECT s.id AS settlement_id, s.bet_id, s.market_id, f.sport,
               m.type AS market_type, s.generation, s.action,
               s.amount AS amount_minor, s.currency, s.transaction_id, s.result_at,
               s.settled_at, s.settlement_lag_seconds
        FROM sb_settlements s
        JOIN sb_markets m ON m.id = s.market_id
        JOIN sb_fixtures f ON f.id = m.fixture_id""",
    "pw_feed_messages": """
        SELECT fm.id AS feed_message_id, fm.message_id, fm.type AS message_type,
               fm.outcome, fm.sport, fm.fixture_id, fm.market_id, fm.sequence,
               fm.duplicates, fm.sent_at, fm.received_at
        FROM sb_feed_messages fm""",
}


def upgrade() -> None:
    op.create_table(
        "sb_fixtures",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("sport", sa.String(32), nullable=False),
        sa.Column("competition", sa.String(100), nullable=False),
        sa.Column("home", sa.String(100), nullable=False),
        sa.Column("away", sa.String(100), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sb_fixtures"),
    )
    op.create_index("ix_sb_fixtures_sport", "sb_fixtures", ["sport"])
    op.create_index("ix_sb_fixtures_starts_at", "sb_fixtures", ["starts_at"])

    op.create_table(
        "sb_markets",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("fixture_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("feed_sequence", sa.BigInteger(), nullable=False),
        sa.Column("settle_sequence", sa.BigInteger(), nullable=False),
        sa.Column("odds_updated_at", TS, nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("result_at", TS, nullable=True),
        sa.Column("settled_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["fixture_id"], ["sb_fixtures.id"], name="fk_sb_markets_fixture_id_sb_fixtures"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sb_markets"),
    )
    op.create_index("ix_sb_markets_fixture_id", "sb_markets", ["fixture_id"])
    op.create_index(
        "ix_sb_markets_status_odds_updated", "sb_markets", ["status", "odds_updated_at"]
    )

    op.create_table(
        "sb_selections",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("market_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("odds_milli", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(8), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["market_id"], ["sb_markets.id"], name="fk_sb_selections_market_id_sb_markets"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sb_selections"),
    )
    op.create_index("ix_sb_selections_market_id", "sb_selections", ["market_id"])

    op.create_table(
        "sb_bets",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("player_id", sa.String(36), nullable=False),
        sa.Column("idempotency_key", sa.String(100), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("selection_id", sa.String(64), nullable=False),
        sa.Column("market_id", sa.String(64), nullable=False),
        sa.Column("sport", sa.String(32), nullable=False),
        sa.Column("stake", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("requested_odds_milli", sa.Integer(), nullable=False),
        sa.Column("odds_milli", sa.Integer(), nullable=False),
        sa.Column("potential_payout", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(40), nullable=True),
        sa.Column("stake_transaction_id", sa.String(36), nullable=True),
        sa.Column("payout", sa.BigInteger(), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=True),
        sa.Column("placed_at", TS, nullable=False),
        sa.Column("result_at", TS, nullable=True),
        sa.Column("settled_at", TS, nullable=True),
        sa.Column("settlement_lag_seconds", sa.Float(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["player_id"], ["players.id"], name="fk_sb_bets_player_id_players"),
        sa.ForeignKeyConstraint(
            ["selection_id"], ["sb_selections.id"], name="fk_sb_bets_selection_id_sb_selections"
        ),
        sa.ForeignKeyConstraint(
            ["market_id"], ["sb_markets.id"], name="fk_sb_bets_market_id_sb_markets"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sb_bets"),
        sa.UniqueConstraint("player_id", "idempotency_key", name="uq_sb_bets_player_id"),
    )
    op.create_index("ix_sb_bets_player_id", "sb_bets", ["player_id"])
    op.create_index("ix_sb_bets_market_status", "sb_bets", ["market_id", "status"])
    op.create_index("ix_sb_bets_status_placed", "sb_bets", ["status", "placed_at"])

    op.create_table(
        "sb_settlements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bet_id", sa.String(36), nullable=False),
        sa.Column("market_id", sa.String(64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(12), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("transaction_id", sa.String(36), nullable=True),
        sa.Column("result_at", TS, nullable=True),
        sa.Column("settled_at", TS, nullable=False),
        sa.Column("settlement_lag_seconds", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bet_id"], ["sb_bets.id"], name="fk_sb_settlements_bet_id_sb_bets"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sb_settlements"),
    )
    op.create_index("ix_sb_settlements_market_id", "sb_settlements", ["market_id"])
    op.create_index("ix_sb_settlements_settled_at", "sb_settlements", ["settled_at"])
    op.create_index("ix_sb_settlements_bet_generation", "sb_settlements", ["bet_id", "generation"])

    op.create_table(
        "sb_feed_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dedup_key", sa.String(100), nullable=True),
        sa.Column("message_id", sa.String(100), nullable=True),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("sport", sa.String(32), nullable=False),
        sa.Column("fixture_id", sa.String(64), nullable=True),
        sa.Column("market_id", sa.String(64), nullable=True),
        sa.Column("sequence", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sb_feed_messages"),
        sa.UniqueConstraint("dedup_key", name="uq_sb_feed_messages_dedup_key"),
    )
    op.create_index("ix_sb_feed_messages_received_at", "sb_feed_messages", ["received_at"])
    op.create_index(
        "ix_sb_feed_messages_outcome_received", "sb_feed_messages", ["outcome", "received_at"]
    )

    for name, sql in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    for table in (
        "sb_feed_messages",
        "sb_settlements",
        "sb_bets",
        "sb_selections",
        "sb_markets",
        "sb_fixtures",
    ):
        op.drop_table(table)
