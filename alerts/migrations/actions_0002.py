"""actions 0002: the context (e.g. the drift result) an action was accepted with.

Revision ID: actions_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "actions_0002"
down_revision = "actions_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """JSON text, ``{}`` for rows accepted before."""
    op.add_column(
        "actions_outbox", sa.Column("context_json", sa.Text, nullable=False, server_default="{}")
    )


def downgrade() -> None:
    """Drop the column."""
    op.drop_column("actions_outbox", "context_json")
