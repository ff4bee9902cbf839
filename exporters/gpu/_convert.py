"""Pure conversions from NVML's C structures to readings in base units.

Kept apart from the calls that fill the structures so they can be tested with
hand-built ``ctypes`` structs and no GPU.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from inferwatch.exporters.gpu._types import Reading
from inferwatch.exporters.gpu.returns import NvmlReturn

# NVML field ids (nvml.h NVML_FI_DEV_*) read in one nvmlDeviceGetFieldValues call,
# with the scale that turns them into base units. Measured on an H200 (driver 580):
# every field costs microseconds except total energy (~4 ms of CPU) and the PCIe
# replay counter (~0.3 ms), so those two are read on the slow interval.
FAST_FIELD_IDS: Mapping[int, tuple[Reading, float]] = {
    3: (Reading.ECC_CORRECTED_VOLATILE, 1.0),  # NVML_FI_DEV_ECC_SBE_VOL_TOTAL
    4: (Reading.ECC_UNCORRECTED_VOLATILE, 1.0),  # NVML_FI_DEV_ECC_DBE_VOL_TOTAL
    5: (Reading.ECC_CORRECTED_AGGREGATE, 1.0),  # NVML_FI_DEV_ECC_SBE_AGG_TOTAL
    6: (Reading.ECC_UNCORRECTED_AGGREGATE, 1.0),  # NVML_FI_DEV_ECC_DBE_AGG_TOTAL
    82: (Reading.MEMORY_TEMPERATURE, 1.0),  # NVML_FI_DEV_MEMORY_TEMP, celsius
    142: (Reading.REMAPPED_CORRECTABLE, 1.0),  # NVML_FI_DEV_REMAPPED_COR
    143: (Reading.REMAPPED_UNCORRECTABLE, 1.0),  # NVML_FI_DEV_REMAPPED_UNC
    144: (Reading.REMAP_PENDING, 1.0),  # NVML_FI_DEV_REMAPPED_PENDING
    145: (Reading.REMAP_FAILURE, 1.0),  # NVML_FI_DEV_REMAPPED_FAILURE
}
SLOW_FIELD_IDS: Mapping[int, tuple[Reading, float]] = {
    83: (Reading.ENERGY, 1e-3),  # NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION, mJ
    94: (Reading.PCIE_REPLAY, 1.0),  # NVML_FI_DEV_PCIE_REPLAY_COUNTER
}
FIELD_IDS: Mapping[int, tuple[Reading, float]] = {**FAST_FIELD_IDS, **SLOW_FIELD_IDS}

# nvmlValueType_t -> member of the c_nvmlValue_t union
_VALUE_MEMBER = {
    0: "dVal",
    1: "uiVal",
    2: "ulVal",
    3: "ullVal",
    4: "sllVal",
    5: "siVal",
    6: "usVal",
}

MIB = 1024 * 1024


def memory_values(memory: Any) -> dict[Reading, float]:
    """From ``nvmlMemory_v2_t``: v2 ``used`` excludes the driver's reserved memory."""
    return {
        Reading.MEMORY_TOTAL: float(memory.total),
        Reading.MEMORY_USED: float(memory.used),
        Reading.MEMORY_FREE: float(memory.free),
        Reading.MEMORY_RESERVED: float(memory.reserved),
    }


def utilization_values(util: Any) -> dict[Reading, float]:
    """From ``nvmlUtilization_t`` (percent) to ratios."""
    return {
        Reading.UTIL_GPU: util.gpu / 100.0,
        Reading.UTIL_MEMORY_COPY: util.memory / 100.0,
    }


def field_value(entry: Any) -> float:
    """The number held by one ``nvmlFieldValue_t``, whatever its value type."""
    member = _VALUE_MEMBER.get(int(entry.valueType))
    if member is None:
        raise ValueError(f"unknown NVML value type {entry.valueType}")
    return float(getattr(entry.value, member))


def field_values(
    entries: Iterable[Any],
) -> tuple[dict[Reading, float], set[str], dict[str, int]]:
    """Split a ``nvmlFieldValue_t`` array into readings, unsupported fields, failed fields.

    Failed fields map to their NVML return code, so the caller can name it.
    """
    values: dict[Reading, float] = {}
    unsupported: set[str] = set()
    failed: dict[str, int] = {}
    for entry in entries:
        known = FIELD_IDS.get(int(entry.fieldId))
        if known is None:
            continue
        reading, scale = known
        code = int(entry.nvmlReturn)
        if code == NvmlReturn.SUCCESS:
            values[reading] = field_value(entry) * scale
        elif code == NvmlReturn.NOT_SUPPORTED:
            unsupported.add(reading.value)
        else:
            failed[reading.value] = code
    return values, unsupported, failed


def cuda_version_text(version: int) -> str:
    """``12040`` -> ``"12.4"`` (nvmlSystemGetCudaDriverVersion's encoding)."""
    return f"{version // 1000}.{(version % 1000) // 10}"


def text(value: str | bytes) -> str:
    """pynvml returns str or bytes depending on version; labels want str."""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


# GPM metric ids (nvml.h NVML_GPM_METRIC_*) read every interval, with the divisor to base
# units: percentages become ratios, MiB/s become bytes/s (a division keeps 41% at 0.41).
GPM_METRIC_IDS: Mapping[int, tuple[Reading, float]] = {
    1: (Reading.GR_ENGINE_ACTIVE, 100.0),  # GRAPHICS_UTIL
    2: (Reading.SM_ACTIVE, 100.0),  # SM_UTIL
    3: (Reading.SM_OCCUPANCY, 100.0),  # SM_OCCUPANCY
    4: (Reading.PIPE_INT, 100.0),  # INTEGER_UTIL
    5: (Reading.TENSOR_ANY, 100.0),  # ANY_TENSOR_UTIL
    6: (Reading.TENSOR_DFMA, 100.0),  # DFMA_TENSOR_UTIL
    7: (Reading.TENSOR_HMMA, 100.0),  # HMMA_TENSOR_UTIL
    8: (Reading.TENSOR_DMMA, 100.0),  # DMMA_TENSOR_UTIL
    9: (Reading.TENSOR_IMMA, 100.0),  # IMMA_TENSOR_UTIL
    10: (Reading.DRAM_ACTIVE, 100.0),  # DRAM_BW_UTIL
    11: (Reading.PIPE_FP64, 100.0),  # FP64_UTIL
    12: (Reading.PIPE_FP32, 100.0),  # FP32_UTIL
    13: (Reading.PIPE_FP16, 100.0),  # FP16_UTIL
    20: (Reading.PCIE_TX, 1 / MIB),  # PCIE_TX_PER_SEC
    21: (Reading.PCIE_RX, 1 / MIB),  # PCIE_RX_PER_SEC
    60: (Reading.NVLINK_RX, 1 / MIB),  # NVLINK_TOTAL_RX_PER_SEC
    61: (Reading.NVLINK_TX, 1 / MIB),  # NVLINK_TOTAL_TX_PER_SEC
}


def gpm_values(metrics: Iterable[Any]) -> dict[Reading, float]:
    """From the ``c_nvmlGpmMetric_t`` entries of ``nvmlGpmMetricsGet``: those that succeeded.

    A metric the device does not offer (NVLink on a PCIe card) answers NOT_SUPPORTED
    for itself only; such entries are left out.
    """
    values: dict[Reading, float] = {}
    for metric in metrics:
        known = GPM_METRIC_IDS.get(int(metric.metricId))
        if known is not None and int(metric.nvmlReturn) == NvmlReturn.SUCCESS:
            reading, divisor = known
            values[reading] = max(0.0, float(metric.value)) / divisor
    return values
