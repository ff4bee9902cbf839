from pathlib import Path

import pytest

from inferwatch.errors import StorageError
from inferwatch.storage import Migration, SqliteStorage

V1 = Migration("demo", 1, "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
V2 = Migration(
    "demo", 2, "ALTER TABLE items ADD COLUMN size INTEGER; CREATE INDEX ix ON items(name)"
)


def test_migrations_apply_once_in_order(tmp_path: Path) -> None:
    store = SqliteStorage(tmp_path / "s.db")
    assert store.migrate([V2, V1]) == [V1, V2]
    assert store.migrate([V1, V2]) == []
    assert store.applied_versions() == {"demo": 2}
    with store.transaction() as tx:
        tx.execute("INSERT INTO items (name, size) VALUES (?, ?)", ("a", 3))
    assert store.query("SELECT name, size FROM items") == [("a", 3)]
    store.close()
    store.close()  # idempotent


def test_state_survives_reopen(tmp_path: Path) -> None:
    first = SqliteStorage(tmp_path / "s.db")
    first.migrate([V1])
    with first.transaction() as tx:
        tx.executemany("INSERT INTO items (name) VALUES (?)", [("a",), ("b",)])
    first.close()
    second = SqliteStorage(tmp_path / "s.db")
    assert second.migrate([V1, V2]) == [V2]
    assert second.query("SELECT COUNT(*) FROM items") == [(2,)]


def test_failed_transaction_rolls_back(tmp_path: Path) -> None:
    store = SqliteStorage(tmp_path / "s.db")
    store.migrate([V1])
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.execute("INSERT INTO items (name) VALUES ('x')")
        raise RuntimeError("boom")
    assert store.query("SELECT COUNT(*) FROM items") == [(0,)]


def test_newer_schema_than_code_is_refused(tmp_path: Path) -> None:
    store = SqliteStorage(tmp_path / "s.db")
    store.migrate([V1, V2])
    with pytest.raises(StorageError, match="newer than this code"):
        store.migrate([V1])


def test_gaps_in_migrations_are_refused(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="without gaps"):
        SqliteStorage(tmp_path / "s.db").migrate([V2])


def test_closed_store_says_so(tmp_path: Path) -> None:
    store = SqliteStorage(tmp_path / "s.db")
    store.close()
    assert not store.ping()
    with pytest.raises(StorageError, match="closed"):
        store.query("SELECT 1")
