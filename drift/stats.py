"""The drift statistics: small methods registered by name and by the feature kinds they fit.

Each method scores one feature's live window against its reference on one or both
data shapes:

- **counts**: the baseline's bins (``FeatureSpec.bin_labels`` order), reference
  counts against live counts. Every method works here, so the histogram path (counts
  read back from Prometheus) and the sample path share one code path;
- **samples**: raw numeric values (reference sample against the live window), for the
  methods whose exact form needs them (``ks``, ``wasserstein``).

A method with a p-value is a *test* (``ks``, ``chi_squared``, ``missing_rate``); the
others are *distances* that are compared with a threshold and double as effect sizes.
``missing_rate`` takes two-bin counts: ``[present, missing]``.

Example:
    >>> import numpy as np
    >>> score = get_method("chi_squared").on_counts(np.array([50, 50]), np.array([30, 70]))
    >>> round(score.statistic, 3), score.p_value < 0.01
    (8.333, True)
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, TypeVar

import numpy as np

from inferwatch.drift.distributions import chi2_sf, kolmogorov_sf, ks_2samp_exact, norm_sf

if TYPE_CHECKING:  # annotations only: settings import this module, and baseline pulls pandas
    from inferwatch.contracts.spec import FeatureKind, FeatureSpec


def _jensenshannon(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance in bits of two proportion vectors (as scipy's, base 2)."""
    mid = (p + q) / 2.0
    return math.sqrt(max(0.0, (_kl_bits(p, mid) + _kl_bits(q, mid)) / 2.0))


def _kl_bits(p: np.ndarray, q: np.ndarray) -> float:
    """Kullback-Leibler divergence in bits over the support of ``p`` (``q > 0`` there)."""
    keep = p > 0
    return float(np.sum(p[keep] * np.log2(p[keep] / q[keep])))


ALL_KINDS: frozenset[FeatureKind] = frozenset({"numeric", "categorical", "boolean"})
NUMERIC: frozenset[FeatureKind] = frozenset({"numeric"})
MISSING_RATE = "missing_rate"
PSI_EPSILON = 1e-4
"""Floor for empty-bin proportions in PSI, so that ``ln(p/q)`` stays finite."""


class UnknownMethodError(KeyError):
    """No method is registered under this name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown method"


@dataclass(frozen=True)
class Score:
    """What a method says about one feature: its statistic, a p-value if it is a test."""

    statistic: float
    p_value: float | None = None
    detail: str = ""


class DriftMethod(ABC):
    """One statistic. Subclasses set the class attributes and implement ``on_counts``."""

    name: ClassVar[str]
    kinds: ClassVar[frozenset[FeatureKind]] = ALL_KINDS
    is_test: ClassVar[bool] = False
    """True when the method gives a p-value (and takes part in multiple-testing control)."""
    default_threshold: ClassVar[float] = 0.1
    """Statistic at or above which a distance alone calls drift (unused for tests)."""
    default_min_effect: ClassVar[float] = 0.05
    """Floor used when this method is the effect size next to a test (~0.1 sd mean shift)."""
    uses_samples: ClassVar[bool] = False
    """True when ``on_samples`` computes the exact (unbinned) form."""

    @abstractmethod
    def on_counts(
        self, reference: np.ndarray, live: np.ndarray, spec: FeatureSpec | None = None
    ) -> Score:
        """Score live counts against reference counts in the same bins."""

    def effect(self, reference: np.ndarray, live: np.ndarray) -> float:
        """The statistic as an effect size on bin counts: what the population shows.

        The default is the plain statistic; distances whose estimate is inflated by
        sampling noise (by about ``(k - 1) / n`` on ``k`` bins) subtract that bias, so
        that one floor means the same shift at every window size.
        """
        return self.on_counts(reference, live).statistic

    def on_samples(
        self, reference: np.ndarray, live: np.ndarray, spec: FeatureSpec | None = None
    ) -> Score:
        """Score raw numeric values; methods without a sample form refuse."""
        raise NotImplementedError(f"{self.name} has no sample form; use on_counts")


_REGISTRY: dict[str, DriftMethod] = {}
M = TypeVar("M", bound=type[DriftMethod])


def register(cls: M) -> M:
    """Class decorator: register one instance of the method under ``cls.name``."""
    if cls.name in _REGISTRY:
        raise ValueError(f"drift method {cls.name!r} is already registered")
    _REGISTRY[cls.name] = cls()
    return cls


def get_method(name: str) -> DriftMethod:
    """The registered method ``name``; the error lists the registered names."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise UnknownMethodError(f"unknown drift method {name!r} (known: {known})") from None


def method_names(kind: FeatureKind | None = None, *, tests_only: bool = False) -> tuple[str, ...]:
    """Registered names, optionally those fit for ``kind`` or those with a p-value."""
    return tuple(
        sorted(
            name
            for name, method in _REGISTRY.items()
            if (kind is None or kind in method.kinds) and (method.is_test or not tests_only)
        )
    )


def proportions(counts: np.ndarray) -> np.ndarray:
    """Counts as proportions; an empty histogram stays all zeros."""
    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    return counts / total if total > 0 else np.zeros_like(counts)


def _check_shapes(reference: np.ndarray, live: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(live, dtype=float)
    if ref.shape != cur.shape or ref.ndim != 1:
        raise ValueError(f"bin counts differ in shape: reference {ref.shape}, live {cur.shape}")
    if (ref < 0).any() or (cur < 0).any():
        raise ValueError("bin counts must not be negative")
    return ref, cur


@register
class PSI(DriftMethod):
    """Population stability index: ``sum((q - p) * ln(q / p))``, empty bins floored at 1e-4."""

    name = "psi"
    default_threshold = 0.2
    default_min_effect = 0.01

    def on_counts(
        self, reference: np.ndarray, live: np.ndarray, spec: FeatureSpec | None = None
    ) -> Score:
        ref, cur = _check_shapes(reference, live)
        p = np.maximum(proportions(ref), PSI_EPSILON)
        q = np.maximum(proportions(cur), PSI_EPSILON)
        return Score(float(np.sum((q - p) * np.log(q / p))))


@register
class JensenShannon(DriftMethod):
    """Jensen-Shannon distance (square root of the divergence, base 2): 0 same, 1 disjoint."""

    name = "jensen_shannon"
    default_threshold = 0.1
    default_min_effect = 0.02
    """Bias-corrected: the distance of a 0.05 sd mean shift of a normal on 10 quantile bins."""

    def on_counts(
        self, reference: np.ndarray, live: np.ndarray, spec: FeatureSpec | None = None
    ) -> Score:
        ref, cur = _check_shapes(reference, live)
        if ref.sum() == 0 or cur.sum() == 0:
            return Score(0.0, detail="an empty histogram")
        return Score(float(_jensenshannon(proportions(ref), proportions(cur))))

    def effect(self, reference: np.ndarray, live: np.ndarray) -> float:
        """Bias-corrected JS distance: the divergence less its expectation under no drift.

        For small differences the JS divergence (bits) is ``X^2 / (8 n_eff ln 2)``, with
        ``X^2`` Pearson's statistic of the two-row table and ``n_eff = n m / (n + m)``;
        with no drift ``X^2`` averages ``k - 1`` on ``k`` non-empty bins. Subtracting
        ``(k - 1) / (8 n_eff ln 2)`` leaves an estimate of the population divergence
        whose mean does not depend on the window size.
        """
        ref, cur = _check_shapes(reference, live)
        n_ref, n_cur = ref.sum(), cur.sum()
        if n_ref == 0 or n_cur == 0:
            return 0.0
        bins = int(((ref + cur) > 0).sum())
        divergence = _jensenshannon(proportions(ref), proportions(cur)) ** 2
        bias = (bins - 1) * (n_ref + n_cur) / (8.0 * math.log(2.0) * n_ref * n_cur)
        return math.sqrt(max(0.0, divergence - bias))


@register
class Hellinger(DriftMethod):
    """Hellinger distance ``sqrt(1 - sum(sqrt(p * q)))``: 0 same, 1 disjoint."""

    name = "hellinger"
    default_threshold = 0.1
    default_min_effect = 0.035

    def on_counts(
        self, reference: np.ndarray, live: np.ndarray, spec: FeatureSpec | None = None
    ) -> Score:
        ref, cur = _check_shapes(reference, live)
        if ref.sum() == 0 or cur.sum() == 0:
            return Score(0.0, detail="an empty histogram")
        overlap = float(np.sum(np.sqrt(proportions(ref) * proportions(cur))))
        return Score(math.sqrt(max(0.0, 1.0 - overlap)))


PERMUTATIONS = 9_999
"""Random tables drawn for the conditional chi-squared test (smallest p: 1 / 10,000)."""
FIRST_PERMUTATIONS = 999
CLEAR_EXCEEDANCES = 100
SPARSE_EXPECTED = 5.0
"""Expected count below which the chi-squared law is not trusted (Cochran's rule)."""


def _chi2_statistics(ref: np.ndarray, cur: np.ndarray, column: np.ndarray) -> np.ndarray:
    """Pearson's statistic of 2 x k tables; ``ref``/``cur`` may hold one table per row."""
    n_ref = ref.sum(axis=-1, keepdims=True)
    n_cur = cur.sum(axis=-1, keepdims=True)
    total = n_ref + n_cur
    expected_ref = column * n_ref / total
    expected_cur = column * n_cur / total
    statistics: np.ndarray = np.sum((ref - expected_ref) ** 2 / expected_ref, axis=-1) + np.sum(
        (cur - expected_cur) ** 2 / expected_cur, axis=-1
    )
    return statistics


def _conditional_p_value(ref: np.ndarray, cur: np.ndarray, observed: float) -> float:
    """Monte Carlo p-value of the chi-squared statistic given the table's margins.

    Under the null the live row is a draw without replacement from the pooled bins (a
    multivariate hypergeometric), whatever the counts: the test stays valid where the
    chi-squared law does not (small windows, rare categories). The generator is seeded
    by the table, so one table always gets one p-value. A first 999 tables settle the
    clear cases (100 or more as extreme: p > 0.1); the rest are drawn only when needed.
    """
    column = (ref + cur).astype(np.int64)
    seed = [int(v) for v in column] + [int(v) for v in cur.astype(np.int64)]
    rng = np.random.default_rng(seed)
    exceed = drawn = 0
    for size in (FIRST_PERMUTATIONS, PERMUTATIONS - FIRST_PERMUTATIONS):
        draws = rng.multivariate_hypergeometric(column, int(cur.sum()), size=size)
        statistics = _chi2_statistics(column - draws, draws, column.astype(float))
        exceed += int(np.sum(statistics >= observed * (1 - 1e-9)))
        drawn += size
        if exceed >= CLEAR_EXCEEDANCES:
            break
    return (1 + exceed) / (drawn + 1)


@register
class ChiSquared(DriftMethod):
    """Chi-squared test of homogeneity on the 2 x k table (reference, live) x bins.

    Bins empty in both rows are dropped, so the degrees of freedom are the non-empty
    bins minus one. Both rows are samples, so the reference's own noise is accounted for.
    Where an expected count is below 5 the chi-squared law is replaced by the
    conditional (permutation) distribution of the same statistic, drawn 9,999 times.
    """

    name = "chi_squared"
    is_test = True

    def on_counts(
        self, reference: np.ndarray, live: np.ndarray, spec: FeatureSpec | None = None
    ) -> Score:
        ref, cur = _check_shapes(reference, live)
        keep = (ref + cur) > 0
        ref, cur = ref[keep], cur[keep]
        dof = int(keep.sum()) - 1
        n_ref, n_cur = ref.sum(), cur.sum()
        if dof < 1 or n_ref == 0 or n_cur == 0:
            return Score(0.0, 1.0, detail=f"dof={max(dof, 0)}: nothing to compare")
        column = ref + cur
        statistic = float(_chi2_statistics(ref, cur, column))
        smallest = float(column.min() * min(n_ref, n_cur) / (n_ref + n_cur))
        if smallest < SPARSE_EXPECTED and np.all(ref == np.round(ref)):
            p_value = _conditional_p_value(ref, cur, statistic)
            how = f"dof={dof}, permutation p-value (an expected count of {smallest:.2g} < 5)"
            return Score(statistic, p_value, detail=how)
        return Score(statistic, chi2_sf(statistic, dof), detail=f"dof={dof}")


KS_EXACT_LIMIT = 1_000_000
"""Largest ``n_ref * n_live`` for which the exact KS p-value is computed (it is O(n m))."""
KS_EXACT_STEPS = 1_000
"""Largest ``n_ref + n_live`` for the exact p-value: the walk takes one numpy step per row."""


def ks_p_value(statistic: float, n_ref: int, n_cur: int) -> tuple[float, str]:
    """Two-sample KS p-value and how it was computed.

    Exact (all interleavings equally likely) while ``n_ref * n_cur <= KS_EXACT_LIMIT``
    and ``n_ref + n_cur <= KS_EXACT_STEPS``; above, Kolmogorov's limit law at the
    effective size ``n_ref n_cur / (n_ref + n_cur)`` with Stephens' finite-size
    correction ``sqrt(n) + 0.12 + 0.11 / sqrt(n)``, which brings it within a few per
    cent of the exact value from a few hundred rows on.
    """
    if n_ref * n_cur <= KS_EXACT_LIMIT and n_ref + n_cur <= KS_EXACT_STEPS:
        return ks_2samp_exact(statistic, n_ref, n_cur), "exact"
    root = math.sqrt(n_ref * n_cur / (n_ref + n_cur))
    return kolmogorov_sf(statistic * (root + 0.12 + 0.11 / root)), "asymptotic"


def _binned_cdfs(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both CDFs at the interior edges (the last bin's cumulative share is always 1)."""
    return np.cumsum(proportions(ref))[:-1], np.cumsum(proportions(cur))[:-1]


@register
class KolmogorovSmirnov(DriftMethod):
    """Two-sample Kolmogorov-Smirnov test.

    On samples: exact statistic, p-value from ``ks_p_value`` (exact for small samples,
    Kolmogorov's law with a finite-size correction above). On bins: bin-resolved, the
    largest CDF gap at the bin edges; it can only understate the gap between edges, so
    its p-value is conservative.
    """

    name = "ks"
    kinds = NUMERIC
    is_test = True
    uses_samples = True

    def on_counts(
        self, reference: np.ndarray, live: np.ndarray, spec: FeatureSpec | None = None
    ) -> Score:
        ref, cur = _check_shapes(reference, live)
        n_ref, n_cur = ref.sum(), cur.sum()
        if n_ref == 0 or n_cur == 0:
            return Score(0.0, 1.0, detail="bin-resolved KS: an empty histogram")
        f_ref, f_cur = _binned_cdfs(ref, cur)
        statistic = float(np.max(np.abs(f_ref - f_cur))) if f_ref.size else 0.0
        p_value, how = ks_p_value(statistic, int(n_ref), int(n_cur))
        return Score(statistic, p_value, detail=f"bin-resolved KS over {ref.size} bins ({how})")

    def on_samples(
        self, reference: np.ndarray, live: np.ndarray, spec: FeatureSpec | None = None
    ) -> Score:
        ref = np.asarray(reference, dtype=float)
        cur = np.asarray(live, dtype=float)
        if ref.size == 0 or cur.size == 0:
            return Score(0.0, 1.0, detail="KS: an empty sample")
        statistic = ks_statistic(ref, cur, live_sorted=bool(np.all(cur[:-1] <= cur[1:])))
        p_value, how = ks_p_value(statistic, ref.size, cur.size)
        return Score(
            statistic,
            p_value,
            detail=f"sample KS ({how} p-value), {ref.size} reference vs {cur.size} live values",
        )


def ks_statistic(reference: np.ndarray, live: np.ndarray, *, live_sorted: bool = False) -> float:
    """The exact two-sample KS statistic, with binary searches into the sorted live sample.

    Both CDFs only change at data points, and between two distinct reference values the
    reference CDF is flat while the live one rises; so the largest gap is at a reference
    value ``u`` or just below it. The live CDF is needed only there: two binary searches
    per distinct reference value, O(m log n) once the live sample is sorted (the caller
    may have sorted it already, for binning).
    """
    values, at = np.unique(np.asarray(reference, dtype=float), return_counts=True)
    cur = np.asarray(live, dtype=float) if live_sorted else np.sort(np.asarray(live, dtype=float))
    n_ref, n_cur = float(at.sum()), float(cur.size)
    live_below = np.searchsorted(cur, values, side="left") / n_cur
    live_upto = np.searchsorted(cur, values, side="right") / n_cur
    ref_upto = np.cumsum(at) / n_ref
    ref_below = ref_upto - at / n_ref
    return float(max(np.max(np.abs(ref_upto - live_upto)), np.max(np.abs(ref_below - live_below))))


def _binned_iqr(edges: np.ndarray, ref: np.ndarray) -> float:
    """Reference IQR read off the binned CDF, linear between edges."""
    cdf = np.cumsum(proportions(ref))[:-1]
    if edges.size < 2:
        return 0.0
    q1, q3 = np.interp([0.25, 0.75], cdf, edges)
    return float(q3 - q1)


def _scale(iqr: float, values: np.ndarray | None = None) -> tuple[float, str]:
    """The normaliser: IQR, else the standard deviation, else 1 (constant reference)."""
    if iqr > 0:
        return iqr, "IQR"
    if values is not None and values.size > 1 and float(np.std(values)) > 0:
        return float(np.std(values)), "std"
    return 1.0, "unit (constant reference)"


@register
class Wasserstein(DriftMethod):
    """Wasserstein-1 distance divided by the reference interquartile range (IQR).

    Dividing by the IQR makes it unit-free and robust to the reference's outliers; a mean
    shift of ``d`` standard deviations of a normal reads as about ``d / 1.35``. If the IQR
    is 0 it falls back to the standard deviation, then to 1. On samples it is exact on the
    finite values; on bins it integrates the CDF gap between the interior edges (the open
    outer bins add nothing), so it understates tail moves.
    """

    name = "wasserstein"
    kinds = NUMERIC
    uses_samples = True
    default_threshold = 0.1
    default_min_effect = 0.075

    def on_counts(
        self, reference: np.ndarray, live: np.ndarray, spec: FeatureSpec | None = None
    ) -> Score:
        ref, cur = _check_shapes(reference, live)
        if spec is None or len(spec.edges) < 2 or ref.sum() == 0 or cur.sum() == 0:
            return Score(0.0, detail="bin-resolved Wasserstein: fewer than 2 edges or no data")
        edges = np.asarray(spec.edges, dtype=float)
        f_ref, f_cur = _binned_cdfs(ref, cur)
        gap = np.abs(f_ref - f_cur)
        distance = float(np.sum(np.diff(edges) * (gap[:-1] + gap[1:]) / 2))
        scale, how = _scale(_binned_iqr(edges, ref))
        return Score(
            distance / scale, detail=f"bin-resolved Wasserstein, normalised by reference {how}"
        )

    def on_samples(
        self, reference: np.ndarray, live: np.ndarray, spec: FeatureSpec | None = None
    ) -> Score:
        ref = np.asarray(reference, dtype=float)
        cur = np.asarray(live, dtype=float)
        ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
        if ref.size == 0 or cur.size == 0:
            return Score(0.0, detail="Wasserstein: an empty sample")
        q1, q3 = np.quantile(ref, [0.25, 0.75])
        scale, how = _scale(float(q3 - q1), ref)
        distance = wasserstein_1(ref, cur)
        return Score(distance / scale, detail=f"sample Wasserstein, normalised by reference {how}")


@register
class MissingRate(DriftMethod):
    """Two-proportion z-test on the missing-value rate; counts are ``[present, missing]``.

    The statistic is the live rate minus the reference rate (so its size is the effect);
    the p-value is two-sided with the pooled rate.
    """

    name = MISSING_RATE
    is_test = True
    default_min_effect = 0.02

    def on_counts(
        self, reference: np.ndarray, live: np.ndarray, spec: FeatureSpec | None = None
    ) -> Score:
        ref, cur = _check_shapes(reference, live)
        if ref.size != 2:
            raise ValueError("missing_rate takes two bins: [present, missing]")
        n_ref, n_cur = ref.sum(), cur.sum()
        if n_ref == 0 or n_cur == 0:
            return Score(0.0, 1.0, detail="missing rate: an empty window")
        rate_ref, rate_cur = ref[1] / n_ref, cur[1] / n_cur
        difference = float(rate_cur - rate_ref)
        pooled = (ref[1] + cur[1]) / (n_ref + n_cur)
        variance = pooled * (1 - pooled) * (1 / n_ref + 1 / n_cur)
        if variance <= 0:
            return Score(difference, 1.0, detail=f"missing rate {rate_cur:.3g} in both")
        z = difference / math.sqrt(variance)
        return Score(
            difference,
            2.0 * norm_sf(abs(z)),
            detail=f"missing rate {rate_ref:.3g} -> {rate_cur:.3g}",
        )


def wasserstein_1(reference: np.ndarray, live: np.ndarray) -> float:
    """Wasserstein-1 distance of two samples: the area between their empirical CDFs."""
    ref, cur = np.sort(reference), np.sort(live)
    values = np.sort(np.concatenate((ref, cur)))
    widths = np.diff(values)
    ref_cdf = np.searchsorted(ref, values[:-1], side="right") / ref.size
    cur_cdf = np.searchsorted(cur, values[:-1], side="right") / cur.size
    return float(np.sum(np.abs(ref_cdf - cur_cdf) * widths))
