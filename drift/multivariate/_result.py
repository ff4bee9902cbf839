"""The result of one multivariate test: a frozen value with the features that drove it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

MultivariateVerdict = Literal["drift", "no_drift", "not_enough_data"]


class MultivariateInputError(ValueError):
    """Reference and live tables that cannot be compared (no numeric column in common...)."""


@dataclass(frozen=True)
class MultivariateResult:
    """One multivariate test of a live window against the reference."""

    method: str
    statistic: float | None
    """Domain classifier: cross-validated AUC; PCA: mean reconstruction error of the window."""
    p_value: float | None
    lower: float | None
    """PCA: the band's ends; domain classifier: ``None``."""
    upper: float | None
    drifted: bool
    verdict: MultivariateVerdict
    reference_rows: int
    live_rows: int
    contributions: dict[str, float] = field(default_factory=dict)
    """Per feature, how much it contributes (sorted, largest first): the AUC lost when it
    is shuffled, or its share of the window's excess reconstruction error."""
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "method": self.method,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "lower": self.lower,
            "upper": self.upper,
            "drifted": self.drifted,
            "verdict": self.verdict,
            "reference_rows": self.reference_rows,
            "live_rows": self.live_rows,
            "contributions": dict(self.contributions),
            "detail": self.detail,
        }


def not_enough_data(
    method: str, reference_rows: int, live_rows: int, detail: str
) -> MultivariateResult:
    """The result of a test that could not run on so few rows."""
    return MultivariateResult(
        method,
        None,
        None,
        None,
        None,
        False,
        "not_enough_data",
        reference_rows,
        live_rows,
        detail=detail,
    )


def capped(frame: pd.DataFrame, max_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """At most ``max_rows`` rows, a uniform sample past it (the cost bound)."""
    if len(frame) <= max_rows:
        return frame.reset_index(drop=True)
    keep = np.sort(rng.choice(len(frame), max_rows, replace=False))
    return frame.iloc[keep].reset_index(drop=True)


def ranked(values: dict[str, float]) -> dict[str, float]:
    """Largest first, rounded for display."""
    return dict(sorted(((k, round(v, 6)) for k, v in values.items()), key=lambda kv: -kv[1]))
