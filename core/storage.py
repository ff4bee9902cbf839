"""The state store: a small interface, SQLite behind it, migrations from day one.

Parts keep their tables here (baselines, drift history, windows, the actions
outbox). Each part declares its schema as an ordered list of ``Migration``s; the
store applies the missing ones at start and refuses a database that is newer than
the code. SQL uses ``?`` placeholders and portable types so that a PostgreSQL
implementation of ``Storage`` can serve later without touching the parts.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, Protocol

from inferwatch.errors import StorageBusyError, StorageError

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Migration:
    """One forward step of one part's schema; ``version`` counts up from 1 per part."""

    part: str
    version: int
    sql: str


class Transaction(Protocol):
    """What a part may do inside ``Storage.transaction()``."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...


class Storage(Protocol):
    """The state store every part talks to."""

    def transaction(self) -> AbstractContextManager[Transaction]: ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    def migrate(self, migrations: Iterable[Migration]) -> list[Migration]: ...

    def ping(self) -> bool: ...

    def close(self) -> None: ...


_BUSY_MESSAGES = ("database is locked", "database table is locked", "database is busy")


def busy_error(exc: sqlite3.Error, waited: float) -> StorageBusyError | None:
    """``StorageBusyError`` naming the cause when ``exc`` is SQLite's busy/locked error."""
    text = str(exc).lower()
    code = getattr(exc, "sqlite_errorcode", None)
    busy_codes = (getattr(sqlite3, "SQLITE_BUSY", 5), getattr(sqlite3, "SQLITE_LOCKED", 6))
    if code in busy_codes or any(m in text for m in _BUSY_MESSAGES):
        return StorageBusyError(
            f"state store busy: {exc} (another process or connection held the write lock "
            f"for more than {waited:g}s)"
        )
    return None


def _raise_busy_or(exc: sqlite3.OperationalError, waited: float) -> NoReturn:
    """Raise ``StorageBusyError`` for a busy/locked store, else ``exc`` itself."""
    busy = busy_error(exc, waited)
    if busy is None:
        raise exc
    raise busy from exc


class _SqliteTransaction:
    def __init__(self, conn: sqlite3.Connection, timeout: float) -> None:
        self._conn = conn
        self._timeout = timeout

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            return [tuple(row) for row in self._conn.execute(sql, tuple(params)).fetchall()]
        except sqlite3.OperationalError as exc:
            _raise_busy_or(exc, self._timeout)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            self._conn.executemany(sql, (tuple(r) for r in rows))
        except sqlite3.OperationalError as exc:
            _raise_busy_or(exc, self._timeout)


class SqliteStorage:
    """SQLite in WAL mode, one connection shared under a lock.

    One writer at a time is what SQLite allows anyway; the lock keeps threads
    (FastAPI's pool, background loops) from interleaving statements of two
    transactions on the shared connection.
    """

    def __init__(self, path: Path | str, *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(
                str(path), check_same_thread=False, isolation_level=None, timeout=busy_timeout
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open state store {path}: {exc}") from exc
        self._lock = threading.RLock()
        self._closed = False
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " part TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL"
            " DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (part, version))"
        )

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Run statements atomically: all of them commit, or none does.

        A lock held elsewhere past the busy timeout raises ``StorageBusyError`` with
        SQLite's own words; the rollback of a transaction that never began (or that
        SQLite already rolled back) is skipped, so it cannot hide that cause behind
        "cannot rollback - no transaction is active".
        """
        with self._lock:
            if self._closed:
                raise StorageError("state store is closed")
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                _raise_busy_or(exc, self.busy_timeout)
            try:
                yield _SqliteTransaction(self._conn, self.busy_timeout)
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            else:
                try:
                    self._conn.execute("COMMIT")
                except sqlite3.OperationalError as exc:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    _raise_busy_or(exc, self.busy_timeout)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """A read outside any explicit transaction."""
        with self._lock:
            if self._closed:
                raise StorageError("state store is closed")
            try:
                return [tuple(row) for row in self._conn.execute(sql, tuple(params)).fetchall()]
            except sqlite3.OperationalError as exc:
                _raise_busy_or(exc, self.busy_timeout)

    def applied_versions(self) -> dict[str, int]:
        """The newest applied migration per part."""
        rows = self.query("SELECT part, MAX(version) FROM schema_migrations GROUP BY part")
        return {str(part): int(version) for part, version in rows}

    def migrate(self, migrations: Iterable[Migration]) -> list[Migration]:
        """Apply the missing migrations in order; return the ones applied now."""
        by_part: dict[str, list[Migration]] = {}
        for migration in migrations:
            by_part.setdefault(migration.part, []).append(migration)
        applied_now: list[Migration] = []
        current = self.applied_versions()
        for part, steps in by_part.items():
            steps.sort(key=lambda m: m.version)
            if [m.version for m in steps] != list(range(1, len(steps) + 1)):
                raise StorageError(f"migrations of {part} must be numbered 1..n without gaps")
            have = current.get(part, 0)
            if have > len(steps):
                raise StorageError(
                    f"state store has {part} schema v{have}, newer than this code's "
                    f"v{len(steps)}; upgrade inferwatch"
                )
            for step in steps[have:]:
                with self.transaction() as tx:
                    for statement in _split_sql(step.sql):
                        tx.execute(statement)
                    tx.execute(
                        "INSERT INTO schema_migrations (part, version) VALUES (?, ?)",
                        (part, step.version),
                    )
                applied_now.append(step)
        return applied_now

    def ping(self) -> bool:
        """True when the store answers a trivial query."""
        try:
            self.query("SELECT 1")
        except (sqlite3.Error, StorageError):
            return False
        return True

    def close(self) -> None:
        """Close the connection; safe to call twice."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements (no semicolons inside literals, by rule)."""
    return [s.strip() for s in script.split(";") if s.strip()]


def open_storage(path: Path | str, *, busy_timeout: float = 30.0) -> SqliteStorage:
    """Open the embedded store (the only backend today)."""
    return SqliteStorage(path, busy_timeout=busy_timeout)
