"""evidently reports of a model's latest window against its baseline's reference sample.

The HTML and JSON an SRE opens from a dashboard link or an alert's
``report_url``. Built with evidently's ``DataDriftPreset`` on the sample path
(the baseline's bounded reference sample vs the window's reservoir sample),
both capped at ``drift.report_max_rows`` rows. Rendering takes seconds, so each
(model, baseline version, window) is rendered once and cached.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from inferwatch.drift.baseline import Baseline
from inferwatch.drift.engine_errors import DriftEngineError, NoLiveDataError
from inferwatch.drift.windows import LiveWindow
from inferwatch.errors import ClientError


class DegenerateWindowError(ClientError):
    """No feature has values on both sides, so there is nothing to report (HTTP 422)."""

    status_code = 422


def _without_degenerate(
    reference: pd.DataFrame, current: pd.DataFrame, numeric: set[str]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Numeric columns as floats (non-finite counted as missing); features with no value
    on one side are left out of the report and named, instead of crashing evidently."""
    reference, current = reference.copy(), current.copy()
    skipped: dict[str, str] = {}
    for name in list(current.columns):
        for side, frame in (("reference sample", reference), ("window", current)):
            if name in numeric:
                values = pd.to_numeric(frame[name], errors="coerce").astype("float64")
                frame[name] = values.where(values.abs() != math.inf)
            if frame[name].isna().all():
                skipped[name] = f"no values in the {side}"
                break
    kept = [c for c in current.columns if c not in skipped]
    return reference[kept], current[kept], skipped


@dataclass(frozen=True)
class RenderedReport:
    """One rendered report: HTML and the JSON document."""

    model: str
    baseline_version: int
    window_start: datetime
    window_end: datetime
    reference_rows: int
    window_rows: int
    html: str
    document: dict[str, Any]


def finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def _capped(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    if len(frame) <= rows:
        return frame.reset_index(drop=True)
    return frame.sample(n=rows, random_state=0).reset_index(drop=True)


def render(baseline: Baseline, window: LiveWindow, *, max_rows: int = 5000) -> RenderedReport:
    """Run evidently's ``DataDriftPreset`` on the reference sample vs the window's sample."""
    if baseline.sample.empty:
        raise NoLiveDataError(
            f"baseline {baseline.model!r} v{baseline.version} keeps no reference sample "
            "(created with sample size 0), so there is no report"
        )
    if window.sample.empty:
        raise NoLiveDataError(f"the latest window of {baseline.model!r} holds no sampled rows yet")
    columns = [
        spec
        for spec in baseline.features
        if spec.name in baseline.sample.columns and spec.name in window.sample.columns
    ]
    if not columns:
        raise NoLiveDataError(
            f"the latest window of {baseline.model!r} has none of the baseline's features "
            f"({', '.join(baseline.feature_names)})"
        )
    names = [spec.name for spec in columns]
    numeric = {s.name for s in columns if s.kind == "numeric"}
    reference, current, skipped = _without_degenerate(
        _capped(baseline.sample[names], max_rows), _capped(window.sample[names], max_rows), numeric
    )
    if skipped and len(skipped) == len(names):
        raise DegenerateWindowError(
            f"no report for {baseline.model!r}: every feature lacks values ("
            + "; ".join(f"{n}: {why}" for n, why in skipped.items())
            + ")"
        )
    columns = [spec for spec in columns if spec.name not in skipped]
    try:
        from evidently import DataDefinition, Dataset, Report
        from evidently.presets import DataDriftPreset

        definition = DataDefinition(
            numerical_columns=[s.name for s in columns if s.kind == "numeric"],
            categorical_columns=[s.name for s in columns if s.kind != "numeric"],
        )
        snapshot = Report([DataDriftPreset()]).run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(reference, data_definition=definition),
        )
        html = snapshot.get_html_str(as_iframe=False)
        evidently_json = json.loads(snapshot.json())
    except Exception as exc:  # evidently raises anything; the caller gets one error type
        raise DriftEngineError(f"evidently could not build the report: {exc}") from exc
    document = {
        "model": baseline.model,
        "baseline_version": baseline.version,
        "window_start": window.start.isoformat(),
        "window_end": window.end.isoformat(),
        "reference_rows": len(reference),
        "window_rows": len(current),
        "skipped_features": skipped,
        "evidently": finite(evidently_json),
    }
    return RenderedReport(
        model=baseline.model,
        baseline_version=baseline.version,
        window_start=window.start,
        window_end=window.end,
        reference_rows=len(reference),
        window_rows=len(current),
        html=html,
        document=document,
    )


class ReportCache:
    """Rendered reports by (model, baseline version, window), least recently used evicted."""

    def __init__(self, *, max_rows: int = 5000, size: int = 8) -> None:
        self.max_rows = max_rows
        self.size = size
        self._reports: OrderedDict[tuple[Any, ...], RenderedReport] = OrderedDict()
        self._lock = threading.Lock()
        self.renders = 0

    def get(self, baseline: Baseline, window: LiveWindow) -> RenderedReport:
        """The cached report of this window, rendering it on first ask."""
        key = (baseline.model, baseline.version, window.start, window.end, window.rows)
        with self._lock:
            found = self._reports.get(key)
            if found is not None:
                self._reports.move_to_end(key)
                return found
        report = render(baseline, window, max_rows=self.max_rows)
        with self._lock:
            self.renders += 1
            self._reports[key] = report
            while len(self._reports) > self.size:
                self._reports.popitem(last=False)
        return report
