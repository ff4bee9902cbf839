"""Device access: the ``NvmlClient`` protocol and its implementation on ``pynvml``.

Each read is isolated: NOT_SUPPORTED drops one reading, any other error marks
its read group failed on that GPU, GPU_IS_LOST marks the GPU down, and a lost
library (UNINITIALIZED, DRIVER_NOT_LOADED) raises ``NvmlLostError`` so the
sampler re-initialises NVML. The ``pynvml`` module is injected: tests pass a
private copy whose C library is the fake in ``inferwatch.testing.nvml``.
"""

from __future__ import annotations

import ctypes
import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from inferwatch.exporters.gpu._convert import (
    FAST_FIELD_IDS,
    SLOW_FIELD_IDS,
    cuda_version_text,
    field_values,
    memory_values,
    text,
    utilization_values,
)
from inferwatch.exporters.gpu._gpm import GpmReader
from inferwatch.exporters.gpu._nvlink import read_nvlinks
from inferwatch.exporters.gpu._types import (
    DeviceInfo,
    GpmState,
    GpuReading,
    GroupResult,
    MigReading,
    NvLinkReading,
    NvmlLostError,
    NvmlUnavailableError,
    ProcessMemory,
    Reading,
    Status,
    SystemInfo,
)
from inferwatch.exporters.gpu.returns import GPU_LOST, LIBRARY_LOST, UNSUPPORTED, NvmlReturn

NO_DRIVER_MESSAGE = "no NVIDIA driver/GPU found"

_XID_EVENT = 0x8  # nvmlEventTypeXidCriticalError


class NvmlClient(Protocol):
    """What the sampler needs from NVML."""

    def init(self) -> SystemInfo:
        """Initialise NVML; raise ``NvmlUnavailableError`` when there is no driver."""
        ...

    def shutdown(self) -> None:
        """Release NVML (errors ignored)."""
        ...

    def device_count(self) -> int:
        """How many GPUs this process sees."""
        ...

    def read_device(
        self, index: int, *, processes: bool, mig: bool, gpm: bool = True
    ) -> GpuReading:
        """The fast readings of one GPU, each field isolated; GPM since the last call."""
        ...

    def read_slow(self, index: int, *, nvlink: bool = True) -> GpuReading:
        """The slow readings (PCIe throughput ~20 ms a direction, energy, NVLink) of one GPU."""
        ...

    def xid_open(self) -> None:
        """Register every GPU for Xid events."""
        ...

    def xid_wait(self, timeout_ms: int) -> tuple[int, int] | None:
        """Wait for one Xid event: ``(gpu index, xid)``, or None on timeout."""
        ...

    def xid_close(self) -> None:
        """Free the event set (errors ignored)."""
        ...


@dataclass
class _Probe:
    """Accumulates one read group's outcome on one GPU."""

    values: dict[Reading, float] = field(default_factory=dict)
    groups: dict[str, GroupResult] = field(default_factory=dict)
    unsupported: set[str] = field(default_factory=set)
    lost: bool = False


def _address(pointer: Any) -> int:
    return int(ctypes.cast(pointer, ctypes.c_void_p).value or 0)


class PynvmlClient:
    """``NvmlClient`` over the ``pynvml`` bindings (nvidia-ml-py)."""

    def __init__(self, nvml: ModuleType | None = None, proc_root: Path = Path("/proc")) -> None:
        if nvml is None:
            import pynvml

            nvml = pynvml
        self.nvml: Any = nvml
        self.proc_root = proc_root
        self._handles: dict[int, Any] = {}
        self._infos: dict[int, DeviceInfo] = {}
        self._event_set: Any = None
        self._gpm = GpmReader(nvml)
        self._link_counts: dict[int, int] = {}

    # -- lifecycle ---------------------------------------------------------
    def init(self) -> SystemInfo:
        """Initialise NVML and read the driver-wide facts."""
        nvml = self.nvml
        self._handles.clear()
        self._infos.clear()
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as exc:
            if exc.value in (NvmlReturn.LIBRARY_NOT_FOUND, NvmlReturn.DRIVER_NOT_LOADED):
                raise NvmlUnavailableError(
                    f"{NO_DRIVER_MESSAGE}: {exc} (is libnvidia-ml.so.1 visible, e.g. through "
                    "the nvidia container runtime?)",
                    Status.NO_DRIVER,
                ) from exc
            raise NvmlUnavailableError(f"NVML failed to initialise: {exc}", Status.ERROR) from exc
        try:
            driver = text(nvml.nvmlSystemGetDriverVersion())
            cuda = cuda_version_text(int(nvml.nvmlSystemGetCudaDriverVersion()))
        except nvml.NVMLError as exc:
            self.shutdown()
            raise NvmlUnavailableError(f"NVML cannot read the driver: {exc}", Status.ERROR) from exc
        return SystemInfo(driver_version=driver, cuda_version=cuda)

    def shutdown(self) -> None:
        """Release NVML; a failure here changes nothing we can act on."""
        self.xid_close()
        self._gpm.forget()
        self._link_counts.clear()
        self._handles.clear()
        self._infos.clear()
        with suppress(self.nvml.NVMLError):
            self.nvml.nvmlShutdown()

    def device_count(self) -> int:
        """How many GPUs NVML sees."""
        try:
            return int(self.nvml.nvmlDeviceGetCount())
        except self.nvml.NVMLError as exc:
            raise NvmlLostError(f"nvmlDeviceGetCount failed: {exc}") from exc

    # -- reads -------------------------------------------------------------
    def read_device(
        self, index: int, *, processes: bool, mig: bool, gpm: bool = True
    ) -> GpuReading:
        """Read every fast group of one GPU, and its GPM metrics since the last call."""
        nvml = self.nvml
        probe = _Probe()
        info = self._device(index, probe)
        if info is None:
            return GpuReading(DeviceInfo(index, "", "", ""), up=False, groups=probe.groups)
        handle = self._handles[index]
        groups: dict[str, list[tuple[str, Callable[[], Mapping[Reading, float]]]]] = {
            "memory": [
                (
                    "memory",
                    lambda: memory_values(
                        nvml.nvmlDeviceGetMemoryInfo(handle, version=nvml.nvmlMemory_v2)
                    ),
                )
            ],
            "utilization": [
                (
                    "utilization",
                    lambda: utilization_values(nvml.nvmlDeviceGetUtilizationRates(handle)),
                ),
                (
                    "encoder",
                    lambda: {
                        Reading.UTIL_ENCODER: nvml.nvmlDeviceGetEncoderUtilization(handle)[0] / 100
                    },
                ),
                (
                    "decoder",
                    lambda: {
                        Reading.UTIL_DECODER: nvml.nvmlDeviceGetDecoderUtilization(handle)[0] / 100
                    },
                ),
            ],
            "temperature": [
                (
                    "temperature",
                    lambda: {Reading.TEMPERATURE: float(nvml.nvmlDeviceGetTemperature(handle, 0))},
                )
            ],
            "power": [
                ("power", lambda: {Reading.POWER: nvml.nvmlDeviceGetPowerUsage(handle) / 1000}),
                (
                    "power_limit",
                    lambda: {
                        Reading.POWER_LIMIT: nvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000
                    },
                ),
            ],
            "clocks": [
                (
                    "sm_clock",
                    lambda: {Reading.SM_CLOCK: nvml.nvmlDeviceGetClockInfo(handle, 1) * 1e6},
                ),
                (
                    "memory_clock",
                    lambda: {Reading.MEMORY_CLOCK: nvml.nvmlDeviceGetClockInfo(handle, 2) * 1e6},
                ),
                (
                    "clock_events",
                    lambda: {
                        Reading.CLOCK_EVENT_REASONS: float(
                            nvml.nvmlDeviceGetCurrentClocksEventReasons(handle)
                        )
                    },
                ),
            ],
            "fields": [("fields", lambda: self._fields(handle, probe, FAST_FIELD_IDS))],
        }
        for group, reads in groups.items():
            self._run_group(group, reads, probe)
            if probe.lost:
                break
        procs: tuple[ProcessMemory, ...] = ()
        migs: tuple[MigReading, ...] = ()
        if processes and not probe.lost:
            procs = self._timed("processes", probe, lambda: self._processes(handle)) or ()
        if mig and not probe.lost:
            migs = self._timed("mig", probe, lambda: self._mig(handle)) or ()
        gpm_state: GpmState | None = GpmState.DISABLED
        if gpm and not probe.lost:
            gpm_state, migs = self._read_gpm(index, info.uuid, handle, migs, probe)
        return GpuReading(
            info=info,
            up=not probe.lost,
            values=probe.values,
            processes=procs,
            mig=migs,
            groups=probe.groups,
            unsupported=frozenset(probe.unsupported),
            gpm=gpm_state,
        )

    def _read_gpm(
        self, index: int, uuid: str, handle: Any, migs: tuple[MigReading, ...], probe: _Probe
    ) -> tuple[GpmState | None, tuple[MigReading, ...]]:
        instances = [m.gpu_instance for m in migs]
        result = self._timed("gpm", probe, lambda: self._gpm.read(index, uuid, handle, instances))
        if result is None:  # the group failed; what is known about support still holds
            return self._gpm.state(index), migs
        probe.values.update(result.values)
        migs = tuple(
            dataclasses.replace(m, values=result.mig.get(m.gpu_instance, {})) for m in migs
        )
        return result.state, migs

    def read_slow(self, index: int, *, nvlink: bool = True) -> GpuReading:
        """PCIe throughput (blocks ~20 ms per direction), energy, PCIe replays, NVLink.

        NVML gives PCIe throughput in KB/s; it comes out in bytes/s. A GPU whose GPM
        works gives PCIe rates averaged over the whole interval from GPM instead, so
        the blocking query is skipped there.
        """
        nvml = self.nvml
        probe = _Probe()
        info = self._device(index, probe)
        if info is None:
            return GpuReading(DeviceInfo(index, "", "", ""), up=False, groups=probe.groups)
        handle = self._handles[index]
        reads: list[tuple[str, Callable[[], Mapping[Reading, float]]]] = [
            (
                "pcie_tx",
                lambda: {Reading.PCIE_TX: nvml.nvmlDeviceGetPcieThroughput(handle, 0) * 1024.0},
            ),
            (
                "pcie_rx",
                lambda: {Reading.PCIE_RX: nvml.nvmlDeviceGetPcieThroughput(handle, 1) * 1024.0},
            ),
        ]
        self._run_group(
            "slow_fields",
            [("slow_fields", lambda: self._fields(handle, probe, SLOW_FIELD_IDS))],
            probe,
        )
        if not self._gpm.gives_pcie(index) and not probe.lost:
            self._run_group("pcie_throughput", reads, probe)
        links: tuple[NvLinkReading, ...] = ()
        if nvlink and not probe.lost:
            links = self._timed("nvlink", probe, lambda: self._nvlinks(index, handle)) or ()
        return GpuReading(
            info=info,
            up=not probe.lost,
            values=probe.values,
            groups=probe.groups,
            unsupported=frozenset(probe.unsupported),
            nvlinks=links,
        )

    def _nvlinks(self, index: int, handle: Any) -> tuple[NvLinkReading, ...]:
        """State and error counters of each NVLink; the link count is probed once."""
        links = read_nvlinks(self.nvml, handle, self._link_counts.get(index))
        self._link_counts[index] = len(links)
        return links

    # -- Xid events --------------------------------------------------------
    def xid_open(self) -> None:
        """Create an event set and register each GPU that supports Xid events."""
        nvml = self.nvml
        self.xid_close()
        try:
            event_set = nvml.nvmlEventSetCreate()
        except nvml.NVMLError as exc:
            raise self._classify_global(exc, "nvmlEventSetCreate") from exc
        for index in range(self.device_count()):
            if self._device(index, _Probe()) is None:
                continue  # a lost GPU: the sampler re-initialises later
            try:
                nvml.nvmlDeviceRegisterEvents(self._handles[index], _XID_EVENT, event_set)
            except nvml.NVMLError as exc:
                if exc.value not in UNSUPPORTED:
                    raise self._classify_global(exc, "nvmlDeviceRegisterEvents") from exc
        self._event_set = event_set

    def xid_wait(self, timeout_ms: int) -> tuple[int, int] | None:
        """One Xid event, or None when none came within the timeout."""
        nvml = self.nvml
        if self._event_set is None:
            time.sleep(timeout_ms / 1000)
            return None
        try:
            data = nvml.nvmlEventSetWait(self._event_set, timeout_ms)
        except nvml.NVMLError as exc:
            if exc.value == NvmlReturn.TIMEOUT:
                return None
            raise self._classify_global(exc, "nvmlEventSetWait") from exc
        if int(data.eventType) != _XID_EVENT:
            return None
        address = _address(data.device)
        for index, handle in self._handles.items():
            if _address(handle) == address:
                return index, int(data.eventData)
        return -1, int(data.eventData)

    def xid_close(self) -> None:
        """Free the event set if there is one."""
        if self._event_set is None:
            return
        event_set, self._event_set = self._event_set, None
        with suppress(self.nvml.NVMLError):
            self.nvml.nvmlEventSetFree(event_set)

    # -- helpers -----------------------------------------------------------
    def _device(self, index: int, probe: _Probe) -> DeviceInfo | None:
        nvml = self.nvml
        if index in self._infos:
            return self._infos[index]
        start = time.perf_counter()
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            pci = nvml.nvmlDeviceGetPciInfo(handle)
            info = DeviceInfo(
                index=index,
                uuid=text(nvml.nvmlDeviceGetUUID(handle)),
                name=text(nvml.nvmlDeviceGetName(handle)),
                pci_bus_id=text(pci.busId),
            )
        except nvml.NVMLError as exc:
            self._fail(exc, "device", probe, start)
            probe.lost = True
            return None
        self._handles[index] = handle
        self._infos[index] = info
        return info

    def _run_group(
        self,
        group: str,
        reads: list[tuple[str, Callable[[], Mapping[Reading, float]]]],
        probe: _Probe,
    ) -> None:
        start = time.perf_counter()
        errors: list[str] = []
        for name, read in reads:
            try:
                probe.values.update(read())
            except self.nvml.NVMLError as exc:
                if exc.value in UNSUPPORTED:
                    probe.unsupported.add(name)
                    continue
                self._check_library(exc, name)
                if exc.value in GPU_LOST:
                    probe.lost = True
                errors.append(f"{name}: {exc}")
                if probe.lost:
                    break
        duration = time.perf_counter() - start
        probe.groups[group] = GroupResult(not errors, duration, "; ".join(errors))

    def _timed(self, group: str, probe: _Probe, read: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        try:
            result = read()
        except self.nvml.NVMLError as exc:
            if exc.value in UNSUPPORTED:
                probe.unsupported.add(group)
                probe.groups[group] = GroupResult(True, time.perf_counter() - start)
                return None
            self._fail(exc, group, probe, start)
            return None
        probe.groups[group] = GroupResult(True, time.perf_counter() - start)
        return result

    def _fail(self, exc: Any, group: str, probe: _Probe, start: float) -> None:
        self._check_library(exc, group)
        if exc.value in GPU_LOST:
            probe.lost = True
        probe.groups[group] = GroupResult(False, time.perf_counter() - start, f"{group}: {exc}")

    def _check_library(self, exc: Any, what: str) -> None:
        if exc.value in LIBRARY_LOST:
            raise NvmlLostError(f"{what}: {exc}") from exc

    def _classify_global(self, exc: Any, what: str) -> Exception:
        if exc.value in LIBRARY_LOST or exc.value in GPU_LOST:
            return NvmlLostError(f"{what}: {exc}")
        return RuntimeError(f"{what}: {exc}")

    def _fields(
        self, handle: Any, probe: _Probe, ids: Mapping[int, tuple[Reading, float]]
    ) -> Mapping[Reading, float]:
        entries = self.nvml.nvmlDeviceGetFieldValues(handle, list(ids))
        values, unsupported, failed = field_values(entries)
        probe.unsupported |= unsupported
        if failed:
            # one failed field is an error of the group, but the others still count
            probe.values.update(values)
            code = next(iter(failed.values()))
            raise self.nvml.NVMLError(code)
        return values

    def _processes(self, handle: Any) -> tuple[ProcessMemory, ...]:
        found = []
        for proc in self.nvml.nvmlDeviceGetComputeRunningProcesses(handle):
            used = proc.usedGpuMemory
            found.append(
                ProcessMemory(
                    pid=int(proc.pid),
                    name=self._process_name(int(proc.pid)),
                    used_bytes=float(used) if used is not None else float("nan"),
                )
            )
        return tuple(found)

    def _process_name(self, pid: int) -> str:
        try:
            name = text(self.nvml.nvmlSystemGetProcessName(pid))
        except self.nvml.NVMLError:
            name = ""
        if not name:
            try:
                name = (self.proc_root / str(pid) / "comm").read_text().strip()
            except OSError:
                name = "unknown"
        return Path(name).name or "unknown"

    def _mig(self, handle: Any) -> tuple[MigReading, ...]:
        nvml = self.nvml
        current, _pending = nvml.nvmlDeviceGetMigMode(handle)
        if not current:
            return ()
        found = []
        for slot in range(int(nvml.nvmlDeviceGetMaxMigDeviceCount(handle))):
            try:
                mig = nvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, slot)
            except nvml.NVMLError as exc:
                if exc.value == NvmlReturn.NOT_FOUND:  # an empty slot
                    continue
                raise
            memory = nvml.nvmlDeviceGetMemoryInfo(mig)
            found.append(
                MigReading(
                    uuid=text(nvml.nvmlDeviceGetUUID(mig)),
                    gpu_instance=int(nvml.nvmlDeviceGetGpuInstanceId(mig)),
                    compute_instance=int(nvml.nvmlDeviceGetComputeInstanceId(mig)),
                    memory_used=float(memory.used),
                    memory_total=float(memory.total),
                )
            )
        return tuple(found)


@contextmanager
def initialised(client: NvmlClient) -> Iterator[SystemInfo]:
    """``init`` ... ``shutdown`` around a block (for one-shot tools)."""
    system = client.init()
    try:
        yield system
    finally:
        client.shutdown()
