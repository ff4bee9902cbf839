"""evidently reports of a model's latest window against its baseline's reference sample.

The HTML and JSON an SRE opens from a dashboard link or an alert's
``report_url``. Built with evidently's ``DataDriftPreset`` on the sample path
(the baseline's bounded reference sample vs the window's reservoir sample),
both capped at ``drift.report_max_rows`` rows. Rendering takes seconds, so each
(model, baseline version, window) is rendered once and cached.

evidently runs its own per-column tests (its defaults, no multiple-testing correction,
no effect floor), so it may name other columns than the engine. The report therefore
carries inferwatch's per-feature verdict beside evidently's and says that inferwatch's
decides (it is the one alerts fire on): the engine's stored evaluation of this window
when there is one, else the engine's rule run on the window's sample.
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

from inferwatch.contracts.results import DriftEvaluation
from inferwatch.contracts.windows import LiveWindow
from inferwatch.drift.baseline import Baseline
from inferwatch.drift.engine_errors import DriftEngineError, NoLiveDataError
from inferwatch.drift.policy import DriftPolicy
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


def engine_verdict(
    baseline: Baseline,
    window: LiveWindow,
    policy: DriftPolicy,
    stored: DriftEvaluation | None = None,
) -> DriftEvaluation:
    """The engine's evaluation of this window: ``stored`` if it is of this window and
    baseline version, else the engine's rule on the window (its counts where they cover
    it, else its sample)."""
    if (
        stored is not None
        and stored.baseline_version == baseline.version
        and stored.window_start == window.start
        and stored.window_end == window.end
    ):
        return stored
    from inferwatch.drift.evaluate import evaluate_window

    return evaluate_window(baseline, window, policy)


def verdict_document(evaluation: DriftEvaluation) -> dict[str, Any]:
    """inferwatch's verdict as the report shows it: per feature, method and decision."""
    features: dict[str, dict[str, Any]] = {}
    for result in evaluation.features:
        entry = features.setdefault(result.feature, {"drifted": False, "results": []})
        entry["drifted"] = entry["drifted"] or result.drifted
        entry["results"].append(
            {
                "method": result.method,
                "statistic": result.statistic,
                "p_value": result.p_value,
                "threshold": result.threshold,
                "verdict": result.verdict,
                "detail": result.detail,
            }
        )
    return {
        "decides": True,
        "note": "inferwatch's verdict decides alerts; evidently's per-column tests use its "
        "own defaults (no multiple-testing correction, no effect floor) and may differ",
        "path": evaluation.path,
        "verdict": evaluation.verdict,
        "drift_detected": evaluation.drift_detected,
        "drifted_features": list(evaluation.drifted_features),
        "features": features,
    }


def _banner(verdict: dict[str, Any]) -> str:
    """An HTML block above evidently's report naming the deciding verdict."""
    from html import escape

    drifted = ", ".join(verdict["drifted_features"]) or "none"
    return (
        '<div id="inferwatch-verdict" style="font-family:sans-serif;padding:12px;'
        'border:2px solid #444;margin:8px">'
        f"<b>inferwatch verdict (decides alerts): {escape(verdict['verdict'])}</b>; "
        f"drifted features: {escape(drifted)}.<br>{escape(verdict['note'])}.</div>"
    )


def render(
    baseline: Baseline,
    window: LiveWindow,
    *,
    max_rows: int = 5000,
    policy: DriftPolicy | None = None,
    stored: DriftEvaluation | None = None,
) -> RenderedReport:
    """Run evidently's ``DataDriftPreset`` on the reference sample vs the window's sample,
    with inferwatch's verdict of the same window beside it (``engine_verdict``)."""
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
    verdict = verdict_document(engine_verdict(baseline, window, policy or DriftPolicy(), stored))
    body = html.find("<body")
    at = html.find(">", body) + 1 if body >= 0 else 0
    html = html[:at] + _banner(verdict) + html[at:]
    document = {
        "model": baseline.model,
        "baseline_version": baseline.version,
        "window_start": window.start.isoformat(),
        "window_end": window.end.isoformat(),
        "reference_rows": len(reference),
        "window_rows": len(current),
        "skipped_features": skipped,
        "inferwatch": finite(verdict),
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

    def __init__(
        self, *, max_rows: int = 5000, size: int = 8, policy: DriftPolicy | None = None
    ) -> None:
        self.max_rows = max_rows
        self.policy = policy or DriftPolicy()
        self.size = size
        self._reports: OrderedDict[tuple[Any, ...], RenderedReport] = OrderedDict()
        self._lock = threading.Lock()
        self.renders = 0

    def get(
        self, baseline: Baseline, window: LiveWindow, stored: DriftEvaluation | None = None
    ) -> RenderedReport:
        """The cached report of this window, rendering it on first ask (``stored``: the
        engine's latest evaluation, used as the verdict when it is of this window)."""
        key = (baseline.model, baseline.version, window.start, window.end, window.rows)
        with self._lock:
            found = self._reports.get(key)
            if found is not None:
                self._reports.move_to_end(key)
                return found
        report = render(baseline, window, max_rows=self.max_rows, policy=self.policy, stored=stored)
        with self._lock:
            self.renders += 1
            self._reports[key] = report
            while len(self._reports) > self.size:
                self._reports.popitem(last=False)
        return report
