"""Coordination through the state store: leases with a TTL, and SQLite's one-process rule.

A ``Lease`` is a row of the ``leases`` table: a name, the holder, and when the
hold expires. ``acquire`` takes a free or expired lease, or renews one we hold,
in a single ``INSERT … ON CONFLICT DO UPDATE … WHERE`` statement, so two
replicas racing for it on PostgreSQL cannot both win. A replica that dies stops
renewing and loses the lease after its TTL: the rules leader and each model's
scheduled drift evaluation hand over that way.

SQLite is one process by design: ``single_process`` takes an exclusive lock on a
file beside the database for a part that must not run twice, and refuses a
second process with a message that says what to do instead.
"""

from __future__ import annotations

import fcntl
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import IO, ClassVar

from inferwatch.errors import StorageError
from inferwatch.storage import SqlStorage, Storage

_ACQUIRE = (
    "INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
    " acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at"
    " ELSE excluded.acquired_at END, expires_at = excluded.expires_at"
    " WHERE leases.holder = excluded.holder OR leases.expires_at <= excluded.acquired_at"
    " RETURNING acquired_at"
)


def replica_id() -> str:
    """A holder name unique to this process: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lease:
    """One named lease, held by at most one holder until it expires.

    Example:
        >>> from inferwatch.storage import open_storage
        >>> store = open_storage(":memory:")
        >>> _ = store.migrate()
        >>> a = Lease(store, "demo", ttl=10, holder="a", clock=lambda: 100.0)
        >>> b = Lease(store, "demo", ttl=10, holder="b", clock=lambda: 105.0)
        >>> a.acquire(), b.acquire()
        (True, False)
    """

    def __init__(
        self,
        storage: Storage,
        name: str,
        *,
        ttl: float,
        holder: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.storage = storage
        self.name = name
        self.ttl = ttl
        self.holder = holder or replica_id()
        self.clock = clock
        self.acquired_at: float | None = None
        """When this holder's current, unbroken hold began (None when not held)."""
        self._valid_until = 0.0

    def acquire(self) -> bool:
        """Take or renew the lease for ``ttl`` seconds; True when this holder has it now."""
        now = self.clock()
        with self.storage.transaction() as tx:
            rows = tx.execute(_ACQUIRE, (self.name, self.holder, now, now + self.ttl))
        if rows:
            self.acquired_at = float(rows[0][0])
            self._valid_until = now + self.ttl
            return True
        self.acquired_at = None
        self._valid_until = 0.0
        return False

    def held(self) -> bool:
        """True while the last successful ``acquire`` has not run out (no query)."""
        return self.clock() < self._valid_until

    def release(self) -> None:
        """Give the lease up now (a clean stop), so another replica need not wait the TTL."""
        with self.storage.transaction() as tx:
            tx.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (self.name, self.holder))
        self.acquired_at = None
        self._valid_until = 0.0

    def owner(self) -> str | None:
        """Who holds the lease now (None when free or expired)."""
        rows = self.storage.query(
            "SELECT holder FROM leases WHERE name = ? AND expires_at > ?", (self.name, self.clock())
        )
        return str(rows[0][0]) if rows else None


class ProcessLock:
    """An exclusive lock on a file, held until ``release`` or the process ends (even kill -9).

    The rule is one *process* per SQLite file and part: several holders inside one
    process (tests serving two apps on one file) share the lock, counted.
    """

    _held: ClassVar[dict[str, tuple[IO[str], int]]] = {}
    _guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, path: str) -> None:
        self.path = path
        self._released = False

    @classmethod
    def take(cls, path: str) -> ProcessLock:
        """Lock ``path`` for this process; ``BlockingIOError`` when another process has it."""
        with cls._guard:
            handle, count = cls._held.get(path, (None, 0))
            if handle is None:
                handle = open(path, "a")  # noqa: SIM115 - held open for the lock's lifetime
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    handle.close()
                    raise
            cls._held[path] = (handle, count + 1)
        return cls(path)

    def release(self) -> None:
        """Drop this holder; the file unlocks with the process's last one. Safe to call twice."""
        with self._guard:
            if self._released or not self.path:
                return
            self._released = True
            handle, count = self._held.pop(self.path)
            if count > 1:
                self._held[self.path] = (handle, count - 1)
            else:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()


def single_process(storage: Storage, part: str) -> ProcessLock | None:
    """On SQLite, refuse a second process running ``part`` on the file; None elsewhere.

    PostgreSQL needs no such lock: replicas coordinate through leases and row locks.
    """
    if storage.dialect != "sqlite":
        return None
    path = storage.path if isinstance(storage, SqlStorage) else None
    if path is None:  # in memory: no other process can see it
        return ProcessLock("")
    try:
        return ProcessLock.take(f"{path}.{part}.lock")
    except BlockingIOError:
        raise StorageError(
            f"another process already runs the {part} part on the SQLite file {path}; "
            "SQLite is single-process: run one replica, or point every replica at "
            "PostgreSQL (database_url=postgresql+psycopg://…)"
        ) from None
