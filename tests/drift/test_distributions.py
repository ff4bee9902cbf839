"""The scipy-free tail probabilities agree with scipy to float precision."""

import numpy as np
import pytest
from scipy import special, stats

from inferwatch.drift.distributions import chi2_sf, kolmogorov_sf, ks_2samp_exact, norm_sf
from inferwatch.drift.stats import get_method, ks_p_value, ks_statistic, wasserstein_1


@pytest.mark.parametrize(
    ("n_ref", "n_cur", "shift"),
    [
        pytest.param(20, 20, 0.0, id="20x20-null"),
        pytest.param(20, 35, 0.8, id="20x35-shift"),
        pytest.param(50, 7, 1.0, id="50x7"),
        pytest.param(300, 200, 0.5, id="300x200-small-p"),
        pytest.param(40, 40, 2.0, id="40x40-tiny-p"),
        pytest.param(450, 500, 0.1, id="450x500"),
    ],
)
def test_exact_ks_p_value_matches_scipy(n_ref: int, n_cur: int, shift: float) -> None:
    rng = np.random.default_rng(n_ref * 7 + n_cur)
    ref, cur = rng.normal(0, 1, n_ref), rng.normal(shift, 1, n_cur)
    expected = stats.ks_2samp(ref, cur, method="exact")
    statistic = ks_statistic(ref, cur)
    assert statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert ks_2samp_exact(statistic, n_ref, n_cur) == pytest.approx(expected.pvalue, rel=1e-9)
    score = get_method("ks").on_samples(ref, cur)
    assert score.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert "exact p-value" in score.detail


def test_large_samples_use_the_corrected_limit_law_close_to_exact() -> None:
    rng = np.random.default_rng(11)
    ref, cur = rng.normal(0, 1, 5000), rng.normal(0.2, 1, 300)
    expected = stats.ks_2samp(ref, cur, method="exact")
    p_value, how = ks_p_value(ks_statistic(ref, cur), 5000, 300)
    assert how == "asymptotic"
    assert p_value == pytest.approx(expected.pvalue, rel=0.05)


@pytest.mark.parametrize("x", [0.05, 0.3, 0.7, 0.99, 1.0, 1.4, 2.5, 4.0])
def test_kolmogorov_sf_matches_scipy(x: float) -> None:
    assert kolmogorov_sf(x) == pytest.approx(float(special.kolmogorov(x)), rel=1e-10, abs=1e-300)


@pytest.mark.parametrize(
    ("statistic", "dof"),
    [(0.1, 1), (3.0, 1), (30.0, 5), (100.0, 20), (500.0, 3), (5.0, 40), (58.3, 57)],
)
def test_chi2_sf_matches_scipy(statistic: float, dof: int) -> None:
    assert chi2_sf(statistic, dof) == pytest.approx(stats.chi2.sf(statistic, dof), rel=1e-10)


@pytest.mark.parametrize("z", [-2.0, 0.0, 1.0, 5.0, 12.0])
def test_norm_sf_matches_scipy(z: float) -> None:
    assert norm_sf(z) == pytest.approx(stats.norm.sf(z), rel=1e-12)


def test_wasserstein_and_jensen_shannon_match_scipy() -> None:
    from scipy.spatial.distance import jensenshannon

    rng = np.random.default_rng(12)
    a, b = rng.normal(0, 1, 300), rng.exponential(1, 200)
    assert wasserstein_1(a, b) == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-12)
    p, q = np.array([10, 20, 70, 0]), np.array([30, 30, 20, 20])
    js = get_method("jensen_shannon").on_counts(p, q).statistic
    assert js == pytest.approx(jensenshannon(p / 100, q / 100, base=2), rel=1e-12)


def test_drift_check_path_does_not_import_scipy_stats() -> None:
    """The evaluation modules load without scipy.stats (it costs a second of start-up)."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, pandas as pd\n"
        "from inferwatch.drift.baseline import infer_baseline\n"
        "from inferwatch.drift.evaluate import evaluate_sample\n"
        "from inferwatch.drift.io import read_table\n"
        "f = pd.DataFrame({'x': np.arange(3000.0), 'k': np.arange(3000) % 3})\n"
        "f['c'] = ['a', 'b'] * 1500\n"
        "evaluate_sample(infer_baseline('m', f), f.head(700))\n"
        "print('scipy.stats' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
