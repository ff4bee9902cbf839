"""drift 0001: baselines (immutable versions) and the evaluation history (pre-Alembic v1).

Revision ID: drift_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "drift_0001"
down_revision = None
branch_labels = ("drift",)
depends_on = None

# BIGINT ids on PostgreSQL (BIGSERIAL), SQLite's rowid alias on SQLite
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Baselines keyed by (model, version); results appended with an id."""
    op.create_table(
        "drift_baselines",
        sa.Column("model", sa.Text, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("sample", sa.LargeBinary),
        sa.Column("sample_rows", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "drift_results",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("baseline_version", sa.Integer, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("verdict", sa.Text, nullable=False),
        sa.Column("drift_detected", sa.Integer, nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("window_start", sa.Text),
        sa.Column("window_end", sa.Text),
        sa.Column("evaluated_at", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("drift_results_by_model", "drift_results", ["model", "id"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("drift_results")
    op.drop_table("drift_baselines")
