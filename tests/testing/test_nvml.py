"""The pure conversions with hand-built ctypes structs, and the simulated-GPU mode."""

from __future__ import annotations

import ctypes

import pytest

from inferwatch.exporters.gpu._convert import (
    cuda_version_text,
    field_values,
    memory_values,
    utilization_values,
)
from inferwatch.exporters.gpu._nvml import PynvmlClient
from inferwatch.exporters.gpu._types import Reading
from inferwatch.testing.nvml import FakeNvmlLib, Simulation, private_pynvml, simulated_gpus

nvml = private_pynvml(None)  # only its struct definitions are used here


def test_memory_v2_struct() -> None:
    memory = nvml.c_nvmlMemory_v2_t()
    memory.total, memory.reserved, memory.used, memory.free = 100, 10, 30, 60
    assert memory_values(memory) == {
        Reading.MEMORY_TOTAL: 100.0,
        Reading.MEMORY_RESERVED: 10.0,
        Reading.MEMORY_USED: 30.0,
        Reading.MEMORY_FREE: 60.0,
    }


def test_utilization_struct_to_ratios() -> None:
    util = nvml.c_nvmlUtilization_t()
    util.gpu, util.memory = 99, 7
    assert utilization_values(util) == {
        Reading.UTIL_GPU: pytest.approx(0.99),
        Reading.UTIL_MEMORY_COPY: pytest.approx(0.07),
    }


def test_field_values_by_type_and_return_code() -> None:
    entries = (nvml.c_nvmlFieldValue_t * 4)()
    entries[0].fieldId, entries[0].valueType, entries[0].nvmlReturn = 83, 3, 0
    entries[0].value.ullVal = 2500  # mJ
    entries[1].fieldId, entries[1].valueType, entries[1].nvmlReturn = 82, 1, 0
    entries[1].value.uiVal = 71
    entries[2].fieldId, entries[2].nvmlReturn = 94, 3  # NOT_SUPPORTED
    entries[3].fieldId, entries[3].nvmlReturn = 3, 10  # TIMEOUT
    values, unsupported, failed = field_values(entries)
    assert values == {Reading.ENERGY: pytest.approx(2.5), Reading.MEMORY_TEMPERATURE: 71.0}
    assert unsupported == {"pcie_replay"}
    assert failed == {"ecc_corrected_volatile": 10}
    assert ctypes.sizeof(entries[0]) > 0


def test_cuda_version_text() -> None:
    assert cuda_version_text(12040) == "12.4"
    assert cuda_version_text(13000) == "13.0"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_simulation_moves_values_and_raises_xids() -> None:
    clock = Clock()
    lib = FakeNvmlLib(simulated_gpus(2), tick=Simulation(xid_interval_seconds=30, clock=clock))
    client = PynvmlClient(private_pynvml(lib))
    client.init()
    client.xid_open()
    seen_util, energies = set(), []
    for step in range(12):
        clock.now = step * 10.0
        values = client.read_device(0, processes=True, mig=False).values
        slow = client.read_slow(0).values
        seen_util.add(values[Reading.UTIL_GPU])
        energies.append(slow[Reading.ENERGY])
        assert 0 <= values[Reading.UTIL_GPU] <= 1
        assert 70 <= values[Reading.POWER] <= values[Reading.POWER_LIMIT]
        assert 0 < values[Reading.MEMORY_USED] < values[Reading.MEMORY_TOTAL]
    assert len(seen_util) > 5  # time-varying
    assert energies == sorted(energies) and energies[-1] > energies[0]  # a counter
    events = [client.xid_wait(1) for _ in range(5)]
    assert [e for e in events if e is not None]  # about one Xid per 30 s of simulated time
    links = [link for gpu in lib.gpus for link in gpu.nvlinks]
    assert len(links) == 2 * 18 and all(link.active for link in links)
    assert any(link.errors[2] > 0 for link in links)  # a flaky link's CRC errors, with the Xids
    gpm = client.read_device(0, processes=False, mig=False).values
    assert 0 <= gpm[Reading.SM_ACTIVE] <= 1 and Reading.TENSOR_ANY in gpm
