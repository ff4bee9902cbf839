"""Model quality through the services: estimated first, realized once the labels arrive.

A drift-only service and a collector-only service on one state store (the chart's
shape): the collector counts predictions (ids, no labels yet) into a window; the drift
engine estimates the window's quality from its scores; actuals arrive later, join their
predictions in that window, and the next round replaces the estimate with realized
metrics, degraded here because the live model is worse than the reference.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient

from inferwatch.app import create_app
from inferwatch.settings import load_settings


def _rows(seed: int, n: int, *, skill: float) -> pd.DataFrame:
    """A binary classifier whose score separates the classes by ``skill``."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    proba = np.clip(skill * label + (1 - skill) * rng.random(n), 0, 1)
    return pd.DataFrame(
        {
            "x": rng.normal(0, 1, n),
            "label": label.astype(str),
            "pred": (proba > skill / 2 + (1 - skill) / 2).astype(int).astype(str),
            "proba": proba,
            "id": [f"r{seed}-{i}" for i in range(n)],
        }
    )


def _drift_part(app: Any) -> Any:
    return next(p for p in app.state.parts if p.name == "drift")


def _metric(text: str, name: str, **labels: str) -> float | None:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    del wanted
    return None


def test_estimated_then_realized_and_degraded_as_labels_arrive(tmp_path: Path) -> None:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path}/state.db",
        collector={"window_seconds": 2},
        drift={"interval_seconds": 3600},
    )
    drift_app = create_app(settings, ["drift"])
    with TestClient(drift_app) as drift, TestClient(create_app(settings, ["collector"])) as col:
        reference = _rows(1, 3000, skill=0.6).drop(columns=["id"])
        created = drift.post(
            "/drift/baselines/fraud",
            params={
                "target": "label",
                "prediction": "pred",
                "score": "proba",
                "positive": "1",
                "prediction_id": "id",
            },
            content=reference.to_csv(index=False),
            headers={"Content-Type": "text/csv"},
        )
        assert created.status_code == 201, created.text

        live = _rows(2, 600, skill=0.15)  # much less skill than the reference
        unlabelled = live.drop(columns=["label"])
        sent = col.post(
            "/collector/models/fraud/records",
            json={"columns": {c: unlabelled[c].tolist() for c in unlabelled.columns}},
        )
        assert sent.status_code == 200, sent.text
        time.sleep(2.2)  # the window closes
        engine = _drift_part(drift_app).engine
        engine.evaluate_all()
        first = drift.get("/drift/models/fraud/quality").json()
        assert first["tracked"] is True
        kinds = {r["metric"]: r["kind"] for r in first["results"]}
        assert kinds["accuracy"] == "estimated" and kinds["roc_auc"] == "estimated"
        assert all(r["labelled_share"] == 0.0 for r in first["results"])

        joined = col.post(
            "/collector/models/fraud/outcomes",
            json={"columns": {"id": live["id"].tolist(), "label": live["label"].tolist()}},
        )
        assert joined.status_code == 200 and joined.json()["matched"] == 600
        engine.evaluate_all()  # no new drift window; the labelled window is revised
        revised = drift.get("/drift/models/fraud/quality").json()["results"]
        by_metric = {r["metric"]: r for r in revised}
        assert len(revised) == len(first["results"])  # the same window, replaced in place
        assert by_metric["accuracy"]["kind"] == "realized"
        assert by_metric["accuracy"]["labelled_share"] == 1.0
        accuracy = float((live["label"] == live["pred"]).mean())
        assert abs(by_metric["accuracy"]["value"] - accuracy) < 1e-12
        assert by_metric["accuracy"]["verdict"] == "degraded"
        assert by_metric["roc_auc"]["verdict"] == "degraded"

        metrics = drift.get("/metrics").text
        realized = {"model": "fraud", "metric": "accuracy", "kind": "realized"}
        assert _metric(metrics, "inferwatch_model_performance", **realized) == accuracy
        assert _metric(metrics, "inferwatch_model_performance_degraded", **realized) == 1.0
        assert _metric(metrics, "inferwatch_model_labelled_share", model="fraud") == 1.0
