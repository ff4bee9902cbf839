"""One inference, timed: a context manager for any serving loop (HTTP or not).

``with instr.inference(batch_size=8) as span: ...; span.first_token(); span.tokens(output=n)``
records on exit: inference duration by outcome, in-flight count, queue time, batch
size, payload size and, when tokens were seen, the ``gen_ai.server.*`` instruments.
The clock is injectable (``time.perf_counter`` by default) so tests need no sleeps.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from inferwatch.exporters.instrumentation import names
from inferwatch.exporters.instrumentation._metrics import InferenceInstruments

Clock = Callable[[], float]


class InferenceSpan:
    """Measurements of one inference; records them all when the ``with`` block ends.

    Not thread-safe: one span belongs to one request's flow of control.
    """

    __slots__ = (
        "_active",
        "_attrs",
        "_clock",
        "_error_type",
        "_first_token_at",
        "_gen_ai_attrs",
        "_input_tokens",
        "_instruments",
        "_key",
        "_output_tokens",
        "_start",
        "batch_size",
        "payload_bytes",
        "queued_at",
    )

    def __init__(
        self,
        instruments: InferenceInstruments,
        attrs: dict[str, str],
        gen_ai_attrs: dict[str, Any],
        *,
        batch_size: int | None = None,
        queued_at: float | None = None,
        payload_bytes: int | None = None,
        clock: Clock = time.perf_counter,
    ) -> None:
        if batch_size is not None and batch_size < 0:
            raise ValueError(f"batch_size must be >= 0, got {batch_size}")
        if payload_bytes is not None and payload_bytes < 0:
            raise ValueError(f"payload_bytes must be >= 0, got {payload_bytes}")
        self._instruments = instruments
        self._attrs = attrs
        self._key = (attrs[names.MODEL], attrs[names.MODEL_VERSION])
        self._gen_ai_attrs = gen_ai_attrs
        self._clock = clock
        self.batch_size = batch_size
        self.queued_at = queued_at
        self.payload_bytes = payload_bytes
        self._start = 0.0
        self._active = False
        self._first_token_at: float | None = None
        self._input_tokens = 0
        self._output_tokens = 0
        self._error_type: str | None = None

    def __enter__(self) -> InferenceSpan:
        if self._active:
            raise RuntimeError("an InferenceSpan cannot be entered twice")
        self._active = True
        self._start = self._clock()
        self._instruments.inference_active.add(self._key, self._attrs, 1)
        return self

    def first_token(self) -> None:
        """Mark the first output token (the first call counts; later calls are ignored)."""
        if self._first_token_at is None:
            self._first_token_at = self._clock()

    def tokens(self, *, input: int = 0, output: int = 0) -> None:
        """Add token counts; output tokens without ``first_token()`` mark it now."""
        if input < 0 or output < 0:
            raise ValueError(f"token counts must be >= 0, got input={input}, output={output}")
        self._input_tokens += input
        self._output_tokens += output
        if output and self._first_token_at is None:
            self._first_token_at = self._clock()

    def fail(self, error_type: str) -> None:
        """Mark the inference failed without raising (e.g. a rejected request)."""
        self._error_type = error_type

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        end = self._clock()
        ins = self._instruments
        ins.inference_active.add(self._key, self._attrs, -1)
        self._active = False
        error_type = self._error_type or _error_name(exc_type)
        attrs = dict(self._attrs)
        attrs[names.OUTCOME] = "error" if error_type else "ok"
        if error_type:
            attrs[names.ERROR_TYPE] = error_type
        ins.inference_duration.record(end - self._start, attrs)
        if self.queued_at is not None:
            ins.queue_duration.record(max(self._start - self.queued_at, 0.0), self._attrs)
        if self.batch_size is not None:
            ins.batch_size.record(self.batch_size, self._attrs)
        if self.payload_bytes is not None:
            ins.payload_size.record(self.payload_bytes, self._attrs)
        if self._first_token_at is not None or self._input_tokens or self._output_tokens:
            self._record_generation(end, error_type)

    def _record_generation(self, end: float, error_type: str | None) -> None:
        """The gen_ai.server.* measures, timed from arrival (``queued_at``) when known:
        what the caller waited, queue included, unlike ``inferwatch.inference.duration``."""
        ins = self._instruments
        attrs = self._gen_ai_attrs
        arrived = min(self.queued_at, self._start) if self.queued_at is not None else self._start
        if error_type:
            ins.gen_ai_duration.record(end - arrived, {**attrs, names.ERROR_TYPE: error_type})
        else:
            ins.gen_ai_duration.record(end - arrived, attrs)
            if self._first_token_at is not None:
                ins.time_to_first_token.record(self._first_token_at - arrived, attrs)
                if self._output_tokens > 1:
                    per_token = (end - self._first_token_at) / (self._output_tokens - 1)
                    ins.time_per_output_token.record(per_token, attrs)
        if self._input_tokens:
            ins.token_usage.record(self._input_tokens, {**attrs, names.TOKEN_TYPE: "input"})
        if self._output_tokens:
            ins.token_usage.record(self._output_tokens, {**attrs, names.TOKEN_TYPE: "output"})


def _error_name(exc_type: type[BaseException] | None) -> str | None:
    """``error.type`` for an exception: its class name; an abandoned stream is ``cancelled``."""
    if exc_type is None:
        return None
    if issubclass(exc_type, (GeneratorExit, asyncio.CancelledError)):
        return "cancelled"
    return exc_type.__qualname__
