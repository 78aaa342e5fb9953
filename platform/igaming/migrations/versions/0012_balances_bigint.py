"""pw_balances.balance_minor as bigint: PostgreSQL sums bigints into numeric, so the house
accounts' CASE made the whole column numeric, against the contract (money is an integer in
minor units; ``pitwatch contract check`` reports a numeric money column)

Revision ID: 0012_balances_bigint
Revises: 0011_bonus_terms
"""

from __future__ import annotations

from alembic import op

revision = "0012_balances_bigint"
down_revision = "0011_bonus_terms"
branch_labels = None
depends_on = None

BALANCES = """
    SELECT a.id AS account_id, a.owner AS account_owner, a.kind AS account_kind,
           a.currency, a.psp,
           CAST(CASE WHEN a.owner = 'house'
                     THEN COALESCE((SELECT SUM(e.amount) FROM ledger_entries e
                                    WHERE e.account_id = a.id), 0)
                     ELSE a.balance END AS BIGINT) AS balance_minor
    FROM accounts a"""

BEFORE = """
    SELECT a.id AS account_id, a.owner AS account_owner, a.kind AS account_kind,
           a.currency, a.psp,
           CASE WHEN a.owner = 'house'
                THEN COALESCE((SELECT SUM(e.amount) FROM ledger_entries e
                               WHERE e.account_id = a.id), 0)
                ELSE a.balance END AS balance_minor
    FROM accounts a"""


def upgrade() -> None:
    # A column's type cannot change under CREATE OR REPLACE VIEW: dropped and created again
    # (nothing of ours depends on the view).
    op.execute("DROP VIEW IF EXISTS pw_balances")
    op.execute(f"CREATE VIEW pw_balances AS {BALANCES}")


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS pw_balances")
    op.execute(f"CREATE VIEW pw_balances AS {BEFORE}")
