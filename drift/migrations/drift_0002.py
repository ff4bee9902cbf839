"""drift 0002: model quality results per window and metric, revised as labels arrive.

Revision ID: drift_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "drift_0002"
down_revision = "drift_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """One row per model, window and metric, replaced when the window is judged again
    (more labels: realized replaces estimated), so history shows each window's latest."""
    op.create_table(
        "drift_quality_results",
        sa.Column("model", sa.Text, primary_key=True),
        sa.Column("window_start", sa.BigInteger, primary_key=True),
        sa.Column("metric", sa.Text, primary_key=True),
        sa.Column("baseline_version", sa.Integer, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("verdict", sa.Text, nullable=False),
        sa.Column("labelled_share", sa.Float, nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("evaluated_at", sa.Float, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("drift_quality_results")
