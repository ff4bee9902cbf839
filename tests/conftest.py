"""Fixtures shared by every test: settings on a temporary data dir, real Prometheus,
Alertmanager and PostgreSQL processes on free loopback ports, and apps served over real HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from inferwatch.pgserver import PostgresServer
from inferwatch.settings import Settings, load_settings
from inferwatch.stack import AlertmanagerProcess, PrometheusProcess, ServedApp
from inferwatch.storage import SqlStorage, open_storage


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's own settings or writes to their data dir."""
    import os

    for key in list(os.environ):
        if key.startswith("INFERWATCH_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings with state under the test's temporary directory."""
    return load_settings(data_dir=tmp_path / "data")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throw-away PostgreSQL server for the session (initdb + pg_ctl, loopback port)."""
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


_database_counter = iter(range(1_000_000))


@pytest.fixture(
    params=[pytest.param("sqlite", id="sqlite"), pytest.param("postgresql", id="postgresql")]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty state store, once on SQLite and once on PostgreSQL (a fresh database)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database(f"test_{next(_database_counter)}")


@pytest.fixture
def migrated_store(store_url: str) -> Iterator[SqlStorage]:
    """The state store at ``store_url`` with every part's schema at head."""
    storage = open_storage(store_url)
    storage.migrate()
    try:
        yield storage
    finally:
        storage.close()


P = TypeVar("P", PrometheusProcess, AlertmanagerProcess)


@contextmanager
def _started(kind: type[P]) -> Iterator[Callable[..., P]]:
    """Start processes of ``kind`` on demand; clean every one up afterwards."""
    started: list[P] = []

    def start(**kwargs: Any) -> P:
        process = kind(**kwargs)
        started.append(process)
        process.start()
        return process

    try:
        yield start
    finally:
        for process in started:
            process.cleanup()


@pytest.fixture
def prometheus_factory() -> Iterator[Callable[..., PrometheusProcess]]:
    """Start real Prometheus servers: ``prometheus_factory(scrape_targets=[...], ...)``."""
    with _started(PrometheusProcess) as start:
        yield start


@pytest.fixture
def alertmanager_factory() -> Iterator[Callable[..., AlertmanagerProcess]]:
    """Start real Alertmanagers: ``alertmanager_factory(alertmanager_config={...})``."""
    with _started(AlertmanagerProcess) as start:
        yield start


@pytest.fixture
def alertmanager(alertmanager_factory: Callable[..., AlertmanagerProcess]) -> AlertmanagerProcess:
    """One real Alertmanager with a do-nothing receiver."""
    return alertmanager_factory()


@pytest.fixture
def serve() -> Iterator[Callable[[Any], ServedApp]]:
    """Serve ASGI apps over real loopback HTTP for the test's duration."""
    served: list[ServedApp] = []

    def start(app: Any) -> ServedApp:
        server = ServedApp(app).start()
        served.append(server)
        return server

    yield start
    for server in reversed(served):
        server.stop()
