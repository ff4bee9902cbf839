"""The pynvml client against the fake driver at NVML's C ABI: the real pynvml
wrappers, ctypes structures and error classes run; only libnvidia-ml is fake."""

from __future__ import annotations

import pytest

from inferwatch.exporters.gpu._nvml import PynvmlClient
from inferwatch.exporters.gpu._types import NvmlLostError, NvmlUnavailableError, Reading, Status
from inferwatch.exporters.gpu.returns import NvmlReturn
from inferwatch.testing.nvml import (
    GIB,
    MIB,
    FakeGpu,
    FakeMig,
    FakeNvmlLib,
    private_pynvml,
)

NOT_SUPPORTED, TIMEOUT = NvmlReturn.NOT_SUPPORTED, NvmlReturn.TIMEOUT
UNKNOWN, DRIVER_NOT_LOADED = NvmlReturn.UNKNOWN, NvmlReturn.DRIVER_NOT_LOADED


def started(*gpus: FakeGpu, **lib_options: object) -> tuple[FakeNvmlLib, PynvmlClient]:
    lib = FakeNvmlLib(list(gpus), **lib_options)  # type: ignore[arg-type]
    client = PynvmlClient(private_pynvml(lib))
    client.init()
    return lib, client


def test_values_arrive_in_base_units() -> None:
    gpu = FakeGpu(
        util_gpu=73,
        util_memory=41,
        util_encoder=5,
        temperature=61,
        memory_temperature=70,
        power_mw=412_345,
        power_limit_mw=700_000,
        energy_mj=123_456_789,
        sm_clock_mhz=1755,
        memory_clock_mhz=2619,
        clock_event_reasons=0x4 | 0x40,
    )
    gpu.fields[94] = 7
    gpu.fields[4] = 2
    _, client = started(gpu)
    reading = client.read_device(0, processes=False, mig=False)
    values = {**reading.values, **client.read_slow(0).values}
    assert reading.up
    assert values[Reading.UTIL_GPU] == pytest.approx(0.73)
    assert values[Reading.UTIL_MEMORY_COPY] == pytest.approx(0.41)
    assert values[Reading.UTIL_ENCODER] == pytest.approx(0.05)
    assert values[Reading.TEMPERATURE] == 61
    assert values[Reading.MEMORY_TEMPERATURE] == 70
    assert values[Reading.POWER] == pytest.approx(412.345)
    assert values[Reading.POWER_LIMIT] == pytest.approx(700.0)
    assert values[Reading.ENERGY] == pytest.approx(123_456.789)
    assert values[Reading.SM_CLOCK] == pytest.approx(1755e6)
    assert values[Reading.MEMORY_CLOCK] == pytest.approx(2619e6)
    assert int(values[Reading.CLOCK_EVENT_REASONS]) == 0x44
    assert values[Reading.PCIE_REPLAY] == 7
    assert values[Reading.ECC_UNCORRECTED_VOLATILE] == 2
    assert reading.info.name == "NVIDIA H100 80GB HBM3"
    assert reading.info.uuid.startswith("GPU-")


def test_memory_uses_v2_so_used_excludes_reserved() -> None:
    gpu = FakeGpu(memory_total=80 * GIB, memory_reserved=600 * MIB, memory_used=10 * GIB)
    lib, client = started(gpu)
    values = client.read_device(0, processes=False, mig=False).values
    assert values[Reading.MEMORY_USED] == 10 * GIB
    assert values[Reading.MEMORY_RESERVED] == 600 * MIB
    assert values[Reading.MEMORY_FREE] == 80 * GIB - 600 * MIB - 10 * GIB
    assert lib.calls["nvmlDeviceGetMemoryInfo_v2"] == 1
    assert lib.calls["nvmlDeviceGetMemoryInfo"] == 0  # v1 would count reserved as used


def test_fields_are_read_in_one_batched_call_per_interval() -> None:
    lib, client = started(FakeGpu(), FakeGpu(index=1))
    for index in (0, 1):
        fast = client.read_device(index, processes=False, mig=False)
    assert lib.calls["nvmlDeviceGetFieldValues"] == 2  # one per GPU, all fast fields at once
    assert Reading.ECC_CORRECTED_VOLATILE in fast.values
    assert Reading.ENERGY not in fast.values  # ~4 ms of driver CPU: on the slow interval
    slow = client.read_slow(1)
    assert lib.calls["nvmlDeviceGetFieldValues"] == 3
    assert Reading.ENERGY in slow.values
    assert lib.calls["nvmlDeviceGetTotalEnergyConsumption"] == 0


def test_unsupported_field_drops_only_that_reading() -> None:
    gpu = FakeGpu(
        faults={"nvmlDeviceGetEncoderUtilization": NOT_SUPPORTED, "field:82": NOT_SUPPORTED}
    )
    _, client = started(gpu)
    reading = client.read_device(0, processes=False, mig=False)
    assert reading.up
    assert Reading.UTIL_ENCODER not in reading.values
    assert Reading.MEMORY_TEMPERATURE not in reading.values
    assert Reading.UTIL_DECODER in reading.values
    assert {"encoder", "memory_temperature"} <= reading.unsupported
    assert all(group.ok for group in reading.groups.values())


def test_failing_field_fails_its_group_but_not_the_gpu() -> None:
    gpu = FakeGpu(faults={"nvmlDeviceGetPowerUsage": UNKNOWN, "field:82": TIMEOUT})
    _, client = started(gpu)
    reading = client.read_device(0, processes=False, mig=False)
    assert reading.up
    assert not reading.groups["power"].ok
    assert "power" in reading.groups["power"].error
    assert Reading.POWER not in reading.values
    assert Reading.POWER_LIMIT in reading.values  # same group, other call
    assert not reading.groups["fields"].ok
    assert Reading.MEMORY_TEMPERATURE not in reading.values
    assert Reading.ECC_CORRECTED_VOLATILE in reading.values  # same batch, other field
    assert reading.groups["memory"].ok


def test_lost_gpu_is_down_and_the_others_still_read() -> None:
    lib, client = started(FakeGpu(index=0), FakeGpu(index=1))
    lib.gpus[1].lost = True
    assert client.read_device(0, processes=False, mig=False).up
    lost = client.read_device(1, processes=False, mig=False)
    assert not lost.up
    assert not lost.groups["device"].ok


def test_lost_library_raises_so_the_sampler_reinitialises() -> None:
    gpu = FakeGpu(faults={"nvmlDeviceGetMemoryInfo_v2": 1})  # UNINITIALIZED
    _, client = started(gpu)
    with pytest.raises(NvmlLostError):
        client.read_device(0, processes=False, mig=False)


def test_driver_reset_then_reinit_reads_again() -> None:
    lib, client = started(FakeGpu())
    assert client.read_device(0, processes=False, mig=False).up
    lib.driver_reset()
    assert not client.read_device(0, processes=False, mig=False).up
    client.shutdown()
    client.init()
    assert client.read_device(0, processes=False, mig=False).up


def test_no_driver_is_a_clear_unavailable_state() -> None:
    lib = FakeNvmlLib([], init_error=DRIVER_NOT_LOADED)
    client = PynvmlClient(private_pynvml(lib))
    with pytest.raises(NvmlUnavailableError, match="no NVIDIA driver/GPU found") as info:
        client.init()
    assert info.value.status is Status.NO_DRIVER


def test_missing_library_on_this_machine_says_no_driver() -> None:
    import ctypes.util

    if ctypes.util.find_library("nvidia-ml"):
        pytest.skip("this machine has libnvidia-ml")
    client = PynvmlClient(private_pynvml(None))
    with pytest.raises(NvmlUnavailableError) as info:
        client.init()
    assert info.value.status is Status.NO_DRIVER


def test_processes_named_from_nvml_or_proc(tmp_path: object) -> None:
    gpu = FakeGpu(processes=[(4242, "/usr/bin/python3", 3 * GIB), (77, "", GIB)])
    lib = FakeNvmlLib([gpu])
    from pathlib import Path

    proc = Path(str(tmp_path))
    (proc / "77").mkdir()
    (proc / "77" / "comm").write_text("vllm\n")
    client = PynvmlClient(private_pynvml(lib), proc_root=proc)
    client.init()
    procs = client.read_device(0, processes=True, mig=False).processes
    assert [(p.pid, p.name, p.used_bytes) for p in procs] == [
        (4242, "python3", 3 * GIB),
        (77, "vllm", GIB),
    ]


def test_mig_instances_are_read_when_mig_is_on() -> None:
    gpu = FakeGpu(mig=[FakeMig("MIG-aaa", 1, 0, 10 * GIB, 2 * GIB), FakeMig("MIG-bbb", 2, 0)])
    _, client = started(gpu, FakeGpu(index=1))
    migs = client.read_device(0, processes=False, mig=True).mig
    assert [(m.uuid, m.gpu_instance, m.memory_used) for m in migs] == [
        ("MIG-aaa", 1, 2 * GIB),
        ("MIG-bbb", 2, GIB),
    ]
    assert client.read_device(1, processes=False, mig=True).mig == ()


def test_pcie_throughput_is_a_separate_slow_read() -> None:
    lib, client = started(FakeGpu(pcie_tx_kbs=100, pcie_rx_kbs=300))
    client.read_device(0, processes=True, mig=True)
    assert lib.calls["nvmlDeviceGetPcieThroughput"] == 0
    values = client.read_slow(0).values
    assert values[Reading.PCIE_TX] == 100 * 1024
    assert values[Reading.PCIE_RX] == 300 * 1024


def test_xid_events_come_with_their_gpu_and_code() -> None:
    lib, client = started(FakeGpu(index=0), FakeGpu(index=1))
    client.xid_open()  # before any read: it looks the handles up itself
    assert client.xid_wait(10) is None
    lib.inject_xid(1, 79)
    lib.inject_xid(0, 48)
    assert client.xid_wait(100) == (1, 79)
    assert client.xid_wait(100) == (0, 48)
    client.xid_close()
