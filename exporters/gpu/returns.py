"""NVML's return codes (``nvmlReturn_t`` in nvml.h), defined once.

The exporter reads them from ``pynvml.NVMLError.value``; the fake driver answers
them from its C-ABI functions. ``IntEnum`` members compare equal to the ints NVML
gives, so either side may hold a plain int.
"""

from __future__ import annotations

from enum import IntEnum


class NvmlReturn(IntEnum):
    """The ``nvmlReturn_t`` values inferwatch tells apart."""

    SUCCESS = 0
    UNINITIALIZED = 1
    INVALID_ARGUMENT = 2
    NOT_SUPPORTED = 3
    NO_PERMISSION = 4
    NOT_FOUND = 6
    INSUFFICIENT_SIZE = 7
    DRIVER_NOT_LOADED = 9
    TIMEOUT = 10
    LIBRARY_NOT_FOUND = 12
    FUNCTION_NOT_FOUND = 13
    GPU_IS_LOST = 15
    RESET_REQUIRED = 16
    LIB_RM_VERSION_MISMATCH = 18
    ARGUMENT_VERSION_MISMATCH = 25
    UNKNOWN = 999


LIBRARY_LOST = frozenset(
    {NvmlReturn.UNINITIALIZED, NvmlReturn.DRIVER_NOT_LOADED, NvmlReturn.LIB_RM_VERSION_MISMATCH}
)
"""The driver or library went away: shut NVML down and initialise it again."""
GPU_LOST = frozenset({NvmlReturn.GPU_IS_LOST, NvmlReturn.RESET_REQUIRED})
"""One GPU fell off the bus or needs a reset."""
UNSUPPORTED = frozenset({NvmlReturn.NOT_SUPPORTED, NvmlReturn.FUNCTION_NOT_FOUND})
"""The device or driver does not offer this reading: a missing series, not an error."""
