"""Routes of the collector under ``/collector``."""

from __future__ import annotations

import asyncio
import math
import re
import time
from typing import TYPE_CHECKING, Annotated, Any

import pyarrow as pa
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from inferwatch.admission import JSON_CHECKED, body_limit
from inferwatch.app import WriteAuth
from inferwatch.collector.counting import count_table
from inferwatch.collector.errors import (
    BodyTooLargeError,
    FormatError,
    NoBaselineError,
    QueueFullError,
    RecordError,
    UnsupportedMediaError,
    short,
)
from inferwatch.collector.formats import (
    ARROW_FILE,
    ARROW_STREAM,
    CLOUDEVENTS_JSON,
    JSON,
    KSERVE_REQUEST,
    KSERVE_RESPONSE,
    ParsedBatch,
    parse_json_value,
    parse_records,
    read_cloudevent,
)
from inferwatch.collector.metrics import UNKNOWN_MODEL
from inferwatch.collector.outcomes import (
    OutcomeBatch,
    PredictionOutcomes,
    count_outcomes,
    ingest_spec,
    outcomes_spec,
)
from inferwatch.collector.windows import Batch, SummaryBatch
from inferwatch.contracts.names import MODEL_NAME_PATTERN, is_model_name
from inferwatch.contracts.spec import BaselineSpec
from inferwatch.contracts.summary import BaselineMismatchError, SummaryError, check, from_wire
from inferwatch.errors import ClientError, ConflictError, NotFoundError

if TYPE_CHECKING:
    from inferwatch.collector.service import CollectorPart
    from inferwatch.contracts.summary import WindowSummary

ModelName = Annotated[str, Path(pattern=MODEL_NAME_PATTERN, description="Model name.")]

_BINARY = {"schema": {"type": "string", "format": "binary"}}
_RECORDS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": 'Records as JSON rows (a list, or {"records": [...]}), columnar JSON '
        '({"columns": {feature: [...]}}), KServe v1/v2 bodies, or an Arrow IPC stream/file.',
        "content": {
            JSON: {
                "schema": {
                    "oneOf": [
                        {"type": "array", "items": {"type": "object"}},
                        {
                            "type": "object",
                            "properties": {"columns": {"type": "object"}},
                            "required": ["columns"],
                        },
                        {
                            "type": "object",
                            "properties": {"records": {"type": "array"}},
                            "required": ["records"],
                        },
                    ]
                }
            },
            ARROW_STREAM: _BINARY,
            ARROW_FILE: _BINARY,
        },
    }
}
_KSERVE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A KServe inference-logger CloudEvent: binary mode (ce-* headers, "
        "JSON data as body) or structured mode (application/cloudevents+json).",
        "content": {
            JSON: {"schema": {"type": "object"}},
            CLOUDEVENTS_JSON: {
                "schema": {
                    "type": "object",
                    "properties": {
                        "specversion": {"type": "string"},
                        "type": {"type": "string"},
                        "id": {"type": "string"},
                        "source": {"type": "string"},
                        "inferenceservicename": {"type": "string"},
                        "data": {"type": "object"},
                    },
                    "required": ["type", "data"],
                }
            },
        },
    }
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Body is not readable in its format."},
    404: {"description": "No baseline for the model."},
    413: {
        "description": "Body larger than collector.max_body_bytes, or more records or decoded "
        "bytes than collector.max_rows_per_request / max_decoded_bytes."
    },
    415: {"description": "Unsupported content type."},
    422: {"description": "A record breaks the baseline schema; names field and row."},
    429: {
        "description": "Ingest queue full, or the server busy (server.limits); retry after "
        "the Retry-After header's seconds."
    },
}

_SUMMARY_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A WindowSummary (inferwatch.contracts.summary) as JSON, "
        "usually with Content-Encoding: gzip.",
        "content": {JSON: {"schema": {"type": "object"}}},
    }
}
_SUMMARY_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"description": "Binned against another baseline version than the current one."},
    422: {"description": "Summary malformed or not fitting the baseline; names what."},
}

_REASONS: dict[type[ClientError], str] = {
    RecordError: "invalid",
    FormatError: "format",
    BodyTooLargeError: "too_large",
    NoBaselineError: "no_baseline",
    UnsupportedMediaError: "unsupported_media",
    QueueFullError: "queue_full",
    ConflictError: "baseline_version",
}


def build_router(part: CollectorPart) -> APIRouter:
    """The collector's routes, bound to one running part."""
    router = APIRouter(prefix="/collector", tags=["collector"])
    limits = part.limits
    own_limit = body_limit(part.settings.max_body_bytes, "collector.max_body_bytes")

    @router.post(
        "/models/{model}/records",
        summary="Take in prediction records for a model.",
        openapi_extra=_RECORDS_BODY | own_limit,
        responses=_ERRORS,
    )
    async def post_records(model: ModelName, request: Request, _: WriteAuth) -> JSONResponse:
        arrived = time.time()
        label = UNKNOWN_MODEL
        try:
            part.check_capacity()
            body = await read_body(request, part.settings.max_body_bytes)
            baseline = part.baseline(model)
            label = model
            spec = ingest_spec(baseline)
            parsed = await _parse(part, request, body, spec, part.settings.allow_unknown_fields)
            return await _accept(part, model, parsed, arrived, baseline)
        except ClientError as exc:
            return _refuse(part, label, exc)

    @router.post(
        "/kserve",
        summary="Take in a KServe inference-logger CloudEvent.",
        openapi_extra=_KSERVE_BODY | own_limit,
        responses=_ERRORS,
    )
    async def post_kserve(
        request: Request,
        _: WriteAuth,
        model: Annotated[
            str | None,
            Query(pattern=MODEL_NAME_PATTERN, description="Model name, overriding the event's."),
        ] = None,
    ) -> JSONResponse:
        arrived = time.time()
        label = UNKNOWN_MODEL
        try:
            part.check_capacity()
            body = await read_body(request, part.settings.max_body_bytes)
            event = await run_in_threadpool(
                read_cloudevent, body, request.headers, limits, _scanned(request)
            )
            name = model or event.model
            if not name:
                raise FormatError(
                    "no model: send ce-inferenceservicename (or inferenceservicename in a "
                    "structured event), or ?model="
                )
            if not is_model_name(name):
                raise FormatError(f"model name {short(name)} does not match {MODEL_NAME_PATTERN}")
            if event.type == KSERVE_RESPONSE:
                return JSONResponse(
                    {"model": name, "accepted": 0, "ignored": "inference response event"}
                )
            if event.type != KSERVE_REQUEST:
                raise RecordError(
                    f"ce-type {short(event.type)} is not read; expected {KSERVE_REQUEST} "
                    f"or {KSERVE_RESPONSE}"
                )
            baseline = part.baseline(name)
            label = name
            parsed = await run_in_threadpool(
                parse_json_value,
                event.data,
                ingest_spec(baseline),
                allow_unknown=part.settings.allow_unknown_fields,
                limits=limits,
            )
            batch = ParsedBatch(parsed.table, "kserve")
            return await _accept(part, name, batch, arrived, baseline)
        except ClientError as exc:
            return _refuse(part, label, exc)

    @router.post(
        "/models/{model}/summaries",
        summary="Merge a recorder's window summary into the model's window.",
        openapi_extra=_SUMMARY_BODY | own_limit,
        responses=_ERRORS | _SUMMARY_ERRORS,
    )
    async def post_summary(model: ModelName, request: Request, _: WriteAuth) -> JSONResponse:
        return await _merge_summary(part, model, request)

    @router.post(
        "/models/{model}/outcomes",
        summary="Outcomes without features: predictions (with actuals, or ids for later "
        "ones), or actuals of earlier predictions by id (late labels).",
        openapi_extra=_RECORDS_BODY | own_limit,
        responses=_ERRORS,
    )
    async def post_outcomes(model: ModelName, request: Request, _: WriteAuth) -> JSONResponse:
        return await _take_outcomes(part, model, request)

    @router.get("/models", summary="Models with windows.")
    def list_models() -> dict[str, list[str]]:
        return {"models": part.store.models()}

    @router.get("/models/{model}/windows", summary="A model's windows, newest first.")
    def list_windows(
        model: ModelName, limit: Annotated[int, Query(ge=1, le=10_000)] = 100
    ) -> dict[str, Any]:
        return {"windows": [w.to_dict() for w in part.store.windows(model, limit=limit)]}

    @router.get(
        "/models/{model}/windows/latest",
        summary="The newest closed window (or the open one) with its reservoir sample.",
        responses={404: {"description": "No window yet."}},
    )
    def latest_window(
        model: ModelName, include_open: bool = False, sample: bool = True
    ) -> dict[str, Any]:
        window = part.store.latest_window(model, include_open=include_open)
        if window is None:
            raise NotFoundError(f"model {model!r} has no {'' if include_open else 'closed '}window")
        body: dict[str, Any] = {
            "model": window.model,
            "start": window.start.isoformat(),
            "end": window.end.isoformat(),
            "rows": window.rows,
            "closed": window.closed,
        }
        if window.counts:
            body["baseline_version"] = window.baseline_version
            body["counts"] = {
                name: {
                    "counts": list(f.counts),
                    "missing": f.missing,
                    "sum": f.total if math.isfinite(f.total) else None,  # JSON has no inf
                }
                for name, f in window.counts.items()
            }
        if sample:
            frame = window.sample.astype(object).where(window.sample.notna(), None)
            body["sample"] = {"columns": {str(c): frame[c].tolist() for c in frame.columns}}
        return body

    return router


async def _merge_summary(part: CollectorPart, model: str, request: Request) -> JSONResponse:
    """Read, check and queue one summary; 409 for another baseline version, 422 if broken."""
    arrived = time.time()
    label = UNKNOWN_MODEL
    try:
        part.check_capacity()
        key = _idempotency_key(request)
        body = await read_body(request, part.settings.max_body_bytes)
        baseline = part.baseline(model)
        label = model
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in {"gzip", "identity"}:
            raise UnsupportedMediaError(
                f"Content-Encoding {short(encoding)} is not read; send gzip or identity"
            )
        summary = await run_in_threadpool(_read_summary, body, encoding == "gzip", part)
        try:
            check(summary, baseline, max_sample=part.settings.max_rows_per_request)
        except BaselineMismatchError as exc:
            raise ConflictError(str(exc)) from None
        except SummaryError as exc:
            raise RecordError(str(exc)) from None
        item = SummaryBatch(model=model, summary=summary, arrived_at=arrived, key=key)
        await asyncio.wrap_future(part.queue.submit(item))
        part.metrics.records.labels(model, "summary").inc(summary.rows)
        return JSONResponse(
            {
                "model": model,
                "accepted": summary.rows,
                "sampled": len(summary.sample),
                "baseline_version": summary.baseline_version,
                "format": "summary",
                "window_start": part.store.window_start(arrived),
                "window_seconds": part.store.window_seconds,
                "sample_rate": part.store.sample_rate(item.merged[0] if item.merged else 0),
            }
        )
    except ClientError as exc:
        return _refuse(part, label, exc)


async def _take_outcomes(part: CollectorPart, model: str, request: Request) -> JSONResponse:
    """Outcomes without features, every ingest format: predictions (with their actuals,
    or ids for later ones), counted in the window of their arrival; or actuals alone
    (id + actual per row), joined with their predictions."""
    arrived = time.time()
    label = UNKNOWN_MODEL
    try:
        part.check_capacity()
        body = await read_body(request, part.settings.max_body_bytes)
        baseline = part.baseline(model)
        label = model
        quality = baseline.quality
        if quality is None:
            raise RecordError(
                f"model {model!r} has no outcome columns: create its baseline with target= "
                "and prediction= (and prediction_id= to send actuals later)"
            )
        parsed = await _parse(part, request, body, outcomes_spec(baseline), allow_unknown=False)
        table = parsed.table
        predictions = table.column(quality.prediction)
        if predictions.null_count < table.num_rows:
            _require(table, quality.prediction, "a prediction row needs its prediction")
            counted = await run_in_threadpool(count_outcomes, table, baseline)
            assert counted is not None
            item: PredictionOutcomes | OutcomeBatch = PredictionOutcomes(
                model, baseline.version, counted, arrived, table.num_rows
            )
            await asyncio.wrap_future(part.queue.submit(item))
            return JSONResponse(
                {
                    "model": model,
                    "predictions": table.num_rows,
                    "awaiting_actuals": len(counted.waiting),
                    "window_start": part.store.window_start(arrived),
                }
            )
        if quality.prediction_id is None:
            raise RecordError(
                f"model {model!r} has no prediction id column: create its baseline with "
                "prediction_id= to send actuals later"
            )
        _require(table, quality.prediction_id, "an actual needs the id of its prediction")
        _require(table, quality.target, "an actual needs its value")
        ids = table.column(quality.prediction_id).to_pylist()
        actuals = table.column(quality.target).to_pylist()
        item = OutcomeBatch(model, quality, tuple(map(str, ids)), tuple(actuals), arrived)
        if item.rows:
            await asyncio.wrap_future(part.queue.submit(item))
        report = item.report
        for result, n in (
            ("matched", report.matched),
            ("unknown_or_expired", len(report.unknown)),
            ("already_labelled", len(report.duplicate)),
        ):
            if n:
                part.metrics.actuals.labels(model, result).inc(n)
        return JSONResponse({"model": model, "received": item.rows, **report.to_dict()})
    except ClientError as exc:
        return _refuse(part, label, exc)


async def _parse(
    part: CollectorPart, request: Request, body: bytes, spec: BaselineSpec, allow_unknown: bool
) -> ParsedBatch:
    """The body in any records format, validated against ``spec`` (in a worker thread)."""
    return await run_in_threadpool(
        parse_records,
        body,
        request.headers.get("content-type"),
        spec,
        allow_unknown=allow_unknown,
        limits=part.limits,
        scanned=_scanned(request),
    )


def _require(table: pa.Table, column: str, why: str) -> None:
    """422 naming the first row where ``column`` is missing."""
    values = table.column(column)
    if values.null_count:
        row = values.to_pylist().index(None)
        raise RecordError(f"is missing: {why}", field=column, row=row)


IDEMPOTENCY_KEY = "Idempotency-Key"
_KEY_PATTERN = re.compile(r"[A-Za-z0-9._:\-]{1,200}")


def _idempotency_key(request: Request) -> str | None:
    """The recorder's key for this summary (merged once under it), or None; 422 if odd."""
    key = request.headers.get(IDEMPOTENCY_KEY)
    if key is None:
        return None
    if not _KEY_PATTERN.fullmatch(key):
        raise RecordError(
            f"{IDEMPOTENCY_KEY} {short(key)} must be 1-200 characters of letters, digits "
            "and . _ : -"
        )
    return key


def _read_summary(body: bytes, compressed: bool, part: CollectorPart) -> WindowSummary:
    """Inflate (bounded by collector.max_decoded_bytes) and read a summary; 422 if broken."""
    try:
        return from_wire(
            body, max_decoded_bytes=part.settings.max_decoded_bytes, compressed=compressed
        )
    except SummaryError as exc:
        raise RecordError(str(exc)) from None


def _scanned(request: Request) -> bool:
    """Admission held this JSON body to the depth and value limits already."""
    return bool(getattr(request.state, JSON_CHECKED, False))


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise FormatError(f"Content-Length {declared[:20]!r} is not a number") from None
        if size > limit:
            raise BodyTooLargeError(f"body of {size} bytes is over the limit of {limit} bytes")
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise BodyTooLargeError(f"body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _accept(
    part: CollectorPart, model: str, parsed: ParsedBatch, arrived: float, baseline: BaselineSpec
) -> JSONResponse:
    features, outcomes = await run_in_threadpool(
        lambda: (count_table(parsed.table, baseline), count_outcomes(parsed.table, baseline))
    )
    batch = Batch(
        model=model,
        table=parsed.table,
        arrived_at=arrived,
        baseline_version=baseline.version,
        features=features,
        outcomes=outcomes,
    )
    if batch.rows:
        await asyncio.wrap_future(part.queue.submit(batch))
    part.metrics.records.labels(model, parsed.format).inc(batch.rows)
    start = part.store.window_start(arrived)
    return JSONResponse(
        {
            "model": model,
            "accepted": batch.rows,
            "format": parsed.format,
            "window_start": start,
            "window_seconds": part.store.window_seconds,
        }
    )


def _refuse(part: CollectorPart, label: str, exc: ClientError) -> JSONResponse:
    reason = _REASONS.get(type(exc), "invalid")
    part.metrics.rejected.labels(label, reason).inc()
    headers = None
    if isinstance(exc, QueueFullError):
        headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse({"detail": exc.message}, status_code=exc.status_code, headers=headers)
