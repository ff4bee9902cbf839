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
