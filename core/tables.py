"""The core's tables as SQLAlchemy Core metadata (what ``core/migrations`` builds)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("holder", sa.Text, nullable=False),
    sa.Column("acquired_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
)
