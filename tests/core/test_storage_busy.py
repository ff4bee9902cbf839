"""A locked state store answers 503 with Retry-After and logs the real cause (issue 14, item 5).

Another connection holds SQLite's write lock (``BEGIN IMMEDIATE``) past the busy
timeout, as a second process or a stuck migration would.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from inferwatch.app import create_app
from inferwatch.errors import StorageBusyError
from inferwatch.settings import load_settings
from inferwatch.stack import ServedApp
from inferwatch.storage import SqliteStorage
from inferwatch.testing.actions import webhook_alert, webhook_message

Serve = Callable[[Any], ServedApp]


@contextmanager
def write_lock_held(path: Path) -> Iterator[None]:
    """Hold the database's write lock from a second connection."""
    other = sqlite3.connect(str(path), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_transaction_names_the_lock_not_a_failed_rollback(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    storage = SqliteStorage(path, busy_timeout=0.1)
    storage.query("SELECT 1")
    with (
        write_lock_held(path),
        pytest.raises(StorageBusyError) as caught,
        storage.transaction() as tx,
    ):
        tx.execute("CREATE TABLE t (x INTEGER)")
    message = str(caught.value)
    assert "database is locked" in message
    assert "0.1s" in message
    assert "cannot rollback" not in message
    with storage.transaction() as tx:  # the connection is usable once the lock is gone
        tx.execute("CREATE TABLE t (x INTEGER)")
    storage.close()


def _csv() -> bytes:
    rows = "\n".join(f"{i % 7},{'ab'[i % 2]}" for i in range(100))
    return f"amount,kind\n{rows}\n".encode()


WRITES = [
    pytest.param(
        ("actions", "/actions/alertmanager", {"json": webhook_message([webhook_alert()])}),
        id="actions-webhook",
    ),
    pytest.param(
        (
            "drift",
            "/drift/baselines/m",
            {"content": _csv(), "headers": {"Content-Type": "text/csv"}},
        ),
        id="drift-baseline",
    ),
]


@pytest.mark.parametrize("write", WRITES)
def test_a_locked_store_is_503_with_retry_after(
    tmp_path: Path,
    serve: Serve,
    caplog: pytest.LogCaptureFixture,
    write: tuple[str, str, dict[str, Any]],
) -> None:
    part, path, request_kw = write
    settings = load_settings(data_dir=tmp_path / "data", database_busy_timeout_seconds=0.2)
    served = serve(create_app(settings, [part]))
    caplog.set_level(logging.ERROR, logger="inferwatch.http")
    with write_lock_held(settings.sqlite_path()):
        answer = httpx.post(f"{served.url}{path}", timeout=10, **request_kw)
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    assert "busy" in answer.json()["detail"]
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "database is locked" in logged
    assert "cannot rollback" not in logged
    after = httpx.post(f"{served.url}{path}", timeout=10, **request_kw)
    assert after.status_code < 300


def test_collector_writer_answers_503_when_locked(
    tmp_path: Path, baseline_dir_for_busy: Path, serve: Serve
) -> None:
    settings = load_settings(
        data_dir=tmp_path / "data",
        database_busy_timeout_seconds=0.2,
        collector={"baseline_dir": str(baseline_dir_for_busy)},
    )
    served = serve(create_app(settings, ["collector"]))
    url = f"{served.url}/collector/models/churn/records"
    with write_lock_held(settings.sqlite_path()):
        answer = httpx.post(url, json=[{"age": 41.0, "plan": "pro"}], timeout=10)
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "5"
    assert httpx.post(url, json=[{"age": 41.0, "plan": "pro"}], timeout=10).status_code == 200


@pytest.fixture
def baseline_dir_for_busy(tmp_path: Path) -> Path:
    import json

    import pandas as pd

    from inferwatch.drift.baseline import infer_baseline

    frame = pd.DataFrame(
        {"age": [float(i % 50) for i in range(200)], "plan": ["pro", "basic"] * 100}
    )
    directory = tmp_path / "baselines"
    directory.mkdir()
    baseline = infer_baseline("churn", frame, bins=5, top_k=2)
    (directory / "churn.json").write_text(json.dumps(baseline.to_dict()))
    return directory
