"""Windows: reservoir sampling, rollover, retention, and surviving a restart."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from inferwatch.collector.windows import Batch, WindowStore
from inferwatch.storage import SqlStorage


@pytest.fixture
def storage(migrated_store: SqlStorage) -> SqlStorage:
    """Both engines."""
    return migrated_store


def replicas(store_url: str, n: int, **options: Any) -> list[WindowStore]:
    """``n`` writers sharing one store as collector replicas do (``shared_writers``)."""
    from inferwatch.storage import open_storage

    stores = []
    for seed in range(n):
        storage = open_storage(store_url)
        storage.migrate()
        store = WindowStore(
            storage,
            window_seconds=3600,
            retention_windows=2,
            clock=lambda: 100.0,
            seed=seed,
            **options,
        )
        store.shared_writers = True
        stores.append(store)
    return stores


def batch(start: int, count: int, at: float, model: str = "m") -> Batch:
    return Batch(model, pa.table({"x": np.arange(start, start + count, dtype=float)}), at)


def test_reservoir_is_bounded_and_uniform(storage: SqlStorage) -> None:
    closed: list[str] = []
    store = WindowStore(
        storage,
        window_seconds=60,
        reservoir_size=100,
        retention_windows=5,
        clock=lambda: 10_000.0,
        seed=3,
        on_window_closed=closed.append,
    )
    for i in range(100):
        store.apply([batch(i * 100, 100, at=9_960.5)])
    window = store.latest_window("m", include_open=True)
    assert window is not None
    assert window.rows == 10_000
    assert len(window.sample) == 100
    values = window.sample["x"].to_numpy()
    assert len(set(values)) == 100
    # a uniform sample of 0..9999 has its mean near 5000 (sd of the mean ~ 290)
    assert 3500 < values.mean() < 6500
    assert closed == []


def test_rollover_retention_and_closed_windows(storage: SqlStorage) -> None:
    now = [0.0]
    closed: list[str] = []
    store = WindowStore(
        storage,
        window_seconds=10,
        reservoir_size=5,
        retention_windows=2,
        clock=lambda: now[0],
        on_window_closed=closed.append,
    )
    for k in range(5):
        store.apply([batch(k * 10, 3, at=k * 10 + 1)])
    now[0] = 45.0
    starts = [w.start.timestamp() for w in store.windows("m")]
    assert starts == [40, 30, 20]  # two closed windows kept, plus the open one
    assert closed == ["m"] * 4
    latest = store.latest_window("m")
    assert latest is not None
    assert latest.closed
    assert latest.start.timestamp() == 30
    assert list(latest.sample["x"]) == [30.0, 31.0, 32.0]
    assert store.latest_window("m", include_open=True).closed is False  # type: ignore[union-attr]
    assert store.latest_window("other") is None


def test_accepted_windows_survive_a_restart(collector_app: Callable[..., FastAPI]) -> None:
    rows = [{"age": float(i), "plan": "pro"} for i in range(30)]
    with TestClient(collector_app(window_seconds=1, reservoir_size=10)) as client:
        response = client.post("/collector/models/churn/records", json=rows)
        assert response.status_code == 200
    time.sleep(1.1)  # the window closes while the service is down
    with TestClient(collector_app(window_seconds=1, reservoir_size=10)) as client:
        response = client.get("/collector/models/churn/windows/latest")
        assert response.status_code == 200, response.text
        window = response.json()
        assert window["rows"] == 30
        assert window["closed"] is True
        assert len(window["sample"]["columns"]["age"]) == 10
        assert set(window["sample"]["columns"]["age"]) <= {float(i) for i in range(30)}
        listed = client.get("/collector/models/churn/windows").json()["windows"]
        assert [w["rows"] for w in listed] == [30]


def test_new_batches_continue_a_window_after_restart(
    collector_app: Callable[..., FastAPI],
) -> None:
    body = json.dumps([{"age": 1.0}] * 5)
    headers = {"content-type": "application/json"}
    for _ in range(2):
        with TestClient(collector_app(window_seconds=3600)) as client:
            client.post("/collector/models/churn/records", content=body, headers=headers)
    with TestClient(collector_app(window_seconds=3600)) as client:
        windows = client.get("/collector/models/churn/windows").json()["windows"]
        assert [w["rows"] for w in windows] == [10]
        assert windows[0]["sampled"] == 10


def test_registry_is_per_app(collector_app: Callable[..., FastAPI]) -> None:
    """Two apps in one process (as in the restart tests) do not clash on metric names."""
    first, second = collector_app(), collector_app()
    assert isinstance(first.state.registry, CollectorRegistry)
    assert first.state.registry is not second.state.registry


def test_writers_sharing_a_store_keep_exact_counts_and_a_full_reservoir(store_url: str) -> None:
    """Replicas (``shared_writers``): counts add up and the reservoir fills without holes."""
    import threading

    writers = replicas(store_url, 3, reservoir_size=50)

    def write(store: WindowStore, offset: int) -> None:
        for k in range(10):
            store.apply([batch(offset + k * 7, 7, at=10.0)])

    threads = [threading.Thread(target=write, args=(w, i * 1000)) for i, w in enumerate(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    (info,) = writers[0].windows("m")
    assert info.rows == 3 * 10 * 7
    assert info.sampled == 50
    window = writers[1].latest_window("m", include_open=True)
    assert window is not None and len(window.sample) == 50
    for w in writers:
        w._storage.close()


def test_replicas_merge_summaries_additively_and_keep_versions_apart(store_url: str) -> None:
    """Three replicas (``shared_writers``) merge summaries of one window: counts add exactly,
    the sample stays bounded, and counts of another baseline version stay apart."""
    import threading

    from inferwatch.collector.windows import SummaryBatch
    from inferwatch.contracts.spec import BaselineSpec, FeatureSpec
    from inferwatch.contracts.summary import summarise

    spec = BaselineSpec("m", 1, (FeatureSpec("x", "numeric", edges=(10.0, 20.0)),))
    writers = replicas(store_url, 3, reservoir_size=40)
    rng = np.random.default_rng(5)

    def summary(offset: int) -> SummaryBatch:
        rows = [{"x": float(offset + i % 30)} for i in range(50)]
        made = summarise(spec, rows, start=0, end=10, capacity=40, rng=rng)
        return SummaryBatch("m", made, 10.0)

    items = {w: [summary(k) for k in range(6)] for w in range(3)}

    def write(index: int) -> None:
        for item in items[index]:
            writers[index].apply([item])

    threads = [threading.Thread(target=write, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    every = [item.summary for w in range(3) for item in items[w]]
    window = writers[0].latest_window("m", include_open=True)
    assert window is not None
    assert window.rows == 3 * 6 * 50
    assert window.baseline_version == 1
    expected = [sum(s.features[0].counts[i] for s in every) for i in range(3)]
    assert list(window.counts["x"].counts) == expected
    assert window.counts["x"].total == pytest.approx(sum(s.features[0].total for s in every))
    assert 0 < len(window.sample) <= 40
    # A later baseline version's counts are kept apart: the window reads the newest.
    newer = BaselineSpec("m", 2, spec.features)
    made = summarise(newer, [{"x": 1.0}, {"x": "inf"}], start=0, end=10, capacity=40, rng=rng)
    writers[1].apply([SummaryBatch("m", made, 10.0)])
    window = writers[2].latest_window("m", include_open=True)
    assert window is not None and window.baseline_version == 2
    assert list(window.counts["x"].counts) == [1, 0, 1]
    assert window.counts["x"].total == float("inf")  # kept as it is, not zeroed
    for w in writers:
        w._storage.close()


def test_a_summary_sent_again_under_its_key_is_merged_once_by_any_replica(
    store_url: str,
) -> None:
    """A recorder that lost the answer retries, maybe to another replica: counted once."""
    from inferwatch.collector.windows import SummaryBatch
    from inferwatch.contracts.spec import BaselineSpec, FeatureSpec
    from inferwatch.contracts.summary import summarise

    spec = BaselineSpec("m", 1, (FeatureSpec("x", "numeric", edges=(10.0, 20.0)),))
    duplicates: list[str] = []
    stores = replicas(store_url, 2, reservoir_size=40, on_duplicate=duplicates.append)
    rng = np.random.default_rng(1)
    made = summarise(
        spec, [{"x": float(i)} for i in range(30)], start=0, end=10, capacity=40, rng=rng
    )
    stores[0].apply([SummaryBatch("m", made, 10.0, key="pod-a:7")])
    stores[1].apply([SummaryBatch("m", made, 10.0, key="pod-a:7")])  # the retry
    stores[1].apply([SummaryBatch("m", made, 10.0, key="pod-a:8")])  # the next interval
    window = stores[0].latest_window("m", include_open=True)
    assert window is not None and window.rows == 60
    assert sum(window.counts["x"].counts) == 60
    assert duplicates == ["m"]
    for store in stores:
        store._storage.close()
