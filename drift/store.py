"""Baselines and drift results in the state store.

Baselines are versioned per model and immutable: ``create`` always inserts
version n+1 and never touches n. Each version keeps its bounded reference sample
as Parquet bytes, so reports and exact tests work after a restart. Results are
an append-only history per model, pruned to the newest ``history_limit``.

Example:
    >>> import pandas as pd
    >>> from inferwatch.storage import open_storage
    >>> storage = open_storage(":memory:")
    >>> _ = storage.migrate()
    >>> store = BaselineStore(storage)
    >>> frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]})
    >>> store.create("m", frame, bins=2).version, store.create("m", frame, bins=2).version
    (1, 2)
    >>> store.get("m").version
    2
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from inferwatch.contracts.names import MODEL_NAME_RULE, is_model_name
from inferwatch.contracts.results import DriftEvaluation, FeatureResult
from inferwatch.contracts.spec import DEFAULT_BINS, DEFAULT_SAMPLE_SIZE, DEFAULT_TOP_K, QualitySpec
from inferwatch.drift.baseline import Baseline, BaselineError, infer_baseline
from inferwatch.drift.engine_errors import BaselineNotFoundError, UploadError
from inferwatch.errors import ClientError
from inferwatch.storage import Storage


def check_model_name(model: str) -> str:
    """Refuse names that cannot be a Prometheus label value we want (1-128 safe characters)."""
    if not is_model_name(model):
        raise ClientError(f"model name {model!r} is not valid: {MODEL_NAME_RULE}", status_code=422)
    return model


@dataclass(frozen=True)
class BaselineInfo:
    """One stored baseline version, without its specs and sample."""

    model: str
    version: int
    created_at: datetime
    features: tuple[str, ...]
    sample_rows: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "model": self.model,
            "version": self.version,
            "created_at": self.created_at.isoformat(),
            "features": list(self.features),
            "sample_rows": self.sample_rows,
        }


def sample_to_parquet(sample: pd.DataFrame) -> bytes:
    """Parquet bytes of a sample; mixed-type object columns are stored as text."""
    buffer = io.BytesIO()
    try:
        sample.to_parquet(buffer, index=False)
    except (pa.ArrowException, ValueError, TypeError):
        as_text = sample.copy()
        for column in as_text.columns:
            if as_text[column].dtype == object:
                as_text[column] = as_text[column].map(lambda v: v if pd.isna(v) else str(v))
        buffer = io.BytesIO()
        as_text.to_parquet(buffer, index=False)
    return buffer.getvalue()


def sample_from_parquet(data: bytes | None) -> pd.DataFrame:
    """Inverse of ``sample_to_parquet``; an empty frame for no bytes."""
    if not data:
        return pd.DataFrame()
    return pd.read_parquet(io.BytesIO(data))


class BaselineStore:
    """Versioned, immutable baselines per model; also the ``shared["baselines"]`` object.

    Parsed baselines are cached by ``(model, version)`` (they never change); the
    latest version is looked up in the store on each ``get``, so a baseline
    created by another process (the CLI) is seen at once.
    """

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._cache: dict[tuple[str, int], Baseline] = {}
        self._lock = threading.Lock()

    def create(
        self,
        model: str,
        reference: pd.DataFrame,
        *,
        bins: int = DEFAULT_BINS,
        top_k: int = DEFAULT_TOP_K,
        sample_size: int = DEFAULT_SAMPLE_SIZE,
        seed: int = 0,
        columns: Sequence[str] | None = None,
        quality: QualitySpec | None = None,
    ) -> Baseline:
        """Infer a baseline from ``reference`` and store it as the model's next version."""
        check_model_name(model)
        try:
            baseline = infer_baseline(
                model,
                reference,
                bins=bins,
                top_k=top_k,
                sample_size=sample_size,
                seed=seed,
                columns=columns,
                quality=quality,
            )
        except BaselineError as exc:
            raise UploadError(f"cannot make a baseline for {model!r}: {exc}") from exc
        return self.add(baseline)

    def add(self, baseline: Baseline) -> Baseline:
        """Store ``baseline`` as the next version of its model (its own version is ignored)."""
        check_model_name(baseline.model)
        sample = sample_to_parquet(baseline.sample) if not baseline.sample.empty else None
        with self.storage.transaction() as tx:
            rows = tx.execute(
                "SELECT COALESCE(MAX(version), 0) FROM drift_baselines WHERE model = ?",
                (baseline.model,),
            )
            stored = replace(baseline, version=int(rows[0][0]) + 1)
            tx.execute(
                "INSERT INTO drift_baselines (model, version, created_at, spec, sample, "
                "sample_rows) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    stored.model,
                    stored.version,
                    stored.created_at.isoformat(),
                    json.dumps(stored.to_dict()),
                    sample,
                    len(stored.sample),
                ),
            )
        with self._lock:
            self._cache[(stored.model, stored.version)] = stored
        return stored

    def latest_version(self, model: str) -> int | None:
        """The newest version of ``model``, or None when it has no baseline."""
        rows = self.storage.query(
            "SELECT MAX(version) FROM drift_baselines WHERE model = ?", (model,)
        )
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def get(self, model: str, version: int | None = None) -> Baseline | None:
        """The model's baseline (latest version unless asked), or None."""
        wanted = version if version is not None else self.latest_version(model)
        if wanted is None:
            return None
        with self._lock:
            cached = self._cache.get((model, wanted))
        if cached is not None:
            return cached
        rows = self.storage.query(
            "SELECT spec, sample FROM drift_baselines WHERE model = ? AND version = ?",
            (model, wanted),
        )
        if not rows:
            return None
        baseline = Baseline.from_dict(json.loads(rows[0][0]), sample_from_parquet(rows[0][1]))
        with self._lock:
            self._cache[(model, wanted)] = baseline
        return baseline

    def require(self, model: str, version: int | None = None) -> Baseline:
        """Like ``get``, but a missing baseline is a ``BaselineNotFoundError``."""
        baseline = self.get(model, version)
        if baseline is None:
            which = f"baseline version {version}" if version is not None else "baseline"
            raise BaselineNotFoundError(
                f"model {model!r} has no {which}; create one with "
                f"`inferwatch drift baseline create REFERENCE --model {model}` "
                f"or POST /drift/baselines/{model}"
            )
        return baseline

    def versions(self, model: str) -> list[BaselineInfo]:
        """Every version of ``model``, oldest first."""
        rows = self.storage.query(
            "SELECT model, version, created_at, spec, sample_rows FROM drift_baselines "
            "WHERE model = ? ORDER BY version",
            (model,),
        )
        return [_info(row) for row in rows]

    def models(self) -> list[BaselineInfo]:
        """The latest version of every model that has a baseline, by model name."""
        rows = self.storage.query(
            "SELECT b.model, b.version, b.created_at, b.spec, b.sample_rows "
            "FROM drift_baselines b JOIN (SELECT model, MAX(version) AS v FROM drift_baselines "
            "GROUP BY model) m ON b.model = m.model AND b.version = m.v ORDER BY b.model"
        )
        return [_info(row) for row in rows]


def _info(row: Sequence[Any]) -> BaselineInfo:
    spec = json.loads(row[3])
    return BaselineInfo(
        model=str(row[0]),
        version=int(row[1]),
        created_at=datetime.fromisoformat(str(row[2])),
        features=tuple(str(f["name"]) for f in spec["features"]),
        sample_rows=int(row[4]),
    )


def evaluation_from_dict(data: Mapping[str, Any]) -> DriftEvaluation:
    """Inverse of ``DriftEvaluation.to_dict``."""

    def when(key: str) -> datetime | None:
        value = data.get(key)
        return datetime.fromisoformat(value) if value else None

    fields = FeatureResult.__dataclass_fields__
    features = tuple(
        FeatureResult(**{k: v for k, v in f.items() if k in fields}) for f in data["features"]
    )
    evaluated_at = when("evaluated_at")
    extra = {"evaluated_at": evaluated_at} if evaluated_at is not None else {}
    return DriftEvaluation(
        model=str(data["model"]),
        baseline_version=int(data["baseline_version"]),
        path=data["path"],
        rows=int(data["rows"]),
        features=features,
        drift_detected=bool(data["drift_detected"]),
        verdict=data["verdict"],
        window_start=when("window_start"),
        window_end=when("window_end"),
        **extra,
    )


class ResultStore:
    """The evaluation history: append-only per model, pruned to ``history_limit`` rows."""

    def __init__(self, storage: Storage, *, history_limit: int = 10_000) -> None:
        self.storage = storage
        self.history_limit = history_limit

    def append(self, evaluation: DriftEvaluation) -> int:
        """Store one evaluation; return its id."""
        body = json.dumps(evaluation.to_dict(), allow_nan=True)
        with self.storage.transaction() as tx:
            inserted = tx.execute(
                "INSERT INTO drift_results (model, baseline_version, path, verdict, "
                "drift_detected, rows, window_start, window_end, evaluated_at, body) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    evaluation.model,
                    evaluation.baseline_version,
                    evaluation.path,
                    evaluation.verdict,
                    int(evaluation.drift_detected),
                    evaluation.rows,
                    _iso(evaluation.window_start),
                    _iso(evaluation.window_end),
                    evaluation.evaluated_at.isoformat(),
                    body,
                ),
            )
            new_id = int(inserted[0][0])
            tx.execute(
                "DELETE FROM drift_results WHERE model = ? AND id < (SELECT MIN(id) FROM "
                "(SELECT id FROM drift_results WHERE model = ? ORDER BY id DESC LIMIT ?)"
                " AS newest)",
                (evaluation.model, evaluation.model, self.history_limit),
            )
        return new_id

    def latest(self, model: str) -> DriftEvaluation | None:
        """The model's newest evaluation, or None."""
        found = self.history(model, limit=1)
        return found[0] if found else None

    def history(self, model: str, *, limit: int = 100) -> list[DriftEvaluation]:
        """The model's evaluations, newest first."""
        rows = self.storage.query(
            "SELECT body FROM drift_results WHERE model = ? ORDER BY id DESC LIMIT ?",
            (model, limit),
        )
        return [evaluation_from_dict(json.loads(row[0])) for row in rows]

    def latest_all(self) -> dict[str, DriftEvaluation]:
        """The newest evaluation of every model with a history."""
        rows = self.storage.query(
            "SELECT r.body FROM drift_results r JOIN (SELECT model, MAX(id) AS id FROM "
            "drift_results GROUP BY model) m ON r.id = m.id ORDER BY r.model"
        )
        latest = [evaluation_from_dict(json.loads(row[0])) for row in rows]
        return {e.model: e for e in latest}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
