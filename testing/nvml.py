# ruff: noqa: N802
"""A fake NVIDIA driver at NVML's C ABI, for tests and the simulated-GPU mode.

``pynvml`` looks every C function up by name on its loaded library object
(``pynvml.nvmlLib``, via ``_nvmlGetFunctionPointer``) and calls it with ctypes
arguments. ``FakeNvmlLib`` is that object: its methods carry the C names and fill
the ctypes structures through the pointers they are given, returning
``nvmlReturn_t`` codes. So the real ``pynvml`` wrappers, structs and error
classes all run; only the shared library is replaced.

``private_pynvml(lib)`` loads a private copy of the ``pynvml`` module with the
fake installed, leaving the process's real ``pynvml`` untouched.
"""

from __future__ import annotations

import ctypes
import importlib.util
import itertools
import math
import random
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from inferwatch.exporters.gpu.returns import NvmlReturn
from inferwatch.testing._nvml_gpm import FakeGpmMixin, FakeNvLink, GpmCounters, default_gpm

__all__ = ["FakeGpu", "FakeMig", "FakeNvLink", "FakeNvmlLib", "Simulation", "private_pynvml"]

GIB = 1024**3
MIB = 1024**2
SUCCESS, UNINITIALIZED = NvmlReturn.SUCCESS, NvmlReturn.UNINITIALIZED
INVALID_ARGUMENT, NOT_SUPPORTED = NvmlReturn.INVALID_ARGUMENT, NvmlReturn.NOT_SUPPORTED
NOT_FOUND, INSUFFICIENT_SIZE = NvmlReturn.NOT_FOUND, NvmlReturn.INSUFFICIENT_SIZE
TIMEOUT, GPU_IS_LOST = NvmlReturn.TIMEOUT, NvmlReturn.GPU_IS_LOST
XID_EVENT = 0x8
_VALUE_TYPE_ULL = 3
_private_ids = itertools.count()


@dataclass
class FakeMig:
    """One MIG instance of a fake GPU."""

    uuid: str
    gpu_instance: int
    compute_instance: int
    memory_total: int = 10 * GIB
    memory_used: int = 1 * GIB
    gpm: dict[int, float] = field(default_factory=default_gpm)
    """GPM rates of the instance by metric id (percent, MiB/s)."""

    def __post_init__(self) -> None:
        self.gpm_counters = GpmCounters(self.gpm)


@dataclass
class FakeGpu:
    """The scripted state of one fake GPU; tests change it between reads."""

    index: int = 0
    name: str = "NVIDIA H100 80GB HBM3"
    uuid: str = ""
    pci_bus_id: str = ""
    memory_total: int = 80 * GIB
    memory_reserved: int = 512 * MIB
    memory_used: int = 10 * GIB
    util_gpu: int = 50
    util_memory: int = 20
    util_encoder: int = 0
    util_decoder: int = 0
    temperature: int = 45
    memory_temperature: int = 50
    power_mw: int = 300_000
    power_limit_mw: int = 700_000
    energy_mj: int = 1_000_000
    sm_clock_mhz: int = 1980
    memory_clock_mhz: int = 2619
    clock_event_reasons: int = 0
    pcie_tx_kbs: int = 1000
    pcie_rx_kbs: int = 2000
    fields: dict[int, int] = field(
        default_factory=lambda: {3: 0, 4: 0, 5: 0, 6: 0, 94: 0, 142: 0, 143: 0, 144: 0, 145: 0}
    )
    """Field-value ids other than memory temperature (82) and energy (83)."""
    processes: list[tuple[int, str, int]] = field(default_factory=list)
    """(pid, name, used bytes) of compute processes."""
    mig: list[FakeMig] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=dict)
    """C function name (or ``field:<id>``) -> the nvmlReturn_t it answers with."""
    lost: bool = False
    """Answer GPU_IS_LOST to everything, as after a fallen-off-the-bus GPU."""
    gpm_supported: bool = True
    """What nvmlGpmQueryDeviceSupport answers (False: a pre-Hopper GPU)."""
    gpm: dict[int, float] = field(default_factory=default_gpm)
    """GPM rates by metric id (percent, or MiB/s for PCIe/NVLink); absent ids are unsupported."""
    nvlinks: list[FakeNvLink] = field(default_factory=list)
    """The GPU's NVLinks (none: NVLink calls answer NOT_SUPPORTED, as on a PCIe card)."""

    def __post_init__(self) -> None:
        self.gpm_counters = GpmCounters(self.gpm)
        self.uuid = self.uuid or f"GPU-{self.index:08x}-fake-4000-8000-{self.index:012x}"
        self.pci_bus_id = self.pci_bus_id or f"00000000:{0x18 + self.index:02X}:00.0"

    @property
    def memory_free(self) -> int:
        """What v2 memory info calls free: total minus reserved minus used."""
        return self.memory_total - self.memory_reserved - self.memory_used


class FakeNvmlLib(FakeGpmMixin):
    """Stands in for ``libnvidia-ml.so.1``: C function names, ctypes in and out."""

    def __init__(
        self,
        gpus: list[FakeGpu],
        *,
        driver_version: str = "550.54.15",
        cuda_version: int = 12040,
        init_error: int = SUCCESS,
        tick: Callable[[FakeNvmlLib], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gpus = gpus
        self.driver_version = driver_version
        self.cuda_version = cuda_version
        self.init_error = init_error
        """nvmlInit answers this (e.g. 9 DRIVER_NOT_LOADED) while non-zero."""
        self.tick = tick
        self.clock = clock
        """The time GPM samples are taken at."""
        self.calls: Counter[str] = Counter()
        self.initialised = False
        self.reset_pending = False
        self._objects: dict[int, FakeGpu | FakeMig] = {}
        self._keep: list[Any] = []
        self._events: deque[tuple[int, int]] = deque()
        self._registered: set[int] = set()
        self._cond = threading.Condition()
        self._lock = threading.Lock()
        self._samples = {}

    # -- scripting ---------------------------------------------------------
    def driver_reset(self) -> None:
        """Every call answers GPU_IS_LOST until NVML is shut down and initialised again."""
        with self._lock:
            self.reset_pending = True

    def inject_xid(self, index: int, xid: int) -> None:
        """Queue an Xid critical error event for GPU ``index``."""
        with self._cond:
            self._events.append((index, xid))
            self._cond.notify_all()

    # -- plumbing ----------------------------------------------------------
    def _count(self, name: str) -> int:
        with self._lock:
            self.calls[name] += 1
            if not self.initialised:
                return UNINITIALIZED
            if self.reset_pending:
                return GPU_IS_LOST
        if self.tick is not None:
            self.tick(self)
        return SUCCESS

    def _resolve(self, name: str, handle: Any) -> FakeGpu | FakeMig | int:
        code = self._count(name)
        if code:
            return code
        address = ctypes.cast(handle, ctypes.c_void_p).value or 0
        obj = self._objects.get(address)
        if obj is None:
            return GPU_IS_LOST  # a handle from before a reset
        if isinstance(obj, FakeGpu):
            if obj.lost:
                return GPU_IS_LOST
            if name in obj.faults:
                return obj.faults[name]
        return obj

    def _gpu(self, name: str, handle: Any) -> FakeGpu | int:
        obj = self._resolve(name, handle)
        if isinstance(obj, FakeMig):
            return NOT_SUPPORTED
        return obj

    def _new_handle(self, out: Any, obj: FakeGpu | FakeMig) -> None:
        struct = type(out)._type_()
        self._keep.append(struct)
        out.contents = struct
        self._objects[ctypes.addressof(struct)] = obj

    # -- library -----------------------------------------------------------
    def nvmlInitWithFlags(self, flags: Any) -> int:
        self.calls["nvmlInitWithFlags"] += 1
        if self.init_error:
            return self.init_error
        with self._lock:
            self.initialised = True
            self.reset_pending = False
            self._objects.clear()
            self._registered.clear()
        return SUCCESS

    def nvmlShutdown(self) -> int:
        self.calls["nvmlShutdown"] += 1
        with self._lock:
            was = self.initialised
            self.initialised = False
        return SUCCESS if was else UNINITIALIZED

    def nvmlSystemGetDriverVersion(self, buffer: Any, size: Any) -> int:
        code = self._count("nvmlSystemGetDriverVersion")
        if not code:
            buffer.value = self.driver_version.encode()
        return code

    def nvmlSystemGetCudaDriverVersion(self, ref: Any) -> int:
        code = self._count("nvmlSystemGetCudaDriverVersion")
        if not code:
            ref._obj.value = self.cuda_version
        return code

    def nvmlSystemGetProcessName(self, pid: Any, buffer: Any, size: Any) -> int:
        code = self._count("nvmlSystemGetProcessName")
        if code:
            return code
        for gpu in self.gpus:
            for proc_pid, name, _ in gpu.processes:
                if proc_pid == pid.value:
                    buffer.value = name.encode()
                    return SUCCESS
        return NOT_FOUND

    def nvmlDeviceGetCount_v2(self, ref: Any) -> int:
        code = self._count("nvmlDeviceGetCount_v2")
        if not code:
            ref._obj.value = len(self.gpus)
        return code

    def nvmlDeviceGetHandleByIndex_v2(self, index: Any, ref: Any) -> int:
        code = self._count("nvmlDeviceGetHandleByIndex_v2")
        if code:
            return code
        if not 0 <= index.value < len(self.gpus):
            return INVALID_ARGUMENT
        gpu = self.gpus[index.value]
        if gpu.lost:
            return GPU_IS_LOST
        self._new_handle(ref._obj, gpu)
        return SUCCESS

    # -- identity ----------------------------------------------------------
    def nvmlDeviceGetUUID(self, handle: Any, buffer: Any, size: Any) -> int:
        obj = self._resolve("nvmlDeviceGetUUID", handle)
        if isinstance(obj, int):
            return obj
        buffer.value = obj.uuid.encode()
        return SUCCESS

    def nvmlDeviceGetName(self, handle: Any, buffer: Any, size: Any) -> int:
        gpu = self._gpu("nvmlDeviceGetName", handle)
        if isinstance(gpu, int):
            return gpu
        buffer.value = gpu.name.encode()
        return SUCCESS

    def nvmlDeviceGetPciInfo_v3(self, handle: Any, ref: Any) -> int:
        gpu = self._gpu("nvmlDeviceGetPciInfo_v3", handle)
        if isinstance(gpu, int):
            return gpu
        ref._obj.busId = gpu.pci_bus_id.encode()
        return SUCCESS

    # -- fast readings -----------------------------------------------------
    def nvmlDeviceGetMemoryInfo_v2(self, handle: Any, ref: Any) -> int:
        gpu = self._gpu("nvmlDeviceGetMemoryInfo_v2", handle)
        if isinstance(gpu, int):
            return gpu
        out = ref._obj
        if out.version != 0x02000028:
            return NvmlReturn.ARGUMENT_VERSION_MISMATCH
        out.total, out.reserved = gpu.memory_total, gpu.memory_reserved
        out.used, out.free = gpu.memory_used, gpu.memory_free
        return SUCCESS

    def nvmlDeviceGetMemoryInfo(self, handle: Any, ref: Any) -> int:
        obj = self._resolve("nvmlDeviceGetMemoryInfo", handle)
        if isinstance(obj, int):
            return obj
        out = ref._obj
        if isinstance(obj, FakeMig):
            out.total, out.used = obj.memory_total, obj.memory_used
            out.free = obj.memory_total - obj.memory_used
        else:  # v1: "used" includes the reserved memory
            out.total, out.used = obj.memory_total, obj.memory_used + obj.memory_reserved
            out.free = obj.memory_free
        return SUCCESS

    def nvmlDeviceGetUtilizationRates(self, handle: Any, ref: Any) -> int:
        gpu = self._gpu("nvmlDeviceGetUtilizationRates", handle)
        if isinstance(gpu, int):
            return gpu
        ref._obj.gpu, ref._obj.memory = gpu.util_gpu, gpu.util_memory
        return SUCCESS

    def nvmlDeviceGetEncoderUtilization(self, handle: Any, util: Any, period: Any) -> int:
        gpu = self._gpu("nvmlDeviceGetEncoderUtilization", handle)
        if isinstance(gpu, int):
            return gpu
        util._obj.value, period._obj.value = gpu.util_encoder, 167_000
        return SUCCESS

    def nvmlDeviceGetDecoderUtilization(self, handle: Any, util: Any, period: Any) -> int:
        gpu = self._gpu("nvmlDeviceGetDecoderUtilization", handle)
        if isinstance(gpu, int):
            return gpu
        util._obj.value, period._obj.value = gpu.util_decoder, 167_000
        return SUCCESS

    def nvmlDeviceGetTemperature(self, handle: Any, sensor: Any, ref: Any) -> int:
        gpu = self._gpu("nvmlDeviceGetTemperature", handle)
        if isinstance(gpu, int):
            return gpu
        if sensor.value != 0:
            return INVALID_ARGUMENT
        ref._obj.value = gpu.temperature
        return SUCCESS

    def nvmlDeviceGetPowerUsage(self, handle: Any, ref: Any) -> int:
        gpu = self._gpu("nvmlDeviceGetPowerUsage", handle)
        if isinstance(gpu, int):
            return gpu
        ref._obj.value = gpu.power_mw
        return SUCCESS

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: Any, ref: Any) -> int:
        gpu = self._gpu("nvmlDeviceGetEnforcedPowerLimit", handle)
        if isinstance(gpu, int):
            return gpu
        ref._obj.value = gpu.power_limit_mw
        return SUCCESS

    def nvmlDeviceGetClockInfo(self, handle: Any, clock: Any, ref: Any) -> int:
        gpu = self._gpu("nvmlDeviceGetClockInfo", handle)
        if isinstance(gpu, int):
            return gpu
        values = {1: gpu.sm_clock_mhz, 2: gpu.memory_clock_mhz}
        if clock.value not in values:
            return INVALID_ARGUMENT
        ref._obj.value = values[clock.value]
        return SUCCESS

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle: Any, ref: Any) -> int:
        gpu = self._gpu("nvmlDeviceGetCurrentClocksEventReasons", handle)
        if isinstance(gpu, int):
            return gpu
        ref._obj.value = gpu.clock_event_reasons
        return SUCCESS

    def nvmlDeviceGetFieldValues(self, handle: Any, count: Any, ref: Any) -> int:
        gpu = self._gpu("nvmlDeviceGetFieldValues", handle)
        if isinstance(gpu, int):
            return gpu
        entries = ref._obj
        values = {**gpu.fields, 82: gpu.memory_temperature, 83: gpu.energy_mj}
        for i in range(count.value):
            entry = entries[i]
            fault = gpu.faults.get(f"field:{entry.fieldId}")
            entry.timestamp = int(time.time() * 1e6)
            if fault is not None:
                entry.nvmlReturn = fault
            elif entry.fieldId in values:
                entry.nvmlReturn = SUCCESS
                entry.valueType = _VALUE_TYPE_ULL
                entry.value.ullVal = values[entry.fieldId]
            else:
                entry.nvmlReturn = NOT_SUPPORTED
        return SUCCESS

    def nvmlDeviceGetComputeRunningProcesses_v3(self, handle: Any, count: Any, array: Any) -> int:
        gpu = self._gpu("nvmlDeviceGetComputeRunningProcesses_v3", handle)
        if isinstance(gpu, int):
            return gpu
        wanted = len(gpu.processes)
        if array is None or count._obj.value < wanted:
            count._obj.value = wanted
            return INSUFFICIENT_SIZE if wanted else SUCCESS
        for i, (pid, _name, used) in enumerate(gpu.processes):
            array[i].pid, array[i].usedGpuMemory = pid, used
            array[i].gpuInstanceId = array[i].computeInstanceId = 0xFFFFFFFF
        count._obj.value = wanted
        return SUCCESS

    # -- MIG ---------------------------------------------------------------
    def nvmlDeviceGetMigMode(self, handle: Any, current: Any, pending: Any) -> int:
        gpu = self._gpu("nvmlDeviceGetMigMode", handle)
        if isinstance(gpu, int):
            return gpu
        current._obj.value = pending._obj.value = 1 if gpu.mig else 0
        return SUCCESS

    def nvmlDeviceGetMaxMigDeviceCount(self, handle: Any, ref: Any) -> int:
        gpu = self._gpu("nvmlDeviceGetMaxMigDeviceCount", handle)
        if isinstance(gpu, int):
            return gpu
        ref._obj.value = 7 if gpu.mig else 0
        return SUCCESS

    def nvmlDeviceGetMigDeviceHandleByIndex(self, handle: Any, index: Any, ref: Any) -> int:
        gpu = self._gpu("nvmlDeviceGetMigDeviceHandleByIndex", handle)
        if isinstance(gpu, int):
            return gpu
        if index.value >= len(gpu.mig):
            return NOT_FOUND
        self._new_handle(ref._obj, gpu.mig[index.value])
        return SUCCESS

    def nvmlDeviceGetGpuInstanceId(self, handle: Any, ref: Any) -> int:
        obj = self._resolve("nvmlDeviceGetGpuInstanceId", handle)
        if isinstance(obj, int):
            return obj
        if not isinstance(obj, FakeMig):
            return INVALID_ARGUMENT
        ref._obj.value = obj.gpu_instance
        return SUCCESS

    def nvmlDeviceGetComputeInstanceId(self, handle: Any, ref: Any) -> int:
        obj = self._resolve("nvmlDeviceGetComputeInstanceId", handle)
        if isinstance(obj, int):
            return obj
        if not isinstance(obj, FakeMig):
            return INVALID_ARGUMENT
        ref._obj.value = obj.compute_instance
        return SUCCESS

    # -- slow readings -----------------------------------------------------
    def nvmlDeviceGetPcieThroughput(self, handle: Any, counter: Any, ref: Any) -> int:
        gpu = self._gpu("nvmlDeviceGetPcieThroughput", handle)
        if isinstance(gpu, int):
            return gpu
        ref._obj.value = gpu.pcie_tx_kbs if counter.value == 0 else gpu.pcie_rx_kbs
        return SUCCESS

    # -- events ------------------------------------------------------------
    def nvmlEventSetCreate(self, ref: Any) -> int:
        code = self._count("nvmlEventSetCreate")
        if not code:
            struct = type(ref._obj)._type_()
            self._keep.append(struct)
            ref._obj.contents = struct
        return code

    def nvmlDeviceRegisterEvents(self, handle: Any, types: Any, event_set: Any) -> int:
        gpu = self._gpu("nvmlDeviceRegisterEvents", handle)
        if isinstance(gpu, int):
            return gpu
        if types.value & ~XID_EVENT:
            return NOT_SUPPORTED
        self._registered.add(gpu.index)
        return SUCCESS

    def nvmlEventSetWait_v2(self, event_set: Any, ref: Any, timeout_ms: Any) -> int:
        code = self._count("nvmlEventSetWait_v2")
        if code:
            return code
        with self._cond:
            ready = self._cond.wait_for(
                lambda: any(i in self._registered for i, _ in self._events) or self.reset_pending,
                timeout=timeout_ms.value / 1000,
            )
            if self.reset_pending:
                return GPU_IS_LOST
            if not ready:
                return TIMEOUT
            index, xid = next(e for e in self._events if e[0] in self._registered)
            self._events.remove((index, xid))
        gpu = self.gpus[index]
        address = next(a for a, o in self._objects.items() if o is gpu)
        ref._obj.device = ctypes.cast(address, type(ref._obj.device))
        ref._obj.eventType, ref._obj.eventData = XID_EVENT, xid
        ref._obj.gpuInstanceId = ref._obj.computeInstanceId = 0xFFFFFFFF
        return SUCCESS

    def nvmlEventSetFree(self, event_set: Any) -> int:
        return self._count("nvmlEventSetFree")


def private_pynvml(lib: FakeNvmlLib | None) -> ModuleType:
    """A private copy of the ``pynvml`` module whose C library is ``lib``.

    With ``lib`` None the copy loads the real ``libnvidia-ml.so.1`` on ``nvmlInit``.
    """
    spec = importlib.util.find_spec("pynvml")
    if spec is None or spec.origin is None or spec.loader is None:
        raise ImportError("nvidia-ml-py (pynvml) is not installed")
    name = f"_inferwatch_fake_pynvml_{next(_private_ids)}"
    private = importlib.util.spec_from_file_location(name, spec.origin)
    assert private is not None and private.loader is not None
    module = importlib.util.module_from_spec(private)
    sys.modules[name] = module  # pynvml looks itself up there while importing
    try:
        private.loader.exec_module(module)
    finally:
        del sys.modules[name]
    module.__dict__["nvmlLib"] = lib
    return module


# -- the simulated-GPU mode ----------------------------------------------------
SIMULATED_NVLINKS = 18  # an H100 SXM's
_XIDS = (13, 31, 43, 45, 48, 63, 64, 74, 79, 94, 95)


class Simulation:
    """Moves fake GPUs through a plausible day: load waves, heat, power, energy, Xids."""

    def __init__(
        self,
        *,
        xid_interval_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        seed: int = 7,
    ) -> None:
        self.clock = clock
        self.xid_interval = xid_interval_seconds
        self.rng = random.Random(seed)
        self.start = clock()
        self.last = self.start
        self.last_xid = self.start

    def __call__(self, lib: FakeNvmlLib) -> None:
        now = self.clock()
        dt = now - self.last
        if dt < 0.05:
            return
        self.last = now
        t = now - self.start
        for gpu in lib.gpus:
            self._advance(gpu, t, dt)
        if self.xid_interval and now - self.last_xid >= self.xid_interval and lib.gpus:
            self.last_xid = now
            gpu = lib.gpus[self.rng.randrange(len(lib.gpus))]
            lib.inject_xid(gpu.index, self.rng.choice(_XIDS))
            if gpu.nvlinks:  # a flaky link: CRC errors and the replays they cause
                link = self.rng.choice(gpu.nvlinks)
                link.errors[2] += self.rng.randint(1, 20)
                link.errors[0] += 1

    def _advance(self, gpu: FakeGpu, t: float, dt: float) -> None:
        wave = 0.5 + 0.45 * math.sin(2 * math.pi * t / 120 + gpu.index)
        load = min(1.0, max(0.0, wave + self.rng.uniform(-0.05, 0.05)))
        gpu.util_gpu = round(load * 100)
        gpu.util_memory = round(load * 60)
        idle_w, limit_w = 70.0, gpu.power_limit_mw / 1000
        power_w = idle_w + load * (limit_w - idle_w) * 0.9
        gpu.power_mw = round(power_w * 1000)
        gpu.energy_mj += round(power_w * dt * 1000)
        target = 32 + load * 45
        gpu.temperature = round(gpu.temperature + (target - gpu.temperature) * min(1.0, dt / 20))
        gpu.memory_temperature = gpu.temperature + 6
        gpu.memory_used = round(gpu.memory_total * (0.35 + 0.3 * load)) - gpu.memory_reserved
        gpu.sm_clock_mhz = 1980 if load > 0.05 else 345
        gpu.clock_event_reasons = 0x1 if load <= 0.05 else (0x4 if load > 0.95 else 0)
        gpu.pcie_tx_kbs = round(load * 4_000_000)
        gpu.pcie_rx_kbs = round(load * 9_000_000)
        gpu.processes = [(4242 + gpu.index, "python3", gpu.memory_used)]
        _advance_gpm(gpu.gpm, load)


def _advance_gpm(rates: dict[int, float], load: float) -> None:
    """GPM rates of a transformer serving at ``load``: tensor- and DRAM-bound, some NVLink."""
    percent = {1: 0.98, 2: 0.9, 3: 0.5, 4: 0.05, 5: 0.7, 7: 0.66, 9: 0.03, 10: 0.6}
    percent.update({12: 0.15, 13: 0.1})
    for metric, share in percent.items():
        rates[metric] = round(100 * share * load, 2)
    rates[20], rates[21] = round(load * 3_800, 1), round(load * 8_600, 1)
    rates[60], rates[61] = round(load * 40_000, 1), round(load * 38_000, 1)


def simulated_gpus(count: int) -> list[FakeGpu]:
    """``count`` H100-like fake GPUs with distinct identities."""
    return [
        FakeGpu(index=i, temperature=40, nvlinks=[FakeNvLink() for _ in range(SIMULATED_NVLINKS)])
        for i in range(count)
    ]
