"""GPM (GPU Performance Monitoring) readings: NVML's profiling metrics, without DCGM.

GPM metrics are computed by the driver from two samples. The reader keeps two
sample buffers per GPU (and per MIG GPU instance) for the life of one NVML
session: each sampler pass fills the older buffer and asks for the metrics
between it and the previous pass's sample, so every figure is an average over
the sampler's interval and no pass ever waits between two samples. The first pass
on a GPU only primes its buffers. A GPU that says it has no GPM (pre-Hopper) or
whose driver refuses the calls is asked once per NVML session, logged once, and
reported through its ``GpmState``; it is not retried every pass.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from inferwatch.exporters.gpu._convert import GPM_METRIC_IDS, gpm_values
from inferwatch.exporters.gpu._types import GpmState, Reading

log = logging.getLogger("inferwatch.exporters.gpu")

# nvmlReturn_t codes that mean "this driver/device will not do GPM for us"
_REFUSED = {3: "not supported", 4: "no permission", 13: "function not found (driver too old)"}
_NOT_FOUND = 6


@dataclass
class _Pair:
    previous: Any
    current: Any
    primed: bool = False


@dataclass(frozen=True)
class GpmResult:
    """One pass's GPM outcome on one GPU."""

    state: GpmState
    values: dict[Reading, float] = field(default_factory=dict)
    mig: dict[int, dict[Reading, float]] = field(default_factory=dict)
    """GPU instance id -> readings of that MIG instance."""


class GpmReader:
    """Owns the GPM sample buffers of one NVML session."""

    def __init__(self, nvml: Any) -> None:
        self.nvml = nvml
        self._states: dict[int, GpmState] = {}
        self._pairs: dict[tuple[int, int | None], _Pair] = {}
        self._logged: set[tuple[str, GpmState]] = set()
        self._gives_pcie: set[int] = set()
        self._whole_refused: set[int] = set()
        """GPUs (in MIG mode) whose whole-GPU sample the driver refused; their instances work."""

    def state(self, index: int) -> GpmState | None:
        """What is known about GPU ``index``'s GPM support (None: not asked yet)."""
        return self._states.get(index)

    def gives_pcie(self, index: int) -> bool:
        """Whether GPU ``index``'s last GPM pass gave PCIe rates (the blocking query can rest)."""
        return index in self._gives_pcie

    def read(self, index: int, uuid: str, handle: Any, gpu_instances: Iterable[int]) -> GpmResult:
        """Take this pass's samples of a GPU and its MIG instances; metrics since the last pass.

        Errors other than a refusal propagate as ``NVMLError`` for the caller to classify.
        """
        nvml = self.nvml
        state = self._states.get(index)
        if state is None:
            state = self._query(handle)
            self._states[index] = state
            self._say(uuid, state)
        if state is not GpmState.SUPPORTED:
            return GpmResult(state)
        instances = list(gpu_instances)
        values: dict[Reading, float] = {}
        if index not in self._whole_refused:
            try:
                values = self._take((index, None), lambda s: nvml.nvmlGpmSampleGet(handle, s))
            except nvml.NVMLError as exc:
                if exc.value not in _REFUSED:
                    raise
                if not instances:
                    self._refuse(index, uuid, f"nvmlGpmSampleGet: {_REFUSED[exc.value]}")
                    return GpmResult(GpmState.REFUSED)
                # a MIG-mode GPU may give GPM per GPU instance only
                self._whole_refused.add(index)
                self._free((index, None))
        mig: dict[int, dict[Reading, float]] = {}
        seen: set[int] = set()
        for gpu_instance in instances:
            if gpu_instance in seen:
                continue  # compute instances of one GPU instance share its GPM figures
            seen.add(gpu_instance)
            try:
                mig[gpu_instance] = self._take(
                    (index, gpu_instance),
                    lambda s, gi=gpu_instance: nvml.nvmlGpmMigSampleGet(handle, gi, s),  # type: ignore[misc]
                )
            except nvml.NVMLError as exc:
                if exc.value not in _REFUSED and exc.value != _NOT_FOUND:
                    raise
        self._drop_gone(index, seen)
        if Reading.PCIE_TX in values and Reading.PCIE_RX in values:
            self._gives_pcie.add(index)
        else:
            self._gives_pcie.discard(index)
        return GpmResult(GpmState.SUPPORTED, values, mig)

    def forget(self) -> None:
        """Free every sample buffer (before ``nvmlShutdown``); errors change nothing now."""
        for pair in self._pairs.values():
            for sample in (pair.previous, pair.current):
                with suppress(self.nvml.NVMLError):
                    self.nvml.nvmlGpmSampleFree(sample)
        self._pairs.clear()
        self._states.clear()
        self._gives_pcie.clear()
        self._whole_refused.clear()

    # -- helpers -------------------------------------------------------------
    def _query(self, handle: Any) -> GpmState:
        nvml = self.nvml
        try:
            support = nvml.nvmlGpmQueryDeviceSupport(handle)
        except nvml.NVMLError as exc:
            if exc.value in _REFUSED:
                return GpmState.REFUSED
            raise
        return GpmState.SUPPORTED if support.isSupportedDevice else GpmState.UNSUPPORTED

    def _take(
        self, key: tuple[int, int | None], sample: Callable[[Any], object]
    ) -> dict[Reading, float]:
        nvml = self.nvml
        pair = self._pairs.get(key)
        if pair is None:
            pair = _Pair(nvml.nvmlGpmSampleAlloc(), nvml.nvmlGpmSampleAlloc())
            self._pairs[key] = pair
        sample(pair.current)
        try:
            return self._metrics(pair) if pair.primed else {}
        finally:
            pair.previous, pair.current, pair.primed = pair.current, pair.previous, True

    def _metrics(self, pair: _Pair) -> dict[Reading, float]:
        nvml = self.nvml
        request = nvml.c_nvmlGpmMetricsGet_t()
        request.version = nvml.NVML_GPM_METRICS_GET_VERSION
        request.numMetrics = len(GPM_METRIC_IDS)
        request.sample1, request.sample2 = pair.previous, pair.current
        for i, metric_id in enumerate(GPM_METRIC_IDS):
            request.metrics[i].metricId = metric_id
        nvml.nvmlGpmMetricsGet(request)
        return gpm_values(request.metrics[i] for i in range(len(GPM_METRIC_IDS)))

    def _refuse(self, index: int, uuid: str, why: str) -> None:
        self._states[index] = GpmState.REFUSED
        self._gives_pcie.discard(index)
        for key in [k for k in self._pairs if k[0] == index]:
            self._free(key)
        self._say(uuid, GpmState.REFUSED, why)

    def _drop_gone(self, index: int, gpu_instances: set[int]) -> None:
        for key in [k for k in self._pairs if k[0] == index and k[1] is not None]:
            if key[1] not in gpu_instances:
                self._free(key)

    def _free(self, key: tuple[int, int | None]) -> None:
        pair = self._pairs.pop(key, None)
        if pair is None:
            return
        for sample in (pair.previous, pair.current):
            with suppress(self.nvml.NVMLError):
                self.nvml.nvmlGpmSampleFree(sample)

    def _say(self, uuid: str, state: GpmState, why: str = "") -> None:
        """Log a GPU without GPM once per exporter process, not every pass."""
        if state is GpmState.SUPPORTED or (uuid, state) in self._logged:
            return
        self._logged.add((uuid, state))
        detail = f" ({why})" if why else ""
        log.info(
            "GPU %s: no GPM profiling metrics, %s%s; see inferwatch_gpu_gpm_status",
            uuid,
            state.value,
            detail,
        )
