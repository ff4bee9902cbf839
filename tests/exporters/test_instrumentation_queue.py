"""Queue depth and queue time in the instrumentation, read back as Prometheus shows them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from inferwatch.exporters.instrumentation import Instrumentation, instrument
from inferwatch.exporters.instrumentation.settings import InstrumentationSettings
from inferwatch.testing.instrumentation import ManualClock, value

QUEUED = "inferwatch_inference_queued_requests"
QUEUE_TIME = "inferwatch_inference_queue_duration_seconds"
ENGINES = Path(__file__).resolve().parents[2] / "alerts" / "recording" / "engines.yaml"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def instr(registry: CollectorRegistry, clock: ManualClock) -> Iterator[Instrumentation]:
    setup = instrument(
        model="llm",
        model_version="2",
        settings=InstrumentationSettings(),
        registry=registry,
        clock=clock,
    )
    yield setup
    setup.shutdown()


def test_batch_takes_waiting_requests_out_of_the_queue_and_records_each_wait(
    instr: Instrumentation, registry: CollectorRegistry, clock: ManualClock
) -> None:
    tickets = [instr.enqueue()]
    clock.advance(0.5)
    tickets += [instr.enqueue(), instr.enqueue()]
    other = instr.enqueue(model="embedder")
    assert value(registry, QUEUED, model="llm", model_version="2") == 3
    assert value(registry, QUEUED, model="embedder") == 1
    clock.advance(0.25)
    with instr.batch(tickets):
        assert value(registry, QUEUED, model="llm") == 0
        clock.advance(1.0)
    assert value(registry, f"{QUEUE_TIME}_count", model="llm") == 3
    assert value(registry, f"{QUEUE_TIME}_sum", model="llm") == pytest.approx(0.75 + 0.25 + 0.25)
    assert value(registry, "inferwatch_inference_batch_size_sum", model="llm") == 3
    assert value(registry, QUEUED, model="embedder") == 1
    other.leave()
    other.leave()  # twice is once
    assert value(registry, QUEUED, model="embedder") == 0


def test_a_streaming_request_leaves_the_queue_when_its_inference_starts(
    instr: Instrumentation, registry: CollectorRegistry, clock: ManualClock
) -> None:
    ticket = instr.enqueue(model="chat")
    clock.advance(2.0)
    with instr.inference(ticket=ticket) as span:
        assert value(registry, QUEUED, model="chat") == 0
        clock.advance(0.5)
        span.tokens(output=3)
    assert value(registry, f"{QUEUE_TIME}_sum", model="chat") == pytest.approx(2.0)
    # gen_ai timings count from arrival, queue included
    ttft = value(registry, "gen_ai_server_time_to_first_token_seconds_sum", model="chat")
    assert ttft == pytest.approx(2.5)


def test_an_empty_batch_is_refused(instr: Instrumentation) -> None:
    with pytest.raises(ValueError, match="at least one"):
        instr.batch([])


def test_the_queue_gauge_has_the_name_the_engine_adapters_write() -> None:
    assert f"record: {QUEUED}\n" in ENGINES.read_text()
