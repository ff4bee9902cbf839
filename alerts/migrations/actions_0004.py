"""actions 0004: which replica holds an outbox row's claim (for operators and takeovers).

Revision ID: actions_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "actions_0004"
down_revision = "actions_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """``claimed_by``: the claiming replica's id (host:pid:suffix) while the claim lasts."""
    op.add_column("actions_outbox", sa.Column("claimed_by", sa.Text))


def downgrade() -> None:
    """Drop the column."""
    op.drop_column("actions_outbox", "claimed_by")
