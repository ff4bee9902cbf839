"""GPM profiling and NVLink through the real pynvml wrappers on the fake driver's C ABI:
two samples per interval, unsupported and refusing devices, MIG instances, buffers
freed, and the blocking PCIe query rested where GPM gives PCIe rates."""

from __future__ import annotations

import logging
import re

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from inferwatch.exporters.gpu._nvml import PynvmlClient
from inferwatch.exporters.gpu._snapshot import GpuSampler
from inferwatch.exporters.gpu._types import GpmState, NvLinkError, Reading
from inferwatch.exporters.gpu.exporter import start_in_process
from inferwatch.exporters.gpu.settings import GpuSettings
from inferwatch.testing.nvml import (
    MIB,
    FakeGpu,
    FakeMig,
    FakeNvLink,
    FakeNvmlLib,
    private_pynvml,
)

NO_PERMISSION, UNKNOWN = 4, 999


class StepClock:
    """Advances by ``step`` seconds on every read (the fake driver's GPM clock)."""

    def __init__(self, step: float = 5.0) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def started(*gpus: FakeGpu) -> tuple[FakeNvmlLib, PynvmlClient]:
    lib = FakeNvmlLib(list(gpus), clock=StepClock())
    client = PynvmlClient(private_pynvml(lib))
    client.init()
    return lib, client


def read(client: PynvmlClient, index: int = 0, **options: bool) -> dict[Reading, float]:
    return dict(client.read_device(index, processes=False, mig=True, **options).values)


def test_first_pass_primes_and_the_second_gives_metrics_in_base_units() -> None:
    gpu = FakeGpu()
    gpu.gpm.update({2: 87.5, 3: 25.0, 5: 62.5, 7: 60.0, 10: 44.0, 13: 12.0, 60: 1024.0, 61: 512.0})
    lib, client = started(gpu)
    first = client.read_device(0, processes=False, mig=False)
    assert first.gpm is GpmState.SUPPORTED
    assert Reading.SM_ACTIVE not in first.values  # one sample: nothing to compute yet
    values = read(client)
    assert values[Reading.SM_ACTIVE] == 0.875
    assert values[Reading.SM_OCCUPANCY] == 0.25
    assert values[Reading.TENSOR_ANY] == 0.625
    assert values[Reading.TENSOR_HMMA] == 0.6
    assert values[Reading.DRAM_ACTIVE] == 0.44
    assert values[Reading.PIPE_FP16] == 0.12
    assert values[Reading.NVLINK_RX] == 1024 * MIB
    assert values[Reading.NVLINK_TX] == 512 * MIB
    assert lib.calls["nvmlGpmSampleAlloc"] == 2  # two buffers, reused every pass
    read(client)
    assert lib.calls["nvmlGpmSampleAlloc"] == 2
    assert lib.calls["nvmlGpmSampleGet"] == 3  # one sample per pass, not two


def test_metrics_span_the_interval_between_passes() -> None:
    gpu = FakeGpu()
    _, client = started(gpu)
    read(client)
    gpu.gpm[2] = 10.0  # the load drops during the next interval
    assert read(client)[Reading.SM_ACTIVE] == pytest.approx(0.10)
    gpu.gpm[2] = 90.0
    assert read(client)[Reading.SM_ACTIVE] == pytest.approx(0.90)


def test_pre_hopper_gpu_is_asked_once_and_reports_unsupported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "inferwatch.exporters.gpu")
    lib, client = started(FakeGpu(name="NVIDIA A100-SXM4-80GB", gpm_supported=False))
    for _ in range(4):
        reading = client.read_device(0, processes=False, mig=False)
    assert reading.gpm is GpmState.UNSUPPORTED
    assert Reading.SM_ACTIVE not in reading.values
    assert reading.groups["gpm"].ok  # a state, not a failure
    assert lib.calls["nvmlGpmQueryDeviceSupport"] == 1
    assert lib.calls["nvmlGpmSampleGet"] == 0
    assert len([r for r in caplog.records if "no GPM" in r.message]) == 1


def test_driver_that_refuses_gpm_is_reported_once_and_not_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "inferwatch.exporters.gpu")
    lib, client = started(FakeGpu(faults={"nvmlGpmSampleGet": NO_PERMISSION}))
    for _ in range(3):
        reading = client.read_device(0, processes=False, mig=False)
    assert reading.gpm is GpmState.REFUSED
    assert lib.calls["nvmlGpmSampleGet"] == 1
    assert lib.gpm_samples_allocated == 0  # the refused GPU's buffers were freed
    assert [r.message for r in caplog.records if "no GPM" in r.message] == [
        f"GPU {reading.info.uuid}: no GPM profiling metrics, refused "
        "(nvmlGpmSampleGet: no permission); see inferwatch_gpu_gpm_status"
    ]
    assert Reading.UTIL_GPU in reading.values  # the rest of the GPU still reads


def test_a_failing_gpm_call_fails_its_group_only() -> None:
    gpu = FakeGpu()
    _, client = started(gpu)
    read(client)
    gpu.faults["nvmlGpmSampleGet"] = UNKNOWN
    reading = client.read_device(0, processes=False, mig=False)
    assert reading.up and not reading.groups["gpm"].ok
    assert "gpm" in reading.groups["gpm"].error
    assert reading.gpm is GpmState.SUPPORTED
    assert Reading.MEMORY_USED in reading.values


def test_gpm_disabled_in_settings_reads_nothing() -> None:
    lib, client = started(FakeGpu())
    reading = client.read_device(0, processes=False, mig=False, gpm=False)
    assert reading.gpm is GpmState.DISABLED
    assert sum(n for name, n in lib.calls.items() if "Gpm" in name) == 0


def test_mig_instances_get_their_own_gpm_figures() -> None:
    gpu = FakeGpu(
        mig=[
            FakeMig("MIG-a", 1, 0, gpm={2: 20.0, 5: 10.0}),
            FakeMig("MIG-b", 2, 0, gpm={2: 70.0, 5: 50.0}),
        ]
    )
    lib, client = started(gpu)
    client.read_device(0, processes=False, mig=True)
    migs = client.read_device(0, processes=False, mig=True).mig
    assert [(m.uuid, m.values[Reading.SM_ACTIVE]) for m in migs] == [
        ("MIG-a", 0.2),
        ("MIG-b", 0.7),
    ]
    assert migs[1].values[Reading.TENSOR_ANY] == 0.5
    assert lib.calls["nvmlGpmMigSampleGet"] == 4
    gpu.mig.pop()  # an instance destroyed: its buffers go
    client.read_device(0, processes=False, mig=True)
    assert lib.gpm_samples_allocated == 4  # the GPU's pair and MIG-a's


def test_mig_gpu_whose_driver_refuses_the_whole_gpu_sample_still_gives_instances() -> None:
    gpu = FakeGpu(
        mig=[FakeMig("MIG-a", 1, 0, gpm={2: 20.0})],
        faults={"nvmlGpmSampleGet": 3},  # NOT_SUPPORTED for the whole GPU in MIG mode
    )
    lib, client = started(gpu)
    for _ in range(3):
        reading = client.read_device(0, processes=False, mig=True)
    assert reading.gpm is GpmState.SUPPORTED
    assert Reading.SM_ACTIVE not in reading.values
    assert reading.mig[0].values[Reading.SM_ACTIVE] == 0.2
    assert lib.calls["nvmlGpmSampleGet"] == 1  # asked once, not every pass
    assert lib.gpm_samples_allocated == 2  # the instance's pair only


def test_buffers_are_freed_on_shutdown() -> None:
    lib, client = started(FakeGpu(), FakeGpu(index=1))
    for index in (0, 1):
        read(client, index)
    assert lib.gpm_samples_allocated == 4
    client.shutdown()
    assert lib.gpm_samples_allocated == 0


def test_blocking_pcie_query_rests_where_gpm_gives_pcie() -> None:
    no_nvlink_pcie = FakeGpu(index=1)
    for metric in (20, 21):
        no_nvlink_pcie.gpm.pop(metric)
    lib = FakeNvmlLib([FakeGpu(index=0), no_nvlink_pcie], clock=StepClock())
    clock = StepClock()
    sampler = GpuSampler(
        PynvmlClient(private_pynvml(lib)),
        GpuSettings(interval_seconds=5, slow_interval_seconds=5),
        clock=clock,
    )
    sampler.sample_once()  # GPM primes: PCIe still from the blocking query
    assert lib.calls["nvmlDeviceGetPcieThroughput"] == 4
    snapshot = sampler.sample_once()
    assert lib.calls["nvmlDeviceGetPcieThroughput"] == 6  # only GPU 1, whose GPM has no PCIe
    assert snapshot.gpus[0].values[Reading.PCIE_TX] == 96 * MIB  # GPM's figure, not the stale one
    assert snapshot.gpus[1].values[Reading.PCIE_TX] == 1000 * 1024


def test_nvlink_state_and_error_counters_per_link() -> None:
    gpu = FakeGpu(nvlinks=[FakeNvLink(), FakeNvLink(active=False, errors={0: 4, 1: 1, 2: 9, 3: 2})])
    lib, client = started(gpu, FakeGpu(index=1))
    links = client.read_slow(0).nvlinks
    assert [(link.link, link.active) for link in links] == [(0, True), (1, False)]
    assert links[1].errors == {
        NvLinkError.REPLAY: 4,
        NvLinkError.RECOVERY: 1,
        NvLinkError.CRC_FLIT: 9,
        NvLinkError.CRC_DATA: 2,
    }
    assert client.read_slow(1).nvlinks == ()  # a PCIe card: no links, no error
    assert client.read_slow(1).groups["nvlink"].ok
    calls = lib.calls["nvmlDeviceGetNvLinkState"]
    client.read_slow(0)
    assert lib.calls["nvmlDeviceGetNvLinkState"] - calls == 2  # the link count is remembered


def test_exposition_in_both_modes_names_the_gpm_state() -> None:
    lib = FakeNvmlLib([FakeGpu(index=0), FakeGpu(index=1, gpm_supported=False)], clock=StepClock())
    for naming, sm_active in (
        ("inferwatch", "inferwatch_gpu_sm_active_ratio{"),
        ("dcgm", "DCGM_FI_PROF_SM_ACTIVE{"),
    ):
        registry = CollectorRegistry()
        handle = start_in_process(
            registry,
            GpuSettings(naming=naming),  # type: ignore[arg-type]
            client=PynvmlClient(private_pynvml(lib)),
            background=False,
        )
        try:
            handle.sampler.sample_once()
            text = generate_latest(registry).decode()
        finally:
            handle.stop()
        assert text.count(sm_active) == 1  # GPU 0 only
        assert re.search(
            r'inferwatch_gpu_gpm_status\{[^}]*gpu="1"[^}]*status="unsupported"[^}]*\} 1\.0', text
        )
