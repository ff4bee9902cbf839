"""Model quality: realized performance from labels, estimated performance before them.

- ``ReferencePerformance``: the reference's metrics and, for a window of ``n`` labelled
  rows, the band its metric stays in by chance (bootstrap of the reference, fixed seed);
- ``ConfidenceEstimator``: CBPE for binary classifiers (isotonic calibration on the
  reference, expected confusion matrix and ROC AUC per window, with an uncertainty band),
  from rows or from a summary's score bins; ``MulticlassEstimator`` for multiclass ones;
- ``QualityMonitor``: a window's ``QualityResult`` per metric, realized once the labelled
  share reaches the policy's threshold, estimated before; verdict ``degraded`` below the
  band or the policy's floor;
- ``QualityPolicy``: confidence, floors and ceilings, thresholds.

Realized counts are the mergeable summaries of ``inferwatch.contracts.quality``. Names
load on first use, so that ``inferwatch quality --help`` imports no numpy.

Example:
    >>> import numpy as np
    >>> from inferwatch.drift.quality import QualityMonitor, ReferencePerformance
    >>> from inferwatch.contracts.quality import summarise_classifier
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 2000)
    >>> score = np.clip(0.4 * y + 0.6 * rng.random(2000), 0, 1)
    >>> pred = (score > 0.5).astype(int)
    >>> reference = ReferencePerformance.classifier(y, pred, {1: score}, positive=1)
    >>> window = summarise_classifier(list(y[:500]), list(pred[:500]), {1: score[:500]},
    ...                               positive=1)
    >>> verdicts = {r.metric: r.verdict for r in QualityMonitor(reference).assess(window)}
    >>> verdicts["accuracy"]
    'ok'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inferwatch.drift.quality._assess import QualityMonitor, QualityResult, judge
    from inferwatch.drift.quality._board import QualityBoard, QualityCollector
    from inferwatch.drift.quality._estimate import (
        ConfidenceEstimator,
        Estimate,
        MulticlassEstimator,
    )
    from inferwatch.drift.quality._policy import METRICS, QualityPolicy
    from inferwatch.drift.quality._reference import (
        QualityInputError,
        ReferencePerformance,
        residual_edges_of,
    )
    from inferwatch.drift.quality._store import QualityResultStore
    from inferwatch.drift.quality._tracker import QualityTracker

_HOME = {
    "METRICS": "_policy",
    "ConfidenceEstimator": "_estimate",
    "Estimate": "_estimate",
    "MulticlassEstimator": "_estimate",
    "QualityInputError": "_reference",
    "QualityBoard": "_board",
    "QualityCollector": "_board",
    "QualityMonitor": "_assess",
    "QualityResultStore": "_store",
    "QualityTracker": "_tracker",
    "QualityPolicy": "_policy",
    "QualityResult": "_assess",
    "ReferencePerformance": "_reference",
    "judge": "_assess",
    "residual_edges_of": "_reference",
}

__all__ = [
    "METRICS",
    "ConfidenceEstimator",
    "Estimate",
    "MulticlassEstimator",
    "QualityBoard",
    "QualityCollector",
    "QualityInputError",
    "QualityMonitor",
    "QualityPolicy",
    "QualityResult",
    "QualityResultStore",
    "QualityTracker",
    "ReferencePerformance",
    "judge",
    "residual_edges_of",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its private module on first use."""
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
