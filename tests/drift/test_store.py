"""Baselines are versioned and immutable; results are a pruned history; both survive reopen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from inferwatch.contracts.results import DriftEvaluation, FeatureResult
from inferwatch.drift.engine_errors import BaselineNotFoundError, UploadError
from inferwatch.drift.store import BaselineStore, ResultStore, sample_from_parquet
from inferwatch.errors import ClientError, StorageError
from inferwatch.storage import SqlStorage, open_storage


def _storage(url: str) -> SqlStorage:
    storage = open_storage(url)
    storage.migrate()
    return storage


def _reference(seed: int, rows: int = 400, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1.0, rows),
            "plan": rng.choice(["free", "pro", "team"], rows),
            "flag": rng.random(rows) > 0.5,
        }
    )


def test_second_create_is_a_new_version_and_never_changes_the_first(store_url: str) -> None:
    storage = _storage(store_url)
    store = BaselineStore(storage)
    first = store.create("churn", _reference(1), bins=5, sample_size=100)
    second = store.create("churn", _reference(2, shift=3.0), bins=5, sample_size=100)

    assert (first.version, second.version) == (1, 2)
    again = BaselineStore(storage).get("churn", 1)  # fresh store: no cache
    assert again is not None
    assert again.features == first.features
    assert again.feature("x").edges != second.feature("x").edges
    assert store.get("churn") == second
    assert [v.version for v in store.versions("churn")] == [1, 2]


def test_a_stored_version_cannot_be_inserted_twice(store_url: str) -> None:
    storage = _storage(store_url)
    BaselineStore(storage).create("m", _reference(1))
    with pytest.raises(StorageError, match=r"UNIQUE|duplicate key"), storage.transaction() as tx:
        tx.execute(
            "INSERT INTO drift_baselines (model, version, created_at, spec) VALUES (?, ?, ?, ?)",
            ("m", 1, "2026-01-01T00:00:00+00:00", "{}"),
        )


def test_baselines_and_samples_survive_reopen(store_url: str) -> None:
    path = store_url
    storage = _storage(path)
    created = BaselineStore(storage).create("fraud", _reference(3), sample_size=50)
    storage.close()

    reopened = BaselineStore(_storage(path))
    loaded = reopened.get("fraud")
    assert loaded is not None
    assert loaded.features == created.features
    assert loaded.created_at == created.created_at
    pd.testing.assert_frame_equal(loaded.sample, created.sample)
    assert [i.model for i in reopened.models()] == ["fraud"]
    assert reopened.models()[0].sample_rows == 50


def test_models_lists_the_latest_version_of_each(store_url: str) -> None:
    store = BaselineStore(_storage(store_url))
    for model in ("b", "a", "b"):
        store.create(model, _reference(4))
    assert [(i.model, i.version) for i in store.models()] == [("a", 1), ("b", 2)]
    assert store.models()[0].features == ("x", "plan", "flag")


def test_missing_baselines_and_bad_input_are_client_errors(store_url: str) -> None:
    store = BaselineStore(_storage(store_url))
    assert store.get("nobody") is None
    with pytest.raises(BaselineNotFoundError, match="nobody"):
        store.require("nobody")
    store.create("m", _reference(5))
    with pytest.raises(BaselineNotFoundError, match="version 7"):
        store.require("m", 7)
    with pytest.raises(UploadError, match="no rows"):
        store.create("m", pd.DataFrame({"x": []}))
    with pytest.raises(ClientError, match="not valid"):
        store.create("bad name/../x", _reference(5))
    assert [v.version for v in store.versions("m")] == [1]


def test_mixed_type_sample_columns_are_kept_as_text(store_url: str) -> None:
    store = BaselineStore(_storage(store_url))
    frame = pd.DataFrame({"code": [1, "a", 2.5, None] * 10, "x": np.arange(40.0)})
    created = store.create("mixed", frame, sample_size=40)
    fresh = BaselineStore(store.storage).get("mixed", created.version)
    assert fresh is not None
    assert sorted(fresh.sample["code"].dropna().unique()) == ["1", "2.5", "a"]
    assert fresh.sample["code"].isna().sum() == 10
    assert sample_from_parquet(None).empty


def _evaluation(model: str, minute: int, drift: bool) -> DriftEvaluation:
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minute)
    result = FeatureResult(
        feature="x",
        method="psi",
        statistic=float("nan") if minute == 0 else 0.3,
        p_value=None,
        threshold=0.2,
        drifted=drift,
        verdict="drift" if drift else "no_drift",
        rows=500,
        detail="bin-resolved",
    )
    return DriftEvaluation(
        model=model,
        baseline_version=1,
        path="sample",
        rows=500,
        features=(result,),
        drift_detected=drift,
        verdict="drift" if drift else "no_drift",
        window_start=start,
        window_end=start + timedelta(minutes=1),
    )


def test_results_round_trip_newest_first_and_prune_per_model(store_url: str) -> None:
    path = store_url
    results = ResultStore(_storage(path), history_limit=3)
    for minute in range(5):
        results.append(_evaluation("a", minute, drift=minute % 2 == 1))
        results.append(_evaluation("b", minute, drift=False))

    history = results.history("a")
    assert [e.window_start.minute for e in history if e.window_start] == [4, 3, 2]
    assert [e.drift_detected for e in history] == [False, True, False]
    latest = results.latest("a")
    assert latest is not None
    assert latest.features[0].statistic == 0.3
    assert latest.features[0].detail == "bin-resolved"
    assert latest.window_end == datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
    assert len(results.history("b", limit=10)) == 3
    assert results.latest("nobody") is None

    reopened = ResultStore(_storage(path))
    assert set(reopened.latest_all()) == {"a", "b"}
    assert reopened.latest_all()["a"] == latest


def test_nan_statistics_survive_the_round_trip(store_url: str) -> None:
    results = ResultStore(_storage(store_url))
    original = _evaluation("n", 0, drift=False)
    results.append(original)
    loaded = results.latest("n")
    assert loaded is not None
    statistic = loaded.features[0].statistic
    assert statistic is not None and np.isnan(statistic)
    assert loaded.evaluated_at == original.evaluated_at
