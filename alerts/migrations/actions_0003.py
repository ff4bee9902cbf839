"""actions 0003: retention and replay refusal (signatures seen; last sight of an episode).

Revision ID: actions_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "actions_0003"
down_revision = "actions_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Signature digests with their times; ``last_seen_at``; an index for audit pruning."""
    op.create_table(
        "actions_signatures",
        sa.Column("digest", sa.Text, primary_key=True),
        sa.Column("signed_at", sa.Double, nullable=False),
        sa.Column("seen_at", sa.Double, nullable=False),
    )
    op.create_index("actions_signatures_signed", "actions_signatures", ["signed_at"])
    op.add_column("actions_outbox", sa.Column("last_seen_at", sa.Double))
    op.create_index("actions_audit_at", "actions_audit", ["at"])


def downgrade() -> None:
    """Undo the three changes."""
    op.drop_index("actions_audit_at", "actions_audit")
    op.drop_column("actions_outbox", "last_seen_at")
    op.drop_table("actions_signatures")
