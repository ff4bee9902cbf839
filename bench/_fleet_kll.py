"""Fleet bench, item 4b: would a mergeable quantile sketch (Apache DataSketches KLL) buy
KS power over all traffic, beside KS on the merged sample?

Per window of 100,000 rows, ``x0`` (shifted by 0 to 0.3 sd) is sketched by 10 pods
(KLL, k = 200, the library's default) and the sketches merged, as summaries would be.
Three tests of ``x0`` against the baseline's reference sample (5,000 rows), at Holm's
first-step threshold for the window's family (``ALPHA``):

- sample: KS on the merged sample (5,000 rows), the summary path today;
- KLL, plain: the KS distance between the reference's ECDF and the merged sketch's CDF,
  with the p-value for 100,000 live rows (ignores the sketch's rank error);
- KLL, error-aware: ``datasketches.ks_test`` on a KLL sketch of the reference and the
  merged one (it widens the threshold by both sketches' rank error).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import numpy as np

from inferwatch.contracts.defaults import DEFAULT_SAMPLE_SIZE
from inferwatch.drift.baseline import Baseline
from inferwatch.drift.stats import ks_p_value, ks_statistic

N = 100_000
PODS = 10
K = 200
SHIFTS = (0.0, 0.05, 0.1, 0.2, 0.3)
ALPHA = 0.01 / 50
"""Holm's first step at alpha 0.01 over the window's 50 tests (40 features' primary
tests, 10 missing-rate tests)."""


@dataclass
class SketchPower:
    """Windows where x0 was flagged, per test and shift."""

    windows: int
    flagged: dict[tuple[str, float], int]
    sketch_bytes: int
    """A serialized sketch of one pod's interval at 100 predictions/s (1,000 rows)."""
    rank_error: float
    """The merged sketch's normalized rank error (single rank, 99% confidence)."""


def _kll_distance(reference: np.ndarray, sketch: object) -> float:
    values, at = np.unique(reference, return_counts=True)
    upto = np.cumsum(at) / reference.size
    below = upto - at / reference.size
    live_upto = np.asarray(sketch.get_cdf(values.tolist(), True))[:-1]  # type: ignore[attr-defined]
    live_below = np.asarray(sketch.get_cdf(values.tolist(), False))[:-1]  # type: ignore[attr-defined]
    return float(max(np.abs(upto - live_upto).max(), np.abs(below - live_below).max()))


def sketch_power(base: Baseline, windows: int, seed: int = 2026) -> SketchPower | None:
    """None when ``datasketches`` is not installed (``pip install -e .[bench]``)."""
    try:
        ds = importlib.import_module("datasketches")  # untyped: its members are Any
    except ImportError:
        return None
    reference = base.sample["x0"].dropna().to_numpy(dtype=float)
    ref_sketch = ds.kll_doubles_sketch(K)
    ref_sketch.update(reference)
    flagged: dict[tuple[str, float], int] = {}
    interval = ds.kll_doubles_sketch(K)
    interval.update(np.random.default_rng(seed).normal(0.0, 1.0, 1000))
    size = len(interval.serialize())
    for w in range(windows):
        rng = np.random.default_rng([seed, w])
        live = rng.normal(0.0, 1.0, N)
        sample_at = rng.choice(N, DEFAULT_SAMPLE_SIZE, replace=False)
        for shift in SHIFTS:
            x = live + shift
            merged = ds.kll_doubles_sketch(K)
            for part in np.array_split(x, PODS):
                pod = ds.kll_doubles_sketch(K)
                pod.update(part)
                merged.merge(pod)
            sample = x[sample_at]
            tests = {
                "KS on the merged sample": ks_p_value(
                    ks_statistic(reference, sample), reference.size, sample.size
                )[0]
                < ALPHA,
                "KS on merged KLL sketches, plain": ks_p_value(
                    _kll_distance(reference, merged), reference.size, N
                )[0]
                < ALPHA,
                "KS on merged KLL sketches, error-aware (ks_test)": bool(
                    ds.ks_test(ref_sketch, merged, ALPHA)
                ),
            }
            for name, hit in tests.items():
                flagged[name, shift] = flagged.get((name, shift), 0) + int(hit)
    return SketchPower(windows, flagged, size, float(ref_sketch.normalized_rank_error(False)))
