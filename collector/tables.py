"""The collector's tables as SQLAlchemy Core metadata (what ``migrations/`` builds)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

windows = sa.Table(
    "collector_windows",
    metadata,
    sa.Column("model", sa.Text, primary_key=True),
    sa.Column("start_s", sa.BigInteger, primary_key=True),
    sa.Column("end_s", sa.BigInteger, nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
)
samples = sa.Table(
    "collector_samples",
    metadata,
    sa.Column("model", sa.Text, primary_key=True),
    sa.Column("start_s", sa.BigInteger, primary_key=True),
    sa.Column("slot", sa.Integer, primary_key=True),
    sa.Column("record", sa.Text, nullable=False),
)
bins = sa.Table(
    "collector_bins",
    metadata,
    sa.Column("model", sa.Text, primary_key=True),
    sa.Column("start_s", sa.BigInteger, primary_key=True),
    sa.Column("baseline_version", sa.Integer, primary_key=True),
    sa.Column("feature", sa.Text, primary_key=True),
    sa.Column("bin", sa.Integer, primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
)
feature_totals = sa.Table(
    "collector_feature_totals",
    metadata,
    sa.Column("model", sa.Text, primary_key=True),
    sa.Column("start_s", sa.BigInteger, primary_key=True),
    sa.Column("baseline_version", sa.Integer, primary_key=True),
    sa.Column("feature", sa.Text, primary_key=True),
    sa.Column("missing", sa.BigInteger, nullable=False),
    sa.Column("total", sa.Float, nullable=False),
)
summary_keys = sa.Table(
    "collector_summary_keys",
    metadata,
    sa.Column("model", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("start_s", sa.BigInteger, nullable=False),
)
outcome_cells = sa.Table(
    "collector_outcome_cells",
    metadata,
    sa.Column("model", sa.Text, primary_key=True),
    sa.Column("start_s", sa.BigInteger, primary_key=True),
    sa.Column("baseline_version", sa.Integer, primary_key=True),
    sa.Column("cell", sa.Text, primary_key=True),
    sa.Column("value", sa.Float, nullable=False),
)
predictions = sa.Table(
    "collector_predictions",
    metadata,
    sa.Column("model", sa.Text, primary_key=True),
    sa.Column("prediction_id", sa.Text, primary_key=True),
    sa.Column("start_s", sa.BigInteger, nullable=False),
    sa.Column("baseline_version", sa.Integer, nullable=False),
    sa.Column("record", sa.Text, nullable=False),
    sa.Column("labelled", sa.Boolean, nullable=False),
    sa.Column("expires_s", sa.BigInteger, nullable=False),
    sa.Index("collector_predictions_expiry", "expires_s"),
)
