"""Evaluate a live window against a baseline: per-feature results and one verdict.

Two entry points, one decision rule (``DriftPolicy``):

- ``evaluate_sample``: raw live rows (a DataFrame). Binned methods use the baseline's
  bin counts; ``ks`` and ``wasserstein`` use the raw values against the baseline's
  reference sample (exact forms).
- ``evaluate_counts``: live counts in the baseline's bins (the histogram path, read back
  from Prometheus). Every method runs on bins; ``ks`` says it is bin-resolved.
- ``evaluate_window``: a collector window. Where the pods' merged summaries count every
  row of the window in this baseline's bins, binned methods and the missing rate use
  those counts (all traffic) and ``ks``/``wasserstein`` the window's merged sample
  (path ``summary``); otherwise the window's sample alone (path ``sample``).

Per feature, the primary method decides; the missing-value rate is tested next to it.
All the window's p-values form one family for the correction. Features absent from the
live data, or with fewer than ``min_rows`` rows, are ``not_enough_data``, never ``drift``.
The baseline is never changed.

Example:
    >>> import pandas as pd
    >>> from inferwatch.drift.baseline import infer_baseline
    >>> reference = pd.DataFrame({"x": range(1000)})
    >>> evaluate_sample(infer_baseline("m", reference), reference.head(500)).verdict
    'drift'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
import pandas as pd

from inferwatch.contracts.binning import count_sorted
from inferwatch.contracts.results import BinnedCounts, DataPath, DriftEvaluation, FeatureResult
from inferwatch.contracts.spec import FeatureSpec
from inferwatch.contracts.summary import FeatureSummary
from inferwatch.contracts.windows import LiveWindow
from inferwatch.drift.baseline import Baseline, column_values
from inferwatch.drift.correction import adjust
from inferwatch.drift.policy import DriftPolicy
from inferwatch.drift.stats import MISSING_RATE, DriftMethod, Score, get_method
from inferwatch.errors import ClientError

__all__ = ["DriftInputError", "evaluate_counts", "evaluate_sample", "evaluate_window"]


class DriftInputError(ClientError):
    """Live data that cannot be evaluated against this baseline (the caller's mistake)."""


@dataclass(frozen=True)
class _Window:
    """One feature's live data, in the baseline's bins and (sample path) as raw numbers."""

    spec: FeatureSpec
    counts: np.ndarray | None
    """``None`` when the feature is absent from the live data."""
    missing: int = 0
    live_values: np.ndarray | None = None
    reference_values: np.ndarray | None = None
    note: str = ""
    discrete: bool = False
    """Numeric binned by value in the baseline (``FeatureSpec.discrete``)."""
    schema: str = ""
    """A schema change in words (missing column, type change, unparseable values)."""

    @property
    def rows(self) -> int:
        return 0 if self.counts is None else int(self.counts.sum()) + self.missing


def evaluate_sample(
    baseline: Baseline,
    live: pd.DataFrame,
    policy: DriftPolicy | None = None,
    *,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
) -> DriftEvaluation:
    """Compare raw live rows with the baseline; live columns it does not know are ignored."""
    if not isinstance(live, pd.DataFrame):
        raise DriftInputError(f"live data must be a pandas DataFrame, got {type(live).__name__}")
    duplicated = sorted({str(c) for c in live.columns[live.columns.duplicated()]})
    if duplicated:
        raise DriftInputError(f"live data has duplicate column(s) {', '.join(duplicated)}")
    policy = policy or DriftPolicy()
    windows = tuple(
        _discrete(_sample_window(spec, live, baseline, policy)) for spec in baseline.features
    )
    outcome = baseline.quality.columns if baseline.quality else ()
    known = {*baseline.feature_names, *outcome} if len(live) else set(map(str, live.columns))
    unexpected = tuple(
        _schema_result(str(c), policy, rows=len(live), why="unexpected column: not in the baseline")
        for c in live.columns
        if str(c) not in known
    )
    return _evaluate(
        baseline,
        windows,
        policy,
        path="sample",
        rows=len(live),
        window_start=window_start,
        window_end=window_end,
        extra=unexpected,
    )


def evaluate_counts(
    baseline: Baseline,
    live: Mapping[str, BinnedCounts],
    policy: DriftPolicy | None = None,
    *,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
) -> DriftEvaluation:
    """Compare live bin counts with the baseline's; unknown features or wrong bins fail."""
    unknown = sorted(set(live) - set(baseline.feature_names))
    if unknown:
        raise DriftInputError(f"baseline {baseline.model!r} has no feature(s) {', '.join(unknown)}")
    policy = policy or DriftPolicy()
    windows = tuple(
        _discrete(_counts_window(spec, live.get(spec.name))) for spec in baseline.features
    )
    rows = max((w.rows for w in windows), default=0)
    return _evaluate(
        baseline,
        windows,
        policy,
        path="histogram",
        rows=rows,
        window_start=window_start,
        window_end=window_end,
    )


def evaluate_window(
    baseline: Baseline, window: LiveWindow, policy: DriftPolicy | None = None
) -> DriftEvaluation:
    """Evaluate a collector window: summaries' counts where they cover it, else its sample.

    A feature's merged counts are used only when they were binned against this baseline
    version and count every row of the window (``count + missing == rows``): a window
    that also took rows the summaries do not count (another baseline version, records
    from before the baseline) is judged on its sample, never on a part of its traffic.
    """
    covered = _covering_counts(baseline, window)
    if not covered:
        return evaluate_sample(
            baseline, window.sample, policy, window_start=window.start, window_end=window.end
        )
    policy = policy or DriftPolicy()
    live = window.sample
    windows = []
    for spec in baseline.features:
        sampled = _discrete(_sample_window(spec, live, baseline, policy))
        summary = covered.get(spec.name)
        windows.append(sampled if summary is None else _with_counts(sampled, summary, policy))
    return _evaluate(
        baseline,
        tuple(windows),
        policy,
        path="summary",
        rows=window.rows,
        window_start=window.start,
        window_end=window.end,
    )


def _covering_counts(baseline: Baseline, window: LiveWindow) -> dict[str, FeatureSummary]:
    if window.baseline_version != baseline.version or window.rows <= 0:
        return {}
    specs = {spec.name: spec for spec in baseline.features}
    return {
        name: summary
        for name, summary in window.counts.items()
        if name in specs
        and len(summary.counts) == len(specs[name].bin_labels)
        and summary.count + summary.missing == window.rows
    }


def _with_counts(sampled: _Window, summary: FeatureSummary, policy: DriftPolicy) -> _Window:
    """The feature's window with all traffic's counts; the sample keeps the raw values."""
    counted = _counts_window(sampled.spec, BinnedCounts.of(summary.counts, summary.missing))
    live = sampled.live_values
    note = sampled.note if sampled.counts is not None else ""  # e.g. "no live rows" sampled
    if live is not None and live.size < policy.min_rows:
        why = f"the merged sample holds {live.size} value(s), fewer than min_rows"
        live, note = None, _join(note, why)
    schema = sampled.schema if sampled.counts is not None else ""  # the counts saw the column
    return replace(
        sampled,
        counts=counted.counts,
        missing=counted.missing,
        live_values=live,
        note=note,
        schema=schema,
    )


def _discrete(window: _Window) -> _Window:
    """Mark numeric features the baseline bins by value (few distinct reference values)."""
    return replace(window, discrete=window.spec.kind == "numeric" and window.spec.discrete)


def _counts_window(spec: FeatureSpec, counts: BinnedCounts | None) -> _Window:
    if counts is None:
        return _Window(spec, None)
    if len(counts.counts) != len(spec.bin_labels):
        raise DriftInputError(
            f"feature {spec.name!r}: {len(counts.counts)} live bins, "
            f"the baseline has {len(spec.bin_labels)}"
        )
    if min(counts.counts, default=0) < 0 or counts.missing < 0:
        raise DriftInputError(f"feature {spec.name!r}: counts must not be negative")
    return _Window(spec, np.asarray(counts.counts, dtype=np.int64), counts.missing)


def _numbers(series: pd.Series) -> np.ndarray:
    return column_values(series, "numeric")


def _sample_window(
    spec: FeatureSpec, live: pd.DataFrame, baseline: Baseline, policy: DriftPolicy
) -> _Window:
    if live.empty:  # no rows: nothing to judge, the schema included
        return _Window(spec, None, note="no live rows")
    if spec.name not in live.columns:
        return _Window(spec, None, schema="missing from live data (the baseline has it)")
    series = live[spec.name]
    if spec.kind != "numeric":
        counts, missing = spec.count(column_values(series, spec.kind))
        return _Window(spec, counts, missing)
    numbers = _numbers(series)
    parsed = ~np.isnan(numbers)
    bad = ~parsed & ~series.isna().to_numpy()
    unparsable = int(bad.sum())
    example = str(series[bad].iloc[0]) if unparsable else ""
    present = np.sort(numbers[parsed])  # sorted once: binning and KS search into it
    reference = None
    if spec.name in baseline.sample.columns:
        reference_numbers = _numbers(baseline.sample[spec.name])
        reference = reference_numbers[~np.isnan(reference_numbers)]
    note = f"{unparsable} non-numeric value(s) counted as missing" if unparsable else ""
    return _Window(
        spec,
        count_sorted(spec.edges, present),
        int(numbers.size - present.size),
        live_values=present,
        reference_values=reference,
        note=note,
        schema=_parse_finding(present.size, unparsable, example, policy),
    )


def _parse_finding(parsed: int, unparsable: int, example: str, policy: DriftPolicy) -> str:
    """A numeric feature's live values that do not parse, in words, if there are too many."""
    written = parsed + unparsable
    if unparsable == 0 or unparsable <= policy.max_unparseable_share * written:
        return ""
    shown = f" (e.g. {example[:40]!r})"
    if parsed == 0:
        return f"type change: numeric in the baseline, text in live data{shown}"
    return (
        f"{unparsable} of {written} live values ({unparsable / written:.1%}) do not parse as "
        f"numbers{shown}, more than max_unparseable_share={policy.max_unparseable_share:g}"
    )


def _score(method: DriftMethod, window: _Window, path: DataPath) -> Score:
    """The exact sample form where the method has one and both samples exist, else bins."""
    assert window.counts is not None
    samples = path != "histogram" and method.uses_samples
    reference = window.reference_values
    has_reference = reference is not None and bool(reference.size)
    if samples and window.live_values is not None and reference is not None and has_reference:
        return method.on_samples(reference, window.live_values, window.spec)
    score = method.on_counts(np.asarray(window.spec.reference_counts), window.counts, window.spec)
    if samples and not has_reference:
        return replace(score, detail=f"{score.detail} (the baseline has no reference sample)")
    if samples:
        return replace(score, detail=f"{score.detail} (bin-resolved: too few sampled values)")
    return score


def _effect(method: DriftMethod, window: _Window, path: DataPath) -> float:
    """The effect size next to a test: the sample form where there is one, else on bins
    with the method's small-sample bias removed (``DriftMethod.effect``)."""
    assert window.counts is not None
    if path != "histogram" and method.uses_samples and window.reference_values is not None:
        return _score(method, window, path).statistic
    return method.effect(np.asarray(window.spec.reference_counts), window.counts)


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _not_enough(
    feature: str, method: str, threshold: float, window: _Window, why: str
) -> FeatureResult:
    return FeatureResult(
        feature=feature,
        method=method,
        statistic=None,
        p_value=None,
        threshold=threshold,
        drifted=False,
        verdict="not_enough_data",
        rows=window.rows,
        missing=window.missing,
        detail=why,
    )


SCHEMA = "schema"
"""The method name of a schema-change finding (no statistic, no p-value)."""


def _schema_result(feature: str, policy: DriftPolicy, *, rows: int, why: str) -> FeatureResult:
    """A schema change: drift by default, or only reported (``schema_change: report``)."""
    decides = policy.schema_action_for(feature) == "drift"
    return FeatureResult(
        feature=feature,
        method=SCHEMA,
        statistic=None,
        p_value=None,
        threshold=policy.max_unparseable_share,
        drifted=decides,
        verdict="schema_change",
        rows=rows,
        detail=f"schema change: {why}" + ("" if decides else " (reported only, by policy)"),
    )


def _feature_results(window: _Window, policy: DriftPolicy, path: DataPath) -> list[FeatureResult]:
    """One feature's results before correction (``p_value`` still raw, ``drifted`` False)."""
    spec = window.spec
    name = policy.method_for(spec.name, spec.kind, discrete=window.discrete)
    method = get_method(name)
    threshold = policy.threshold_for(spec.name, name)
    schema = (
        [_schema_result(spec.name, policy, rows=window.rows, why=window.schema)]
        if window.schema
        else []
    )
    if window.counts is None:
        if schema:
            return schema
        why = window.note or "absent from live data"
        return [_not_enough(spec.name, name, threshold, window, why)]
    if window.schema.startswith("type change"):
        return schema
    return schema + _tested_results(window, policy, path, method, threshold)


def _tested_results(
    window: _Window,
    policy: DriftPolicy,
    path: DataPath,
    method: DriftMethod,
    threshold: float,
) -> list[FeatureResult]:
    """The primary method's and the missing rate's results of a feature with live data."""
    spec = window.spec
    missing_threshold = policy.alpha  # a feature's own threshold is its primary method's
    name = method.name
    assert window.counts is not None
    reference_values = sum(spec.reference_counts)
    if reference_values < policy.min_reference_rows:
        why = (
            f"the reference has {reference_values} non-missing value(s), fewer than "
            f"min_reference_rows={policy.min_reference_rows}"
        )
        return [
            _not_enough(spec.name, name, threshold, window, why),
            _not_enough(spec.name, MISSING_RATE, missing_threshold, window, why),
        ]
    if window.rows < policy.min_rows:
        why = f"{window.rows} live rows, fewer than min_rows={policy.min_rows}"
        return [
            _not_enough(spec.name, name, threshold, window, why),
            _not_enough(spec.name, MISSING_RATE, missing_threshold, window, why),
        ]
    results = []
    present = int(window.counts.sum())
    if present < policy.min_rows:
        why = f"{present} non-missing live values, fewer than min_rows={policy.min_rows}"
        results.append(_not_enough(spec.name, name, threshold, window, _join(why, window.note)))
    else:
        results.append(_primary(window, policy, path, method, threshold))
    if policy.missing_rate_test:
        score = get_method(MISSING_RATE).on_counts(
            np.array([sum(spec.reference_counts), spec.missing_count]),
            np.array([present, window.missing]),
        )
        results.append(
            FeatureResult(
                feature=spec.name,
                method=MISSING_RATE,
                statistic=score.statistic,
                p_value=score.p_value,
                threshold=missing_threshold,
                drifted=False,
                verdict="no_drift",
                rows=window.rows,
                missing=window.missing,
                detail=_join(score.detail, window.note),
                raw_p_value=score.p_value,
                effect=abs(score.statistic),
                effect_threshold=policy.min_missing_effect,
            )
        )
    return results


def _primary(
    window: _Window, policy: DriftPolicy, path: DataPath, method: DriftMethod, threshold: float
) -> FeatureResult:
    spec = window.spec
    score = _score(method, window, path)
    effect_name = effect = floor = None
    if method.is_test:
        effect_method = get_method(policy.effect_method)
        if spec.kind not in effect_method.kinds:
            effect_method = get_method("jensen_shannon")
        effect_name = effect_method.name
        effect = _effect(effect_method, window, path)
        floor = policy.effect_floor_for(spec.name)
    assert window.counts is not None
    discrete = "discrete numeric feature" if window.discrete and spec.kind == "numeric" else ""
    return FeatureResult(
        feature=spec.name,
        method=method.name,
        statistic=score.statistic,
        p_value=score.p_value,
        threshold=threshold,
        drifted=False,
        verdict="no_drift",
        rows=window.rows,
        missing=window.missing,
        detail=_join(discrete, score.detail, window.note),
        raw_p_value=score.p_value,
        effect_method=effect_name,
        effect=effect,
        effect_threshold=floor,
    )


def _decide(result: FeatureResult, adjusted: float | None) -> FeatureResult:
    """The verdict of one evaluated result, given its adjusted p-value (tests only)."""
    if result.verdict in ("not_enough_data", "schema_change"):
        return result
    assert result.statistic is not None
    if adjusted is None:  # a distance: its statistic against its threshold
        drifted = result.statistic >= result.threshold
        relation = ">=" if drifted else "<"
        why = f"{result.method} {result.statistic:.4g} {relation} {result.threshold:.4g}"
    else:
        significant = adjusted < result.threshold
        large = (
            result.effect is None
            or result.effect_threshold is None
            or (result.effect >= result.effect_threshold)
        )
        drifted = significant and large
        why = f"adjusted p {adjusted:.3g} {'<' if significant else '>='} {result.threshold:.3g}"
        if significant and not large:
            why += (
                f" but effect {result.effect_method or result.method} {result.effect:.4g}"
                f" < min effect {result.effect_threshold:.4g}"
            )
    return replace(
        result,
        p_value=adjusted,
        drifted=drifted,
        verdict="drift" if drifted else "no_drift",
        detail=_join(result.detail, why),
    )


def _evaluate(
    baseline: Baseline,
    windows: tuple[_Window, ...],
    policy: DriftPolicy,
    *,
    path: DataPath,
    rows: int,
    window_start: datetime | None,
    window_end: datetime | None,
    extra: tuple[FeatureResult, ...] = (),
) -> DriftEvaluation:
    pending = [r for window in windows for r in _feature_results(window, policy, path)]
    pending.extend(extra)
    # One family: every test that ran, except missing-rate tests with no missing value on
    # either side (p = 1, they cannot reject; counting them would only cost power).
    family = [
        i
        for i, r in enumerate(pending)
        if r.raw_p_value is not None
        and r.verdict != "not_enough_data"
        and not (r.method == MISSING_RATE and r.missing == 0 and r.statistic == 0.0)
    ]
    adjusted = dict(
        zip(
            family,
            adjust([pending[i].raw_p_value or 0.0 for i in family], policy.correction),
            strict=True,
        )
    )
    results = tuple(
        _decide(r, adjusted.get(i, 1.0 if r.raw_p_value is not None else None))
        for i, r in enumerate(pending)
    )
    evaluated = {r.feature for r in results if r.verdict != "not_enough_data"}
    drifted = {r.feature for r in results if r.drifted}
    if not evaluated:
        detected, verdict = False, "not_enough_data"
    else:
        if policy.drift_share is None:
            detected = bool(drifted)
        else:
            detected = len(drifted) / len(evaluated) >= policy.drift_share
        verdict = "drift" if detected else "no_drift"
    return DriftEvaluation(
        model=baseline.model,
        baseline_version=baseline.version,
        path=path,
        rows=rows,
        features=results,
        drift_detected=detected,
        verdict=verdict,  # type: ignore[arg-type]
        window_start=window_start,
        window_end=window_end,
    )
