"""Typed, immutable readings of the GPU exporter, and its exception tree.

Readings are in base units (ratio 0..1, bytes, celsius, watts, joules, hertz,
bytes per second) so that each naming mode only renames and rescales.

    GpuExporterError(InferwatchError)
    ├── NvmlUnavailableError   no NVIDIA driver/library, or no GPU: a state, not a crash
    └── NvmlLostError          NVML must be re-initialised (driver reset, GPU lost)
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from inferwatch.errors import InferwatchError


class GpuExporterError(InferwatchError):
    """Base of the GPU exporter's own errors."""


class NvmlUnavailableError(GpuExporterError):
    """No NVIDIA driver/library could be loaded, or it sees no GPU."""

    def __init__(self, message: str, status: Status) -> None:
        super().__init__(message)
        self.status = status


class NvmlLostError(GpuExporterError):
    """NVML answered UNINITIALIZED / GPU_IS_LOST / DRIVER_NOT_LOADED: re-initialise it."""


class Status(enum.StrEnum):
    """What the exporter can say about NVML as a whole."""

    STARTING = "starting"
    OK = "ok"
    NO_DRIVER = "no_driver"
    NO_GPU = "no_gpu"
    ERROR = "error"


class Reading(enum.StrEnum):
    """One scalar reading of a GPU, in base units."""

    UTIL_GPU = "util_gpu"
    UTIL_MEMORY_COPY = "util_memory_copy"
    UTIL_ENCODER = "util_encoder"
    UTIL_DECODER = "util_decoder"
    MEMORY_USED = "memory_used"
    MEMORY_FREE = "memory_free"
    MEMORY_TOTAL = "memory_total"
    MEMORY_RESERVED = "memory_reserved"
    TEMPERATURE = "temperature"
    MEMORY_TEMPERATURE = "memory_temperature"
    POWER = "power"
    POWER_LIMIT = "power_limit"
    ENERGY = "energy"
    SM_CLOCK = "sm_clock"
    MEMORY_CLOCK = "memory_clock"
    CLOCK_EVENT_REASONS = "clock_event_reasons"
    PCIE_REPLAY = "pcie_replay"
    PCIE_TX = "pcie_tx"
    PCIE_RX = "pcie_rx"
    ECC_CORRECTED_VOLATILE = "ecc_corrected_volatile"
    ECC_UNCORRECTED_VOLATILE = "ecc_uncorrected_volatile"
    ECC_CORRECTED_AGGREGATE = "ecc_corrected_aggregate"
    ECC_UNCORRECTED_AGGREGATE = "ecc_uncorrected_aggregate"
    REMAPPED_CORRECTABLE = "remapped_correctable"
    REMAPPED_UNCORRECTABLE = "remapped_uncorrectable"
    REMAP_PENDING = "remap_pending"
    REMAP_FAILURE = "remap_failure"
    # GPM (profiling) readings: ratios of the interval between two GPM samples
    GR_ENGINE_ACTIVE = "gr_engine_active"
    SM_ACTIVE = "sm_active"
    SM_OCCUPANCY = "sm_occupancy"
    TENSOR_ANY = "tensor_any"
    TENSOR_HMMA = "tensor_hmma"
    TENSOR_IMMA = "tensor_imma"
    TENSOR_DMMA = "tensor_dmma"
    TENSOR_DFMA = "tensor_dfma"
    PIPE_FP16 = "pipe_fp16"
    PIPE_FP32 = "pipe_fp32"
    PIPE_FP64 = "pipe_fp64"
    PIPE_INT = "pipe_int"
    DRAM_ACTIVE = "dram_active"
    NVLINK_TX = "nvlink_tx"
    NVLINK_RX = "nvlink_rx"


class GpmState(enum.StrEnum):
    """Whether a GPU gives GPM (profiling) readings, and if not, why."""

    SUPPORTED = "supported"
    UNSUPPORTED = "unsupported"
    """nvmlGpmQueryDeviceSupport says no (pre-Hopper)."""
    REFUSED = "refused"
    """The device claims support but the driver refuses the calls (permission, old driver)."""
    DISABLED = "disabled"
    """Switched off in the settings."""


class NvLinkError(enum.StrEnum):
    """NVLink data-link error counters (nvmlNvLinkErrorCounter_t)."""

    REPLAY = "replay"
    RECOVERY = "recovery"
    CRC_FLIT = "crc_flit"
    CRC_DATA = "crc_data"


@dataclass(frozen=True)
class SystemInfo:
    """Driver-wide facts read once per NVML initialisation."""

    driver_version: str
    cuda_version: str


@dataclass(frozen=True)
class DeviceInfo:
    """Identity of one GPU."""

    index: int
    uuid: str
    name: str
    pci_bus_id: str


@dataclass(frozen=True)
class ProcessMemory:
    """GPU memory one process holds."""

    pid: int
    name: str
    used_bytes: float


@dataclass(frozen=True)
class MigReading:
    """Memory of one MIG instance."""

    uuid: str
    gpu_instance: int
    compute_instance: int
    memory_used: float
    memory_total: float
    values: Mapping[Reading, float] = field(default_factory=dict)
    """GPM readings of the instance (empty where the GPU gives none)."""


@dataclass(frozen=True)
class NvLinkReading:
    """State and error counters of one NVLink of a GPU."""

    link: int
    active: bool
    errors: Mapping[NvLinkError, float] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupResult:
    """What one read group (the readings one NVML call family gives, e.g. ``clocks``) did
    on one GPU."""

    ok: bool
    duration_seconds: float
    error: str = ""


@dataclass(frozen=True)
class GpuReading:
    """Everything read from one GPU in one pass; ``up`` False when it could not be read."""

    info: DeviceInfo
    up: bool
    values: Mapping[Reading, float] = field(default_factory=dict)
    processes: tuple[ProcessMemory, ...] = ()
    mig: tuple[MigReading, ...] = ()
    groups: Mapping[str, GroupResult] = field(default_factory=dict)
    unsupported: frozenset[str] = frozenset()
    gpm: GpmState | None = None
    """None until the GPU's GPM support is known."""
    nvlinks: tuple[NvLinkReading, ...] = ()


@dataclass(frozen=True)
class PodRef:
    """The pod (and container) a GPU belongs to."""

    pod: str = ""
    namespace: str = ""
    container: str = ""


@dataclass(frozen=True)
class ReadGroupStatus:
    """Success and duration of one read group over all GPUs in the last pass."""

    success: bool
    duration_seconds: float


@dataclass(frozen=True)
class Snapshot:
    """The last complete pass of the background loop; what every scrape serves."""

    taken_at: float
    """``time.monotonic()`` of the pass; the age is measured against the same clock."""
    status: Status
    message: str = ""
    system: SystemInfo | None = None
    gpus: tuple[GpuReading, ...] = ()
    read_groups: Mapping[str, ReadGroupStatus] = field(default_factory=dict)
    """Per read group (``memory``, ``clocks``, ``pods``...): its outcome over all GPUs;
    exposed as ``inferwatch_gpu_scrape_collector_*{collector=...}`` (node_exporter's names)."""
    xid_counts: Mapping[tuple[int, int], int] = field(default_factory=dict)
    """(gpu index, xid) -> events counted since the exporter started."""
    last_xid: Mapping[int, int] = field(default_factory=dict)
    """gpu index -> the last Xid seen (dcgm's DCGM_FI_DEV_XID_ERRORS)."""
    pods: Mapping[str, PodRef] = field(default_factory=dict)
    """GPU (or MIG) UUID -> pod, from the kubelet; empty when unknown."""
    hostname: str = ""
