"""Outcomes: predictions with ids now, their actuals later, counted in the prediction's window."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient

from inferwatch.app import create_app
from inferwatch.collector.window_reader import WindowReader
from inferwatch.contracts.outcomes import summary_of
from inferwatch.contracts.quality import ClassifierSummary, summarise_classifier
from inferwatch.contracts.spec import QualitySpec
from inferwatch.settings import load_settings

QUALITY = {"target": "label", "prediction": "pred", "score": "proba", "positive": "1"}


def _rows(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    proba = np.clip(0.45 * label + 0.55 * rng.random(n), 0, 1)
    return pd.DataFrame(
        {
            "x": rng.normal(label, 1.0, n),
            "label": label.astype(str),
            "pred": (proba > 0.5).astype(int).astype(str),
            "proba": proba,
            "id": [f"p{seed}-{i}" for i in range(n)],
        }
    )


def _window_summary(client: TestClient, spec: QualitySpec) -> list[tuple[Any, ClassifierSummary]]:
    reader = WindowReader(client.app.state.storage)  # type: ignore[attr-defined]
    found = []
    for start, _, cells in reader.outcome_cells("fraud"):
        summary = summary_of(spec, cells)
        assert isinstance(summary, ClassifierSummary)
        found.append((start, summary))
    return found


def test_late_actuals_join_their_predictions_in_the_predictions_window(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=f"{tmp_path}/data",
        collector={"window_seconds": 2},
        drift={"interval_seconds": 3600},
    )
    with TestClient(create_app(settings, ["collector", "drift"])) as client:
        reference = _rows(1, 3000).drop(columns=["id"])
        created = client.post(
            "/drift/baselines/fraud",
            params={**QUALITY, "prediction_id": "id"},
            content=reference.to_csv(index=False),
            headers={"Content-Type": "text/csv"},
        )
        assert created.status_code == 201, created.text
        assert created.json()["quality"]["prediction_id"] == "id"
        assert [f["name"] for f in created.json()["features"]] == ["x"]  # outcome: no feature
        spec = QualitySpec.from_dict(created.json()["quality"])

        live = _rows(2, 400)
        without = live.assign(label=None)
        without.loc[300:, "label"] = live.loc[300:, "label"]  # 100 rows come labelled
        sent = client.post(
            "/collector/models/fraud/records",
            json={"columns": {c: without[c].tolist() for c in without.columns}},
        )
        assert sent.status_code == 200, sent.text
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _window_summary(client, spec):
            time.sleep(0.05)
        ((start, before),) = _window_summary(client, spec)
        assert (before.labelled, before.unlabelled) == (100, 300)

        time.sleep(2.1)  # the actuals arrive in a later window
        actuals = {
            "columns": {
                "id": [*live["id"][:200], "nope-1", "nope-2", "p2-0"],
                "label": [*live["label"][:200], "1", "0", "1"],
            }
        }
        joined = client.post("/collector/models/fraud/outcomes", json=actuals)
        assert joined.status_code == 200, joined.text
        body = joined.json()
        assert body["matched"] == 200
        assert body["unmatched"] == {"unknown_or_expired": 2, "already_labelled": 1}
        assert body["unmatched_ids"]["unknown_or_expired"] == ["nope-1", "nope-2"]

        ((again, after),) = _window_summary(client, spec)
        assert again == start  # revised in the prediction's window, not the arrival's
        labelled = pd.concat([live[:200], live[300:]])
        expected = summarise_classifier(
            [*labelled["label"], *[None] * 100],
            [*labelled["pred"], *live["pred"][200:300]],
            {"1": [*labelled["proba"], *live["proba"][200:300]]},
            positive="1",
        )
        assert after == expected
        assert after.labelled_share == 0.75
        metrics = client.get("/metrics").text
        assert 'inferwatch_collector_actuals_total{model="fraud",result="matched"} 200.0' in metrics
        assert (
            'inferwatch_collector_actuals_total{model="fraud",result="unknown_or_expired"} 2.0'
            in metrics
        )


def test_actuals_are_refused_clearly_when_they_cannot_be_joined(tmp_path: Path) -> None:
    settings = load_settings(data_dir=f"{tmp_path}/data", drift={"interval_seconds": 3600})
    with TestClient(create_app(settings, ["collector", "drift"])) as client:
        reference = _rows(1, 500).drop(columns=["id"])
        for model, extra in (("plain", {}), ("fraud", {**QUALITY, "prediction_id": "id"})):
            created = client.post(
                f"/drift/baselines/{model}",
                params=extra,
                content=reference.to_csv(index=False),
                headers={"Content-Type": "text/csv"},
            )
            assert created.status_code == 201, created.text
        no_ids = client.post(
            "/collector/models/plain/outcomes", json={"columns": {"id": ["a"], "label": ["1"]}}
        )
        assert no_ids.status_code == 422 and "prediction_id=" in no_ids.json()["detail"]
        missing = client.post(
            "/collector/models/fraud/outcomes",
            json=[{"id": "a", "label": "1"}, {"id": "b"}],
        )
        assert missing.status_code == 422
        assert "field 'label', row 1: is missing" in missing.json()["detail"]
        half = client.post(
            "/drift/baselines/other",
            params={"target": "label"},
            content=reference.to_csv(index=False),
            headers={"Content-Type": "text/csv"},
        )
        assert half.status_code == 422 and "prediction=" in half.json()["detail"]


def test_predictions_sent_as_outcomes_without_features_wait_for_their_actuals(
    tmp_path: Path,
) -> None:
    """The model server sends its predictions to /outcomes (the recorder ships features)."""
    settings = load_settings(data_dir=f"{tmp_path}/data", drift={"interval_seconds": 3600})
    with TestClient(create_app(settings, ["collector", "drift"])) as client:
        created = client.post(
            "/drift/baselines/fraud",
            params={**QUALITY, "prediction_id": "id"},
            content=_rows(1, 500).drop(columns=["id"]).to_csv(index=False),
            headers={"Content-Type": "text/csv"},
        )
        assert created.status_code == 201, created.text
        spec = QualitySpec.from_dict(created.json()["quality"])
        live = _rows(3, 50)
        sent = client.post(
            "/collector/models/fraud/outcomes",
            json={"columns": {c: live[c].tolist() for c in ("id", "pred", "proba")}},
        )
        assert sent.status_code == 200, sent.text
        assert sent.json()["awaiting_actuals"] == 50
        half = client.post(
            "/collector/models/fraud/outcomes",
            json={"columns": {"id": ["x", "y"], "pred": ["1", None], "proba": [0.9, 0.1]}},
        )
        assert half.status_code == 422 and "field 'pred', row 1: is missing" in half.text
        joined = client.post(
            "/collector/models/fraud/outcomes",
            json={"columns": {"id": live["id"].tolist(), "label": live["label"].tolist()}},
        )
        assert joined.status_code == 200 and joined.json()["matched"] == 50
        ((_, summary),) = _window_summary(client, spec)
        assert (summary.labelled, summary.unlabelled) == (50, 0)
        assert client.get("/collector/models").json()["models"] == []  # no feature window
