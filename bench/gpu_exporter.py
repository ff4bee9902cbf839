"""Scrape latency and CPU of the GPU exporter on 8 simulated GPUs, against plain prometheus-client.

The exporter runs on the fake NVML driver (``exporters.gpu.simulate``), so its
NVML reads cost Python calls into the fake rather than driver time; the real
driver's costs, measured once on an H200, are quoted in the results file.

The peer is a registry holding exactly the same series as plain ``Gauge`` and
``Counter`` objects (built from the exporter's own exposition), i.e. the cost of
prometheus-client itself for that many series. Scrapes alternate between the two
registries so machine noise falls on both.

    .venv/bin/python -m bench.gpu_exporter [--scrapes 400] [--passes 60]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from inferwatch.exporters.gpu.exporter import start_in_process
from inferwatch.exporters.gpu.settings import GpuSettings

RESULTS = Path(__file__).parent / "results" / "gpu_exporter.md"
REAL_DRIVER = """## Real driver (one NVIDIA H200, driver 580.159.04, CUDA 13.0; 16-core machine)

Measured once with `scripts/gpu_check.py` and a probe timing each NVML call (10
repetitions), before the energy and PCIe-replay fields moved to the slow pass (the same
reads, scheduled differently; the device was not lent again to re-measure after the move).

| NVML call, per GPU | cost | pass |
|---|---|---|
| `nvmlDeviceGetFieldValues` field 83 (total energy) | 4.0-4.9 ms, all CPU | slow |
| field 94 (PCIe replay counter) | 0.32 ms | slow |
| other fields (ECC, remapped rows, memory temperature) | 4-6 µs each | fast |
| `nvmlDeviceGetPcieThroughput` tx + rx | ~42 ms wall (~20 ms a direction) | slow |
| memory v2, utilization, processes | 3-11 µs each | fast |
| `nvmlDeviceGetMigMode` | 0.16 ms | fast |
| whole fast pass with energy still in it | 5.1-7.5 ms (6 ms CPU) | - |
| whole fast pass without it (sum of the calls above) | about 1 ms, estimated | - |
| a scrape (`generate_latest`), 1 GPU, 65 series | 0.70-0.81 ms median, p95 < 1.9 ms | - |

Estimate for 8 real GPUs: about 8 ms of CPU per fast pass (every 5 s) and about 40 ms of
CPU plus ~340 ms of blocking per slow pass (every 15 s): roughly 0.4 % of one core, all
off the scrape path.

Values against `nvidia-smi --query-gpu` read right after the pass, under a bf16 matmul
load holding 20 GB (all within tolerance):

| field | nvidia-smi | exporter |
|---|---|---|
| uuid, name, driver | GPU-1c24ded9-…, NVIDIA H200, 580.159.04 | identical |
| utilization.gpu / .memory (%) | 100 / 24 | 100.0 / 24.0 |
| memory.used / .total / .free (MiB) | 20213 / 143771 / 122944 | 20212.8 / 143771.0 / 122943.1 |
| temperature.gpu (°C) | 62 | 62.0 |
| power.draw / .limit (W) | 692.42 / 700.00 | 692.4 / 700.0 |
| clocks.sm / .mem (MHz) | 1485 / 3201 | 1485.0 / 3201.0 |
| pcie.link.gen.current | 5 | not exported |
"""
GPUS = 8
SCRAPE_INTERVAL = 15.0
GPM_FAMILIES = (
    "graphics_engine_active",
    "sm_active",
    "sm_occupancy",
    "tensor_active",
    "pipe_active",
    "dram_bandwidth",
    "nvlink_",
    "gpm_status",
)


def plain_registry(exposition: str) -> tuple[CollectorRegistry, int]:
    """Plain Gauges/Counters carrying the same series as ``exposition``."""
    registry = CollectorRegistry()
    series = 0
    for family in text_string_to_metric_families(exposition):
        if not family.samples:
            continue
        labels = sorted(family.samples[0].labels)
        if family.type == "counter":
            counter = Counter(family.name, family.documentation, labels, registry=registry)
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    counter.labels(**sample.labels).inc(sample.value)
                    series += 1
        else:
            gauge = Gauge(family.name, family.documentation, labels, registry=registry)
            for sample in family.samples:
                target = gauge.labels(**sample.labels) if labels else gauge
                target.set(sample.value)
                series += 1
    return registry, series


def timed(func: Callable[[], object], count: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of ``count`` calls."""
    walls, cpus = [], []
    for _ in range(count):
        wall, cpu = time.perf_counter(), time.process_time()
        func()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return walls, cpus


def _table(
    *,
    ours_wall: list[float],
    peer_wall: list[float],
    ours_cpu: list[float],
    peer_cpu: list[float],
    share: float,
    peer_share: float,
) -> str:
    med = statistics.median
    rows = [
        ("what", "inferwatch GPU exporter", "plain prometheus-client", "ratio"),
        ("---", "---", "---", "---"),
        (
            "scrape wall, median",
            f"{med(ours_wall) * 1e3:.3f} ms",
            f"{med(peer_wall) * 1e3:.3f} ms",
            f"{med(ours_wall) / med(peer_wall):.2f}x",
        ),
        (
            "scrape wall, p95",
            f"{p95(ours_wall) * 1e3:.3f} ms",
            f"{p95(peer_wall) * 1e3:.3f} ms",
            f"{p95(ours_wall) / p95(peer_wall):.2f}x",
        ),
        (
            "scrape CPU, mean",
            f"{statistics.mean(ours_cpu) * 1e3:.3f} ms",
            f"{statistics.mean(peer_cpu) * 1e3:.3f} ms",
            f"{statistics.mean(ours_cpu) / statistics.mean(peer_cpu):.2f}x",
        ),
        (
            f"share of one core at a {SCRAPE_INTERVAL:g} s scrape interval",
            f"{share * 100:.3f} % (loop + scrape)",
            f"{peer_share * 100:.3f} % (scrape only)",
            f"{share / peer_share:.1f}x",
        ),
    ]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def p95(values: list[float]) -> float:
    """The 95th percentile."""
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))]


def main() -> None:
    """Run the benchmark and write ``bench/results/gpu_exporter.md``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scrapes", type=int, default=400)
    parser.add_argument("--passes", type=int, default=60)
    # run as a module: its own argv; run by `python -m bench` (the runner): defaults
    args = parser.parse_args(sys.argv[1:] if __name__ == "__main__" else [])

    settings = GpuSettings(simulate=GPUS)
    registry = CollectorRegistry()
    handle = start_in_process(registry, settings, background=False)
    try:
        time.sleep(0.05)
        handle.sampler.sample_once()  # the second GPM sample: profiling figures from here on
        exposition = generate_latest(registry).decode()
        gpm_series = sum(
            1
            for line in exposition.splitlines()
            if not line.startswith("#") and any(f"inferwatch_gpu_{n}" in line for n in GPM_FAMILIES)
        )
        plain, series = plain_registry(exposition)
        ours_wall: list[float] = []
        ours_cpu: list[float] = []
        peer_wall: list[float] = []
        peer_cpu: list[float] = []
        off_registry = CollectorRegistry()
        off = start_in_process(
            off_registry, GpuSettings(simulate=GPUS, gpm=False, nvlink=False), background=False
        )
        off_series = len(
            [x for x in generate_latest(off_registry).decode().splitlines() if x[:1] != "#"]
        )
        off_cpu: list[float] = []
        for _ in range(args.scrapes // 20):  # interleave in blocks of 20
            w, c = timed(lambda: generate_latest(registry), 20)
            ours_wall += w
            ours_cpu += c
            w, c = timed(lambda: generate_latest(plain), 20)
            peer_wall += w
            peer_cpu += c
            off_cpu += timed(lambda: generate_latest(off_registry), 20)[1]
        off.stop()
        client = handle.sampler.client
        fast_wall, fast_cpu = timed(
            lambda: [client.read_device(i, processes=True, mig=True) for i in range(GPUS)],
            args.passes,
        )
        slow_wall, slow_cpu = timed(
            lambda: [client.read_slow(i) for i in range(GPUS)], max(5, args.passes // 3)
        )
    finally:
        handle.stop()

    ours_ms = statistics.median(ours_wall) * 1e3
    ours_cpu_ms = statistics.median(ours_cpu) * 1e3
    scrape_cpu, peer_scrape_cpu = statistics.mean(ours_cpu), statistics.mean(peer_cpu)
    fast, slow = statistics.median(fast_cpu), statistics.median(slow_cpu)
    per_window = (
        SCRAPE_INTERVAL / settings.interval_seconds * fast
        + SCRAPE_INTERVAL / settings.slow_interval_seconds * slow
        + scrape_cpu
    )
    share = per_window / SCRAPE_INTERVAL
    peer_share = peer_scrape_cpu / SCRAPE_INTERVAL
    table = _table(
        ours_wall=ours_wall,
        peer_wall=peer_wall,
        ours_cpu=ours_cpu,
        peer_cpu=peer_cpu,
        share=share,
        peer_share=peer_share,
    )
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = f"""# Benchmark: GPU exporter scrape latency and CPU

`.venv/bin/python -m bench.gpu_exporter --scrapes {args.scrapes} --passes {args.passes}`
(run {when}; {platform.python_implementation()} {platform.python_version()},
{os.cpu_count()} CPU cores shared with other work, no GPU: {GPUS} simulated GPUs on the
fake NVML driver, default settings: fast pass every {settings.interval_seconds:g} s,
slow pass every {settings.slow_interval_seconds:g} s, one scrape every {SCRAPE_INTERVAL:g} s)

GPM on (the simulated GPUs are H100s with 18 NVLinks each): {gpm_series} of the series are
GPM profiling, NVLink and GPM-status series.

Peer: plain prometheus-client, a registry holding the same {series} series as plain
`Gauge`/`Counter` objects. Scrapes (`generate_latest`) alternate between the two in
blocks of 20.

{table}

- the same exporter with GPM and NVLink off (`gpm: false`, `nvlink: false`, {off_series}
  series), scraped in the same run: {statistics.median(off_cpu) * 1e3:.2f} ms median CPU
  ({statistics.median(ours_cpu) / statistics.median(off_cpu):.2f}x of that with them on,
  for {series / off_series:.2f}x the series)
- background fast pass over {GPUS} GPUs (fake driver): median {fast * 1e3:.2f} ms CPU,
  {statistics.median(fast_wall) * 1e3:.2f} ms wall
- background slow pass over {GPUS} GPUs (fake driver): median {slow * 1e3:.2f} ms CPU,
  {statistics.median(slow_wall) * 1e3:.2f} ms wall
- aim: a scrape under 5 ms — by CPU **{"met" if ours_cpu_ms < 5 else "missed"}**
  ({ours_cpu_ms:.2f} ms median CPU), by wall {"met" if ours_ms < 5 else "missed"}
  ({ours_ms:.2f} ms median wall; wall time on this shared 2-core machine is mostly
  waiting for a core, as the plain peer's wall time shows);
  under 1% of a core at a 15 s scrape interval — **{"met" if share < 0.01 else "missed"}**
  ({share * 100:.3f} %)
- scrapes never call NVML: they build fresh metric families from the last snapshot, so
  the scrape cost is prometheus-client's own exposition plus building the families.

{REAL_DRIVER}
"""
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
