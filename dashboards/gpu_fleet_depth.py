"""The GPU fleet dashboard's deeper rows: GPM profiling, NVLink, cost and waste.

Profiling and NVLink read the exporter's series; cost and waste read the recording
rules in ``alerts/recording/gpu_cost.yaml``, which Prometheus must load (the chart
ships them as a PrometheusRule).
"""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard, Row

from inferwatch.dashboards.panels import graph, single

SEL = 'namespace=~"$namespace"'
IDLE_THRESHOLD = 0.05  # the InferwatchGpuAllocatedIdle rule's


def add_profiling(board: Dashboard) -> Dashboard:
    """GPM figures: what the GPU is doing, beyond "a kernel ran"."""
    return (
        board.with_row(Row("Profiling (GPM)"))
        .with_panel(
            graph(
                "SM active",
                [(f"inferwatch_gpu_sm_active_ratio{{{SEL}}}", "gpu {{gpu}} {{gpu_instance}}")],
                unit="percentunit",
                maximum=1,
                description="Average share of SMs busy over the sampling interval (NVML GPM). "
                "Unlike utilisation, a single small kernel does not read as 100%.",
            )
        )
        .with_panel(
            graph(
                "Tensor pipes active",
                [
                    (
                        f"avg by (pipe) (inferwatch_gpu_tensor_active_ratio{{{SEL}}})",
                        "{{pipe}}",
                    )
                ],
                unit="percentunit",
                maximum=1,
                description="Share of cycles each tensor pipe was busy, averaged over the GPUs.",
            )
        )
        .with_panel(
            graph(
                "DRAM bandwidth utilisation",
                [
                    (
                        f"inferwatch_gpu_dram_bandwidth_utilization_ratio{{{SEL}}}",
                        "gpu {{gpu}} {{gpu_instance}}",
                    )
                ],
                unit="percentunit",
                maximum=1,
                description="Memory bandwidth used over the theoretical maximum: decode-heavy "
                "LLM serving is bound here long before the SMs are.",
            )
        )
        .with_panel(
            graph(
                "SM occupancy and math pipes",
                [
                    (f"inferwatch_gpu_sm_occupancy_ratio{{{SEL}}}", "gpu {{gpu}} occupancy"),
                    (
                        f"avg by (pipe) (inferwatch_gpu_pipe_active_ratio{{{SEL}}})",
                        "{{pipe}} pipe",
                    ),
                ],
                unit="percentunit",
                maximum=1,
            )
        )
        .with_panel(
            single(
                "GPUs without GPM",
                (
                    f'count(inferwatch_gpu_gpm_status{{{SEL}, status!="supported"}} == 1)'
                    " or vector(0)",
                    "without",
                ),
                description="GPUs that give no profiling figures: pre-Hopper, the driver "
                "refused, or switched off (see inferwatch_gpu_gpm_status).",
            )
        )
    )


def add_nvlink(board: Dashboard) -> Dashboard:
    """NVLink throughput, links up, and data-link errors per link."""
    return (
        board.with_row(Row("NVLink"))
        .with_panel(
            graph(
                "NVLink throughput",
                [
                    (f"inferwatch_gpu_nvlink_transmit_bytes_per_second{{{SEL}}}", "gpu {{gpu}} tx"),
                    (f"inferwatch_gpu_nvlink_receive_bytes_per_second{{{SEL}}}", "gpu {{gpu}} rx"),
                ],
                unit="Bps",
            )
        )
        .with_panel(
            graph(
                "NVLinks active per GPU",
                [
                    (
                        f'sum by (gpu) (inferwatch_gpu_nvlink_links{{{SEL}, state="active"}})',
                        "gpu {{gpu}}",
                    )
                ],
                description="A drop means a link went down (inferwatch_gpu_nvlink_link_down "
                "names it); tensor-parallel traffic then crawls over PCIe.",
                width=6,
            )
        )
        .with_panel(
            graph(
                "NVLink errors",
                [
                    (
                        f"sum by (gpu, error_type) (inferwatch_gpu_nvlink_errors_total{{{SEL}}})",
                        "gpu {{gpu}} {{error_type}}",
                    )
                ],
                description="CRC (flit, data), replay and recovery errors since the driver "
                "loaded, summed over links; a rising line is a failing link or cable.",
                width=6,
            )
        )
    )


def add_cost_and_waste(board: Dashboard) -> Dashboard:
    """What an inference costs, and GPUs paid for and unused."""
    return (
        board.with_row(Row("Cost"))
        .with_panel(
            graph(
                "GPU energy per request",
                [
                    (
                        "namespace_model:inferwatch_gpu_energy_per_request_joules:ratio_rate5m"
                        f"{{{SEL}}}",
                        "{{namespace}}/{{model}}",
                    )
                ],
                unit="joule",
                description="GPU energy over requests served, per model; a pod's GPUs are "
                "shared among its models by request share.",
                width=8,
            )
        )
        .with_panel(
            graph(
                "GPU cost per 1,000 requests",
                [
                    (
                        "namespace_model:inferwatch_gpu_cost_per_1k_requests:ratio_rate5m"
                        f"{{{SEL}}}",
                        "{{namespace}}/{{model}}",
                    )
                ],
                description="From the price of a GPU-hour per GPU model "
                "(monitoring.prometheusRule.gpuPricePerHour), in that price's currency.",
                width=8,
            )
        )
        .with_panel(
            graph(
                "GPU cost per hour by pod",
                [
                    (
                        f"namespace_pod:inferwatch_gpu_cost_per_hour:sum{{{SEL}}}",
                        "{{namespace}}/{{pod}}",
                    )
                ],
                width=8,
            )
        )
        .with_row(Row("Waste"))
        .with_panel(
            single(
                "Allocated GPUs idle for the last hour",
                (
                    "count(max_over_time(inferwatch_gpu_sm_active_ratio"
                    f'{{{SEL}, pod!="", gpu_instance=""}}[1h]) < {IDLE_THRESHOLD}) or vector(0)',
                    "idle",
                ),
                description="GPUs a pod holds whose SMs never passed 5% busy in the last hour; "
                "InferwatchGpuAllocatedIdle names them once it lasts 3 hours.",
            )
        )
        .with_panel(
            graph(
                "SM activity by pod (1 h average)",
                [
                    (
                        f"namespace_pod:inferwatch_gpu_sm_active:avg1h{{{SEL}}}",
                        "{{namespace}}/{{pod}}",
                    )
                ],
                unit="percentunit",
                maximum=1,
                width=9,
            )
        )
        .with_panel(
            graph(
                "SM activity by model, over its replicas (1 h average)",
                [
                    (
                        f"namespace_model:inferwatch_gpu_sm_active:avg1h{{{SEL}}}",
                        "{{namespace}}/{{model}}",
                    )
                ],
                unit="percentunit",
                maximum=1,
                description="Low across several replicas: InferwatchModelOverProvisioned.",
                width=9,
            )
        )
    )
