"""The evaluation core: decisions, corrections, minimum sizes and bad input."""

import dataclasses
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from inferwatch.contracts.results import BinnedCounts, DriftEvaluation, FeatureResult
from inferwatch.drift.baseline import Baseline, infer_baseline
from inferwatch.drift.evaluate import DriftInputError, evaluate_counts, evaluate_sample
from inferwatch.drift.policy import DriftPolicy, FeatureOverride

MakeTable = Callable[..., pd.DataFrame]


@pytest.fixture
def baseline(make_table: MakeTable) -> Baseline:
    return infer_baseline("m", make_table(np.random.default_rng(0), 20_000))


def counts_of(baseline: Baseline, live: pd.DataFrame) -> dict[str, BinnedCounts]:
    """What the exporter would publish for ``live``: counts in the baseline's bins."""
    return {s.name: BinnedCounts.of(*s.count(live[s.name])) for s in baseline.features}


def result(evaluation: DriftEvaluation, feature: str, method: str | None = None) -> FeatureResult:
    return next(
        r
        for r in evaluation.features
        if r.feature == feature and (method is None or r.method == method)
    )


@pytest.mark.parametrize("rows", [200, 1000, 10_000])
def test_no_drift_windows_rarely_alarm(
    baseline: Baseline, make_table: MakeTable, rows: int
) -> None:
    rng = np.random.default_rng(rows)
    trials = 25
    alarms = sum(
        evaluate_sample(baseline, make_table(rng, rows)).drift_detected for _ in range(trials)
    ) + sum(
        evaluate_counts(baseline, counts_of(baseline, make_table(rng, rows))).drift_detected
        for _ in range(trials)
    )
    # alpha 0.01 per window: 50 windows expect 0.5 false alarms; 3 or more has p < 0.02.
    assert alarms <= 2


@pytest.mark.parametrize("path", ["sample", "histogram"])
def test_clear_drift_is_flagged(baseline: Baseline, make_table: MakeTable, path: str) -> None:
    live = make_table(np.random.default_rng(1), 1000, shift=0.5)
    evaluation = (
        evaluate_sample(baseline, live)
        if path == "sample"
        else evaluate_counts(baseline, counts_of(baseline, live))
    )
    assert evaluation.drift_detected
    assert evaluation.verdict == "drift"
    assert evaluation.drifted_features == ("x",)
    assert evaluation.path == path
    x = result(evaluation, "x", "ks")
    assert x.verdict == "drift"
    assert x.p_value is not None
    assert x.raw_p_value is not None
    assert x.p_value >= x.raw_p_value  # adjusted across the window's tests
    assert ("bin-resolved" in x.detail) == (path == "histogram")


def test_scale_and_category_mix_shifts_are_flagged(
    baseline: Baseline, make_table: MakeTable
) -> None:
    rng = np.random.default_rng(2)
    assert evaluate_sample(baseline, make_table(rng, 2000, scale=1.5)).drifted_features == ("x",)
    live = make_table(rng, 2000)
    live["plan"] = rng.choice(["free", "pro", "team", "ent"], 2000, p=[0.35, 0.35, 0.2, 0.1])
    assert evaluate_sample(baseline, live).drifted_features == ("plan",)


def test_minimum_effect_keeps_huge_windows_from_flagging_trivial_shifts(
    baseline: Baseline,
) -> None:
    spec = baseline.feature("x")
    rng = np.random.default_rng(3)
    live = rng.normal(0.03, 1, 2_000_000)  # 0.03 sd: significant at this size, not relevant
    counts = {"x": BinnedCounts.of(spec.count_numbers(live))}
    evaluation = evaluate_counts(baseline, counts)
    x = result(evaluation, "x", "ks")
    assert x.p_value is not None
    assert x.p_value < 0.01
    assert x.effect is not None
    assert x.effect_threshold is not None
    assert x.effect < x.effect_threshold
    assert not x.drifted
    assert "min effect" in x.detail
    assert not evaluation.drift_detected
    strict = evaluate_counts(baseline, counts, DriftPolicy(min_effect=0.0))
    assert strict.drifted_features == ("x",)


def test_small_windows_are_not_enough_data_never_drift(
    baseline: Baseline, make_table: MakeTable
) -> None:
    live = make_table(np.random.default_rng(4), 50, shift=3.0)
    evaluation = evaluate_sample(baseline, live.head(19))
    assert evaluation.verdict == "not_enough_data"
    assert not evaluation.drift_detected
    assert {r.verdict for r in evaluation.features} == {"not_enough_data"}
    assert "min_rows=20" in result(evaluation, "x").detail
    assert evaluate_sample(baseline, live.head(20)).drifted_features == ("x",)
    assert evaluate_sample(baseline, live, DriftPolicy(min_rows=100)).verdict == "not_enough_data"


def test_empty_window_is_not_enough_data(baseline: Baseline) -> None:
    evaluation = evaluate_sample(baseline, pd.DataFrame())
    assert evaluation.verdict == "not_enough_data"
    assert result(evaluation, "x").detail == "no live rows"
    assert evaluate_counts(baseline, {}).verdict == "not_enough_data"


def test_missing_and_unexpected_columns_are_schema_changes(
    baseline: Baseline, make_table: MakeTable
) -> None:
    live = make_table(np.random.default_rng(5), 1000).drop(columns=["region"])
    live["unknown"] = 1.0
    evaluation = evaluate_sample(baseline, live)
    region = result(evaluation, "region", "schema")
    assert (region.verdict, region.drifted) == ("schema_change", True)
    assert region.detail == "schema change: missing from live data (the baseline has it)"
    unknown = result(evaluation, "unknown", "schema")
    assert unknown.detail == "schema change: unexpected column: not in the baseline"
    assert evaluation.verdict == "drift"
    assert evaluation.drifted_features == ("region", "unknown")
    reported = evaluate_sample(baseline, live, DriftPolicy(schema_change="report"))
    assert reported.verdict == "no_drift"
    assert result(reported, "region", "schema").verdict == "schema_change"
    only_region = DriftPolicy.model_validate({"features": {"unknown": {"schema_change": "report"}}})
    assert evaluate_sample(baseline, live, only_region).drifted_features == ("region",)


def test_a_type_change_is_a_schema_change_not_missing_values(
    baseline: Baseline, make_table: MakeTable
) -> None:
    live = make_table(np.random.default_rng(5), 300)
    live["x"] = "high"
    evaluation = evaluate_sample(baseline, live)
    x = [r for r in evaluation.features if r.feature == "x"]
    assert [(r.method, r.verdict) for r in x] == [("schema", "schema_change")]
    assert "type change: numeric in the baseline, text in live data (e.g. 'high')" in x[0].detail


def test_all_missing_column_is_missing_rate_drift_not_a_crash(
    baseline: Baseline, make_table: MakeTable
) -> None:
    live = make_table(np.random.default_rng(6), 500)
    live["x"] = np.nan
    live["plan"] = None
    evaluation = evaluate_sample(baseline, live)
    assert evaluation.drifted_features == ("plan", "x")
    for name in ("x", "plan"):
        assert result(evaluation, name).verdict == "not_enough_data"
        missing = result(evaluation, name, "missing_rate")
        assert missing.drifted
        assert missing.statistic == pytest.approx(1.0)
        assert missing.missing == 500


def test_missing_values_are_counted_not_dropped(baseline: Baseline, make_table: MakeTable) -> None:
    live = make_table(np.random.default_rng(7), 4000)
    live.loc[: len(live) // 4, "y"] = np.nan  # a quarter of y goes missing, the rest unchanged
    evaluation = evaluate_sample(baseline, live)
    assert evaluation.drifted_features == ("y",)
    assert result(evaluation, "y", "missing_rate").drifted
    assert not result(evaluation, "y", "ks").drifted


def test_nan_inf_and_strings_in_numeric_columns(baseline: Baseline, make_table: MakeTable) -> None:
    live = make_table(np.random.default_rng(8), 1000).astype({"x": object})
    live.loc[0, "x"] = np.inf
    live.loc[1, "x"] = -np.inf
    live.loc[2, "x"] = np.nan
    live.loc[3, "x"] = "oops"
    evaluation = evaluate_sample(baseline, live)
    x = result(evaluation, "x", "ks")
    assert x.missing == 2
    assert "1 non-numeric value(s) counted as missing" in x.detail
    assert x.statistic is not None
    assert np.isfinite(x.statistic)
    assert evaluation.verdict == "no_drift"


def test_the_baseline_is_never_changed(baseline: Baseline, make_table: MakeTable) -> None:
    before, sample = baseline.to_dict(), baseline.sample.copy()
    evaluate_sample(baseline, make_table(np.random.default_rng(9), 500, shift=1.0))
    assert baseline.to_dict() == before
    pd.testing.assert_frame_equal(baseline.sample, sample)


def test_results_are_immutable(baseline: Baseline, make_table: MakeTable) -> None:
    evaluation = evaluate_sample(baseline, make_table(np.random.default_rng(10), 500))
    with pytest.raises(dataclasses.FrozenInstanceError):
        evaluation.features[0].drifted = True  # type: ignore[misc]
    with pytest.raises(ValidationError):
        DriftPolicy().alpha = 0.5


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        pytest.param({"x": BinnedCounts.of([1, 2])}, "2 live bins", id="wrong-bins"),
        pytest.param({"x": BinnedCounts.of([-1] * 10)}, "negative", id="negative"),
        pytest.param({"nope": BinnedCounts.of([1])}, "no feature", id="unknown"),
    ],
)
def test_bad_counts_are_client_errors(
    baseline: Baseline, counts: dict[str, BinnedCounts], message: str
) -> None:
    with pytest.raises(DriftInputError, match=message) as caught:
        evaluate_counts(baseline, counts)
    assert caught.value.status_code == 400


def test_live_must_be_a_dataframe_with_unique_columns(baseline: Baseline) -> None:
    with pytest.raises(DriftInputError, match="DataFrame"):
        evaluate_sample(baseline, {"x": [1.0]})
    twice = pd.DataFrame([[1.0, 2.0]], columns=["x", "x"])
    with pytest.raises(DriftInputError, match="duplicate column"):
        evaluate_sample(baseline, twice)


def test_per_feature_overrides(baseline: Baseline, make_table: MakeTable) -> None:
    live = make_table(np.random.default_rng(12), 1000, shift=0.5)
    policy = DriftPolicy(
        features={
            "x": FeatureOverride(method="psi", threshold=5.0),
            "region": FeatureOverride(method="jensen_shannon"),
        }
    )
    evaluation = evaluate_sample(baseline, live, policy)
    x = result(evaluation, "x", "psi")
    assert (x.threshold, x.p_value, x.drifted) == (5.0, None, False)
    assert result(evaluation, "x", "missing_rate").threshold == policy.alpha
    assert result(evaluation, "region").method == "jensen_shannon"
    assert result(evaluation, "y").method == "ks"
    assert not evaluation.drift_detected


def test_wasserstein_as_primary_uses_samples_on_the_sample_path(
    baseline: Baseline, make_table: MakeTable
) -> None:
    live = make_table(np.random.default_rng(13), 1000, shift=0.5)
    policy = DriftPolicy(numeric_method="wasserstein")
    x = result(evaluate_sample(baseline, live, policy), "x")
    assert x.method == "wasserstein"
    assert x.drifted
    assert x.detail.startswith("sample Wasserstein")
    binned = result(evaluate_counts(baseline, counts_of(baseline, live), policy), "x")
    assert binned.detail.startswith("bin-resolved Wasserstein")


def test_correction_and_drift_share(baseline: Baseline, make_table: MakeTable) -> None:
    live = make_table(np.random.default_rng(14), 1000, shift=0.5)
    assert evaluate_sample(baseline, live, DriftPolicy(correction="bh")).drift_detected
    assert evaluate_sample(baseline, live, DriftPolicy(correction="none")).drift_detected
    shared = evaluate_sample(baseline, live, DriftPolicy(drift_share=0.5))
    assert shared.drifted_features == ("x",)
    assert not shared.drift_detected
    assert shared.verdict == "no_drift"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param({"numeric_method": "t_test"}, "unknown drift method", id="unknown"),
        pytest.param({"categorical_method": "ks"}, "does not fit categorical", id="kind"),
        pytest.param({"effect_method": "ks"}, "must be a distance", id="effect-test"),
        pytest.param({"numeric_method": "missing_rate"}, "next to every feature", id="missing"),
        pytest.param({"alpha": 0}, "greater than 0", id="alpha"),
        pytest.param({"correction": "bonferroni"}, "holm", id="correction"),
        pytest.param({"typo": 1}, "Extra inputs", id="extra"),
    ],
)
def test_bad_policies_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DriftPolicy.model_validate(fields)


def test_override_method_that_does_not_fit_the_kind_fails_clearly(baseline: Baseline) -> None:
    policy = DriftPolicy(features={"plan": FeatureOverride(method="ks")})
    with pytest.raises(ValueError, match="does not fit categorical"):
        evaluate_sample(baseline, pd.DataFrame({"plan": ["free"] * 200}), policy)


def test_mixed_type_categories_are_not_merged() -> None:
    reference = pd.DataFrame({"code": pd.Series([True, 1, "1", 1.0] * 50, dtype=object)})
    baseline = infer_baseline("m", reference, top_k=5)
    spec = baseline.feature("code")
    assert spec.kind == "categorical"
    assert dict(zip(spec.vocabulary, spec.reference_counts, strict=False)) == {
        "1": 100,
        "1.0": 50,
        "true": 50,
    }
    assert evaluate_sample(baseline, reference).verdict == "no_drift"


def test_discrete_numeric_features_use_chi_squared(
    baseline: Baseline, make_table: MakeTable
) -> None:
    live = make_table(np.random.default_rng(15), 1000)
    live["k"] = live["k"] + 1  # Poisson counts, all one step up
    evaluation = evaluate_sample(baseline, live)
    k = result(evaluation, "k")
    assert k.method == "chi_squared"
    assert k.detail.startswith("discrete numeric feature")
    assert k.drifted
    assert result(evaluation, "x").method == "ks"  # continuous: many distinct values
    plain = evaluate_sample(baseline, live, DriftPolicy(discrete_numeric_method=None))
    assert result(plain, "k").method == "ks"
    with pytest.raises(ValidationError, match="unknown drift method 'hellinger_typo'"):
        DriftPolicy(discrete_numeric_method="hellinger_typo")
