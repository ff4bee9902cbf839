"""NVLink state and data-link error counters of one GPU, link by link.

Read on the slow interval: an H100 has 18 links and each costs five NVML calls.
A GPU without NVLink answers NOT_SUPPORTED on link 0 and has no links; the end of
a GPU's links answers INVALID_ARGUMENT, so the caller can remember the count.
"""

from __future__ import annotations

from typing import Any

from inferwatch.exporters.gpu._types import NvLinkError, NvLinkReading
from inferwatch.exporters.gpu.returns import UNSUPPORTED, NvmlReturn

MAX_LINKS = 36  # NVML_NVLINK_MAX_LINKS
# nvmlNvLinkErrorCounter_t
COUNTERS = (
    (NvLinkError.REPLAY, 0),
    (NvLinkError.RECOVERY, 1),
    (NvLinkError.CRC_FLIT, 2),
    (NvLinkError.CRC_DATA, 3),
)


def read_nvlinks(nvml: Any, handle: Any, known_count: int | None) -> tuple[NvLinkReading, ...]:
    """Every link's state and counters; other NVML errors propagate as ``NVMLError``."""
    links = []
    for link in range(MAX_LINKS if known_count is None else known_count):
        try:
            active = nvml.nvmlDeviceGetNvLinkState(handle, link)
        except nvml.NVMLError as exc:
            if exc.value in UNSUPPORTED or exc.value == NvmlReturn.INVALID_ARGUMENT:
                break  # past the GPU's last link, or no NVLink at all
            raise
        errors = {}
        for kind, counter in COUNTERS:
            try:
                errors[kind] = float(nvml.nvmlDeviceGetNvLinkErrorCounter(handle, link, counter))
            except nvml.NVMLError as exc:
                if exc.value not in UNSUPPORTED:
                    raise
        links.append(NvLinkReading(link=link, active=bool(active), errors=errors))
    return tuple(links)
