"""The few tail probabilities the drift tests need, without importing ``scipy.stats``.

``scipy.stats`` costs about a second to import, more than a whole ``drift check``
evaluation; the tests need four tail functions, each short and exact to float precision:

- ``ks_2samp_exact``: the two-sample Kolmogorov-Smirnov p-value under the continuous
  null, by a walk over the lattice of merged orderings (as ``scipy.stats.ks_2samp``
  with ``method="exact"``, accumulating the mass that leaves the band, so small
  p-values keep their digits);
- ``kolmogorov_sf``: Kolmogorov's limit law ``P(sqrt(n) D > x)`` (as ``scipy.special.kolmogorov``);
- ``chi2_sf``: the chi-squared upper tail, the regularised incomplete gamma function
  ``Q(k/2, x/2)`` by its series or continued fraction;
- ``norm_sf``: the standard normal upper tail, from ``math.erfc``.

Example:
    >>> round(chi2_sf(3.841458820694124, 1), 6), round(norm_sf(1.959963984540054), 6)
    (0.05, 0.025)
"""

from __future__ import annotations

import math

import numpy as np

_EPS = 1e-15
_TINY = 1e-300


def norm_sf(z: float) -> float:
    """``P(Z > z)`` for a standard normal ``Z``."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def _gamma_series(a: float, x: float) -> float:
    """Regularised lower incomplete gamma ``P(a, x)`` by its series (``x < a + 1``)."""
    term = total = 1.0 / a
    ap = a
    for _ in range(10_000):
        ap += 1.0
        term *= x / ap
        total += term
        if abs(term) < abs(total) * _EPS:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _gamma_fraction(a: float, x: float) -> float:
    """Regularised upper incomplete gamma ``Q(a, x)`` by Lentz's continued fraction."""
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        step = d * c
        h *= step
        if abs(step - 1.0) < _EPS:
            break
    return h * math.exp(-x + a * math.log(x) - math.lgamma(a))


def chi2_sf(statistic: float, dof: int) -> float:
    """``P(X > statistic)`` for ``X`` chi-squared with ``dof`` degrees of freedom."""
    if dof < 1:
        raise ValueError(f"degrees of freedom must be at least 1, got {dof}")
    if statistic <= 0:
        return 1.0
    a, x = dof / 2.0, statistic / 2.0
    if x < a + 1.0:
        return max(0.0, 1.0 - _gamma_series(a, x))
    return min(1.0, _gamma_fraction(a, x))


def kolmogorov_sf(x: float) -> float:
    """``P(K > x)`` for Kolmogorov's distribution (the limit of ``sqrt(n) D_n``).

    Two series that each converge fast on their side of ``x = 1``: the alternating one
    ``2 sum (-1)^(k-1) exp(-2 k^2 x^2)`` for the tail, Jacobi's theta form of the CDF
    ``sqrt(2 pi) / x sum exp(-(2k-1)^2 pi^2 / (8 x^2))`` near zero.
    """
    if x <= 0:
        return 1.0
    if x < 1.0:
        w = -(math.pi**2) / (8.0 * x * x)
        cdf = (
            math.sqrt(2.0 * math.pi) / x * sum(math.exp(w * (2 * k - 1) ** 2) for k in range(1, 8))
        )
        return min(1.0, max(0.0, 1.0 - cdf))
    total = 0.0
    for k in range(1, 101):
        term = math.exp(-2.0 * k * k * x * x)
        total += term if k % 2 else -term
        if term < _EPS * total:
            break
    return min(1.0, max(0.0, 2.0 * total))


def ks_2samp_exact(statistic: float, n_ref: int, n_cur: int) -> float:
    """Exact ``P(D >= statistic)`` for two samples of sizes ``n_ref``, ``n_cur`` (no ties).

    Under the null every interleaving of the two sorted samples is equally likely: a
    lattice path from ``(0, 0)`` to ``(m, n)``. ``D`` is at least ``d`` when the path
    touches ``|i/m - j/n| >= d``. The walk goes anti-diagonal by anti-diagonal with the
    step probabilities of a uniform path, moving the mass that touches the boundary to
    the p-value (a sum of positive terms: small p-values keep their digits).
    O(m n) time, O(min(m, n)) memory.
    """
    m, n = (n_ref, n_cur) if n_ref >= n_cur else (n_cur, n_ref)
    if n == 0 or statistic <= 0:
        return 1.0
    # |i n - j m| >= d m n on integers, with a tolerance for D's own rounding.
    bound = math.ceil(statistic * m * n - 1e-7 * max(1.0, statistic * m * n))
    if bound <= 0:
        return 1.0
    # mass[j] = probability of reaching (i, j) with i + j = k without touching the bound.
    mass = np.zeros(n + 1)
    mass[0] = 1.0
    outside = 0.0
    j_all = np.arange(n + 1, dtype=np.int64)
    for k in range(1, m + n + 1):
        j = j_all[max(0, k - m) : min(k, n) + 1]
        i = k - j
        remaining = m + n - k + 1
        # Entries of ``mass`` off the previous diagonal are zero, so no masks are needed:
        # from (i-1, j) a step in the longer sample, from (i, j-1) one in the shorter.
        new = mass[j] * ((m - i + 1) / remaining)
        if j[0] == 0:
            new[1:] += mass[j[1:] - 1] * ((n - j[1:] + 1) / remaining)
        else:
            new += mass[j - 1] * ((n - j + 1) / remaining)
        hit = np.abs(i * n - j * m) >= bound
        if hit.any():
            outside += float(new[hit].sum())
            new[hit] = 0.0
        mass[:] = 0.0
        mass[j] = new
    return float(min(1.0, max(0.0, outside)))
