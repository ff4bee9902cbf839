"""Per-request cost of counting a request as waiting, against the usual alternatives.

inferwatch's ``enqueue()`` + ``leave()`` (a locked integer read by an asynchronous OTel
instrument at collection) against a ``prometheus_client`` Gauge ``inc()``/``dec()`` (what
vLLM's and SGLang's gauges cost) and an OTel SDK synchronous ``UpDownCounter`` ``add(+1)`` /
``add(-1)`` (the obvious OTel way). Each variant runs in this process, best of several
rounds of N pairs, rounds rotated; reported as nanoseconds per request and the ratio to
inferwatch.

    .venv/bin/python -m bench.queue_depth [--pairs 200000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from bench._drift_common import machine, markdown_table, write_results


def _inferwatch() -> Callable[[], None]:
    from prometheus_client import CollectorRegistry

    from inferwatch.exporters.instrumentation import instrument
    from inferwatch.exporters.instrumentation.settings import InstrumentationSettings

    instr = instrument(
        model="bench", model_version="1", settings=InstrumentationSettings(),
        registry=CollectorRegistry(),
    )  # fmt: skip

    def one() -> None:
        instr.enqueue().leave()

    return one


def _prometheus_client() -> Callable[[], None]:
    from prometheus_client import CollectorRegistry, Gauge

    gauge = Gauge("waiting", "w", ["model_name"], registry=CollectorRegistry())

    def one() -> None:
        child = gauge.labels("bench")
        child.inc()
        child.dec()

    return one


def _otel_sync() -> Callable[[], None]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    counter = provider.get_meter("bench").create_up_down_counter("waiting")
    attrs = {"model": "bench", "model_version": "1"}

    def one() -> None:
        counter.add(1, attrs)
        counter.add(-1, attrs)

    return one


VARIANTS: dict[str, Callable[[], Callable[[], None]]] = {
    "inferwatch enqueue()+leave()": _inferwatch,
    "prometheus_client Gauge inc()+dec()": _prometheus_client,
    "OTel SDK UpDownCounter add(+1)+add(-1)": _otel_sync,
}


def measure(pairs: int, rounds: int) -> dict[str, float]:
    """Best nanoseconds per request of each variant."""
    calls = {name: build() for name, build in VARIANTS.items()}
    best = {name: float("inf") for name in calls}
    names = list(calls)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            one = calls[name]
            start = time.perf_counter()
            for _ in range(pairs):
                one()
            best[name] = min(best[name], (time.perf_counter() - start) / pairs * 1e9)
    return best


def main(argv: list[str] | None = None) -> None:
    """Measure, print and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    best = measure(args.pairs, args.rounds)
    ours = best["inferwatch enqueue()+leave()"]
    rows = [[name, f"{ns:.0f}", f"{ns / ours:.2f}x"] for name, ns in best.items()]
    table = markdown_table(["variant", "ns per request", "vs inferwatch"], rows)
    text = (
        "## Queue depth counting (bench/queue_depth.py)\n\n"
        f"Machine: {machine()}. Best of {args.rounds} rounds of {args.pairs:,} requests, "
        "one thread, in process.\n\n" + table + "\n"
    )
    print(text)
    write_results("queue_depth", text)


if __name__ == "__main__":
    main()
