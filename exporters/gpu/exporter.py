"""Assemble and run the GPU exporter: NVML client, background sampler, collector.

``start_in_process(registry)`` is what the inference instrumentation (in-process
mode) and the ``gpu-exporter`` service part call.

Example:
    >>> from prometheus_client import CollectorRegistry, generate_latest
    >>> from inferwatch.exporters.gpu.settings import GpuSettings
    >>> registry = CollectorRegistry()
    >>> handle = start_in_process(registry, GpuSettings(simulate=2))
    >>> b'inferwatch_gpu_up{gpu="1"' in generate_latest(registry)
    True
    >>> handle.stop()
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry

from inferwatch.exporters.gpu._metrics import GpuCollector
from inferwatch.exporters.gpu._nvml import NvmlClient, PynvmlClient
from inferwatch.exporters.gpu._pods import KubeletPodResources, PodSource, downward_pod
from inferwatch.exporters.gpu._snapshot import GpuSampler
from inferwatch.exporters.gpu._types import PodRef, Snapshot, Status
from inferwatch.exporters.gpu.settings import GpuSettings

if TYPE_CHECKING:  # the simulated driver is imported only in simulate mode
    from inferwatch.testing.nvml import FakeNvmlLib

log = logging.getLogger("inferwatch.exporters.gpu")


@dataclass
class GpuExporterHandle:
    """A running exporter: its sampler, collector and registry."""

    sampler: GpuSampler
    collector: GpuCollector
    registry: CollectorRegistry | None
    fake: FakeNvmlLib | None = None
    """The fake driver in simulate mode (``fake.inject_xid(gpu, xid)``), else None."""
    _stopped: bool = False

    def stop(self) -> None:
        """Stop the loop, release NVML, unregister the collector; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self.sampler.stop()
        if self.registry is not None:
            self.registry.unregister(self.collector)

    def snapshot(self) -> Snapshot:
        """The snapshot scrapes serve now."""
        return self.sampler.snapshot()

    def snapshot_age_seconds(self) -> float:
        """Seconds since the GPUs were last read."""
        return self.sampler.age_seconds()

    def ready_reason(self, require_gpu: bool) -> str | None:
        """None when ready; else why (no GPU only counts when it is required)."""
        snapshot = self.sampler.snapshot()
        if snapshot.status is Status.STARTING:
            return "GPU exporter starting"
        if snapshot.status is not Status.OK and require_gpu:
            return snapshot.message or snapshot.status.value
        return None


def build_client(settings: GpuSettings) -> tuple[NvmlClient, FakeNvmlLib | None]:
    """The real pynvml client, or one on the simulated driver when ``simulate`` > 0."""
    if settings.simulate:
        from inferwatch.testing.nvml import FakeNvmlLib, Simulation, private_pynvml, simulated_gpus

        lib = FakeNvmlLib(
            simulated_gpus(settings.simulate),
            tick=Simulation(xid_interval_seconds=settings.simulate_xid_interval_seconds),
        )
        return PynvmlClient(private_pynvml(lib), proc_root=settings.proc_root), lib
    return PynvmlClient(proc_root=settings.proc_root), None


def build_pods(
    settings: GpuSettings, environ: Mapping[str, str] | None = None
) -> tuple[PodSource | None, PodRef | None]:
    """The kubelet source (node mode) and the static Downward API pod (sidecar mode)."""
    env = os.environ if environ is None else environ
    static = None
    if settings.pod_labels == "downward":
        static = downward_pod(env, settings.pod_env, settings.namespace_env, settings.container_env)
    source: PodSource | None = None
    if settings.pod_labels == "kubelet":
        source = KubeletPodResources(
            settings.kubelet_socket, settings.gpu_resource_names, settings.kubelet_timeout_seconds
        )
    return source, static


def start_in_process(
    registry: CollectorRegistry | None,
    settings: GpuSettings | None = None,
    *,
    client: NvmlClient | None = None,
    pods: PodSource | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.monotonic,
    background: bool = True,
) -> GpuExporterHandle:
    """Start the exporter in this process and register its collector on ``registry``.

    The first pass runs before this returns (so the first scrape has data, or
    says why not); later passes run in a daemon thread. ``client`` and ``pods``
    replace the ones built from ``settings`` (tests, tools).
    """
    settings = settings or GpuSettings()
    fake = None
    if client is None:
        client, fake = build_client(settings)
    kubelet, static = build_pods(settings, environ)
    env = os.environ if environ is None else environ
    sampler = GpuSampler(
        client,
        settings,
        pods=pods if pods is not None else kubelet,
        clock=clock,
        hostname=env.get(settings.node_env) or None,
    )
    collector = GpuCollector(
        sampler.snapshot,
        naming=settings.naming,
        static_pod=static,
        with_pods=settings.pod_labels == "kubelet",
        clock=clock,
    )
    try:
        sampler.sample_once()
    except Exception:  # the loop retries; starting must not fail the host process
        log.exception("first GPU sampling pass failed; the background loop will retry")
    if background:
        sampler.start()
    if registry is not None:
        registry.register(collector)
    return GpuExporterHandle(sampler=sampler, collector=collector, registry=registry, fake=fake)


def snapshot_to_dict(snapshot: Snapshot) -> dict[str, object]:
    """A JSON-ready view of a snapshot (for ``--json`` and tools)."""
    system = snapshot.system
    return {
        "status": snapshot.status.value,
        "message": snapshot.message,
        "driver_version": system.driver_version if system else None,
        "cuda_version": system.cuda_version if system else None,
        "gpus": [
            {
                "index": gpu.info.index,
                "uuid": gpu.info.uuid,
                "name": gpu.info.name,
                "pci_bus_id": gpu.info.pci_bus_id,
                "up": gpu.up,
                "values": {reading.value: value for reading, value in gpu.values.items()},
                "unsupported": sorted(gpu.unsupported),
                "gpm": gpu.gpm.value if gpu.gpm else None,
                "nvlinks": [
                    {
                        "link": link.link,
                        "active": link.active,
                        "errors": {kind.value: n for kind, n in link.errors.items()},
                    }
                    for link in gpu.nvlinks
                ],
                "errors": {name: g.error for name, g in gpu.groups.items() if not g.ok},
                "processes": [
                    {"pid": p.pid, "name": p.name, "used_bytes": p.used_bytes}
                    for p in gpu.processes
                ],
                "mig": [
                    {
                        "uuid": m.uuid,
                        "gpu_instance": m.gpu_instance,
                        "compute_instance": m.compute_instance,
                        "memory_used": m.memory_used,
                        "memory_total": m.memory_total,
                        "values": {reading.value: value for reading, value in m.values.items()},
                    }
                    for m in gpu.mig
                ],
            }
            for gpu in snapshot.gpus
        ],
        "read_groups": {
            name: {"success": c.success, "duration_seconds": c.duration_seconds}
            for name, c in sorted(snapshot.read_groups.items())
        },
        "xid": [
            {"gpu": index, "xid": xid, "count": count}
            for (index, xid), count in sorted(snapshot.xid_counts.items())
        ],
    }
