"""A window's quality verdicts: realized when enough labels are in, estimated before.

Per metric, one ``QualityResult``: the window's value, the reference band it is judged
against (``lower``/``upper``), the policy's absolute floor or ceiling, the labelled
share, and the verdict. A window whose labelled share reaches ``realized_share`` is
judged on its realized metrics (from the mergeable ``contracts.quality`` summary); before
that, a binary classifier with scores is judged on its CBPE estimates (with their own
uncertainty band, ``estimate_lower``/``estimate_upper``); a model without scores is judged
on the labels it has, once there are ``min_labelled_rows`` of them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from inferwatch.contracts.quality import ClassifierSummary, RegressorSummary
from inferwatch.drift.quality._estimate import ConfidenceEstimator, Estimate
from inferwatch.drift.quality._policy import (
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    QualityPolicy,
    Verdict,
)
from inferwatch.drift.quality._reference import Band, ReferencePerformance

Kind = Literal["realized", "estimated"]


@dataclass(frozen=True)
class QualityResult:
    """One metric of one window, judged."""

    metric: str
    kind: Kind
    value: float | None
    lower: float | None
    """Lower end of the reference band at this window's size (the alarm bound of a
    higher-is-better metric)."""
    upper: float | None
    reference: float | None
    """The metric on the whole reference."""
    labelled_share: float
    rows: int
    """Rows the value is computed from (labelled rows when realized, all when estimated)."""
    verdict: Verdict
    detail: str = ""
    limit: float | None = None
    """The policy's absolute floor (or ceiling, for error metrics), if any."""
    estimate_lower: float | None = None
    estimate_upper: float | None = None
    start: float | None = None
    end: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


class QualityMonitor:
    """Judges windows against one reference (and its calibration, for estimates)."""

    def __init__(
        self,
        reference: ReferencePerformance,
        estimator: ConfidenceEstimator | None = None,
        policy: QualityPolicy | None = None,
    ) -> None:
        self.reference = reference
        self.estimator = estimator
        self.policy = policy or reference.policy

    def assess(
        self,
        summary: ClassifierSummary | RegressorSummary,
        *,
        scores: np.ndarray | None = None,
        predicted_positive: np.ndarray | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> tuple[QualityResult, ...]:
        """Verdicts of one window.

        Args:
            summary: the window's realized counts (labelled and unlabelled rows).
            scores: every row's positive-class score, for an estimate (binary classifiers).
            predicted_positive: whether each row was predicted positive (with ``scores``).
            start: window start (epoch seconds), carried into the results.
            end: window end.
        """
        share = summary.labelled_share
        can_estimate = (
            self.estimator is not None and scores is not None and predicted_positive is not None
        )
        if share >= self.policy.realized_share or not can_estimate:
            return self._realized(summary, start, end)
        assert self.estimator is not None and scores is not None  # can_estimate
        assert predicted_positive is not None
        estimates = self.estimator.estimate(scores, predicted_positive)
        rows = int(np.asarray(scores).size)
        bands = self.reference.band(rows)
        return tuple(
            self._result(
                metric,
                "estimated",
                estimate.value,
                bands.get(metric),
                share=share,
                rows=rows,
                start=start,
                end=end,
                estimate=estimate,
            )
            for metric, estimate in estimates.items()
            if metric in self.reference.values
        )

    def _realized(
        self,
        summary: ClassifierSummary | RegressorSummary,
        start: float | None,
        end: float | None,
    ) -> tuple[QualityResult, ...]:
        labelled = summary.labelled
        share = summary.labelled_share
        metrics = summary.metrics()
        if labelled < self.policy.min_labelled_rows:
            detail = f"{labelled} labelled rows; {self.policy.min_labelled_rows} are needed"
            return tuple(
                QualityResult(
                    metric=m,
                    kind="realized",
                    value=v,
                    lower=None,
                    upper=None,
                    reference=self.reference.values.get(m),
                    labelled_share=share,
                    rows=labelled,
                    verdict="not_enough_data",
                    detail=detail,
                    start=start,
                    end=end,
                )
                for m, v in metrics.items()
            )
        bands = self.reference.band(labelled)
        return tuple(
            self._result(
                m,
                "realized",
                v,
                bands.get(m),
                share=share,
                rows=labelled,
                start=start,
                end=end,
                estimate=None,
            )
            for m, v in metrics.items()
        )

    def _result(
        self,
        metric: str,
        kind: Kind,
        value: float | None,
        band: Band | None,
        *,
        share: float,
        rows: int,
        start: float | None,
        end: float | None,
        estimate: Estimate | None,
    ) -> QualityResult:
        verdict, detail, limit = judge(metric, value, band, self.policy)
        return QualityResult(
            metric=metric,
            kind=kind,
            value=value,
            lower=None if band is None else band[0],
            upper=None if band is None else band[1],
            reference=self.reference.values.get(metric),
            labelled_share=share,
            rows=rows,
            verdict=verdict,
            detail=detail,
            limit=limit,
            estimate_lower=None if estimate is None else estimate.lower,
            estimate_upper=None if estimate is None else estimate.upper,
            start=start,
            end=end,
        )


def judge(
    metric: str, value: float | None, band: Band | None, policy: QualityPolicy
) -> tuple[Verdict, str, float | None]:
    """``degraded`` when ``value`` is past the band on the bad side or past the policy's
    absolute limit; ``not_enough_data`` when there is no value."""
    if value is None:
        return "not_enough_data", f"{metric} is undefined on this window", None
    if metric in HIGHER_IS_BETTER:
        floor = policy.floors.get(metric)
        if floor is not None and value < floor:
            return "degraded", f"{metric} {value:.4g} is below the floor {floor:.4g}", floor
        if band is not None and value < band[0]:
            return "degraded", f"{metric} {value:.4g} is below the reference band", floor
        return "ok", "", floor
    if metric in LOWER_IS_BETTER:
        ceiling = policy.ceilings.get(metric)
        if ceiling is not None and value > ceiling:
            return "degraded", f"{metric} {value:.4g} is above the ceiling {ceiling:.4g}", ceiling
        if band is not None and value > band[1]:
            return "degraded", f"{metric} {value:.4g} is above the reference band", ceiling
        return "ok", "", ceiling
    if band is not None and not band[0] <= value <= band[1]:
        return "degraded", f"{metric} {value:.4g} is outside the reference band", None
    return "ok", "", None
