"""The state store: one interface over SQLAlchemy Core, on SQLite or PostgreSQL.

Parts keep their tables here (baselines, drift history, windows, rules state, the
actions outbox, audit, signatures) and write SQL that both engines speak: ``?``
placeholders, ``ON CONFLICT``, ``RETURNING``. This module is the one place that
knows which engine it talks to: it translates placeholders for psycopg, maps each
engine's "busy" errors to ``StorageBusyError``, serialises SQLite writers with
``BEGIN IMMEDIATE`` and offers the coordination primitive whose SQL differs
(``Transaction.serialize``). Statements built with SQLAlchemy Core (each part's
``tables`` module) are compiled for the engine by SQLAlchemy itself, e.g. a claim's
``with_for_update(skip_locked=True)``. Schema changes are Alembic revisions
(``inferwatch.migrate``); the migrations at head build exactly those tables.

Example:
    >>> store = open_storage("sqlite:///:memory:")
    >>> with store.transaction() as tx:
    ...     _ = tx.execute("CREATE TABLE t (x INTEGER)")
    ...     _ = tx.execute("INSERT INTO t VALUES (?)", (1,))
    >>> store.query("SELECT x FROM t")
    [(1,)]
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql import Executable

from inferwatch.errors import StorageBusyError, StorageError
from inferwatch.httputil import redact_url

Row = tuple[Any, ...]
Dialect = Literal["sqlite", "postgresql"]


class Transaction(Protocol):
    """What a part may do inside ``Storage.transaction()``."""

    dialect: Dialect

    @property
    def connection(self) -> Connection:
        """The SQLAlchemy connection under this transaction (Alembic runs on it)."""
        ...

    def execute(self, sql: str | Executable, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement (portable SQL text with ``?`` or a Core construct)."""
        ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters."""
        ...

    def serialize(self, name: str) -> None:
        """Hold a lock named ``name`` until this transaction ends (writers queue on it)."""
        ...


class Storage(Protocol):
    """The state store every part talks to."""

    dialect: Dialect
    url: str

    def transaction(self) -> AbstractContextManager[Transaction]: ...

    def query(self, sql: str | Executable, params: Sequence[Any] = ()) -> list[Row]: ...

    def migrate(self, extra_locations: Iterable[Path] = ()) -> list[str]: ...

    def ping(self) -> bool: ...

    def close(self) -> None: ...


_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")
_PG_BUSY_STATES = {"55P03", "40P01", "40001"}  # lock timeout, deadlock, serialization failure


def busy_error(exc: BaseException, waited: float) -> StorageBusyError | None:
    """``StorageBusyError`` naming the cause when ``exc`` is an engine's busy/locked error."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    text = str(orig).strip().lower()
    state = getattr(orig, "sqlstate", None)
    code = getattr(orig, "sqlite_errorcode", None)
    if code in (5, 6) or any(m in text for m in _SQLITE_BUSY) or state in _PG_BUSY_STATES:
        return StorageBusyError(
            f"state store busy: {str(orig).strip()} (another process or connection held the "
            f"lock for more than {waited:g}s)"
        )
    return None


def _wrapped(exc: SQLAlchemyError, waited: float) -> Exception:
    """The exception a part sees for a failed statement: busy, or the driver's own words."""
    busy = busy_error(exc, waited)
    if busy is not None:
        return busy
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return StorageError(f"state store connection lost: {exc.orig}")
    return StorageError(f"state store statement failed: {getattr(exc, 'orig', exc)}")


class _Tx:
    def __init__(self, conn: Connection, dialect: Dialect, timeout: float) -> None:
        self._conn = conn
        self.dialect: Dialect = dialect
        self._timeout = timeout

    @property
    def connection(self) -> Connection:
        """The SQLAlchemy connection under this transaction (for Alembic)."""
        return self._conn

    def _sql(self, sql: str) -> str:
        if self.dialect == "postgresql":
            return sql.replace("%", "%%").replace("?", "%s")
        return sql

    def execute(self, sql: str | Executable, params: Sequence[Any] = ()) -> list[Row]:
        try:
            if isinstance(sql, str):
                result = self._conn.exec_driver_sql(self._sql(sql), tuple(params))
            else:
                result = self._conn.execute(sql)
            return [tuple(row) for row in result.fetchall()] if result.returns_rows else []
        except SQLAlchemyError as exc:
            raise _wrapped(exc, self._timeout) from exc

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = [tuple(r) for r in rows]
        if not batch:
            return
        try:
            self._conn.exec_driver_sql(self._sql(sql), batch)
        except SQLAlchemyError as exc:
            raise _wrapped(exc, self._timeout) from exc

    def serialize(self, name: str) -> None:
        if self.dialect == "postgresql":  # SQLite's BEGIN IMMEDIATE already serialises writers
            key = zlib.crc32(name.encode()) - 2**31
            self.execute("SELECT pg_advisory_xact_lock(?)", (key,))


class SqlStorage:
    """The store on one SQLAlchemy engine.

    SQLite: one connection shared under a lock, WAL mode, ``BEGIN IMMEDIATE`` for
    writes (one writer at a time is what SQLite allows anyway). PostgreSQL: a
    connection pool, each transaction on its own connection, lock waits bounded
    by ``lock_timeout`` so a held lock surfaces as ``StorageBusyError``.
    """

    def __init__(self, url: str, *, busy_timeout: float = 30.0) -> None:
        self.url = url
        self.busy_timeout = busy_timeout
        parsed = sa.make_url(url)
        backend = parsed.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise StorageError(f"state store URL {parsed.drivername}:// is not supported")
        self.dialect: Dialect = "sqlite" if backend == "sqlite" else "postgresql"
        self._lock = threading.RLock()
        self._closed = False
        self._begin = "BEGIN IMMEDIATE"
        try:
            self.engine = self._sqlite_engine(parsed) if backend == "sqlite" else self._pg_engine()
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot open state store {redact_url(url)}: {exc}") from exc

    @property
    def path(self) -> Path | None:
        """The SQLite file, or None (PostgreSQL, or an in-memory SQLite)."""
        database = sa.make_url(self.url).database
        if self.dialect != "sqlite" or not database or database == ":memory:":
            return None
        return Path(database)

    def _sqlite_engine(self, parsed: sa.URL) -> Engine:
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            parsed,
            poolclass=StaticPool,
            connect_args={"check_same_thread": False, "timeout": self.busy_timeout},
        )

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we say BEGIN ourselves
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
                dbapi_conn.execute(f"PRAGMA {pragma}")

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql(self._begin)

        return engine

    def _pg_engine(self) -> Engine:
        lock_ms = int(self.busy_timeout * 1000)
        return sa.create_engine(
            self.url,
            pool_pre_ping=True,
            pool_size=8,
            max_overflow=8,
            connect_args={"options": f"-c lock_timeout={lock_ms}", "connect_timeout": 10},
        )

    @contextmanager
    def _connection(self, begin: str) -> Iterator[Connection]:
        if self.dialect == "sqlite":
            with self._lock:
                if self._closed:
                    raise StorageError("state store is closed")
                self._begin = begin
                try:
                    with self.engine.connect() as conn, conn.begin():
                        yield conn
                except SQLAlchemyError as exc:
                    raise _wrapped(exc, self.busy_timeout) from exc
        else:
            if self._closed:
                raise StorageError("state store is closed")
            try:
                with self.engine.begin() as conn:
                    yield conn
            except SQLAlchemyError as exc:
                raise _wrapped(exc, self.busy_timeout) from exc

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Run statements atomically: all of them commit, or none does.

        A lock held elsewhere past the busy timeout raises ``StorageBusyError`` with
        the engine's own words.
        """
        with self._connection("BEGIN IMMEDIATE") as conn:
            yield _Tx(conn, self.dialect, self.busy_timeout)

    def query(self, sql: str | Executable, params: Sequence[Any] = ()) -> list[Row]:
        """A read in its own short transaction (SQLite: deferred, so it takes no write lock)."""
        with self._connection("BEGIN") as conn:
            return _Tx(conn, self.dialect, self.busy_timeout).execute(sql, params)

    def migrate(self, extra_locations: Iterable[Path] = ()) -> list[str]:
        """Bring the schema to head (every part's branch); return the revisions applied now."""
        from inferwatch.migrate import upgrade

        return upgrade(self, extra_locations)

    def ping(self) -> bool:
        """True when the store answers a trivial query."""
        try:
            self.query("SELECT 1")
        except (SQLAlchemyError, StorageError):
            return False
        return True

    def close(self) -> None:
        """Release connections; safe to call twice."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self.engine.dispose()


def storage_url(target: Path | str) -> str:
    """A URL for ``target``: a URL stays as it is, a path becomes ``sqlite:///PATH``."""
    text = str(target)
    if "://" in text:
        return text
    return f"sqlite:///{text}"


def open_storage(target: Path | str, *, busy_timeout: float = 30.0) -> SqlStorage:
    """Open the store at a URL (``sqlite:///…``, ``postgresql+psycopg://…``) or a SQLite path."""
    return SqlStorage(storage_url(target), busy_timeout=busy_timeout)


class SqliteStorage(SqlStorage):
    """The embedded store on a SQLite file (for callers that name the engine)."""

    def __init__(self, path: Path | str, *, busy_timeout: float = 30.0) -> None:
        super().__init__(storage_url(path), busy_timeout=busy_timeout)
