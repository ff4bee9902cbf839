"""The background sampler: slow reads off the scrape path, re-init after a driver
reset, no GPU as a state, Xid events counted, pod attribution isolated."""

from __future__ import annotations

import time
from collections.abc import Mapping

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from inferwatch.exporters.gpu._nvml import PynvmlClient
from inferwatch.exporters.gpu._snapshot import GpuSampler
from inferwatch.exporters.gpu._types import PodRef, Reading, Status
from inferwatch.exporters.gpu.exporter import start_in_process
from inferwatch.exporters.gpu.settings import GpuSettings
from inferwatch.testing.nvml import FakeGpu, FakeNvmlLib, private_pynvml


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sampler_on(
    lib: FakeNvmlLib, clock: Clock, **settings: object
) -> tuple[GpuSampler, PynvmlClient]:
    client = PynvmlClient(private_pynvml(lib))
    options: dict[str, object] = {"interval_seconds": 5, "slow_interval_seconds": 15}
    options.update(settings)
    return GpuSampler(client, GpuSettings.model_validate(options), clock=clock), client


def test_scrapes_never_call_nvml() -> None:
    lib = FakeNvmlLib([FakeGpu(index=i) for i in range(4)])
    registry = CollectorRegistry()
    handle = start_in_process(
        registry, GpuSettings(), client=PynvmlClient(private_pynvml(lib)), background=False
    )
    try:
        before = sum(lib.calls.values())
        for _ in range(5):
            text = generate_latest(registry).decode()
        assert sum(lib.calls.values()) == before
        assert text.count("inferwatch_gpu_up{") == 4
    finally:
        handle.stop()


def test_pcie_throughput_only_every_slow_interval() -> None:
    # pre-Hopper GPUs: no GPM, so PCIe comes from the blocking query
    gpus = [FakeGpu(index=i, gpm_supported=False) for i in (0, 1)]
    lib, clock = FakeNvmlLib(gpus), Clock()
    sampler, _ = sampler_on(lib, clock)
    sampler.sample_once()
    assert lib.calls["nvmlDeviceGetPcieThroughput"] == 4  # 2 GPUs x tx, rx
    for _ in range(2):
        clock.now += 5
        snapshot = sampler.sample_once()
    assert lib.calls["nvmlDeviceGetPcieThroughput"] == 4
    assert snapshot.gpus[0].values[Reading.PCIE_TX] == 1000 * 1024  # the last slow value
    clock.now += 5
    sampler.sample_once()
    assert lib.calls["nvmlDeviceGetPcieThroughput"] == 8
    assert lib.calls["nvmlDeviceGetMemoryInfo_v2"] == 8  # fast reads every pass


def test_driver_reset_reinitialises_nvml() -> None:
    lib, clock = FakeNvmlLib([FakeGpu(util_gpu=10)]), Clock()
    sampler, _ = sampler_on(lib, clock, reinit_backoff_seconds=30)
    assert sampler.sample_once().status is Status.OK
    lib.driver_reset()
    clock.now += 31
    lost = sampler.sample_once()
    assert not lost.gpus[0].up  # GPU_IS_LOST: down, and NVML is re-initialised
    assert lib.calls["nvmlShutdown"] == 1
    lib.gpus[0].util_gpu = 90
    clock.now += 5
    back = sampler.sample_once()
    assert back.status is Status.OK
    assert back.gpus[0].up
    assert back.gpus[0].values[Reading.UTIL_GPU] == pytest.approx(0.9)
    assert lib.calls["nvmlInitWithFlags"] == 2


def test_uninitialized_library_is_reinitialised_on_the_next_pass() -> None:
    lib, clock = FakeNvmlLib([FakeGpu()]), Clock()
    sampler, _ = sampler_on(lib, clock)
    sampler.sample_once()
    lib.initialised = False  # the driver forgot us: every call answers UNINITIALIZED
    clock.now += 5
    assert sampler.sample_once().status is Status.ERROR
    clock.now += 5
    assert sampler.sample_once().status is Status.OK


def test_no_gpu_is_a_state_with_a_message_and_a_backoff(caplog: pytest.LogCaptureFixture) -> None:
    lib, clock = FakeNvmlLib([]), Clock()
    sampler, _ = sampler_on(lib, clock, reinit_backoff_seconds=30)
    with caplog.at_level("WARNING", logger="inferwatch.exporters.gpu"):
        snapshot = sampler.sample_once()
        clock.now += 5
        sampler.sample_once()  # within the backoff: no new attempt, no new log line
    assert snapshot.status is Status.NO_GPU
    assert "no NVIDIA driver/GPU found" in snapshot.message
    assert not snapshot.read_groups["nvml"].success
    assert lib.calls["nvmlInitWithFlags"] == 1
    assert [r.message for r in caplog.records].count(snapshot.message) == 1
    lib.gpus.append(FakeGpu())
    clock.now += 30
    assert sampler.sample_once().status is Status.OK


def test_no_driver_then_driver_appears() -> None:
    lib, clock = FakeNvmlLib([FakeGpu()], init_error=12), Clock()  # LIBRARY_NOT_FOUND
    sampler, _ = sampler_on(lib, clock, reinit_backoff_seconds=10)
    assert sampler.sample_once().status is Status.NO_DRIVER
    lib.init_error = 0
    clock.now += 10
    assert sampler.sample_once().status is Status.OK


def test_one_failing_group_is_reported_per_read_group() -> None:
    lib, clock = FakeNvmlLib([FakeGpu(index=0), FakeGpu(index=1)]), Clock()
    lib.gpus[1].faults["nvmlDeviceGetClockInfo"] = 10  # TIMEOUT on one GPU
    sampler, _ = sampler_on(lib, clock)
    snapshot = sampler.sample_once()
    assert not snapshot.read_groups["clocks"].success
    assert snapshot.read_groups["memory"].success
    assert all(g.up for g in snapshot.gpus)
    assert Reading.SM_CLOCK in snapshot.gpus[0].values
    assert Reading.SM_CLOCK not in snapshot.gpus[1].values


class BrokenKubelet:
    def gpu_pods(self) -> Mapping[str, PodRef]:
        raise OSError("connection refused")


def test_failed_pod_attribution_keeps_the_metrics() -> None:
    lib, clock = FakeNvmlLib([FakeGpu()]), Clock()
    client = PynvmlClient(private_pynvml(lib))
    sampler = GpuSampler(client, GpuSettings(), pods=BrokenKubelet(), clock=clock)
    snapshot = sampler.sample_once()
    assert snapshot.status is Status.OK
    assert snapshot.gpus[0].up
    assert not snapshot.read_groups["pods"].success
    assert snapshot.pods == {}


def test_xid_events_are_counted_by_the_background_loop() -> None:
    lib = FakeNvmlLib([FakeGpu(index=0), FakeGpu(index=1)])
    settings = GpuSettings(interval_seconds=0.05, slow_interval_seconds=1)
    handle = start_in_process(None, settings, client=PynvmlClient(private_pynvml(lib)))
    try:
        lib.inject_xid(1, 79)
        lib.inject_xid(1, 79)
        lib.inject_xid(0, 13)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and sum(handle.snapshot().xid_counts.values()) < 3:
            time.sleep(0.02)
        snapshot = handle.snapshot()
        assert snapshot.xid_counts == {(1, 79): 2, (0, 13): 1}
        assert snapshot.last_xid == {1: 79, 0: 13}
        assert handle.snapshot_age_seconds() < 5
    finally:
        handle.stop()
        handle.stop()  # idempotent
    assert lib.calls["nvmlShutdown"] == 1
