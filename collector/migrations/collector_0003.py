"""collector 0003: idempotency keys of merged summaries.

Revision ID: collector_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "collector_0003"
down_revision = "collector_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """One row per summary merged, keyed by the recorder's ``Idempotency-Key``.

    A recorder that retries a summary whose answer it lost (a collector killed after
    its commit, a timeout) sends the same key; any replica sees it here and does not
    add the counts twice. Rows go with their window's retention.
    """
    op.create_table(
        "collector_summary_keys",
        sa.Column("model", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("start_s", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("collector_summary_keys")
