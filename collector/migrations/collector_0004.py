"""collector 0004: model outcomes (predictions with their actuals), as additive cells.

Revision ID: collector_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "collector_0004"
down_revision = "collector_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Outcome cells per window and baseline version; predictions awaiting their actuals.

    Cells add by upsert (``inferwatch.contracts.outcomes``), so any replica adds a
    batch or a late actual into the window of its prediction. Predictions sent with an
    id and no actual are kept until ``expires_s`` so an actual arriving later joins them.
    """
    op.create_table(
        "collector_outcome_cells",
        sa.Column("model", sa.Text, primary_key=True),
        sa.Column("start_s", sa.BigInteger, primary_key=True),
        sa.Column("baseline_version", sa.Integer, primary_key=True),
        sa.Column("cell", sa.Text, primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
    )
    op.create_table(
        "collector_predictions",
        sa.Column("model", sa.Text, primary_key=True),
        sa.Column("prediction_id", sa.Text, primary_key=True),
        sa.Column("start_s", sa.BigInteger, nullable=False),
        sa.Column("baseline_version", sa.Integer, nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("labelled", sa.Boolean, nullable=False),
        sa.Column("expires_s", sa.BigInteger, nullable=False),
    )
    op.create_index("collector_predictions_expiry", "collector_predictions", ["expires_s"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_index("collector_predictions_expiry", "collector_predictions")
    op.drop_table("collector_predictions")
    op.drop_table("collector_outcome_cells")
