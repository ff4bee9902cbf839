"""Domain-classifier drift: can a model tell live rows from reference rows?

A gradient-boosted classifier (scikit-learn's ``HistGradientBoostingClassifier``: trees,
so it sees interactions such as a changed correlation, and missing values natively)
learns to separate reference (0) from live (1) rows under stratified k-fold
cross-validation; every row is scored by the model that did not see it. Without drift
the out-of-fold scores carry no information about the side, so their AUC is 0.5 up to
chance; the p-value is the one-sided Mann-Whitney test of that AUC (the U statistic is
AUC x n_live x n_reference), as alibi-detect's ``ClassifierDrift`` tests its
out-of-fold predictions. Cross-validation makes the out-of-fold scores only nearly
independent; with folds, held-out rows are the minority class of their training set,
which pushes the AUC under 0.5 under no drift, so the test errs on the quiet side
(``tests/drift/multivariate`` and ``bench/quality.py`` measure its false alarms).

Feature contributions: in each held-out fold, one column at a time is shuffled and the
fold's AUC recomputed; a feature's contribution is the mean AUC it loses.
"""

from __future__ import annotations

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

METHOD = "domain_classifier"
MAX_CATEGORIES = 250
"""Categories kept per column (by frequency over both sides); the rest share one code."""


def domain_classifier_test(
    reference: pd.DataFrame, live: pd.DataFrame, policy: MultivariatePolicy | None = None
) -> MultivariateResult:
    """Test ``live`` against ``reference`` on the columns they share."""
    from threadpoolctl import threadpool_limits

    policy = policy or MultivariatePolicy()
    with threadpool_limits(policy.threads):
        return _test(reference, live, policy)


def _test(
    reference: pd.DataFrame, live: pd.DataFrame, policy: MultivariatePolicy
) -> MultivariateResult:
    from scipy.stats import mannwhitneyu
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    rng = np.random.default_rng(policy.seed)
    ref, cur = capped(reference, policy.max_rows, rng), capped(live, policy.max_rows, rng)
    if min(len(ref), len(cur)) < policy.min_rows:
        return not_enough_data(
            METHOD, len(ref), len(cur), f"fewer than {policy.min_rows} rows on a side"
        )
    x, categorical = encode(ref, cur)
    names = list(x.columns)
    values = x.to_numpy(dtype=np.float64)
    y = np.concatenate([np.zeros(len(ref), dtype=int), np.ones(len(cur), dtype=int)])
    oof = np.empty(y.size)
    lost = np.zeros(len(names))
    folds = StratifiedKFold(policy.folds, shuffle=True, random_state=policy.seed)
    for train, test in folds.split(values, y):
        model = HistGradientBoostingClassifier(
            max_iter=policy.max_iter,
            categorical_features=categorical or None,
            early_stopping=False,
            random_state=policy.seed,
        )
        model.fit(values[train], y[train])
        held = values[test]
        oof[test] = model.predict_proba(held)[:, 1]
        base = roc_auc_score(y[test], oof[test])
        for j in range(len(names)):
            shuffled = held.copy()
            shuffled[:, j] = rng.permutation(shuffled[:, j])
            lost[j] += base - roc_auc_score(y[test], model.predict_proba(shuffled)[:, 1])
    auc = float(roc_auc_score(y, oof))
    p_value = float(mannwhitneyu(oof[y == 1], oof[y == 0], alternative="greater").pvalue)
    drifted = p_value < policy.alpha and auc >= policy.min_auc
    return MultivariateResult(
        method=METHOD,
        statistic=auc,
        p_value=p_value,
        lower=None,
        upper=None,
        drifted=drifted,
        verdict="drift" if drifted else "no_drift",
        reference_rows=len(ref),
        live_rows=len(cur),
        contributions=ranked(
            {n: max(float(v) / policy.folds, 0.0) for n, v in zip(names, lost, strict=True)}
        ),
        detail=f"cross-validated AUC {auc:.3f} ({policy.folds} folds); drift when "
        f"p < {policy.alpha} and AUC >= {policy.min_auc}",
    )


def encode(reference: pd.DataFrame, live: pd.DataFrame) -> tuple[pd.DataFrame, list[int]]:
    """Both sides stacked on their shared columns: numbers as floats, booleans as 0/1,
    anything else as category codes (``NaN`` for missing); and which columns are codes."""
    shared = [c for c in reference.columns if c in set(live.columns)]
    if not shared:
        raise MultivariateInputError("reference and live have no column in common")
    both = pd.concat([reference[shared], live[shared]], ignore_index=True)
    out: dict[str, np.ndarray] = {}
    categorical: list[int] = []
    for i, name in enumerate(shared):
        column = both[name]
        if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            out[name] = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
            continue
        text = column.astype("object").where(column.notna(), None)
        frequent = text.value_counts().index[:MAX_CATEGORIES].tolist()
        index = {value: k for k, value in enumerate(frequent)}
        codes = np.array(
            [np.nan if v is None else index.get(v, MAX_CATEGORIES) for v in text],
            dtype=np.float64,
        )
        out[name] = codes
        categorical.append(i)
    return pd.DataFrame(out), categorical
