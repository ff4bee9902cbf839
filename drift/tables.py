"""The drift part's tables as SQLAlchemy Core metadata (what ``migrations/`` builds)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

baselines = sa.Table(
    "drift_baselines",
    metadata,
    sa.Column("model", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("spec", sa.Text, nullable=False),
    sa.Column("sample", sa.LargeBinary),
    sa.Column("sample_rows", sa.Integer, nullable=False, server_default="0"),
)
results = sa.Table(
    "drift_results",
    metadata,
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
    sa.Index("drift_results_by_model", "model", "id"),
    sqlite_autoincrement=True,
)
quality_results = sa.Table(
    "drift_quality_results",
    metadata,
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
