"""Leases on both engines, and SQLite's one-process rule against a real second process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from inferwatch.errors import StorageError
from inferwatch.leases import Lease, single_process
from inferwatch.storage import SqlStorage, open_storage


def test_a_lease_has_one_holder_until_it_expires(migrated_store: SqlStorage) -> None:
    now = [100.0]
    a = Lease(migrated_store, "x", ttl=10, holder="a", clock=lambda: now[0])
    b = Lease(migrated_store, "x", ttl=10, holder="b", clock=lambda: now[0])
    assert a.acquire() and a.held() and a.acquired_at == 100.0
    assert not b.acquire() and not b.held()
    now[0] = 108.0
    assert a.acquire(), "the holder renews"
    assert a.acquired_at == 100.0, "a renewal keeps the hold's start"
    now[0] = 117.0
    assert not b.acquire(), "renewed until 118"
    assert a.owner() == "a"
    now[0] = 118.5
    assert not a.held()
    assert b.acquire() and b.acquired_at == 118.5, "expired: taken over"
    assert not a.acquire()
    b.release()
    assert a.owner() is None
    assert a.acquire()


def test_racing_replicas_get_one_lease(migrated_store: SqlStorage, store_url: str) -> None:
    stores = [open_storage(store_url) for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    won: list[str] = []

    def race(i: int) -> None:
        lease = Lease(stores[i], "race", ttl=30, holder=f"r{i}")
        barrier.wait()
        if lease.acquire():
            won.append(lease.holder)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(won) == 1
    for store in stores:
        store.close()


HOLDER = """
import sys, time
from inferwatch.storage import open_storage
from inferwatch.leases import single_process
lock = single_process(open_storage(sys.argv[1]), "actions")
print("locked", flush=True)
time.sleep(600)
"""


def test_a_second_process_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    other = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert other.stdout is not None
        assert other.stdout.readline().strip() == "locked"
        store = open_storage(path)
        with pytest.raises(StorageError, match="another process already runs the actions part"):
            single_process(store, "actions")
        assert single_process(store, "rules") is not None, "other parts are not affected"
        os.kill(other.pid, signal.SIGKILL)
        other.wait(10)
        deadline = time.monotonic() + 10
        while True:  # the kernel drops the dead process's lock
            try:
                lock = single_process(store, "actions")
                break
            except StorageError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert lock is not None
        lock.release()
        lock.release()
        store.close()
    finally:
        other.kill()
        other.wait(10)


def test_postgresql_needs_no_process_lock(store_url: str) -> None:
    store = open_storage(store_url)
    if store.dialect == "postgresql":
        assert single_process(store, "actions") is None
    else:
        first = single_process(store, "actions")
        second = single_process(store, "actions")  # the same process may hold it twice
        assert first is not None and second is not None
        first.release()
        second.release()
    store.close()
