"""The OTel instruments the instrumentation records into, created from any ``MeterProvider``.

Only the OpenTelemetry API is used here: a no-op provider makes every record a no-op,
an SDK provider (see ``otel_setup``) makes it count. Bucket boundaries come from the
SDK views, not from here.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable, Mapping

from opentelemetry.metrics import CallbackOptions, Histogram, MeterProvider, Observation

from inferwatch import __version__
from inferwatch.exporters.instrumentation import names


class ActiveCounts:
    """In-flight counts by attribute set, read by an asynchronous UpDownCounter.

    Why not a synchronous ``UpDownCounter``: two SDK measurements per request cost
    tens of microseconds; a locked integer costs well under one, and the value is
    the same at every collection.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[Hashable, _Count] = {}

    def add(self, key: Hashable, attrs: Mapping[str, str], delta: int) -> None:
        """Move the count of ``key`` (whose attributes are ``attrs``) by ``delta``."""
        with self._lock:
            entry = self._counts.get(key)
            if entry is None:
                entry = self._counts[key] = _Count(dict(attrs))
            entry.value += delta

    def observe(self, options: CallbackOptions) -> Iterable[Observation]:
        """The instrument's callback: one observation per attribute set seen so far."""
        with self._lock:
            return [Observation(c.value, c.attrs) for c in self._counts.values()]


class _Count:
    __slots__ = ("attrs", "value")

    def __init__(self, attrs: dict[str, str]) -> None:
        self.attrs = attrs
        self.value = 0


class InferenceInstruments:
    """Every instrument, created once per provider and shared by middleware and spans."""

    def __init__(self, meter_provider: MeterProvider) -> None:
        meter = meter_provider.get_meter(names.METER_NAME, __version__)
        self.http_duration: Histogram = meter.create_histogram(
            names.HTTP_DURATION, unit="s", description="Duration of HTTP server requests."
        )
        self.http_active = ActiveCounts()
        meter.create_observable_up_down_counter(
            names.HTTP_ACTIVE,
            callbacks=[self.http_active.observe],
            unit="{request}",
            description="Number of active HTTP server requests.",
        )
        self.http_request_size: Histogram = meter.create_histogram(
            names.HTTP_REQUEST_BODY_SIZE,
            unit="By",
            description="Size of HTTP server request bodies.",
        )
        self.http_response_size: Histogram = meter.create_histogram(
            names.HTTP_RESPONSE_BODY_SIZE,
            unit="By",
            description="Size of HTTP server response bodies.",
        )
        self.inference_duration: Histogram = meter.create_histogram(
            names.INFERENCE_DURATION,
            unit="s",
            description="Time to run one inference (a request or a batch), by outcome.",
        )
        self.inference_active = ActiveCounts()
        meter.create_observable_up_down_counter(
            names.INFERENCE_ACTIVE,
            callbacks=[self.inference_active.observe],
            unit="{request}",
            description="Inferences running now.",
        )
        self.queue_duration: Histogram = meter.create_histogram(
            names.QUEUE_DURATION,
            unit="s",
            description="Time a request waited in the serving queue before inference began.",
        )
        self.queued = ActiveCounts()
        meter.create_observable_up_down_counter(
            names.QUEUED_REQUESTS,
            callbacks=[self.queued.observe],
            unit="{request}",
            description="Requests waiting in the serving queue now.",
        )
        self.batch_size: Histogram = meter.create_histogram(
            names.BATCH_SIZE,
            unit="{item}",
            description="Items in one inference batch.",
        )
        self.payload_size: Histogram = meter.create_histogram(
            names.INFERENCE_PAYLOAD_SIZE,
            unit="By",
            description="Size of an inference's input payload.",
        )
        self.gen_ai_duration: Histogram = meter.create_histogram(
            names.GEN_AI_REQUEST_DURATION,
            unit="s",
            description="Generative AI server request duration (to the last output token).",
        )
        self.time_to_first_token: Histogram = meter.create_histogram(
            names.TIME_TO_FIRST_TOKEN,
            unit="s",
            description="Time to generate the first token, for successful responses.",
        )
        self.time_per_output_token: Histogram = meter.create_histogram(
            names.TIME_PER_OUTPUT_TOKEN,
            unit="s",
            description="Time per output token after the first, for successful responses.",
        )
        self.token_usage: Histogram = meter.create_histogram(
            names.TOKEN_USAGE,
            unit="{token}",
            description="Input and output tokens per generative request (gen_ai.token.type).",
        )
