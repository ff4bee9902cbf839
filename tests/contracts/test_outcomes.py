"""Outcome cells: added up by any replica, they read back as the merged summary."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

from inferwatch.contracts.outcomes import cells_of, moved, summarise_outcomes, summary_of
from inferwatch.contracts.quality import ClassifierSummary, RegressorSummary
from inferwatch.contracts.spec import QualitySpec

BINARY = QualitySpec(
    "classification", "pred", "label", scores=(("1", "score"),), positive="1", prediction_id="id"
)
REGRESSION = QualitySpec("regression", "pred", "y", residual_edges=(-1.0, 0.0, 1.0))


def _classified(seed: int, rows: int, labelled: float) -> dict[str, list[Any]]:
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, rows)
    score = np.clip(0.5 * label + 0.5 * rng.random(rows), 0, 1)
    known = rng.random(rows) < labelled
    return {
        "label": [str(v) if k else None for v, k in zip(label, known, strict=True)],
        "pred": [str(int(s > 0.5)) for s in score],
        "score": score.tolist(),
    }


def _summed(*cells: dict[str, float]) -> dict[str, float]:
    total: Counter[str] = Counter()
    for c in cells:
        total.update(c)
    return dict(total)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cells_of_batches_add_up_to_the_merged_summary(seed: int) -> None:
    batches = [_classified(seed * 10 + i, 300, labelled=0.6) for i in range(3)]
    summaries = [summarise_outcomes(BINARY, b, 300) for b in batches]
    assert all(isinstance(s, ClassifierSummary) for s in summaries)
    merged = summaries[0].merge(summaries[1]).merge(summaries[2])  # type: ignore[arg-type]
    read = summary_of(BINARY, _summed(*(cells_of(s) for s in summaries)))
    assert read == merged
    assert read.metrics() == merged.metrics()


def test_late_actuals_move_rows_to_labelled_as_if_they_came_with_the_prediction() -> None:
    batch = _classified(5, 400, labelled=1.0)
    unlabelled: dict[str, list[Any]] = {**batch, "label": [None] * 400}
    at_prediction = cells_of(summarise_outcomes(BINARY, unlabelled, 400))
    later = moved(
        summarise_outcomes(BINARY, batch, 400), summarise_outcomes(BINARY, unlabelled, 400)
    )
    revised = summary_of(BINARY, _summed(at_prediction, later))
    assert revised == summarise_outcomes(BINARY, batch, 400)
    assert revised.labelled_share == 1.0


def test_regression_cells_round_trip_and_add() -> None:
    rng = np.random.default_rng(3)
    parts = []
    for _ in range(2):
        y = rng.normal(0, 1, 200)
        parts.append({"y": y.tolist(), "pred": (y + rng.normal(0, 0.5, 200)).tolist()})
    summaries = [summarise_outcomes(REGRESSION, p, 200) for p in parts]
    read = summary_of(REGRESSION, _summed(*(cells_of(s) for s in summaries)))
    assert isinstance(read, RegressorSummary) and isinstance(summaries[0], RegressorSummary)
    merged = summaries[0].merge(summaries[1])  # type: ignore[arg-type]
    assert read.metrics() == pytest.approx(merged.metrics())
    assert read.residual_counts == merged.residual_counts
