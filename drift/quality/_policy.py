"""How a window's model quality is judged: the reference band, absolute floors, when
realized metrics replace estimated ones.

A pydantic model like ``DriftPolicy``, so it can sit in the drift settings
(``drift.quality``) and be read from a YAML file by ``inferwatch quality check --policy``.
"""

from __future__ import annotations

from typing import Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

HIGHER_IS_BETTER: Final = frozenset({"accuracy", "precision", "recall", "f1", "roc_auc", "r2"})
LOWER_IS_BETTER: Final = frozenset({"mae", "mse", "rmse"})
TWO_SIDED: Final = frozenset({"mean_error"})
"""A bias either way is a degradation."""
METRICS: Final = HIGHER_IS_BETTER | LOWER_IS_BETTER | TWO_SIDED
BOUNDED: Final = frozenset({"accuracy", "precision", "recall", "f1", "roc_auc"})
"""Metrics that live on ``[0, 1]``: their bands are clipped to it."""

Verdict = Literal["ok", "degraded", "not_enough_data"]


class QualityPolicy(BaseModel):
    """Defaults chosen so that an unchanged model rarely alarms at any window size."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    confidence: float = Field(
        default=0.99,
        gt=0.5,
        lt=1,
        description="Two-sided confidence of the reference band a window's metric is judged "
        "against (bootstrap of the reference at the window's size).",
    )
    bootstrap_resamples: int = Field(
        default=200,
        ge=20,
        le=10_000,
        description="Resamples of the reference rows per band (the band is mean ± z·sd).",
    )
    estimate_draws: int = Field(
        default=200,
        ge=20,
        le=10_000,
        description="Label draws from the calibrated scores for an estimate's uncertainty band.",
    )
    seed: int = Field(default=0, ge=0, description="Seed of the bootstrap and the draws.")
    floors: dict[str, float] = Field(
        default_factory=dict,
        description="Absolute floor per higher-is-better metric (e.g. accuracy: 0.8): "
        "below it a window is degraded whatever the reference says.",
    )
    ceilings: dict[str, float] = Field(
        default_factory=dict,
        description="Absolute ceiling per error metric (mae, mse, rmse).",
    )
    min_labelled_rows: int = Field(
        default=30,
        ge=1,
        description="Fewer labelled rows (and no scores to estimate from): not_enough_data.",
    )
    realized_share: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="Share of a window's predictions that must have their label before "
        "realized metrics replace the estimated ones.",
    )
    max_rows: int = Field(
        default=100_000,
        ge=100,
        description="Rows of a window the estimator reads (a uniform sample past it), to "
        "bound the cost of an estimate.",
    )

    @model_validator(mode="after")
    def _known_metrics(self) -> Self:
        for name, table, allowed in (
            ("floors", self.floors, HIGHER_IS_BETTER),
            ("ceilings", self.ceilings, LOWER_IS_BETTER),
        ):
            unknown = sorted(set(table) - allowed)
            if unknown:
                raise ValueError(f"{name}: unknown metric(s) {unknown}; known: {sorted(allowed)}")
        return self
