"""Schema migrations: one Alembic history with a branch per part.

Each part keeps its revisions in its own ``migrations/`` folder; the first
revision of a part carries the part's name as its branch label and revision ids
read ``<part>_<NNNN>``. Every service upgrades every branch to head at start
(tables of parts it does not run cost nothing), so the history in the database
is always one this code knows in full. A database written by a newer release
(a revision this code does not know) is refused before anything runs.

A database made by the release before Alembic (a ``schema_migrations`` table of
``(part, version)`` rows) is adopted: ``<part>_<version>`` is stamped, the
revisions after it run as usual.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy.engine import Connection

from inferwatch.errors import StorageError

if TYPE_CHECKING:
    from inferwatch.storage import SqlStorage

# package -> its folder of revisions (the alerts package holds both rules and actions)
PACKAGES: tuple[str, ...] = (
    "inferwatch",
    "inferwatch.collector",
    "inferwatch.drift",
    "inferwatch.alerts",
)
_LOCK_NAME = "inferwatch schema migration"


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)  # finds the folder without importing the package
    if spec is None or not spec.submodule_search_locations:
        raise StorageError(f"cannot find package {package} for its migrations")
    return Path(next(iter(spec.submodule_search_locations)))


def version_locations(extra: Iterable[Path] = ()) -> list[Path]:
    """Every folder of revisions: each part's, then ``extra`` (tests, plug-ins)."""
    found = [_package_dir(p) / "migrations" for p in PACKAGES]
    return [*found, *(Path(e) for e in extra if Path(e) not in found)]


def script_directory(extra: Iterable[Path] = ()) -> ScriptDirectory:
    """The full history as Alembic sees it."""
    locations = version_locations(extra)
    return ScriptDirectory(str(locations[0]), version_locations=[str(p) for p in locations])


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands against this code's history."""

    current: tuple[str, ...]
    heads: tuple[str, ...]
    unknown: tuple[str, ...]

    @property
    def at_head(self) -> bool:
        """True when every branch is at its newest revision."""
        return set(self.current) == set(self.heads)


def _stored(conn: Connection) -> list[str]:
    if not sa.inspect(conn).has_table("alembic_version"):
        return []
    return [str(r[0]) for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")]


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except (CommandError, RevisionError, KeyError):  # alembic's ways of saying "unknown"
        return False


def _adopt_legacy(conn: Connection, script: ScriptDirectory) -> None:
    """Stamp the Alembic revision matching each part's pre-Alembic schema version."""
    inspector = sa.inspect(conn)
    if inspector.has_table("alembic_version") or not inspector.has_table("schema_migrations"):
        return
    rows = conn.exec_driver_sql(
        "SELECT part, MAX(version) FROM schema_migrations GROUP BY part"
    ).fetchall()
    stamps = [f"{part}_{int(version):04d}" for part, version in rows]
    _refuse_unknown(script, stamps)
    conn.exec_driver_sql(
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"
    )
    for stamp in stamps:
        conn.execute(
            sa.text("INSERT INTO alembic_version (version_num) VALUES (:stamp)"), {"stamp": stamp}
        )


def _refuse_unknown(script: ScriptDirectory, current: Iterable[str]) -> None:
    unknown = [rev for rev in current if not _known(script, rev)]
    if unknown:
        raise StorageError(
            f"state store has schema revision {', '.join(unknown)}, newer than this code "
            "knows; upgrade inferwatch (or point it at another database)"
        )


@contextmanager
def _migrating(storage: SqlStorage) -> Iterator[Connection]:
    """A write transaction that no other replica migrates in at the same time."""
    with storage.transaction() as tx:
        tx.serialize(_LOCK_NAME)
        yield tx.connection


def upgrade(storage: SqlStorage, extra: Iterable[Path] = ()) -> list[str]:
    """Adopt a pre-Alembic database, refuse a newer one, run every branch to head."""
    script = script_directory(extra)
    applied: list[str] = []
    with _migrating(storage) as conn:
        _adopt_legacy(conn, script)
        _refuse_unknown(script, _stored(conn))

        def steps(rev: Any, context: Any) -> Any:
            revisions = script._upgrade_revs("heads", rev)
            applied.extend(str(step.revision.revision) for step in revisions)
            return revisions

        with EnvironmentContext(Config(), script, fn=steps, destination_rev="heads") as env:
            env.configure(connection=conn, target_metadata=None, fn=steps)
            with env.begin_transaction():
                env.run_migrations()
    return applied


def state(storage: SqlStorage, extra: Iterable[Path] = ()) -> SchemaState:
    """The database's revisions, this code's heads, and revisions this code does not know."""
    script = script_directory(extra)
    with storage._connection("BEGIN") as conn:
        current = _stored(conn)
    heads = tuple(sorted(str(h) for h in script.get_heads()))
    unknown = tuple(rev for rev in current if not _known(script, rev))
    return SchemaState(current=tuple(sorted(current)), heads=heads, unknown=unknown)
