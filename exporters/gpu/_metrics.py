"""The Prometheus collector: fresh metric families from the last snapshot, on each scrape.

It keeps no state between scrapes and never calls NVML; it reads the snapshot
the background loop published, so a scrape costs microseconds per series. The
``inferwatch`` naming mode is built here, the ``dcgm`` mode in ``gpu._dcgm``;
the exporter's own health series (up, per-read-group success and duration, snapshot
age, status) use inferwatch names in both. The read-group series keep node_exporter's
names, ``*_scrape_collector_*{collector=...}``, which dashboards and alerts know.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from inferwatch.exporters.gpu._profiling import gpm_status_family, inferwatch_profiling
from inferwatch.exporters.gpu._types import GpuReading, PodRef, Reading, Snapshot, Status

GAUGES: tuple[tuple[Reading, str, str], ...] = (
    (Reading.UTIL_GPU, "utilization_ratio", "Share of the last sample period a kernel ran (0..1)."),
    (
        Reading.UTIL_MEMORY_COPY,
        "memory_copy_utilization_ratio",
        "Share of the last sample period device memory was read or written (0..1).",
    ),
    (Reading.UTIL_ENCODER, "encoder_utilization_ratio", "Video encoder utilisation (0..1)."),
    (Reading.UTIL_DECODER, "decoder_utilization_ratio", "Video decoder utilisation (0..1)."),
    (Reading.MEMORY_USED, "memory_used_bytes", "Device memory allocated (v2: excludes reserved)."),
    (Reading.MEMORY_FREE, "memory_free_bytes", "Device memory free."),
    (Reading.MEMORY_TOTAL, "memory_total_bytes", "Device memory installed."),
    (Reading.MEMORY_RESERVED, "memory_reserved_bytes", "Device memory the driver reserves."),
    (Reading.TEMPERATURE, "temperature_celsius", "GPU die temperature."),
    (Reading.MEMORY_TEMPERATURE, "memory_temperature_celsius", "Memory (HBM) temperature."),
    (Reading.POWER, "power_watts", "Power draw."),
    (Reading.POWER_LIMIT, "power_limit_watts", "Enforced power limit."),
    (Reading.SM_CLOCK, "sm_clock_hertz", "SM clock."),
    (Reading.MEMORY_CLOCK, "memory_clock_hertz", "Memory clock."),
    (Reading.PCIE_TX, "pcie_transmit_bytes_per_second", "PCIe transmit throughput."),
    (Reading.PCIE_RX, "pcie_receive_bytes_per_second", "PCIe receive throughput."),
    (Reading.REMAP_PENDING, "row_remap_pending", "1 when a row remap waits for a GPU reset."),
    (Reading.REMAP_FAILURE, "row_remap_failure", "1 when a row remap failed."),
)
COUNTERS: tuple[tuple[Reading, str, str], ...] = (
    (Reading.ENERGY, "energy_joules", "Energy used since the driver was loaded."),
    (Reading.PCIE_REPLAY, "pcie_replay", "PCIe replays since the driver was loaded."),
)
ECC: tuple[tuple[Reading, str, str], ...] = (
    (Reading.ECC_CORRECTED_VOLATILE, "corrected", "volatile"),
    (Reading.ECC_UNCORRECTED_VOLATILE, "uncorrected", "volatile"),
    (Reading.ECC_CORRECTED_AGGREGATE, "corrected", "aggregate"),
    (Reading.ECC_UNCORRECTED_AGGREGATE, "uncorrected", "aggregate"),
)
REMAPPED = (
    (Reading.REMAPPED_CORRECTABLE, "correctable"),
    (Reading.REMAPPED_UNCORRECTABLE, "uncorrectable"),
)
CLOCK_EVENT_REASONS = (
    (0x1, "gpu_idle"),
    (0x2, "applications_clocks_setting"),
    (0x4, "sw_power_cap"),
    (0x8, "hw_slowdown"),
    (0x10, "sync_boost"),
    (0x20, "sw_thermal_slowdown"),
    (0x40, "hw_thermal_slowdown"),
    (0x80, "hw_power_brake_slowdown"),
    (0x100, "display_clock_setting"),
)
PREFIX = "inferwatch_gpu_"

SnapshotSource = Callable[[], Snapshot]
FamilyBuilder = Callable[[Snapshot, "Labeler"], Iterable[Metric]]


class Labeler:
    """Per-GPU label names and values, with pod labels when any are known."""

    def __init__(self, snapshot: Snapshot, static_pod: PodRef | None, with_pods: bool) -> None:
        self.snapshot = snapshot
        self.static_pod = static_pod
        self.with_pods = with_pods or static_pod is not None

    def pod(self, uuid: str) -> PodRef:
        """The pod for a GPU or MIG UUID (empty when unknown)."""
        return self.snapshot.pods.get(uuid) or self.static_pod or PodRef()

    def names(self, *extra: str) -> list[str]:
        """``gpu``, ``uuid``, the pod labels when on, then ``extra``."""
        pods = ["pod", "namespace", "container"] if self.with_pods else []
        return ["gpu", "uuid", *pods, *extra]

    def values(self, gpu: GpuReading, *extra: str, uuid: str | None = None) -> list[str]:
        """Values matching ``names``."""
        uuid = uuid if uuid is not None else gpu.info.uuid
        if not self.with_pods:
            return [str(gpu.info.index), uuid, *extra]
        ref = self.pod(uuid)
        return [str(gpu.info.index), uuid, ref.pod, ref.namespace, ref.container, *extra]


class GpuCollector(Collector):
    """``collect()`` builds every GPU family from the latest snapshot."""

    def __init__(
        self,
        source: SnapshotSource,
        *,
        naming: str = "inferwatch",
        static_pod: PodRef | None = None,
        with_pods: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.static_pod = static_pod
        self.with_pods = with_pods
        self.clock = clock
        if naming == "dcgm":
            from inferwatch.exporters.gpu._dcgm import dcgm_families

            self.builder: FamilyBuilder = dcgm_families
        else:
            self.builder = inferwatch_families

    def collect(self) -> Iterator[Metric]:
        """Health series, then the naming mode's GPU series."""
        snapshot = self.source()
        labeler = Labeler(snapshot, self.static_pod, self.with_pods)
        yield from health_families(snapshot, labeler, self.clock())
        yield from self.builder(snapshot, labeler)


def health_families(snapshot: Snapshot, labeler: Labeler, now: float) -> Iterator[Metric]:
    """What failed and how fresh the data is; present in both naming modes."""
    status = GaugeMetricFamily(
        PREFIX + "exporter_status",
        "1 for the exporter's current NVML state (ok, no_driver, no_gpu, error, starting).",
        labels=["status"],
    )
    for state in Status:
        status.add_metric([state.value], 1.0 if snapshot.status is state else 0.0)
    yield status
    age = GaugeMetricFamily(
        PREFIX + "snapshot_age_seconds", "Seconds since the GPUs were last read."
    )
    age.add_metric([], max(0.0, now - snapshot.taken_at))
    yield age
    up = GaugeMetricFamily(PREFIX + "up", "1 when the GPU could be read.", labels=labeler.names())
    for gpu in snapshot.gpus:
        up.add_metric(labeler.values(gpu), 1.0 if gpu.up else 0.0)
    yield up
    success = GaugeMetricFamily(
        PREFIX + "scrape_collector_success",
        "1 when a read group succeeded on every GPU in the last pass.",
        labels=["collector"],
    )
    duration = GaugeMetricFamily(
        PREFIX + "scrape_collector_duration_seconds",
        "Time a read group took over all GPUs in the last pass.",
        labels=["collector"],
    )
    for name, result in sorted(snapshot.read_groups.items()):
        success.add_metric([name], 1.0 if result.success else 0.0)
        duration.add_metric([name], result.duration_seconds)
    yield success
    yield duration
    yield gpm_status_family(snapshot.gpus, labeler)


def inferwatch_families(snapshot: Snapshot, labeler: Labeler) -> Iterator[Metric]:
    """The ``inferwatch_gpu_*`` series."""
    gpus = [g for g in snapshot.gpus if g.up]
    info = GaugeMetricFamily(
        PREFIX + "info",
        "GPU identity and driver; always 1.",
        labels=labeler.names("name", "pci_bus_id", "driver_version", "cuda_version"),
    )
    system = snapshot.system
    for gpu in gpus:
        info.add_metric(
            labeler.values(
                gpu,
                gpu.info.name,
                gpu.info.pci_bus_id,
                system.driver_version if system else "",
                system.cuda_version if system else "",
            ),
            1.0,
        )
    yield info
    yield from _scalar_families(gpus, labeler)
    yield from _labelled_families(gpus, labeler)
    yield from inferwatch_profiling(gpus, labeler)
    yield from xid_families(snapshot, labeler)


def _scalar_families(gpus: list[GpuReading], labeler: Labeler) -> Iterator[Metric]:
    any_mig = any(gpu.mig for gpu in gpus)
    mig_names = labeler.names("gpu_instance", "compute_instance")
    for reading, suffix, doc in GAUGES:
        mig_family = any_mig and reading in (Reading.MEMORY_USED, Reading.MEMORY_TOTAL)
        family = GaugeMetricFamily(
            PREFIX + suffix, doc, labels=mig_names if mig_family else labeler.names()
        )
        for gpu in gpus:
            if reading in gpu.values:
                extra = ("", "") if mig_family else ()
                family.add_metric(labeler.values(gpu, *extra), gpu.values[reading])
            if mig_family:
                for mig in gpu.mig:
                    value = mig.memory_used if reading is Reading.MEMORY_USED else mig.memory_total
                    family.add_metric(
                        labeler.values(
                            gpu, str(mig.gpu_instance), str(mig.compute_instance), uuid=mig.uuid
                        ),
                        value,
                    )
        yield family
    for reading, suffix, doc in COUNTERS:
        counter = CounterMetricFamily(PREFIX + suffix, doc, labels=labeler.names())
        for gpu in gpus:
            if reading in gpu.values:
                counter.add_metric(labeler.values(gpu), gpu.values[reading])
        yield counter


def _labelled_families(gpus: list[GpuReading], labeler: Labeler) -> Iterator[Metric]:
    clocks = GaugeMetricFamily(
        PREFIX + "clock_event_active",
        "1 while a clock event (throttle) reason holds clocks down.",
        labels=labeler.names("reason"),
    )
    ecc = CounterMetricFamily(
        PREFIX + "ecc_errors",
        "ECC errors: volatile since the driver loaded, aggregate over the GPU's life.",
        labels=labeler.names("error_type", "counter"),
    )
    remapped = CounterMetricFamily(
        PREFIX + "remapped_rows", "Memory rows remapped, by cause.", labels=labeler.names("cause")
    )
    processes = GaugeMetricFamily(
        PREFIX + "process_memory_used_bytes",
        "Device memory a compute process holds.",
        labels=labeler.names("pid", "process"),
    )
    for gpu in gpus:
        mask = gpu.values.get(Reading.CLOCK_EVENT_REASONS)
        if mask is not None:
            for bit, reason in CLOCK_EVENT_REASONS:
                clocks.add_metric(labeler.values(gpu, reason), 1.0 if int(mask) & bit else 0.0)
        for reading, error_type, counter in ECC:
            if reading in gpu.values:
                ecc.add_metric(labeler.values(gpu, error_type, counter), gpu.values[reading])
        for reading, cause in REMAPPED:
            if reading in gpu.values:
                remapped.add_metric(labeler.values(gpu, cause), gpu.values[reading])
        for proc in gpu.processes:
            processes.add_metric(labeler.values(gpu, str(proc.pid), proc.name), proc.used_bytes)
    yield from (clocks, ecc, remapped, processes)


def xid_families(snapshot: Snapshot, labeler: Labeler) -> Iterator[Metric]:
    xid = CounterMetricFamily(
        PREFIX + "xid_errors",
        "Xid critical errors from NVML events since the exporter started, by Xid code.",
        labels=labeler.names("xid"),
    )
    by_index = {g.info.index: g for g in snapshot.gpus}
    for (index, code), count in sorted(snapshot.xid_counts.items()):
        gpu = by_index.get(index)
        if gpu is not None:
            xid.add_metric(labeler.values(gpu, str(code)), float(count))
    yield xid
