"""rules 0001: each group's alert state, so a restart keeps every ``for`` (pre-Alembic v1).

Revision ID: rules_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "rules_0001"
down_revision = None
branch_labels = ("rules",)
depends_on = None


def upgrade() -> None:
    """One row per group, rule and label set."""
    op.create_table(
        "rules_alerts",
        sa.Column("grp", sa.Text, primary_key=True),
        sa.Column("rule", sa.Text, primary_key=True),
        sa.Column("labels", sa.Text, primary_key=True),
        sa.Column("annotations", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("value", sa.Double, nullable=False),
        sa.Column("active_at", sa.Double, nullable=False),
        sa.Column("fired_at", sa.Double),
        sa.Column("resolved_at", sa.Double),
        sa.Column("keep_firing_since", sa.Double),
        sa.Column("saved_at", sa.Double, nullable=False),
    )


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("rules_alerts")
