"""Migrations are safe: fresh and previous-release databases reach head on both engines;
a database newer than the code is refused, by the store, the services and ``inferwatch db``."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from inferwatch.app import create_app
from inferwatch.cli import app as cli
from inferwatch.errors import StorageError
from inferwatch.migrate import script_directory, state
from inferwatch.settings import load_settings
from inferwatch.storage import open_storage

LEGACY = Path(__file__).parent.parent / "fixtures" / "pre_alembic_schema.sql"
HEADS = {"actions_0004", "collector_0004", "core_0001", "drift_0002", "rules_0001"}


def _as_postgresql(script: str) -> list[str]:
    """The previous release's SQLite DDL, as the same schema would read on PostgreSQL."""
    script = re.sub(r"^--.*$", "", script, flags=re.M)
    script = script.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY")
    script = script.replace("BLOB", "BYTEA").replace(" REAL", " DOUBLE PRECISION")
    script = script.replace("DEFAULT CURRENT_TIMESTAMP", "DEFAULT 'now'")
    return [s.strip() for s in script.split(";") if s.strip()]


def _create_previous_release_database(url: str) -> None:
    script = LEGACY.read_text()
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.executescript(script)
        return
    dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in _as_postgresql(script):
            conn.execute(statement)


def test_a_fresh_database_reaches_head_once(store_url: str) -> None:
    store = open_storage(store_url)
    assert set(store.migrate()) >= HEADS
    assert store.migrate() == []
    found = state(store)
    assert found.at_head and set(found.current) == HEADS and found.unknown == ()
    store.close()


def test_a_previous_release_database_keeps_its_rows_and_reaches_head(store_url: str) -> None:
    _create_previous_release_database(store_url)
    store = open_storage(store_url)
    applied = store.migrate()
    assert sorted(applied) == [
        "actions_0004",
        "collector_0002",
        "collector_0003",
        "collector_0004",
        "core_0001",
        "drift_0002",
    ], "only what it lacked runs"
    assert state(store).at_head
    assert store.query("SELECT model, rows FROM collector_windows") == [("churn", 42)]
    assert store.query("SELECT dedup_key, status FROM actions_outbox") == [("k1", "done")]
    with store.transaction() as tx:  # ids keep counting after the adopted rows
        new = tx.execute(
            "INSERT INTO actions_audit (at, model, action, outcome, detail)"
            " VALUES (2.0, 'm', 'retrain', 'queued', 'x') RETURNING id"
        )
        tx.execute("INSERT INTO leases VALUES ('x', 'me', 1.0, 2.0)")
    assert new == [(2,)]
    store.close()


def test_an_actions_only_database_of_an_older_release_runs_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    legacy = LEGACY.read_text()
    header = legacy.split("-- collector v1")[0]  # the schema_migrations table
    actions_v1_v2 = legacy.split("-- actions v1")[1].split("-- actions v3")[0]
    with sqlite3.connect(path) as conn:
        conn.executescript(header + actions_v1_v2)
        conn.execute("INSERT INTO schema_migrations (part, version) VALUES ('actions', 1)")
        conn.execute("INSERT INTO schema_migrations (part, version) VALUES ('actions', 2)")
    store = open_storage(path)
    applied = store.migrate()
    assert "actions_0003" in applied and "actions_0001" not in applied
    assert set(applied) == HEADS | {
        "actions_0003",
        "collector_0001",
        "collector_0002",
        "collector_0003",
        "drift_0001",
    }
    assert "actions_0002" not in applied
    assert state(store).at_head
    assert store.query("SELECT COUNT(*) FROM actions_signatures") == [(0,)]
    store.close()


def test_a_newer_database_is_refused(store_url: str) -> None:
    store = open_storage(store_url)
    store.migrate()
    with store.transaction() as tx:
        tx.execute("INSERT INTO alembic_version (version_num) VALUES ('actions_0099')")
    with pytest.raises(StorageError, match="actions_0099, newer than this code"):
        store.migrate()
    assert state(store).unknown == ("actions_0099",)
    store.close()


def test_a_previous_release_newer_than_known_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(LEGACY.read_text())
        conn.execute("INSERT INTO schema_migrations (part, version) VALUES ('actions', 9)")
    with pytest.raises(StorageError, match="actions_0009, newer than this code"):
        open_storage(path).migrate()


def test_a_service_refuses_to_start_on_a_newer_database(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    store = open_storage(settings.storage_url())
    store.migrate()
    with store.transaction() as tx:
        tx.execute("INSERT INTO alembic_version (version_num) VALUES ('drift_0042')")
    store.close()
    with (
        pytest.raises(StorageError, match="drift_0042, newer than this code"),
        TestClient(create_app(settings, ["drift"])),
    ):
        pass


def test_db_upgrade_and_current(store_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"INFERWATCH_DATABASE_URL": store_url}
    before = runner.invoke(cli, ["db", "current", "--json"], env=env)
    assert before.exit_code == 1, before.output
    assert json.loads(before.stdout)["current"] == []
    upgraded = runner.invoke(cli, ["db", "upgrade", "--json"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    assert set(json.loads(upgraded.stdout)["applied"]) >= HEADS
    after = runner.invoke(cli, ["db", "current", "--json"], env=env)
    assert after.exit_code == 0, after.output
    assert json.loads(after.stdout)["at_head"] is True
    again = runner.invoke(cli, ["db", "upgrade"], env=env)
    assert "already at head" in again.stdout


def test_every_revision_id_names_its_branch_and_number() -> None:
    script = script_directory()
    for revision in script.walk_revisions():
        branch = revision.revision.split("_")[0]
        assert re.fullmatch(r"[a-z]+_\d{4}", revision.revision)
        assert branch in {b for r in script.walk_revisions() for b in r.branch_labels} | {
            branch for r in script.walk_revisions() if r.down_revision
        }


def test_the_migrations_at_head_build_exactly_the_declared_tables(store_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from inferwatch.alerts.tables import metadata as alerts
    from inferwatch.collector.tables import metadata as collector
    from inferwatch.drift.tables import metadata as drift
    from inferwatch.tables import metadata as core

    declared = sa.MetaData()
    for part in (core, collector, drift, alerts):
        for table in part.tables.values():
            table.to_metadata(declared)
    store = open_storage(store_url)
    store.migrate()
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, declared) == []
    store.close()
