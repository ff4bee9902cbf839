"""Pure conversions from NVML's C structures to readings in base units.

Kept apart from the calls that fill the structures so they can be tested with
hand-built ``ctypes`` structs and no GPU.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from inferwatch.exporters.gpu_types import Reading

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
NVML_SUCCESS = 0
NVML_ERROR_NOT_SUPPORTED = 3

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
        if code == NVML_SUCCESS:
            values[reading] = field_value(entry) * scale
        elif code == NVML_ERROR_NOT_SUPPORTED:
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
