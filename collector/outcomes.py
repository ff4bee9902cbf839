"""Model outcomes in the collector: predictions with their actuals, counted per window.

A model whose baseline names its outcome columns (``BaselineSpec.quality``) may send
them with its records: the prediction, the class scores, the actual when it is known
and an id. Each batch's outcomes are counted into the window of the prediction as
additive cells (``inferwatch.contracts.outcomes``); a prediction sent with an id and no
actual is kept (``collector.outcome_ttl_seconds``) so that the actual, when it arrives
hours or days later at ``POST .../outcomes``, moves it from unlabelled to labelled in
the window of the prediction, not of its arrival. An actual whose prediction is not
found (never sent, expired) or was labelled already is counted and reported back,
never dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa

from inferwatch.contracts.categories import is_missing
from inferwatch.contracts.outcomes import Cells, cells_of, moved, summarise_outcomes
from inferwatch.contracts.spec import BaselineSpec, FeatureKind, FeatureSpec, QualitySpec
from inferwatch.storage import Transaction

MAX_REPORTED_IDS = 20
"""Unmatched ids named in an answer (all of them are counted)."""


def _kind(spec: QualitySpec, column: str) -> FeatureKind:
    numeric = {c for _, c in spec.scores}
    if spec.kind == "regression":
        numeric |= {spec.prediction, spec.target}
    return "numeric" if column in numeric else "categorical"


def ingest_spec(baseline: BaselineSpec) -> BaselineSpec:
    """The schema records are validated by: the features and the outcome columns."""
    if baseline.quality is None:
        return baseline
    known = set(baseline.feature_names)
    extra = tuple(
        FeatureSpec(column, _kind(baseline.quality, column))
        for column in baseline.quality.columns
        if column not in known
    )
    return replace(baseline, features=(*baseline.features, *extra))


def outcomes_spec(baseline: BaselineSpec) -> BaselineSpec:
    """The schema of ``POST .../outcomes``: the outcome columns alone."""
    quality = baseline.quality
    assert quality is not None
    return replace(
        baseline, features=tuple(FeatureSpec(c, _kind(quality, c)) for c in quality.columns)
    )


@dataclass(frozen=True)
class CountedOutcomes:
    """One batch's outcomes: cells for its window, and predictions awaiting actuals."""

    cells: Cells
    waiting: tuple[tuple[str, str], ...] = ()
    """(prediction id, the prediction and its scores as JSON), rows without an actual."""


def count_outcomes(table: pa.Table, baseline: BaselineSpec) -> CountedOutcomes | None:
    """Count a validated batch's outcomes; None when the model or batch has none."""
    quality = baseline.quality
    if quality is None or quality.prediction not in table.column_names:
        return None
    columns = {c: table.column(c).to_pylist() for c in quality.columns if c in table.column_names}
    rows = table.num_rows
    cells = cells_of(summarise_outcomes(quality, columns, rows))
    ids = columns.get(quality.prediction_id or "")
    actual = columns.get(quality.target) or [None] * rows
    waiting: tuple[tuple[str, str], ...] = ()
    if ids is not None:
        waiting = tuple(
            (str(ids[i]), json.dumps(_prediction(quality, columns, i)))
            for i in range(rows)
            if ids[i] is not None and actual[i] is None
        )
    return CountedOutcomes(cells, waiting)


def _prediction(quality: QualitySpec, columns: dict[str, list[Any]], i: int) -> dict[str, Any]:
    return {
        "prediction": columns[quality.prediction][i],
        "scores": {
            label: columns[column][i] for label, column in quality.scores if column in columns
        },
    }


def prediction_columns(
    quality: QualitySpec, stored: Sequence[dict[str, Any]], actuals: Sequence[Any]
) -> dict[str, list[Any]]:
    """Stored predictions and their actuals as the columns ``summarise_outcomes`` reads."""
    columns: dict[str, list[Any]] = {
        quality.prediction: [p["prediction"] for p in stored],
        quality.target: list(actuals),
    }
    for label, column in quality.scores:
        columns[column] = [p["scores"].get(label) for p in stored]
    return columns


@dataclass
class JoinReport:
    """What became of one request's actuals (filled by the writer)."""

    matched: int = 0
    unknown: list[str] = field(default_factory=list)
    """Ids with no stored prediction: never sent with an id, or expired."""
    duplicate: list[str] = field(default_factory=list)
    """Ids whose prediction has its actual already (or twice in this request)."""

    def to_dict(self) -> dict[str, Any]:
        """The answer's body: counts, and the first unmatched ids by reason."""
        return {
            "matched": self.matched,
            "unmatched": {
                "unknown_or_expired": len(self.unknown),
                "already_labelled": len(self.duplicate),
            },
            "unmatched_ids": {
                "unknown_or_expired": self.unknown[:MAX_REPORTED_IDS],
                "already_labelled": self.duplicate[:MAX_REPORTED_IDS],
            },
        }


@dataclass(frozen=True)
class PredictionOutcomes:
    """Predictions (with their actuals, or ids to join them later) sent without features."""

    model: str
    baseline_version: int
    outcomes: CountedOutcomes
    arrived_at: float
    rows: int


@dataclass(frozen=True)
class OutcomeBatch:
    """Actuals of earlier predictions, by id, for the writer to join."""

    model: str
    quality: QualitySpec
    ids: tuple[str, ...]
    actuals: tuple[Any, ...]
    arrived_at: float
    report: JoinReport = field(default_factory=JoinReport, compare=False)

    @property
    def rows(self) -> int:
        """Actuals carried (what the batch holds in the queue)."""
        return len(self.ids)


def join_actuals(tx: Transaction, item: OutcomeBatch) -> None:
    """Join actuals with their stored predictions (the writer's transaction, under the
    model's lock); move those rows to labelled in the windows of the predictions."""
    stored: dict[str, tuple[int, int, str, bool]] = {}
    ids = list(dict.fromkeys(item.ids))
    for at in range(0, len(ids), 500):
        chunk = ids[at : at + 500]
        marks = ", ".join("?" * len(chunk))
        for pid, start, version, record, labelled in tx.execute(
            "SELECT prediction_id, start_s, baseline_version, record, labelled "
            f"FROM collector_predictions WHERE model = ? AND prediction_id IN ({marks}) "
            "AND expires_s > ?",
            (item.model, *chunk, int(item.arrived_at)),
        ):
            stored[str(pid)] = (int(start), int(version), str(record), bool(labelled))
    groups: dict[tuple[int, int], tuple[list[dict[str, Any]], list[Any]]] = {}
    done: dict[str, None] = {}
    report = item.report
    report.unknown.clear()  # a transaction retried by the writer starts the report again
    report.duplicate.clear()
    for pid, actual in zip(item.ids, item.actuals, strict=True):
        found = stored.get(pid)
        if found is None:
            report.unknown.append(pid)
        elif found[3] or pid in done:
            report.duplicate.append(pid)
        elif not is_missing(actual):  # the route refuses missing actuals; kept as a guard
            done[pid] = None
            group = groups.setdefault((found[0], found[1]), ([], []))
            group[0].append(json.loads(found[2]))
            group[1].append(actual)
    for (start, version), (predictions, actuals) in groups.items():
        quality = item.quality
        labelled = summarise_outcomes(
            quality,
            prediction_columns(quality, predictions, actuals),
            len(actuals),
        )
        unlabelled = summarise_outcomes(
            quality,
            prediction_columns(quality, predictions, [None] * len(actuals)),
            len(actuals),
        )
        add_outcome_cells(tx, item.model, start, version, moved(labelled, unlabelled))
    labelled_ids = list(done)
    for at in range(0, len(labelled_ids), 500):
        chunk = labelled_ids[at : at + 500]
        marks = ", ".join("?" * len(chunk))
        tx.execute(
            "UPDATE collector_predictions SET labelled = ? "
            f"WHERE model = ? AND prediction_id IN ({marks})",
            (True, item.model, *chunk),
        )
    report.matched = len(done)


def add_outcomes(
    tx: Transaction,
    model: str,
    start: int,
    version: int,
    outcomes: CountedOutcomes,
    *,
    expires_s: int,
) -> None:
    """A batch's outcome cells into its window; its predictions without an actual kept
    (until ``expires_s``) for the actuals that arrive later."""
    add_outcome_cells(tx, model, start, version, outcomes.cells)
    if outcomes.waiting:
        tx.executemany(
            "INSERT INTO collector_predictions (model, prediction_id, start_s, "
            "baseline_version, record, labelled, expires_s) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (model, prediction_id) DO NOTHING",
            (
                (model, pid, start, version, record, False, expires_s)
                for pid, record in outcomes.waiting
            ),
        )


def add_outcome_cells(
    tx: Transaction, model: str, start: int, version: int, cells: Mapping[str, float]
) -> None:
    """Add outcome cells into a window's (late actuals may add negative unlabelled cells)."""
    tx.executemany(
        "INSERT INTO collector_outcome_cells (model, start_s, baseline_version, cell, value) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (model, start_s, baseline_version, cell) "
        "DO UPDATE SET value = collector_outcome_cells.value + excluded.value",
        ((model, start, version, cell, value) for cell, value in cells.items()),
    )
