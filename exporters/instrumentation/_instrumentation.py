"""Inference instrumentation in two lines: latency, throughput and tokens via OpenTelemetry.

    from inferwatch.exporters.instrumentation import instrument
    instrument(app, model="fraud", model_version="3")

adds the HTTP middleware and ``/metrics`` to a FastAPI/Starlette app. Any other serving
loop (a batcher, a gRPC servicer, a generation loop) uses ``inference()``::

    with inference(batch_size=len(batch), queued_at=enqueued) as span:
        for token in generate(batch):
            span.tokens(output=1)

or the ``track_request`` / ``track_generation`` decorators. Recording goes through
the OTel API only. Each ``instrument()`` call wires its own SDK pipeline (``otel_setup``)
on an injected registry, or records into a ``meter_provider`` it is given; the OTel
process-global provider is never set, so tests and several apps in a process stay apart.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast, overload

from opentelemetry.metrics import MeterProvider, NoOpMeterProvider
from prometheus_client import REGISTRY, CollectorRegistry, make_asgi_app

from inferwatch.errors import ConfigError
from inferwatch.exporters.gpu.settings import GpuSettings
from inferwatch.exporters.instrumentation import names
from inferwatch.exporters.instrumentation._asgi import InstrumentationMiddleware
from inferwatch.exporters.instrumentation._metrics import InferenceInstruments
from inferwatch.exporters.instrumentation._queue import QueueTicket
from inferwatch.exporters.instrumentation._span import Clock, InferenceSpan
from inferwatch.exporters.instrumentation.settings import InstrumentationSettings
from inferwatch.exporters.otel_setup import MetricsPipeline, build_pipeline
from inferwatch.exporters.recorder.settings import RecorderSettings

if TYPE_CHECKING:  # the lean install has no starlette: an app passed in brings its own
    from starlette.applications import Starlette
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "InferenceSpan",
    "Instrumentation",
    "QueueTicket",
    "current",
    "inference",
    "instrument",
    "track_generation",
    "track_request",
]

log = logging.getLogger("inferwatch.exporters.instrumentation")
F = TypeVar("F", bound=Callable[..., Any])
GPU_MODULE = "inferwatch.exporters.gpu.exporter"
RECORDER_MODULE = "inferwatch.exporters.recorder"


class Stoppable(Protocol):
    """What the in-process GPU exporter hands back."""

    def stop(self) -> None:
        """Stop its background work."""
        ...


class Instrumentation:
    """What ``instrument()`` set up: instruments, the SDK pipeline it owns, optional parts."""

    def __init__(
        self,
        settings: InstrumentationSettings,
        *,
        model: str,
        model_version: str,
        meter_provider: MeterProvider,
        registry: CollectorRegistry,
        pipeline: MetricsPipeline | None = None,
        recorder: Any = None,
        owns_recorder: bool = False,
        gpu_settings: GpuSettings | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.model = model
        self.model_version = model_version
        self.meter_provider = meter_provider
        self.registry = registry
        self.pipeline = pipeline
        self.recorder = recorder
        self._owns_recorder = owns_recorder
        self.gpu_settings = gpu_settings
        self.gpu: Stoppable | None = None
        self.instruments = InferenceInstruments(meter_provider)
        self._clock = clock
        self._gen_ai_extra: dict[str, str] = {names.GEN_AI_OPERATION: settings.gen_ai_operation}
        if settings.gen_ai_provider:
            self._gen_ai_extra[names.GEN_AI_PROVIDER] = settings.gen_ai_provider

    def inference(
        self,
        *,
        model: str | None = None,
        model_version: str | None = None,
        batch_size: int | None = None,
        queued_at: float | None = None,
        payload_bytes: int | None = None,
        operation: str | None = None,
        ticket: QueueTicket | None = None,
    ) -> InferenceSpan:
        """A span for one inference; use as ``with ... as span``.

        ``queued_at`` is the ``time.perf_counter()`` reading when the request entered
        the queue, or pass the ``ticket`` from ``enqueue()``: the request leaves the
        queue now and its wait is recorded; ``operation`` overrides
        ``gen_ai.operation.name`` for this call.
        """
        if ticket is not None:
            queued_at = ticket.leave()
            model = model or ticket.attributes[names.MODEL]
            model_version = model_version or ticket.attributes[names.MODEL_VERSION]
        attrs = {
            names.MODEL: model or self.model,
            names.MODEL_VERSION: model_version or self.model_version,
        }
        gen_ai_attrs = {**attrs, **self._gen_ai_extra}
        if operation:
            gen_ai_attrs[names.GEN_AI_OPERATION] = operation
        kwargs: dict[str, Any] = {}
        if self._clock is not None:
            kwargs["clock"] = self._clock
        return InferenceSpan(
            self.instruments,
            attrs,
            gen_ai_attrs,
            batch_size=batch_size,
            queued_at=queued_at,
            payload_bytes=payload_bytes,
            **kwargs,
        )

    def enqueue(self, *, model: str | None = None, model_version: str | None = None) -> QueueTicket:
        """Count a request as waiting (``inferwatch_inference_queued_requests``) until it
        leaves through ``inference(ticket=...)`` or ``batch(...)``."""
        attrs = {
            names.MODEL: model or self.model,
            names.MODEL_VERSION: model_version or self.model_version,
        }
        key = (attrs[names.MODEL], attrs[names.MODEL_VERSION])
        return QueueTicket(self.instruments.queued, key, attrs, self._clock or time.perf_counter)

    def batch(self, tickets: Sequence[QueueTicket], **span_kwargs: Any) -> InferenceSpan:
        """A span for one batch of queued requests: they all leave the queue now, each
        wait is recorded as a queue time, and the batch size is ``len(tickets)``."""
        if not tickets:
            raise ValueError("batch() needs at least one queued request")
        clock = self._clock or time.perf_counter
        now = clock()
        for ticket in tickets:
            arrived = ticket.leave()
            self.instruments.queue_duration.record(max(now - arrived, 0.0), ticket.attributes)
        first = tickets[0].attributes
        span_kwargs.setdefault("model", first[names.MODEL])
        span_kwargs.setdefault("model_version", first[names.MODEL_VERSION])
        return self.inference(batch_size=len(tickets), **span_kwargs)

    def middleware(self, app: ASGIApp) -> InstrumentationMiddleware:
        """Wrap any ASGI app (for servers that are not Starlette apps)."""
        excluded = list(self.settings.excluded_routes)
        if self.settings.metrics_path:
            excluded.append(self.settings.metrics_path)
        return InstrumentationMiddleware(
            app,
            instruments=self.instruments,
            model=self.model,
            model_version=self.model_version,
            excluded_routes=excluded,
            record_body_size=self.settings.record_body_size,
        )

    def start_gpu(self) -> None:
        """Start the GPU exporter in-process on this registry (lazy import; once)."""
        if self.gpu is not None:
            return
        try:
            module = importlib.import_module(GPU_MODULE)
        except ImportError as exc:
            raise ConfigError(
                f"gpu=True needs {GPU_MODULE}, which cannot be imported: {exc}"
            ) from exc
        self.gpu = module.start_in_process(self.registry, self.gpu_settings or GpuSettings())

    def shutdown(self) -> None:
        """Stop what this set-up started (GPU exporter, recorder it built, SDK pipeline).

        Idempotent; a part that fails to stop is logged and the others still stop.
        """
        gpu, self.gpu = self.gpu, None
        if gpu is not None:
            try:
                gpu.stop()
            except Exception:
                log.exception("the in-process GPU exporter failed to stop")
        if self._owns_recorder and self.recorder is not None:
            self._owns_recorder = False
            try:
                self.recorder.close()
            except Exception:
                log.exception("the prediction recorder failed to close")
        pipeline, self.pipeline = self.pipeline, None
        if pipeline is not None:
            pipeline.shutdown()
            _exposed.discard(self.registry)

    def track_request(self, func: F | None = None, /, **span_kwargs: Any) -> Any:
        """Decorator: one inference span per call of a sync or async function."""
        return _decorate(lambda: self, func, span_kwargs, generation=False)

    def track_generation(self, func: F | None = None, /, **span_kwargs: Any) -> Any:
        """Decorator for (async) generators: first yield = first token, each item = a token."""
        return _decorate(lambda: self, func, span_kwargs, generation=True)


_current: Instrumentation | None = None
_exposed: weakref.WeakSet[CollectorRegistry] = weakref.WeakSet()
"""Registries an active set-up's Prometheus reader publishes on (a second would duplicate)."""


def current() -> Instrumentation:
    """The instrumentation the last ``instrument()`` call set up."""
    if _current is None:
        raise ConfigError(
            "inferwatch instrumentation is not set up; call "
            "inferwatch.exporters.instrumentation.instrument(...) at start-up"
        )
    return _current


def inference(**span_kwargs: Any) -> InferenceSpan:
    """``current().inference(...)``: a span for one inference in any serving loop."""
    return current().inference(**span_kwargs)


@overload
def track_request(func: F, /) -> F: ...
@overload
def track_request(func: None = None, /, **span_kwargs: Any) -> Callable[[F], F]: ...
def track_request(func: F | None = None, /, **span_kwargs: Any) -> Any:
    """Decorator: one inference span per call (resolved at call time, so it may be
    applied before ``instrument()`` runs)."""
    return _decorate(current, func, span_kwargs, generation=False)


@overload
def track_generation(func: F, /) -> F: ...
@overload
def track_generation(func: None = None, /, **span_kwargs: Any) -> Callable[[F], F]: ...
def track_generation(func: F | None = None, /, **span_kwargs: Any) -> Any:
    """Decorator for a (async) generator of tokens: the first item is the first token and
    every item counts as one output token, unless ``count=`` maps an item to its tokens."""
    return _decorate(current, func, span_kwargs, generation=True)


def _decorate(
    get: Callable[[], Instrumentation],
    func: F | None,
    span_kwargs: dict[str, Any],
    *,
    generation: bool,
) -> Any:
    count: Callable[[Any], int] = span_kwargs.pop("count", None) or (lambda _item: 1)

    def wrap(fn: F) -> F:
        if generation and inspect.isasyncgenfunction(fn):

            @functools.wraps(fn)
            async def agen(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
                with get().inference(**span_kwargs) as span:
                    async for item in fn(*args, **kwargs):
                        span.tokens(output=count(item))
                        yield item

            return cast(F, agen)
        if generation:
            if not inspect.isgeneratorfunction(fn):
                raise TypeError(f"track_generation needs a generator function, got {fn!r}")

            @functools.wraps(fn)
            def gen(*args: Any, **kwargs: Any) -> Iterator[Any]:
                with get().inference(**span_kwargs) as span:
                    for item in fn(*args, **kwargs):
                        span.tokens(output=count(item))
                        yield item

            return cast(F, gen)
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def coro(*args: Any, **kwargs: Any) -> Any:
                with get().inference(**span_kwargs):
                    return await fn(*args, **kwargs)

            return cast(F, coro)

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            with get().inference(**span_kwargs):
                return fn(*args, **kwargs)

        return cast(F, call)

    return wrap(func) if func is not None else wrap


class _AsgiEndpoint:
    """Serve an ASGI app at an exact path (no ``/metrics/`` redirect)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def instrument(
    app: Starlette | None = None,
    *,
    model: str | None = None,
    model_version: str | None = None,
    settings: InstrumentationSettings | None = None,
    registry: CollectorRegistry | None = None,
    meter_provider: MeterProvider | None = None,
    gpu: bool | None = None,
    gpu_settings: GpuSettings | None = None,
    recorder: Any = None,
    recorder_settings: RecorderSettings | None = None,
    clock: Clock | None = None,
) -> Instrumentation:
    """Set up instrumentation once, at start-up, and make it ``current()``.

    Args:
        app: a FastAPI/Starlette app to add the middleware (and ``/metrics``) to; None
            for a serving loop that only uses ``inference()`` and the decorators.
        model, model_version: the ``model`` / ``model_version`` attributes (else settings).
        settings: defaults to ``exporters.instrumentation`` of the loaded inferwatch
            settings (YAML file and ``INFERWATCH_EXPORTERS__INSTRUMENTATION__*``).
        registry: where the Prometheus reader and ``/metrics`` live (default: the
            ``prometheus_client`` global registry, so the server's own metrics show too).
        meter_provider: an OTel provider to record into instead of building one from
            settings; the caller then owns its readers and its shutdown.
        gpu: start the GPU exporter in-process on ``registry`` (default: settings.gpu).
        recorder: an already-built prediction recorder, kept as ``.recorder`` for the
            serving code (``instrumentation.recorder.record(...)``); the caller closes it.
        recorder_settings: build a ``PredictionRecorder`` from these on ``registry``
            instead (lazy import); ``shutdown()`` closes it.
        clock: replaces ``time.perf_counter`` in spans (tests).

    Example:
        >>> from fastapi import FastAPI
        >>> from prometheus_client import CollectorRegistry
        >>> instr = instrument(FastAPI(), model="fraud", model_version="3",
        ...                    settings=InstrumentationSettings(), registry=CollectorRegistry())
        >>> with instr.inference(batch_size=4):
        ...     pass
        >>> instr.shutdown()
    """
    global _current
    if settings is None:
        from inferwatch.settings import load_settings

        settings = load_settings().exporters.instrumentation
    model = model or settings.model
    if not model:
        raise ConfigError(
            "instrument() needs a model name: pass model=... or set "
            "INFERWATCH_EXPORTERS__INSTRUMENTATION__MODEL"
        )
    registry = registry if registry is not None else REGISTRY
    pipeline = _pipeline(settings, registry) if meter_provider is None else None
    owns_recorder = recorder is None and recorder_settings is not None
    if recorder_settings is not None and owns_recorder:
        try:
            recorder = _build_recorder(recorder_settings, registry)
        except BaseException:
            if pipeline is not None:
                pipeline.shutdown()
                _exposed.discard(registry)
            raise
    instrumentation = Instrumentation(
        settings,
        model=model,
        model_version=model_version or settings.model_version or "unknown",
        meter_provider=pipeline.meter_provider
        if pipeline
        else meter_provider or NoOpMeterProvider(),
        registry=registry,
        pipeline=pipeline,
        recorder=recorder,
        owns_recorder=owns_recorder,
        gpu_settings=gpu_settings,
        clock=clock,
    )
    want_gpu = settings.gpu if gpu is None else gpu
    try:
        if app is not None and settings.enabled:
            _attach(app, instrumentation, want_gpu)
        elif want_gpu:
            instrumentation.start_gpu()
    except BaseException:
        instrumentation.shutdown()
        raise
    _current = instrumentation
    return instrumentation


def _pipeline(
    settings: InstrumentationSettings, registry: CollectorRegistry
) -> MetricsPipeline | None:
    """The SDK pipeline for these settings (None when disabled); one per registry."""
    if not settings.enabled:
        return None
    if settings.prometheus and registry in _exposed:
        raise ConfigError(
            "instrument() already publishes on this registry; call shutdown() on the "
            "earlier Instrumentation first (or pass another registry)"
        )
    pipeline = build_pipeline(settings, registry)
    if pipeline.prometheus_reader is not None:
        _exposed.add(registry)
    return pipeline


def _build_recorder(settings: RecorderSettings, registry: CollectorRegistry) -> Any:
    try:
        module = importlib.import_module(RECORDER_MODULE)
    except ImportError as exc:
        raise ConfigError(
            f"recorder_settings needs {RECORDER_MODULE}, which cannot be imported: {exc}"
        ) from exc
    return module.PredictionRecorder.from_settings(settings, registry=registry)


def _attach(app: Starlette, instrumentation: Instrumentation, gpu: bool) -> None:
    """Add the middleware, ``/metrics`` and the start/stop of optional parts to ``app``."""
    from starlette.routing import Route  # the app is a Starlette one, so starlette is there

    settings = instrumentation.settings
    app.add_middleware(instrumentation.middleware)
    if settings.metrics_path:
        endpoint = _AsgiEndpoint(make_asgi_app(registry=instrumentation.registry))
        app.router.routes.append(Route(settings.metrics_path, endpoint))
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: Any) -> AsyncIterator[Any]:
        if gpu:
            instrumentation.start_gpu()
        try:
            async with cast(AbstractAsyncContextManager[Any], inner(app_)) as state:
                yield state
        finally:
            instrumentation.shutdown()

    app.router.lifespan_context = lifespan
