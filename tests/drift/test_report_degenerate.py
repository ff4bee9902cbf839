"""Reports over degenerate windows render or answer 422 naming the feature, never 500
(issue 14, item 5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from inferwatch.app import create_app
from inferwatch.contracts.windows import LiveWindow
from inferwatch.settings import Settings

from .conftest import HeldWindows, handed

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # evidently's litestar


def _frame(seed: int, rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"x": rng.normal(0.0, 1.0, rows), "plan": rng.choice(["free", "pro", "team"], rows)}
    )


class OneWindow(HeldWindows):
    def __init__(self) -> None:
        self.window: LiveWindow | None = None

    def models(self) -> list[str]:
        return ["churn"]

    def held(self, model: str) -> list[LiveWindow]:
        return [self.window] if self.window else []


def _window(sample: pd.DataFrame) -> LiveWindow:
    return LiveWindow("churn", T0, T0 + timedelta(minutes=5), len(sample), sample)


def _client(settings: Settings) -> tuple[TestClient, OneWindow]:
    windows = OneWindow()
    client = TestClient(create_app(settings, ["drift"], handoffs=handed(windows)))
    return client, windows


def _baseline(client: TestClient) -> None:
    created = client.post(
        "/drift/baselines/churn?sample_size=200",
        content=_frame(1, 300).to_csv(index=False).encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert created.status_code == 201


@pytest.mark.parametrize(
    "missing",
    [
        pytest.param([None] * 50, id="all-none"),
        pytest.param([float("nan")] * 50, id="all-nan"),
        pytest.param([float("inf"), float("-inf")] * 25, id="all-infinite"),
    ],
)
def test_a_numeric_feature_without_values_is_left_out_and_named(
    settings: Settings, missing: list[object]
) -> None:
    client, windows = _client(settings)
    with client:
        _baseline(client)
        sample = _frame(2, 50).assign(x=pd.Series(missing, dtype=object))
        windows.window = _window(sample)
        html = client.get("/drift/models/churn/report")
        assert html.status_code == 200, html.text[:300]
        document = client.get("/drift/models/churn/report.json").json()
        assert document["skipped_features"] == {"x": "no values in the window"}
        names = " ".join(m["metric_name"] for m in document["evidently"]["metrics"])
        assert "column=plan" in names and "column=x" not in names


def test_partly_infinite_values_count_as_missing(settings: Settings) -> None:
    client, windows = _client(settings)
    with client:
        _baseline(client)
        sample = _frame(3, 60)
        sample.loc[:9, "x"] = np.inf
        windows.window = _window(sample)
        document = client.get("/drift/models/churn/report.json")
        assert document.status_code == 200
        assert document.json()["skipped_features"] == {}


def test_a_window_with_no_usable_feature_is_422_naming_each(settings: Settings) -> None:
    client, windows = _client(settings)
    with client:
        _baseline(client)
        windows.window = _window(pd.DataFrame({"x": [None] * 5, "plan": [None] * 5}))
        answer = client.get("/drift/models/churn/report")
        assert answer.status_code == 422
        detail = answer.json()["detail"]
        assert "x: no values in the window" in detail
        assert "plan: no values in the window" in detail
