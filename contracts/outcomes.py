"""A window's outcomes as additive cells: what the collector stores and merges.

The collector counts each batch's outcomes (``inferwatch.contracts.quality``'s
summaries) and adds them into its window as *cells*, one number per key, so that any
collector replica adds by upsert and a window's summary is read back from the sum:

- classifier: ``["c", actual, predicted]`` confusion counts, ``["s", label, side, bin]``
  score-bin counts (side ``p``/``n``: labelled rows of / not of that class, ``u``:
  unlabelled), ``["u"]`` unlabelled predictions;
- regressor: ``["n"]`` labelled rows, ``["e"]``, ``["e2"]``, ``["ea"]`` sums of errors,
  squared and absolute errors, ``["y"]``, ``["y2"]`` of actuals and their squares,
  ``["r", bin]`` residual-bin counts, ``["u"]`` unlabelled predictions.

An actual that arrives later moves its prediction from unlabelled to labelled: the
difference of the two summaries' cells (``moved``), negative cells included, added
into the prediction's window. Standard library and numpy only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from inferwatch.contracts.categories import category_key
from inferwatch.contracts.quality import (
    DEFAULT_SCORE_EDGES,
    ClassifierSummary,
    QualitySummaryError,
    RegressorSummary,
    ScoreCounts,
    summarise_classifier,
    summarise_regressor,
)
from inferwatch.contracts.spec import QualitySpec

Cells = dict[str, float]
Summary = ClassifierSummary | RegressorSummary

__all__ = [
    "Cells",
    "Summary",
    "cells_of",
    "moved",
    "score_edges",
    "summarise_outcomes",
    "summary_of",
]


def _key(*parts: Any) -> str:
    return json.dumps(list(parts), separators=(",", ":"))


def score_edges(spec: QualitySpec) -> tuple[float, ...]:
    """The spec's score edges, or the contract's default (100 bins on [0, 1])."""
    return spec.score_edges or DEFAULT_SCORE_EDGES


def summarise_outcomes(
    spec: QualitySpec, columns: Mapping[str, Sequence[Any]], rows: int
) -> Summary:
    """Count one batch's outcomes; a missing actual (or column) marks an unlabelled row."""
    actual = columns.get(spec.target)
    if actual is None:
        actual = [None] * rows
    predicted = columns.get(spec.prediction)
    if predicted is None:
        raise QualitySummaryError(f"column {spec.prediction!r}: the prediction is missing")
    if spec.kind == "regression":
        return summarise_regressor(actual, predicted, residual_edges=spec.residual_edges)
    scores = {label: columns[column] for label, column in spec.scores if column in columns}
    return summarise_classifier(
        actual,
        predicted,
        scores if len(scores) == len(spec.scores) else None,
        positive=spec.positive,
        score_edges=score_edges(spec),
    )


def cells_of(summary: Summary) -> Cells:
    """A summary as cells (zero cells left out)."""
    cells: Cells = {}
    if summary.unlabelled:
        cells[_key("u")] = float(summary.unlabelled)
    if isinstance(summary, RegressorSummary):
        for name, value in (
            ("n", summary.count),
            ("e", summary.sum_error),
            ("e2", summary.sum_squared_error),
            ("ea", summary.sum_absolute_error),
            ("y", summary.sum_actual),
            ("y2", summary.sum_squared_actual),
        ):
            if value:
                cells[_key(name)] = float(value)
        for i, n in enumerate(summary.residual_counts):
            if n:
                cells[_key("r", i)] = float(n)
        return cells
    for i, actual in enumerate(summary.labels):
        for j, predicted in enumerate(summary.labels):
            if summary.confusion[i][j]:
                cells[_key("c", actual, predicted)] = float(summary.confusion[i][j])
    for scored in summary.scores:
        for side, counts in (
            ("p", scored.positive),
            ("n", scored.negative),
            ("u", scored.unlabelled),
        ):
            for b, n in enumerate(counts):
                if n:
                    cells[_key("s", scored.label, side, b)] = float(n)
    return cells


def moved(labelled: Summary, unlabelled: Summary) -> Cells:
    """Cells that move rows from ``unlabelled`` (before their actuals) to ``labelled``."""
    delta = cells_of(labelled)
    for key, value in cells_of(unlabelled).items():
        delta[key] = delta.get(key, 0.0) - value
    return {k: v for k, v in delta.items() if v}


def summary_of(spec: QualitySpec, cells: Mapping[str, float]) -> Summary:
    """A window's summary from its summed cells."""
    parsed = [(json.loads(key), value) for key, value in cells.items()]
    unlabelled = round(sum(v for k, v in parsed if k == ["u"]))
    if spec.kind == "regression":
        sums = {k[0]: v for k, v in parsed if len(k) == 1}
        residual = [0] * (len(spec.residual_edges) + 1)
        for k, v in parsed:
            if k[0] == "r" and 0 <= int(k[1]) < len(residual):
                residual[int(k[1])] += round(v)
        return RegressorSummary(
            count=round(sums.get("n", 0.0)),
            sum_error=sums.get("e", 0.0),
            sum_squared_error=sums.get("e2", 0.0),
            sum_absolute_error=sums.get("ea", 0.0),
            sum_actual=sums.get("y", 0.0),
            sum_squared_actual=sums.get("y2", 0.0),
            residual_edges=spec.residual_edges,
            residual_counts=tuple(residual),
            unlabelled=unlabelled,
        )
    confusion = {(str(k[1]), str(k[2])): round(v) for k, v in parsed if k[0] == "c"}
    labels = tuple(sorted({a for a, _ in confusion} | {p for _, p in confusion}))
    edges = score_edges(spec)
    scored = []
    for label in sorted(category_key(lbl) for lbl, _ in spec.scores):
        sides = {side: [0] * (len(edges) + 1) for side in ("p", "n", "u")}
        for k, v in parsed:
            if k[0] == "s" and k[1] == label and 0 <= int(k[3]) <= len(edges):
                sides[str(k[2])][int(k[3])] += round(v)
        scored.append(ScoreCounts(label, *(tuple(sides[s]) for s in ("p", "n", "u"))))
    return ClassifierSummary(
        labels=labels,
        confusion=tuple(tuple(confusion.get((a, p), 0) for p in labels) for a in labels),
        unlabelled=unlabelled,
        positive=None if spec.positive is None else category_key(spec.positive),
        score_edges=edges,
        scores=tuple(scored),
    )
