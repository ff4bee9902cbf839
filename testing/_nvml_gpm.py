# ruff: noqa: N802
"""The fake driver's GPM (profiling) and NVLink calls, at NVML's C ABI.

GPM works as on a Hopper GPU: a sample is an opaque buffer the caller allocates
(``nvmlGpmSampleAlloc``), fills (``nvmlGpmSampleGet`` / ``nvmlGpmMigSampleGet``)
and frees; ``nvmlGpmMetricsGet`` computes each metric from the counters two
samples hold and the time between them. Each fake GPU (or MIG instance) keeps
cumulative activity counters that grow at the rate its ``gpm`` mapping scripts
(percent, or MiB/s for the PCIe/NVLink ids), so a metric over any two samples
equals the scripted rate, whatever the interval: tests see exact values, and a
changed rate shows only in the samples taken after it changed.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from inferwatch.exporters.gpu.returns import NvmlReturn

SUCCESS, INVALID_ARGUMENT = NvmlReturn.SUCCESS, NvmlReturn.INVALID_ARGUMENT
NOT_SUPPORTED, NOT_FOUND = NvmlReturn.NOT_SUPPORTED, NvmlReturn.NOT_FOUND
GPU_IS_LOST, ARGUMENT_VERSION_MISMATCH = (
    NvmlReturn.GPU_IS_LOST,
    NvmlReturn.ARGUMENT_VERSION_MISMATCH,
)
GPM_METRICS_GET_VERSION = 1
GPM_SUPPORT_VERSION = 1


def default_gpm() -> dict[int, float]:
    """A busy inference GPU's GPM rates by metric id (nvml.h NVML_GPM_METRIC_*)."""
    return {
        1: 62.0,  # GRAPHICS_UTIL
        2: 55.0,  # SM_UTIL
        3: 31.0,  # SM_OCCUPANCY
        4: 4.0,  # INTEGER_UTIL
        5: 41.0,  # ANY_TENSOR_UTIL
        6: 0.0,  # DFMA_TENSOR_UTIL
        7: 39.0,  # HMMA_TENSOR_UTIL
        8: 0.0,  # DMMA_TENSOR_UTIL
        9: 2.0,  # IMMA_TENSOR_UTIL
        10: 36.0,  # DRAM_BW_UTIL
        11: 0.0,  # FP64_UTIL
        12: 11.0,  # FP32_UTIL
        13: 7.0,  # FP16_UTIL
        20: 96.0,  # PCIE_TX_PER_SEC, MiB/s
        21: 240.0,  # PCIE_RX_PER_SEC, MiB/s
        60: 1800.0,  # NVLINK_TOTAL_RX_PER_SEC, MiB/s
        61: 1700.0,  # NVLINK_TOTAL_TX_PER_SEC, MiB/s
    }


@dataclass
class GpmCounters:
    """Cumulative GPM activity of one GPU or MIG instance."""

    rates: dict[int, float] = field(default_factory=default_gpm)
    totals: dict[int, float] = field(default_factory=dict)
    at: float | None = None

    def advance(self, now: float) -> None:
        """Integrate the current rates up to ``now``."""
        if self.at is not None and now > self.at:
            for metric, rate in self.rates.items():
                self.totals[metric] = self.totals.get(metric, 0.0) + rate * (now - self.at)
        self.at = now


@dataclass
class FakeNvLink:
    """One NVLink: up or down, and its data-link error counters by nvmlNvLinkErrorCounter_t."""

    active: bool = True
    errors: dict[int, int] = field(default_factory=lambda: {0: 0, 1: 0, 2: 0, 3: 0})


@dataclass
class _Sample:
    at: float = 0.0
    totals: dict[int, float] = field(default_factory=dict)
    filled: bool = False


def _int(value: Any) -> int:
    """pynvml passes some arguments as ctypes values and some as plain ints."""
    return int(getattr(value, "value", value))


def _address(pointer: Any) -> int:
    return int(ctypes.cast(pointer, ctypes.c_void_p).value or 0)


class FakeGpmMixin:
    """GPM and NVLink C functions; mixed into ``FakeNvmlLib``, which provides the plumbing."""

    clock: Callable[[], float]
    _keep: list[Any]
    _samples: dict[int, _Sample]

    def _gpu(self, name: str, handle: Any) -> Any:  # pragma: no cover - provided by the lib
        raise NotImplementedError

    def _count(self, name: str) -> int:  # pragma: no cover - provided by the lib
        raise NotImplementedError

    @property
    def gpm_samples_allocated(self) -> int:
        """GPM sample buffers allocated and not yet freed (a leak check for tests)."""
        return len(self._samples)

    # -- GPM ---------------------------------------------------------------
    def nvmlGpmQueryDeviceSupport(self, handle: Any, ref: Any) -> int:
        gpu = self._gpu("nvmlGpmQueryDeviceSupport", handle)
        if isinstance(gpu, int):
            return gpu
        if ref._obj.version != GPM_SUPPORT_VERSION:
            return ARGUMENT_VERSION_MISMATCH
        ref._obj.isSupportedDevice = 1 if gpu.gpm_supported else 0
        return SUCCESS

    def nvmlGpmSampleAlloc(self, ref: Any) -> int:
        code = self._count("nvmlGpmSampleAlloc")
        if code:
            return code
        struct = type(ref._obj)._type_()
        self._keep.append(struct)
        ref._obj.contents = struct
        self._samples[ctypes.addressof(struct)] = _Sample()
        return SUCCESS

    def nvmlGpmSampleFree(self, sample: Any) -> int:
        self._count("nvmlGpmSampleFree")  # freeing works even after a reset
        return (
            SUCCESS if self._samples.pop(_address(sample), None) is not None else INVALID_ARGUMENT
        )

    def nvmlGpmSampleGet(self, handle: Any, sample: Any) -> int:
        gpu = self._gpu("nvmlGpmSampleGet", handle)
        if isinstance(gpu, int):
            return gpu
        if not gpu.gpm_supported:
            return NOT_SUPPORTED
        return self._fill(sample, gpu.gpm_counters)

    def nvmlGpmMigSampleGet(self, handle: Any, gpu_instance: Any, sample: Any) -> int:
        gpu = self._gpu("nvmlGpmMigSampleGet", handle)
        if isinstance(gpu, int):
            return gpu
        if not gpu.gpm_supported:
            return NOT_SUPPORTED
        wanted = _int(gpu_instance)
        mig = next((m for m in gpu.mig if m.gpu_instance == wanted), None)
        if mig is None:
            return NOT_FOUND
        return self._fill(sample, mig.gpm_counters)

    def _fill(self, sample: Any, counters: GpmCounters) -> int:
        slot = self._samples.get(_address(sample))
        if slot is None:
            return INVALID_ARGUMENT
        now = self.clock()
        counters.advance(now)
        slot.at, slot.totals, slot.filled = now, dict(counters.totals), True
        slot.totals.update({m: slot.totals.get(m, 0.0) for m in counters.rates})
        return SUCCESS

    def nvmlGpmMetricsGet(self, ref: Any) -> int:
        code = self._count("nvmlGpmMetricsGet")
        if code:
            return code
        request = ref._obj
        if request.version != GPM_METRICS_GET_VERSION:
            return ARGUMENT_VERSION_MISMATCH
        first = self._samples.get(_address(request.sample1))
        second = self._samples.get(_address(request.sample2))
        if first is None or second is None or not (first.filled and second.filled):
            return INVALID_ARGUMENT
        elapsed = second.at - first.at
        if elapsed <= 0:
            return INVALID_ARGUMENT
        for i in range(request.numMetrics):
            metric = request.metrics[i]
            if metric.metricId not in second.totals:
                metric.nvmlReturn = NOT_SUPPORTED
                continue
            delta = second.totals[metric.metricId] - first.totals.get(metric.metricId, 0.0)
            metric.nvmlReturn = SUCCESS
            metric.value = round(delta / elapsed, 6)
        return SUCCESS

    # -- NVLink ------------------------------------------------------------
    def nvmlDeviceGetNvLinkState(self, handle: Any, link: Any, ref: Any) -> int:
        found = self._link("nvmlDeviceGetNvLinkState", handle, link)
        if isinstance(found, int):
            return found
        ref._obj.value = 1 if found.active else 0
        return SUCCESS

    def nvmlDeviceGetNvLinkErrorCounter(
        self, handle: Any, link: Any, counter: Any, ref: Any
    ) -> int:
        found = self._link("nvmlDeviceGetNvLinkErrorCounter", handle, link)
        if isinstance(found, int):
            return found
        which = _int(counter)
        if which not in found.errors:
            return INVALID_ARGUMENT
        ref._obj.value = found.errors[which]
        return SUCCESS

    def _link(self, name: str, handle: Any, link: Any) -> FakeNvLink | int:
        gpu = self._gpu(name, handle)
        if isinstance(gpu, int):
            return gpu
        if not gpu.nvlinks:
            return NOT_SUPPORTED
        index = _int(link)
        if not 0 <= index < len(gpu.nvlinks):
            return INVALID_ARGUMENT
        found: FakeNvLink = gpu.nvlinks[index]
        return found
