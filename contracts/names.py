"""Names the parts share: recorder metric families, their labels, and what a model may be called.

The recorder publishes these families (the histogram path); the drift engine reads them
back with PromQL. A rename here is a rename on both sides, in one commit.
"""

from __future__ import annotations

import re
from typing import Final

FEATURE_VALUE_METRIC: Final = "inferwatch_feature_value"
"""Numeric features: a Prometheus histogram (``_bucket{le}``, ``_count``, ``_sum``) whose
buckets are the baseline's edges; labels ``model``, ``model_version``, ``feature``."""
FEATURE_CATEGORY_METRIC: Final = "inferwatch_feature_category_total"
"""Categorical/boolean features: counter with label ``category`` (vocabulary or ``__other__``)."""
FEATURE_MISSING_METRIC: Final = "inferwatch_feature_missing_total"
"""Missing values per feature (counter)."""
RECORDS_METRIC: Final = "inferwatch_prediction_records_total"
"""Records counted by the recorder per model (counter)."""

MODEL_LABEL: Final = "model"
MODEL_VERSION_LABEL: Final = "model_version"
FEATURE_LABEL: Final = "feature"
CATEGORY_LABEL: Final = "category"
BUCKET_LABEL: Final = "le"
"""Prometheus' histogram bucket label: a bin's upper edge (``FeatureSpec.bin_labels``)."""

MODEL_NAME_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
"""1-128 letters, digits, ``_ . : -``, starting with a letter or digit: safe as a label
value, a URL path segment and a file name."""
MODEL_NAME: Final = re.compile(MODEL_NAME_PATTERN)
MODEL_NAME_RULE: Final = (
    "use 1-128 letters, digits, '_', '.', ':' or '-', starting with a letter or digit"
)


def is_model_name(model: str) -> bool:
    """Whether ``model`` is a name every part accepts."""
    return MODEL_NAME.match(model) is not None
