"""contract views pw_* (docs/contract-views.md)

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The seam between the platform and pitwatch: collectors and reconcilers read only these.
# Column names and meanings are a contract (docs/contract-views.md); add, never rename.
VIEWS: dict[str, str] = {
    "pw_players": """
        SELECT p.id AS player_id, p.country AS geo, p.currency, p.brand, p.status,
               p.kyc_status, p.affiliate, p.campaign, p.btag, p.sub_id, p.click_id,
               p.created_at AS registered_at
        FROM players p""",
    "pw_deposits": """
        SELECT d.id AS deposit_id, d.player_id, d.geo, d.brand, d.psp, d.method,
               d.currency, d.amount AS amount_minor, d.status, d.reason, d.psp_reference,
               d.first_deposit, p.affiliate, p.campaign, d.created_at, d.updated_at,
               d.completed_at
        FROM deposits d JOIN players p ON p.id = d.player_id""",
    "pw_withdrawals": """
        SELECT w.id AS withdrawal_id, w.player_id, w.geo, w.brand, w.psp, w.method,
               w.currency, w.amount AS amount_minor, w.status, w.reason, w.psp_reference,
               w.created_at, w.updated_at, w.completed_at
        FROM withdrawals w""",
    "pw_wallet_transactions": """
        SELECT t.id AS transaction_id, t.type, t.status, t.player_id, t.currency,
               t.amount AS amount_minor, t.reference, t.flagged, t.flag_reason,
               t.created_at, t.updated_at
        FROM wallet_transactions t""",
    "pw_ledger_entries": """
        SELECT e.id AS entry_id, e.transaction_id, t.type AS transaction_type,
               t.status AS transaction_status, e.account_id, a.owner AS account_owner,
               a.kind AS account_kind, a.psp, e.currency, e.amount AS amount_minor,
               e.created_at
        FROM ledger_entries e
        JOIN wallet_transactions t ON t.id = e.transaction_id
        JOIN accounts a ON a.id = e.account_id""",
    "pw_balances": """
        SELECT a.id AS account_id, a.owner AS account_owner, a.kind AS account_kind,
               a.currency, a.psp,
               CASE WHEN a.owner = 'house'
                    THEN COALESCE((SELECT SUM(e.amount) FROM ledger_entries e
                                   WHERE e.account_id = a.id), 0)
                    ELSE a.balance END AS balance_minor
        FROM accounts a""",
    "pw_callbacks": """
        SELECT c.id AS callback_id, c.psp, c.kind, c.status, c.outcome, c.event_id,
               c.merchant_reference, c.psp_reference, c.amount AS amount_minor, c.currency,
               c.occurred_at, c.received_at
        FROM psp_callbacks c""",
}


def upgrade() -> None:
    for name, sql in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
