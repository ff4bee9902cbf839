"""Metric families of the GPM profiling readings and of NVLink, in both naming modes.

GPM figures exist per GPU and per MIG instance; when any GPU in the snapshot has
MIG readings, a family carries ``gpu_instance``/``compute_instance`` (``GPU_I_ID``
in dcgm mode) and the whole-GPU rows leave them empty, as the memory families do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from inferwatch.exporters.gpu._types import GpuReading, NvLinkError, Reading

if TYPE_CHECKING:
    from inferwatch.exporters.gpu._metrics import Labeler

PREFIX = "inferwatch_gpu_"
GPM_GAUGES: tuple[tuple[Reading, str, str], ...] = (
    (
        Reading.GR_ENGINE_ACTIVE,
        "graphics_engine_active_ratio",
        "Share of the interval a graphics/compute context was active (GPM; 0..1).",
    ),
    (
        Reading.SM_ACTIVE,
        "sm_active_ratio",
        "Average share of SMs busy over the interval (GPM SM utilisation; 0..1).",
    ),
    (
        Reading.SM_OCCUPANCY,
        "sm_occupancy_ratio",
        "Resident warps over the theoretical maximum, averaged over the interval (GPM; 0..1).",
    ),
    (
        Reading.DRAM_ACTIVE,
        "dram_bandwidth_utilization_ratio",
        "DRAM bandwidth used over the theoretical maximum (GPM; 0..1).",
    ),
    (
        Reading.NVLINK_TX,
        "nvlink_transmit_bytes_per_second",
        "NVLink data written, all links (GPM).",
    ),
    (
        Reading.NVLINK_RX,
        "nvlink_receive_bytes_per_second",
        "NVLink data read, all links (GPM).",
    ),
)
TENSOR_PIPES: tuple[tuple[Reading, str], ...] = (
    (Reading.TENSOR_ANY, "any"),
    (Reading.TENSOR_HMMA, "hmma"),
    (Reading.TENSOR_IMMA, "imma"),
    (Reading.TENSOR_DMMA, "dmma"),
    (Reading.TENSOR_DFMA, "dfma"),
)
MATH_PIPES: tuple[tuple[Reading, str], ...] = (
    (Reading.PIPE_FP16, "fp16"),
    (Reading.PIPE_FP32, "fp32"),
    (Reading.PIPE_FP64, "fp64"),
    (Reading.PIPE_INT, "integer"),
)
# reading -> dcgm-exporter's profiling field (ratios 0..1 and bytes/s, as DCGM gives them)
DCGM_PROF: tuple[tuple[Reading, str, str], ...] = (
    (
        Reading.GR_ENGINE_ACTIVE,
        "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
        "Ratio of time the graphics engine is active.",
    ),
    (
        Reading.SM_ACTIVE,
        "DCGM_FI_PROF_SM_ACTIVE",
        "The ratio of cycles an SM has at least 1 warp assigned.",
    ),
    (
        Reading.SM_OCCUPANCY,
        "DCGM_FI_PROF_SM_OCCUPANCY",
        "The ratio of number of warps resident on an SM.",
    ),
    (
        Reading.TENSOR_ANY,
        "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
        "Ratio of cycles the tensor pipes are active.",
    ),
    (
        Reading.TENSOR_HMMA,
        "DCGM_FI_PROF_PIPE_TENSOR_HMMA_ACTIVE",
        "Ratio of cycles the HMMA tensor pipe is active.",
    ),
    (
        Reading.TENSOR_IMMA,
        "DCGM_FI_PROF_PIPE_TENSOR_IMMA_ACTIVE",
        "Ratio of cycles the IMMA tensor pipe is active.",
    ),
    (
        Reading.TENSOR_DFMA,
        "DCGM_FI_PROF_PIPE_TENSOR_DFMA_ACTIVE",
        "Ratio of cycles the DFMA tensor pipe is active.",
    ),
    (
        Reading.PIPE_FP64,
        "DCGM_FI_PROF_PIPE_FP64_ACTIVE",
        "Ratio of cycles the fp64 pipes are active.",
    ),
    (
        Reading.PIPE_FP32,
        "DCGM_FI_PROF_PIPE_FP32_ACTIVE",
        "Ratio of cycles the fp32 pipes are active.",
    ),
    (
        Reading.PIPE_FP16,
        "DCGM_FI_PROF_PIPE_FP16_ACTIVE",
        "Ratio of cycles the fp16 pipes are active.",
    ),
    (
        Reading.PIPE_INT,
        "DCGM_FI_PROF_PIPE_INT_ACTIVE",
        "Ratio of cycles the integer pipe is active.",
    ),
    (
        Reading.DRAM_ACTIVE,
        "DCGM_FI_PROF_DRAM_ACTIVE",
        "Ratio of cycles the device memory interface is active sending or receiving data.",
    ),
    (
        Reading.NVLINK_TX,
        "DCGM_FI_PROF_NVLINK_TX_BYTES",
        "The rate of data transmitted over NVLink, in bytes per second.",
    ),
    (
        Reading.NVLINK_RX,
        "DCGM_FI_PROF_NVLINK_RX_BYTES",
        "The rate of data received over NVLink, in bytes per second.",
    ),
)
DCGM_NVLINK_ERRORS: tuple[tuple[NvLinkError, str, str], ...] = (
    (
        NvLinkError.CRC_FLIT,
        "DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL",
        "Total number of NVLink flow-control CRC errors.",
    ),
    (
        NvLinkError.CRC_DATA,
        "DCGM_FI_DEV_NVLINK_CRC_DATA_ERROR_COUNT_TOTAL",
        "Total number of NVLink data CRC errors.",
    ),
    (
        NvLinkError.REPLAY,
        "DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL",
        "Total number of NVLink retries.",
    ),
    (
        NvLinkError.RECOVERY,
        "DCGM_FI_DEV_NVLINK_RECOVERY_ERROR_COUNT_TOTAL",
        "Total number of NVLink recovery errors.",
    ),
)

Names = Callable[..., list[str]]
Values = Callable[..., list[str]]


def _rows(
    gpu: GpuReading, reading: Reading, mig: bool
) -> Iterator[tuple[tuple[str, ...], str | None, float]]:
    """(extra label values, uuid override, value) of a GPU and, when ``mig``, its instances."""
    if reading in gpu.values:
        yield (("", "") if mig else ()), None, gpu.values[reading]
    if mig:
        for inst in gpu.mig:
            if reading in inst.values:
                ids = (str(inst.gpu_instance), str(inst.compute_instance))
                yield ids, inst.uuid, inst.values[reading]


def any_mig_gpm(gpus: Sequence[GpuReading]) -> bool:
    """Whether any MIG instance has GPM readings (then families carry instance labels)."""
    return any(inst.values for gpu in gpus for inst in gpu.mig)


def inferwatch_profiling(gpus: Sequence[GpuReading], labeler: Labeler) -> Iterator[Metric]:
    """GPM gauges, tensor and math pipes, NVLink state and errors, in inferwatch names."""
    mig = any_mig_gpm(gpus)
    instance = ("gpu_instance", "compute_instance") if mig else ()

    def labels(*extra: str) -> list[str]:
        return labeler.names(*instance, *extra)

    for reading, suffix, doc in GPM_GAUGES:
        family = GaugeMetricFamily(PREFIX + suffix, doc, labels=labels())
        for gpu in gpus:
            for ids, uuid, value in _rows(gpu, reading, mig):
                family.add_metric(labeler.values(gpu, *ids, uuid=uuid), value)
        yield family
    for name, pipes, doc in (
        (
            "tensor_active_ratio",
            TENSOR_PIPES,
            "Share of cycles a tensor pipe was active (GPM; 0..1).",
        ),
        (
            "pipe_active_ratio",
            MATH_PIPES,
            "Share of cycles a non-tensor math pipe was active (GPM; 0..1).",
        ),
    ):
        family = GaugeMetricFamily(PREFIX + name, doc, labels=labels("pipe"))
        for gpu in gpus:
            for reading, pipe in pipes:
                for ids, uuid, value in _rows(gpu, reading, mig):
                    family.add_metric(labeler.values(gpu, *ids, pipe, uuid=uuid), value)
        yield family
    yield from _nvlink_families(gpus, labeler)


def _nvlink_families(gpus: Sequence[GpuReading], labeler: Labeler) -> Iterator[Metric]:
    """Links by state per GPU, the down links by number, errors of links that have any.

    Sparse on purpose: an H100 has 18 links; one always-1 state series and four zero
    counters per link would be 90 series a GPU, most of a scrape's cost for 8 GPUs.
    """
    links = GaugeMetricFamily(
        PREFIX + "nvlink_links",
        "NVLinks of the GPU by state (active, inactive).",
        labels=labeler.names("state"),
    )
    down = GaugeMetricFamily(
        PREFIX + "nvlink_link_down",
        "1 for each NVLink that is not active, by link number (no series while a link is up).",
        labels=labeler.names("link"),
    )
    errors = CounterMetricFamily(
        PREFIX + "nvlink_errors",
        "NVLink data-link errors since the driver loaded, per link and kind; only links "
        "that have counted an error.",
        labels=labeler.names("link", "error_type"),
    )
    for gpu in gpus:
        if not gpu.nvlinks:
            continue
        active = sum(1 for link in gpu.nvlinks if link.active)
        links.add_metric(labeler.values(gpu, "active"), float(active))
        links.add_metric(labeler.values(gpu, "inactive"), float(len(gpu.nvlinks) - active))
        for link in gpu.nvlinks:
            if not link.active:
                down.add_metric(labeler.values(gpu, str(link.link)), 1.0)
            if any(link.errors.values()):
                for kind, count in link.errors.items():
                    errors.add_metric(labeler.values(gpu, str(link.link), kind.value), count)
    yield from (links, down, errors)


def gpm_status_family(gpus: Sequence[GpuReading], labeler: Labeler) -> Metric:
    """Per GPU, one series naming its GPM state (info-style: always 1)."""
    family = GaugeMetricFamily(
        PREFIX + "gpm_status",
        "The GPU's GPM (profiling) state, always 1: status is supported, unsupported "
        "(pre-Hopper), refused (the driver declined) or disabled (settings).",
        labels=labeler.names("status"),
    )
    for gpu in gpus:
        if gpu.up and gpu.gpm is not None:
            family.add_metric(labeler.values(gpu, gpu.gpm.value), 1.0)
    return family


def dcgm_profiling(gpus: Sequence[GpuReading], names: Names, values: Values) -> Iterator[Metric]:
    """``DCGM_FI_PROF_*`` and dcgm's NVLink error totals, labelled as dcgm-exporter does."""
    mig = any_mig_gpm(gpus)
    for reading, name, doc in DCGM_PROF:
        family = GaugeMetricFamily(name, doc, labels=names("GPU_I_ID") if mig else names())
        for gpu in gpus:
            for ids, uuid, value in _rows(gpu, reading, mig):
                family.add_metric(values(gpu, *ids[:1], uuid=uuid), value)
        yield family
    for kind, name, doc in DCGM_NVLINK_ERRORS:
        family = GaugeMetricFamily(name, doc, labels=names())
        for gpu in gpus:
            counts = [link.errors[kind] for link in gpu.nvlinks if kind in link.errors]
            if counts:
                family.add_metric(values(gpu), sum(counts))
        yield family
