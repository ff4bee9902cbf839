"""PCA reconstruction error: do live rows still lie where the reference's variance lies?

The reference's numeric columns are standardised and projected on the principal
components that explain ``pca_variance`` of their variance, then mapped back; a row's
reconstruction error is the Euclidean distance between it and its reconstruction. A
change in how features relate (a correlation that flips, a new cluster) moves rows off
the reference's principal subspace and raises the error even when every marginal
distribution is unchanged (NannyML's ``DataReconstructionDriftCalculator`` works so).

Half the (capped) reference fits the scaler and the PCA; the other half gives the
errors the band is made of, so the band sees out-of-sample errors like a live window
does. The band is the mean held-out error ± ``pca_sigmas`` standard deviations of the
mean error of a chunk of ``chunk_size`` rows (default: the live window's size): the
spread of chunk means when the held-out half makes at least 10 such chunks, else the
rows' spread over the square root of the chunk size. Missing values are filled with the
reference mean (they add no error).

Feature contributions: each feature's share of the window's excess squared error over
the reference's, per feature, in the standardised space.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from inferwatch.drift.multivariate._policy import MultivariatePolicy
from inferwatch.drift.multivariate._result import (
    MultivariateInputError,
    MultivariateResult,
    capped,
    not_enough_data,
    ranked,
)

METHOD = "pca_reconstruction"
MIN_CHUNKS = 10


class PCAReconstruction:
    """Scaler and PCA fitted on a reference; ``test`` judges a live window."""

    def __init__(self, reference: pd.DataFrame, policy: MultivariatePolicy | None = None) -> None:
        from sklearn.decomposition import PCA
        from sklearn.preprocessing import StandardScaler

        self.policy = policy or MultivariatePolicy()
        self._rng = np.random.default_rng(self.policy.seed)
        numeric = [
            c
            for c in reference.columns
            if pd.api.types.is_numeric_dtype(reference[c])
            or pd.api.types.is_bool_dtype(reference[c])
        ]
        if len(numeric) < 2:
            raise MultivariateInputError(
                f"PCA reconstruction needs at least 2 numeric columns; the reference has "
                f"{len(numeric)}"
            )
        self.features = numeric
        ref = capped(reference[numeric], self.policy.max_rows, self._rng)
        self.reference_rows = len(ref)
        values = ref.to_numpy(dtype=np.float64)
        self._means = np.nanmean(values, axis=0)
        values = self._filled(values)
        order = self._rng.permutation(len(values))
        half = len(values) // 2
        fit, held = values[order[:half]], values[order[half:]]
        self._scaler: Any = StandardScaler().fit(fit)
        self._pca: Any = PCA(n_components=self.policy.pca_variance, svd_solver="full")
        self._pca.fit(self._scaler.transform(fit))
        self.components = int(self._pca.n_components_)
        self._held_errors, self._held_squares = self._errors(held)

    def _filled(self, values: np.ndarray) -> np.ndarray:
        missing = np.isnan(values)
        if missing.any():
            values = np.where(missing, self._means[None, :], values)
        return values

    def _errors(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per row its reconstruction error; per feature its mean squared error."""
        z = self._scaler.transform(values)
        diff = z - self._pca.inverse_transform(self._pca.transform(z))
        squares = diff**2
        return np.sqrt(squares.sum(axis=1)), squares.mean(axis=0)

    def band(self, rows: int) -> tuple[float, float, str]:
        """The band a window of ``rows`` rows stays in without drift, and how it was made."""
        size = self.policy.chunk_size or rows
        errors = self._held_errors
        centre = float(errors.mean())
        chunks = errors.size // size
        if chunks >= MIN_CHUNKS:
            means = errors[: chunks * size].reshape(chunks, size).mean(axis=1)
            spread = float(means.std(ddof=1))
            how = f"{chunks} reference chunks of {size} rows"
        else:
            spread = float(errors.std(ddof=1) / np.sqrt(size))
            how = f"row spread / sqrt({size}) (too few rows for {MIN_CHUNKS} chunks)"
        k = self.policy.pca_sigmas
        return centre - k * spread, centre + k * spread, how

    def test(self, live: pd.DataFrame) -> MultivariateResult:
        """The live window's mean reconstruction error against the reference band."""
        missing = [c for c in self.features if c not in live.columns]
        if missing:
            raise MultivariateInputError(f"live lacks the reference's numeric columns {missing}")
        cur = capped(live[self.features], self.policy.max_rows, self._rng)
        if len(cur) < self.policy.min_rows:
            return not_enough_data(
                METHOD, self.reference_rows, len(cur), f"fewer than {self.policy.min_rows} rows"
            )
        values = self._filled(cur.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64))
        errors, squares = self._errors(values)
        statistic = float(errors.mean())
        lower, upper, how = self.band(len(cur))
        drifted = not lower <= statistic <= upper
        excess = np.clip(squares - self._held_squares, 0, None)
        total = float(excess.sum())
        shares = excess / total if total > 0 else np.zeros_like(excess)
        return MultivariateResult(
            method=METHOD,
            statistic=statistic,
            p_value=None,
            lower=lower,
            upper=upper,
            drifted=drifted,
            verdict="drift" if drifted else "no_drift",
            reference_rows=self.reference_rows,
            live_rows=len(cur),
            contributions=ranked({n: float(v) for n, v in zip(self.features, shares, strict=True)}),
            detail=f"{self.components} of {len(self.features)} components keep "
            f"{self.policy.pca_variance:.0%} of the variance; band from {how}",
        )


def pca_reconstruction_test(
    reference: pd.DataFrame, live: pd.DataFrame, policy: MultivariatePolicy | None = None
) -> MultivariateResult:
    """Fit on ``reference`` and test ``live`` in one call (within ``policy.threads``)."""
    from threadpoolctl import threadpool_limits

    policy = policy or MultivariatePolicy()
    with threadpool_limits(policy.threads):
        return PCAReconstruction(reference, policy).test(live)
