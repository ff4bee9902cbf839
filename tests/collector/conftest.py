"""Shared collector test helpers: a small baseline on disk, settings and apps that use it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from inferwatch.app import create_app
from inferwatch.drift.baseline import Baseline, infer_baseline
from inferwatch.settings import Settings, load_settings


def reference_frame(rows: int = 400, seed: int = 7) -> pd.DataFrame:
    """Reference data: two numeric features, one categorical, one boolean."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40, 10, rows),
            "income": rng.lognormal(10, 1, rows),
            "plan": rng.choice(["basic", "plus", "pro"], rows),
            "vip": rng.random(rows) > 0.7,
        }
    )


def arrow_stream(table: pa.Table) -> bytes:
    """A table as an Arrow IPC stream body."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def arrow_file(table: pa.Table) -> bytes:
    """A table as an Arrow IPC file body."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


@pytest.fixture
def baseline() -> Baseline:
    """The baseline of model ``churn``."""
    return infer_baseline("churn", reference_frame(), bins=5, top_k=2)


@pytest.fixture
def baseline_dir(tmp_path: Path, baseline: Baseline) -> Path:
    """A directory holding the baseline file, as ``collector.baseline_dir`` reads it."""
    directory = tmp_path / "baselines"
    directory.mkdir()
    (directory / "churn.json").write_text(json.dumps(baseline.to_dict()))
    return directory


@pytest.fixture
def make_settings(tmp_path: Path, baseline_dir: Path) -> Callable[..., Settings]:
    """Settings with state in tmp_path and baselines from ``baseline_dir``."""

    def make(**collector: Any) -> Settings:
        options = {"baseline_dir": str(baseline_dir), **collector}
        return load_settings(data_dir=tmp_path / "data", collector=options)

    return make


@pytest.fixture
def client(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    """A running collector app (in process)."""
    with TestClient(create_app(make_settings(reservoir_size=50), ["collector"])) as test_client:
        yield test_client


@pytest.fixture
def collector_app(make_settings: Callable[..., Settings]) -> Callable[..., FastAPI]:
    """Build collector apps with collector settings overrides."""

    def build(**collector: Any) -> FastAPI:
        return create_app(make_settings(**collector), ["collector"])

    return build
