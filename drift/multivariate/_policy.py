"""How multivariate drift is decided, and what an evaluation may cost."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class MultivariatePolicy(BaseModel):
    """Defaults: a false alarm rate near ``alpha`` on unchanged data, a bounded cost."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_rows: int = Field(
        default=5000,
        ge=100,
        le=1_000_000,
        description="Rows per side (reference, live) an evaluation reads: a uniform sample "
        "past it. Bounds time and memory whatever the window holds.",
    )
    min_rows: int = Field(
        default=50, ge=10, description="Fewer rows on either side: not_enough_data."
    )
    seed: int = Field(default=0, ge=0, description="Seed of the sampling, folds and models.")
    alpha: float = Field(
        default=0.01,
        gt=0,
        lt=1,
        description="Domain classifier: drift when the p-value of its cross-validated AUC "
        "is below this.",
    )
    min_auc: float = Field(
        default=0.55,
        ge=0.5,
        lt=1,
        description="Domain classifier: and its AUC is at least this (an effect floor, so "
        "that a huge window does not flag a trivial difference).",
    )
    threads: int = Field(
        default=1,
        ge=1,
        le=256,
        description="CPU threads (OpenMP, BLAS) an evaluation may use. One keeps it from "
        "competing with the service for cores; on a shared host more threads are slower.",
    )
    folds: int = Field(default=5, ge=2, le=20, description="Domain classifier: CV folds.")
    max_iter: int = Field(
        default=100, ge=10, le=1000, description="Domain classifier: boosting iterations."
    )
    pca_variance: float = Field(
        default=0.65,
        gt=0,
        lt=1,
        description="PCA reconstruction: share of the reference's variance the kept "
        "components explain.",
    )
    pca_sigmas: float = Field(
        default=3.0,
        gt=0,
        description="PCA reconstruction: the band is the reference's mean error ± this many "
        "standard deviations of a window's mean error.",
    )
    chunk_size: int | None = Field(
        default=None,
        ge=10,
        description="PCA reconstruction: rows per reference chunk for the band (unset: the "
        "live window's size).",
    )
