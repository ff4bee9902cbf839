"""Raw records counted in the baseline's bins, the way a recorder counts its summary.

A window's counts then cover every row it took, whether a pod shipped a summary or
raw records reached the collector, and the drift engine can use them (all traffic)
instead of the window's sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from inferwatch.contracts.spec import BaselineSpec
from inferwatch.contracts.summary import FeatureSummary, feature_summary


def count_table(table: pa.Table, baseline: BaselineSpec) -> tuple[FeatureSummary, ...]:
    """Raw records counted in the baseline's bins, as a recorder counts its summary."""
    rows = table.num_rows
    features = []
    for spec in baseline.features:
        if spec.name not in table.column_names:
            values: Sequence[Any] = [None] * rows
        elif spec.kind == "numeric" and pa.types.is_floating(table.column(spec.name).type):
            values = table.column(spec.name).to_numpy(zero_copy_only=False)
        else:
            values = table.column(spec.name).to_pylist()
        features.append(feature_summary(spec, values))
    return tuple(features)
