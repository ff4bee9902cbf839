"""actions 0001: the outbox (dedup key UNIQUE) and the audit log (pre-Alembic v1).

Revision ID: actions_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "actions_0001"
down_revision = None
branch_labels = ("actions",)
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Outbox rows are claimed under a lease; audit rows are only appended."""
    op.create_table(
        "actions_outbox",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("dedup_key", sa.Text, nullable=False, unique=True),
        sa.Column("idempotency_key", sa.Text, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("alert_json", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.Double, nullable=False),
        sa.Column("claim_token", sa.Text),
        sa.Column("claimed_until", sa.Double),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("actions_outbox_due", "actions_outbox", ["status", "next_attempt_at"])
    op.create_index("actions_outbox_recent", "actions_outbox", ["model", "action", "created_at"])
    op.create_table(
        "actions_audit",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Double, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("dedup_key", sa.Text),
        sa.Column("target", sa.Text),
        sa.Column("detail", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("actions_audit_model", "actions_audit", ["model", "id"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("actions_audit")
    op.drop_table("actions_outbox")
