"""Late labels across collector replicas: two ``inferwatch collector serve`` processes on
one PostgreSQL; predictions go to either, their actuals to the other, concurrently; the
windows' outcome counts equal one count of every row (issue 20: merge across replicas)."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from inferwatch.collector.window_reader import WindowReader
from inferwatch.contracts.outcomes import summary_of
from inferwatch.contracts.quality import summarise_classifier
from inferwatch.contracts.spec import QualitySpec
from inferwatch.drift.store import BaselineStore
from inferwatch.pgserver import PostgresServer
from inferwatch.storage import open_storage

from .conftest import Proc, poll

pytestmark = pytest.mark.stack

SPEC = QualitySpec(
    "classification", "pred", "label", scores=(("1", "proba"),), positive="1", prediction_id="id"
)


def _rows(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    proba = np.clip(0.5 * label + 0.5 * rng.random(n), 0, 1)
    return pd.DataFrame(
        {
            "x": rng.normal(0, 1, n),
            "label": label.astype(str),
            "pred": (proba > 0.5).astype(int).astype(str),
            "proba": proba,
            "id": [f"s{seed}-{i}" for i in range(n)],
        }
    )


def test_actuals_join_predictions_another_replica_took(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    url = postgres_server.create_database("outcomes")
    store = open_storage(url)
    store.migrate()
    BaselineStore(store).create("fraud", _rows(0, 2000).drop(columns=["id"]), quality=SPEC)
    config = {
        "database_url": url,
        "log_format": "text",
        "data_dir": str(tmp_path / "d"),
        "collector": {"window_seconds": 3600},
    }
    collectors = [Proc.part(tmp_path, "collector", f"collector-{n}", config) for n in "ab"]
    try:
        for proc in collectors:
            proc.wait_ready(90)
        batches = [_rows(seed, 300) for seed in range(1, 9)]
        errors: list[str] = []

        def send(index: int, frame: pd.DataFrame, kind: str) -> None:
            target = collectors[(index + (kind == "actuals")) % 2]  # actuals: the other one
            columns = ("id", "pred", "proba") if kind == "predictions" else ("id", "label")
            body = {"columns": {c: frame[c].tolist() for c in columns}}
            answer = httpx.post(f"{target.url}/collector/models/fraud/outcomes", json=body)
            if answer.status_code != 200:
                errors.append(answer.text)
            elif kind == "actuals" and answer.json()["matched"] != len(frame):
                errors.append(str(answer.json()))

        for kind in ("predictions", "actuals"):
            threads = [
                threading.Thread(target=send, args=(i, frame, kind))
                for i, frame in enumerate(batches)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert errors == []
        unknown = httpx.post(
            f"{collectors[0].url}/collector/models/fraud/outcomes",
            json={"columns": {"id": ["s1-0", "nope"], "label": ["1", "0"]}},
        ).json()
        assert unknown["unmatched"] == {"unknown_or_expired": 1, "already_labelled": 1}

        every = pd.concat(batches)
        expected = summarise_classifier(
            every["label"].tolist(), every["pred"].tolist(), {"1": every["proba"]}, positive="1"
        )
        reader = WindowReader(store)

        def merged() -> object:
            windows = reader.outcome_cells("fraud")
            return len(windows) == 1 and summary_of(SPEC, windows[0][2])

        assert poll(merged, 10, "the window's outcome counts") == expected
    finally:
        for proc in collectors:
            proc.stop()
        store.close()
