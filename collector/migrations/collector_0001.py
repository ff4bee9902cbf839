"""collector 0001: windows and their reservoir samples (as in the pre-Alembic v1).

Revision ID: collector_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "collector_0001"
down_revision = None
branch_labels = ("collector",)
depends_on = None


def upgrade() -> None:
    """Row counts per model and window; sampled records per slot."""
    op.create_table(
        "collector_windows",
        sa.Column("model", sa.Text, primary_key=True),
        sa.Column("start_s", sa.BigInteger, primary_key=True),
        sa.Column("end_s", sa.BigInteger, nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "collector_samples",
        sa.Column("model", sa.Text, primary_key=True),
        sa.Column("start_s", sa.BigInteger, primary_key=True),
        sa.Column("slot", sa.Integer, primary_key=True),
        sa.Column("record", sa.Text, nullable=False),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("collector_samples")
    op.drop_table("collector_windows")
