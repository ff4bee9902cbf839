"""How drift is decided: methods per feature kind, thresholds, corrections, minimum sizes.

Part of ``DriftSettings`` (``drift.policy`` in YAML, ``INFERWATCH_DRIFT__POLICY__*``),
and accepted by ``inferwatch drift check --policy FILE.yaml``.

A feature drifts when its primary method says so:

- a **test** (``ks``, ``chi_squared``): its p-value, adjusted across all the window's
  tests (``correction``), is below ``alpha`` (or the feature's ``threshold``) AND the
  effect size (``effect_method``, Jensen-Shannon distance by default) is at least
  ``min_effect``, so that a huge window does not flag a trivial shift;
- a **distance** (``psi``, ``jensen_shannon``, ``hellinger``, ``wasserstein``): its
  statistic is at or above its threshold (no p-value: such features alarm more often on
  small windows, by design of those methods).

The missing-value rate is tested too (two-proportion test, same correction, effect floor
``min_missing_effect``). A feature with fewer than ``min_rows`` live rows is
``not_enough_data``, never ``drift``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from inferwatch.drift.correction import Correction
from inferwatch.drift.stats import MISSING_RATE, get_method, method_names

if TYPE_CHECKING:  # annotations only: importing baseline costs pandas at every settings load
    from inferwatch.contracts.spec import FeatureKind

SchemaAction = Literal["drift", "report"]
"""``drift``: a schema change makes the window drift; ``report``: it is listed, not decisive."""


class FeatureOverride(BaseModel):
    """One feature's own method, threshold or effect floor (unset fields use the policy's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str | None = Field(default=None, description="Primary method for this feature.")
    threshold: float | None = Field(
        default=None,
        gt=0,
        description="Alpha for a test, or the statistic's threshold for a distance.",
    )
    min_effect: float | None = Field(
        default=None, ge=0, description="Effect floor next to a test (effect_method's units)."
    )
    schema_change: SchemaAction | None = Field(
        default=None, description="What a schema change of this feature does (unset: policy's)."
    )


class DriftPolicy(BaseModel):
    """Defaults chosen so that a no-drift window rarely alarms, at any window size."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_rows: int = Field(
        default=20,
        ge=2,
        description="Fewer live values: not_enough_data (the tests are exact or "
        "permutation-based down to here).",
    )
    min_reference_rows: int = Field(
        default=20,
        ge=2,
        description="Fewer non-missing reference values: the feature is not_enough_data.",
    )
    schema_change: SchemaAction = Field(
        default="drift",
        description="A missing or unexpected column, a type change or too many unparseable "
        "values: drift (the window drifts) or report (listed only).",
    )
    max_unparseable_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Share of a numeric feature's live values that may fail to parse before "
        "it is a schema change.",
    )
    numeric_method: str = Field(default="ks", description="Primary method, numeric features.")
    discrete_numeric_method: str | None = Field(
        default="chi_squared",
        description="Primary method for discrete numeric features (the baseline bins them by "
        "value; KS is conservative with ties); unset: numeric_method.",
    )
    discrete_max_values: int = Field(
        default=20,
        ge=2,
        description="Distinct reference values up to which drift check's baseline bins a "
        "numeric feature by value (discrete).",
    )
    categorical_method: str = Field(
        default="chi_squared", description="Primary method, categorical features."
    )
    boolean_method: str = Field(
        default="chi_squared", description="Primary method, boolean features."
    )
    alpha: float = Field(
        default=0.01,
        gt=0,
        lt=1,
        description="Per-window false-alarm budget for the tests, after correction.",
    )
    correction: Correction = Field(
        default="holm", description="holm (family-wise), bh (false discovery rate) or none."
    )
    effect_method: str = Field(
        default="jensen_shannon", description="Distance used as the effect size next to tests."
    )
    min_effect: float | None = Field(
        default=None,
        ge=0,
        description="Effect floor; unset uses effect_method's default (JS distance 0.04).",
    )
    missing_rate_test: bool = Field(default=True, description="Test the missing-value rate.")
    min_missing_effect: float = Field(
        default=0.02, ge=0, le=1, description="Smallest missing-rate change that can drift."
    )
    thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="Per distance method, the statistic's threshold (else its default).",
    )
    features: dict[str, FeatureOverride] = Field(
        default_factory=dict, description="Per-feature overrides, by feature name."
    )
    drift_share: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Dataset drift when this share of evaluated features drifted "
        "(unset: at least one).",
    )

    @model_validator(mode="after")
    def _known_methods(self) -> Self:
        for kind, name in (
            ("numeric", self.numeric_method),
            ("categorical", self.categorical_method),
            ("boolean", self.boolean_method),
        ):
            self._check_method(name, kind)  # type: ignore[arg-type]
        if self.discrete_numeric_method is not None:
            self._check_method(self.discrete_numeric_method, "numeric")
        effect = get_method(_known(self.effect_method))
        if effect.is_test:
            raise ValueError(f"effect_method must be a distance, not the test {effect.name!r}")
        for name in self.thresholds:
            _known(name)
        for feature, override in self.features.items():
            if override.method is not None:
                _known(override.method, f"features.{feature}.method")
        return self

    @staticmethod
    def _check_method(name: str, kind: FeatureKind) -> None:
        method = get_method(_known(name))
        if name == MISSING_RATE:
            raise ValueError(f"{MISSING_RATE} is run next to every feature's method, not as one")
        if kind not in method.kinds:
            fits = ", ".join(n for n in method_names(kind) if n != MISSING_RATE)
            raise ValueError(f"method {name!r} does not fit {kind} features (fit: {fits})")

    def method_for(self, feature: str, kind: FeatureKind, *, discrete: bool = False) -> str:
        """The primary method of ``feature``; an override that does not fit its kind fails.

        ``discrete``: a numeric feature with few distinct reference values.
        """
        override = self.features.get(feature)
        if override is not None and override.method is not None:
            self._check_method(override.method, kind)
            return override.method
        if kind == "numeric" and discrete and self.discrete_numeric_method is not None:
            return self.discrete_numeric_method
        return {
            "numeric": self.numeric_method,
            "categorical": self.categorical_method,
            "boolean": self.boolean_method,
        }[kind]

    def threshold_for(self, feature: str, method: str) -> float:
        """Alpha for a test, the statistic's threshold for a distance."""
        override = self.features.get(feature)
        if override is not None and override.threshold is not None:
            return override.threshold
        if get_method(method).is_test:
            return self.alpha
        return self.thresholds.get(method, get_method(method).default_threshold)

    def schema_action_for(self, feature: str) -> SchemaAction:
        """What a schema change of ``feature`` does: ``drift`` or ``report``."""
        override = self.features.get(feature)
        if override is not None and override.schema_change is not None:
            return override.schema_change
        return self.schema_change

    def effect_floor_for(self, feature: str) -> float:
        """The effect floor next to a test, in ``effect_method``'s units."""
        override = self.features.get(feature)
        if override is not None and override.min_effect is not None:
            return override.min_effect
        if self.min_effect is not None:
            return self.min_effect
        return get_method(self.effect_method).default_min_effect


def _known(name: str, where: str = "method") -> str:
    if name not in method_names():
        raise ValueError(
            f"{where}: unknown drift method {name!r} (known: {', '.join(method_names())})"
        )
    return name
