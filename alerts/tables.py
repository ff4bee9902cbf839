"""The rules and actions tables as SQLAlchemy Core metadata (what ``migrations/`` builds)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

rules_alerts = sa.Table(
    "rules_alerts",
    metadata,
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
outbox = sa.Table(
    "actions_outbox",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("dedup_key", sa.Text, nullable=False, unique=True),
    sa.Column("idempotency_key", sa.Text, nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("alert_json", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.Double, nullable=False),
    sa.Column("claim_token", sa.Text),
    sa.Column("claimed_until", sa.Double),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("context_json", sa.Text, nullable=False, server_default="{}"),
    sa.Column("last_seen_at", sa.Double),
    sa.Column("claimed_by", sa.Text),
    sa.Index("actions_outbox_due", "status", "next_attempt_at"),
    sa.Index("actions_outbox_recent", "model", "action", "created_at"),
    sqlite_autoincrement=True,
)
audit = sa.Table(
    "actions_audit",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Double, nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("dedup_key", sa.Text),
    sa.Column("target", sa.Text),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Index("actions_audit_model", "model", "id"),
    sa.Index("actions_audit_at", "at"),
    sqlite_autoincrement=True,
)
signatures = sa.Table(
    "actions_signatures",
    metadata,
    sa.Column("digest", sa.Text, primary_key=True),
    sa.Column("signed_at", sa.Double, nullable=False),
    sa.Column("seen_at", sa.Double, nullable=False),
    sa.Index("actions_signatures_signed", "signed_at"),
)
