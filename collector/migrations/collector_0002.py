"""collector 0002: per-bin counts and per-feature totals of merged window summaries.

Revision ID: collector_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "collector_0002"
down_revision = "collector_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Counts per window, baseline version, feature and bin; missing and sum per feature.

    The baseline version is part of each key, so counts binned against two versions are
    never added together.
    """
    op.create_table(
        "collector_bins",
        sa.Column("model", sa.Text, primary_key=True),
        sa.Column("start_s", sa.BigInteger, primary_key=True),
        sa.Column("baseline_version", sa.Integer, primary_key=True),
        sa.Column("feature", sa.Text, primary_key=True),
        sa.Column("bin", sa.Integer, primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "collector_feature_totals",
        sa.Column("model", sa.Text, primary_key=True),
        sa.Column("start_s", sa.BigInteger, primary_key=True),
        sa.Column("baseline_version", sa.Integer, primary_key=True),
        sa.Column("feature", sa.Text, primary_key=True),
        sa.Column("missing", sa.BigInteger, nullable=False),
        sa.Column("total", sa.Float, nullable=False),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("collector_feature_totals")
    op.drop_table("collector_bins")
