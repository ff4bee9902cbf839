"""The store on both engines: transactions, reopening, closing, errors in the engine's words."""

from __future__ import annotations

import pytest

from inferwatch.errors import StorageError
from inferwatch.httputil import redact_url
from inferwatch.storage import open_storage, storage_url


def test_writes_commit_together_and_survive_reopen(store_url: str) -> None:
    store = open_storage(store_url)
    with store.transaction() as tx:
        tx.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, size REAL)")
        tx.executemany("INSERT INTO items (id, name, size) VALUES (?, ?, ?)", [(1, "a", 1.5)])
        tx.executemany("INSERT INTO items (id, name, size) VALUES (?, ?, ?)", [])
        assert tx.execute("INSERT INTO items VALUES (?, ?, ?) RETURNING id", (2, "b", 2.0)) == [
            (2,)
        ]
    store.close()
    store.close()  # idempotent
    reopened = open_storage(store_url)
    assert reopened.query("SELECT name, size FROM items ORDER BY id") == [("a", 1.5), ("b", 2.0)]
    reopened.close()


def test_failed_transaction_rolls_back(store_url: str) -> None:
    store = open_storage(store_url)
    with store.transaction() as tx:
        tx.execute("CREATE TABLE items (name TEXT)")
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.execute("INSERT INTO items VALUES ('x')")
        raise RuntimeError("boom")
    assert store.query("SELECT COUNT(*) FROM items") == [(0,)]
    store.close()


def test_a_failing_statement_is_a_storage_error_in_the_engines_words(store_url: str) -> None:
    store = open_storage(store_url)
    with pytest.raises(StorageError, match=r"no such table|does not exist"):
        store.query("SELECT * FROM missing")
    assert store.ping()  # the store is usable afterwards
    store.close()


def test_percent_signs_and_placeholders_travel_to_either_driver(store_url: str) -> None:
    store = open_storage(store_url)
    assert store.query("SELECT ? || '%'", ("50",)) == [("50%",)]
    store.close()


def test_serialize_is_reentrant_inside_one_transaction(store_url: str) -> None:
    store = open_storage(store_url)
    with store.transaction() as tx:
        tx.serialize("a")
        tx.serialize("a")
        assert tx.execute("SELECT 1") == [(1,)]
    store.close()


def test_closed_store_says_so(store_url: str) -> None:
    store = open_storage(store_url)
    store.close()
    assert not store.ping()
    with pytest.raises(StorageError, match="closed"):
        store.query("SELECT 1")


def test_only_sqlite_and_postgresql_urls_open() -> None:
    with pytest.raises(StorageError, match="mysql"):
        open_storage("mysql://u@h/db")


def test_an_unreachable_postgresql_names_the_url_without_its_password() -> None:
    url = "postgresql+psycopg://u:s3cret@127.0.0.1:1/db"
    with pytest.raises(StorageError) as caught:
        open_storage(url, busy_timeout=1)
    assert "s3cret" not in str(caught.value)
    assert "127.0.0.1:1" in str(caught.value)
    assert "s3cret" not in redact_url(url)


def test_paths_become_sqlite_urls() -> None:
    assert storage_url("/tmp/x.db") == "sqlite:////tmp/x.db"
    assert storage_url("postgresql+psycopg://h/db") == "postgresql+psycopg://h/db"


def test_a_lock_held_past_the_busy_timeout_is_storage_busy(store_url: str) -> None:
    import sqlite3

    import psycopg
    import sqlalchemy as sa

    from inferwatch.errors import StorageBusyError

    store = open_storage(store_url, busy_timeout=0.2)
    with store.transaction() as tx:
        tx.execute("CREATE TABLE items (x INTEGER)")
    if store.dialect == "sqlite":
        assert store.path is not None
        other_sqlite = sqlite3.connect(str(store.path), isolation_level=None)
        other_sqlite.execute("BEGIN IMMEDIATE")
        release = other_sqlite.close
    else:
        dsn = sa.make_url(store_url).set(drivername="postgresql").render_as_string(False)
        other_pg = psycopg.connect(dsn)
        other_pg.execute("LOCK TABLE items IN ACCESS EXCLUSIVE MODE")
        release = other_pg.close
    try:
        with pytest.raises(StorageBusyError, match=r"0\.2s"), store.transaction() as tx:
            tx.execute("INSERT INTO items VALUES (1)")
    finally:
        release()
    with store.transaction() as tx:  # usable once the lock is gone
        tx.execute("INSERT INTO items VALUES (1)")
    assert store.query("SELECT COUNT(*) FROM items") == [(1,)]
    store.close()
