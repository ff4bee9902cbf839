"""HTTP API of model quality, under ``/drift``: each window's judgement, newest first."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from inferwatch.drift.quality import QualityResultStore
from inferwatch.drift.report import finite
from inferwatch.drift.store import BaselineStore


def quality_router(baselines: BaselineStore, results: QualityResultStore) -> APIRouter:
    """``GET /drift/models/{model}/quality`` (included in the ``/drift`` router)."""
    router = APIRouter(tags=["quality"])

    @router.get(
        "/models/{model}/quality",
        summary="The model's quality per window and metric (realized or estimated), newest "
        "first; a window's rows are revised as its labels arrive.",
        responses={404: {"description": "No baseline for the model."}},
    )
    def quality(
        model: str, limit: Annotated[int, Query(ge=1, le=100_000)] = 1000
    ) -> dict[str, Any]:
        baseline = baselines.require(model)
        history = results.history(model, limit=limit)
        return {
            "model": model,
            "tracked": baseline.quality is not None,
            "results": [finite(r.to_dict()) for r in history],
        }

    return router
