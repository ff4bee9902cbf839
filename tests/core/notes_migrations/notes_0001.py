"""notes 0001: the test part's one table (a part bringing its own Alembic branch).

Revision ID: notes_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "notes_0001"
down_revision = None
branch_labels = ("notes",)
depends_on = None


def upgrade() -> None:
    """One text column."""
    op.create_table("notes", sa.Column("body", sa.Text))


def downgrade() -> None:
    """Drop it."""
    op.drop_table("notes")
