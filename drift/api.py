"""HTTP API of the drift engine, under ``/drift``.

Baselines (create from an uploaded CSV, Parquet or JSON body; list; get by
version), results (latest and history per model), an evaluation now, and the
evidently report of a model's latest window (HTML and JSON). Writes need the
bearer token when one is configured.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse

from inferwatch.admission import body_limit
from inferwatch.app import WriteAuth
from inferwatch.contracts.results import DriftEvaluation
from inferwatch.contracts.spec import QualitySpec
from inferwatch.drift.baseline import Baseline
from inferwatch.drift.engine import DriftEngine
from inferwatch.drift.engine_errors import (
    DriftEngineError,
    NoLiveDataError,
    PromQLError,
    UploadError,
)
from inferwatch.drift.report import RenderedReport, ReportCache, finite
from inferwatch.drift.settings import DriftSettings
from inferwatch.drift.store import check_model_name
from inferwatch.drift.upload import ACCEPTED, frame_from_bytes

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": f"Reference data: {ACCEPTED}.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {
                "schema": {"type": "array", "items": {"type": "object"}},
            },
        },
    }
}


def quality_spec(
    *,
    kind: Annotated[
        Literal["classification", "regression"] | None,
        Query(description="Model kind, with target= and prediction= (model quality)."),
    ] = None,
    target: Annotated[str | None, Query(description="Column of the actual.")] = None,
    prediction: Annotated[str | None, Query(description="Column of the prediction.")] = None,
    score: Annotated[
        list[str] | None,
        Query(description="LABEL=COLUMN per scored class, or COLUMN (with positive=)."),
    ] = None,
    positive: Annotated[str | None, Query(description="Positive class (binary).")] = None,
    prediction_id: Annotated[
        str | None, Query(description="Column of the id actuals refer to later.")
    ] = None,
) -> QualitySpec | None:
    """The outcome columns named by a baseline upload's query, or None; 422 if half-named."""
    scores = score or []
    if target is None and prediction is None:
        if scores or positive or prediction_id or kind:
            raise UploadError("name the outcome with both target= and prediction=")
        return None
    if target is None or prediction is None:
        raise UploadError("model quality needs both target= and prediction=")
    pairs = []
    for item in scores:
        label, sep, column = item.partition("=")
        if not sep:
            if positive is None:
                raise UploadError(f"score={item!r} names no class: use LABEL=COLUMN or positive=")
            label, column = positive, item
        pairs.append((label, column))
    return QualitySpec(
        kind="regression" if kind == "regression" else "classification",
        prediction=prediction,
        target=target,
        scores=tuple(pairs),
        positive=positive,
        prediction_id=prediction_id,
    )


def baseline_document(baseline: Baseline) -> dict[str, Any]:
    """A baseline as the API shows it: specs, bins and sample size."""
    data = baseline.to_dict()
    data["sample_rows"] = len(baseline.sample)
    for spec, doc in zip(baseline.features, data["features"], strict=True):
        doc["bin_labels"] = list(spec.bin_labels)
        doc["missing_rate"] = spec.missing_rate
    return finite(data)  # type: ignore[no-any-return]


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes."""
    too_large = UploadError(
        f"the body is larger than {limit} bytes (drift.max_upload_bytes)", status_code=413
    )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def build_router(
    engine: DriftEngine,
    reports: ReportCache,
    settings: DriftSettings,
    base_url: Callable[[], str],
) -> APIRouter:
    """The ``/drift`` routes on this engine."""
    router = APIRouter(prefix="/drift", tags=["drift"])
    store = engine.baselines

    def report_url(model: str) -> str:
        return f"{base_url().rstrip('/')}/drift/models/{quote(model, safe='')}/report"

    def evaluation_document(evaluation: DriftEvaluation) -> dict[str, Any]:
        data = evaluation.to_dict()
        data["report_url"] = report_url(evaluation.model)
        end = evaluation.window_end
        data["window_open"] = end is not None and end > evaluation.evaluated_at
        return finite(data)  # type: ignore[no-any-return]

    @router.get("/status", summary="What the engine reads and how often.")
    def status() -> dict[str, Any]:
        return engine.describe()

    @router.get("/baselines", summary="The latest baseline of every model.")
    def list_baselines() -> dict[str, Any]:
        return {"baselines": [info.to_dict() for info in store.models()]}

    @router.post(
        "/baselines/{model}",
        status_code=201,
        summary="Create the model's next baseline version from reference data.",
        openapi_extra=_UPLOAD_BODY
        | body_limit(settings.max_upload_bytes, "drift.max_upload_bytes"),
        responses={
            413: {"description": "Body too large."},
            415: {"description": "Unsupported content type."},
            422: {"description": "Empty or unusable data."},
        },
    )
    async def create_baseline(
        model: str,
        request: Request,
        _: WriteAuth,
        *,
        bins: Annotated[int | None, Query(ge=2, le=1000)] = None,
        top_k: Annotated[int | None, Query(ge=1, le=10_000)] = None,
        sample_size: Annotated[int | None, Query(ge=0, le=1_000_000)] = None,
        quality: Annotated[QualitySpec | None, Depends(quality_spec)] = None,
    ) -> dict[str, Any]:
        check_model_name(model)
        body = await read_limited(request, settings.max_upload_bytes)
        frame = await run_in_threadpool(frame_from_bytes, body, request.headers.get("content-type"))
        baseline = await run_in_threadpool(
            lambda: store.create(
                model,
                frame,
                bins=bins or settings.baseline_bins,
                top_k=top_k or settings.baseline_top_k,
                sample_size=settings.baseline_sample_size if sample_size is None else sample_size,
                quality=quality,
            )
        )
        return baseline_document(baseline)

    @router.get("/baselines/{model}", summary="The model's latest baseline.")
    def get_baseline(model: str) -> dict[str, Any]:
        return baseline_document(store.require(model))

    @router.get("/baselines/{model}/versions", summary="Every baseline version of the model.")
    def list_versions(model: str) -> dict[str, Any]:
        versions = store.versions(model)
        if not versions:
            store.require(model)
        return {"model": model, "versions": [info.to_dict() for info in versions]}

    @router.get("/baselines/{model}/versions/{version}", summary="One baseline version.")
    def get_version(model: str, version: int) -> dict[str, Any]:
        return baseline_document(store.require(model, version))

    @router.get("/models", summary="Models with a baseline, their latest verdict and report.")
    def list_models() -> dict[str, Any]:
        models = []
        for info in store.models():
            latest = engine.results.latest(info.model)
            models.append(
                {
                    "model": info.model,
                    "baseline_version": info.version,
                    "verdict": latest.verdict if latest else None,
                    "drift_detected": latest.drift_detected if latest else None,
                    "evaluated_at": latest.evaluated_at.isoformat() if latest else None,
                    "report_url": report_url(info.model),
                }
            )
        return {"models": models}

    @router.get("/models/{model}/results/latest", summary="The model's latest evaluation.")
    def latest_result(model: str) -> dict[str, Any]:
        latest = engine.results.latest(model)
        if latest is None:
            store.require(model)
            raise NoLiveDataError(f"model {model!r} has not been evaluated yet")
        return evaluation_document(latest)

    @router.get("/models/{model}/results", summary="The model's evaluations, newest first.")
    def results(model: str, limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> dict[str, Any]:
        history = engine.results.history(model, limit=limit)
        if not history:
            store.require(model)
        return {"model": model, "results": [evaluation_document(e) for e in history]}

    @router.post(
        "/models/{model}/evaluate",
        summary="Evaluate the model's current window now, the open one included.",
        responses={
            404: {"description": "No baseline, or no live rows (the message names the setting)."},
            502: {"description": "The Prometheus query failed (histogram path)."},
        },
    )
    def evaluate_now(model: str, _: WriteAuth) -> dict[str, Any]:
        try:
            evaluation = engine.evaluate(model)
        except PromQLError as exc:
            raise HTTPException(status_code=502, detail=str(exc)) from exc
        return evaluation_document(evaluation)

    def rendered_report(model: str) -> RenderedReport:
        baseline, window = store.require(model), engine.report_window(model)
        try:
            return reports.get(baseline, window, engine.results.latest(model))
        except DriftEngineError as exc:
            raise HTTPException(status_code=500, detail=str(exc)) from exc

    @router.get(
        "/models/{model}/report",
        response_class=HTMLResponse,
        summary="evidently HTML report of the model's latest window.",
        responses={404: {"description": "No baseline or no window yet."}},
    )
    def report_html(model: str) -> HTMLResponse:
        return HTMLResponse(rendered_report(model).html)

    @router.get(
        "/models/{model}/report.json",
        summary="evidently JSON report of the model's latest window.",
        responses={404: {"description": "No baseline or no window yet."}},
    )
    def report_json(model: str) -> JSONResponse:
        return JSONResponse(rendered_report(model).document)

    return router
