"""Settings of the exporters' gpu piece (``exporters.gpu`` / ``INFERWATCH_EXPORTERS__GPU__*``).

Every field here has an environment variable: ``INFERWATCH_EXPORTERS__GPU__<FIELD>``
(e.g. ``INFERWATCH_EXPORTERS__GPU__SIMULATE=8``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class GpuSettings(BaseModel):
    """The NVML GPU exporter."""

    model_config = ConfigDict(extra="forbid")

    naming: Literal["inferwatch", "dcgm"] = Field(
        default="inferwatch",
        description=(
            "Metric names: `inferwatch` (inferwatch_gpu_*, base units) or `dcgm` "
            "(dcgm-exporter's DCGM_FI_* names, units and labels, for its Grafana dashboard)."
        ),
    )
    interval_seconds: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="How often the background loop reads the fast fields of every GPU.",
    )
    slow_interval_seconds: float = Field(
        default=15.0,
        gt=0,
        le=3600,
        description="How often the slow, blocking queries (PCIe throughput, ~20 ms each) run.",
    )
    xid_events: bool = Field(
        default=True,
        description="Count Xid errors from NVML events (nvmlEventSetWait in a background thread).",
    )
    processes: bool = Field(
        default=True, description="Publish per-process GPU memory (pid and process name labels)."
    )
    mig: bool = Field(
        default=True, description="Publish memory per MIG instance where MIG mode is on."
    )
    gpm: bool = Field(
        default=True,
        description=(
            "Read profiling metrics through NVML GPM (SM, tensor, DRAM, NVLink activity) on "
            "GPUs that have it (Hopper and newer), per GPU and per MIG instance."
        ),
    )
    nvlink: bool = Field(
        default=True,
        description="Read NVLink link state and error counters on the slow interval.",
    )
    proc_root: Path = Field(
        default=Path("/proc"),
        description="Where process names are read from (`<proc_root>/<pid>/comm`).",
    )
    require_gpu: bool = Field(
        default=False,
        description=(
            "Report not-ready on /readyz while no NVIDIA driver or GPU is found "
            "(off: serve health metrics only and say so in the logs)."
        ),
    )
    reinit_backoff_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Wait between attempts to (re)initialise NVML after it failed or was lost.",
    )
    simulate: int = Field(
        default=0,
        ge=0,
        le=64,
        description=(
            "Run on N simulated GPUs (a fake NVML driver with plausible, time-varying "
            "values) instead of the real driver; 0 uses the real driver."
        ),
    )
    simulate_xid_interval_seconds: float = Field(
        default=0.0,
        ge=0,
        description="In simulate mode, raise a random Xid event this often (0: never).",
    )
    pod_labels: Literal["none", "downward", "kubelet"] = Field(
        default="downward",
        description=(
            "Pod attribution: `downward` (sidecar/in-process: pod, namespace, container "
            "from the Downward API environment), `kubelet` (node DaemonSet: ask the kubelet "
            "PodResources socket which pod holds each GPU; needs grpcio), or `none`."
        ),
    )
    pod_env: str = Field(default="POD_NAME", description="Env var holding the pod name.")
    namespace_env: str = Field(
        default="POD_NAMESPACE", description="Env var holding the pod's namespace."
    )
    container_env: str = Field(
        default="CONTAINER_NAME", description="Env var holding the container name."
    )
    node_env: str = Field(
        default="NODE_NAME", description="Env var holding the node name (dcgm `Hostname`)."
    )
    kubelet_socket: Path = Field(
        default=Path("/var/lib/kubelet/pod-resources/kubelet.sock"),
        description="The kubelet PodResources API socket (node mode).",
    )
    kubelet_timeout_seconds: float = Field(
        default=2.0, gt=0, le=60, description="Timeout of one PodResources List call."
    )
    gpu_resource_names: tuple[str, ...] = Field(
        default=("nvidia.com/gpu",),
        description="Device-plugin resource names whose device ids are GPU (or MIG) UUIDs.",
    )

    @model_validator(mode="after")
    def _slow_not_faster_than_fast(self) -> GpuSettings:
        if self.slow_interval_seconds < self.interval_seconds:
            raise ValueError(
                f"slow_interval_seconds ({self.slow_interval_seconds}) must be >= "
                f"interval_seconds ({self.interval_seconds})"
            )
        return self
