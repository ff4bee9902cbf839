"""GPU fleet: utilisation, memory, power, temperature, clocks and throttling, errors, per pod;
then GPM profiling, NVLink, cost and waste (``gpu_fleet_depth``)."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard, Row

from inferwatch.dashboards.gpu_fleet_depth import add_cost_and_waste, add_nvlink, add_profiling
from inferwatch.dashboards.panels import base, graph, single

UID = "inferwatch-gpu-fleet"
SEL = 'namespace=~"$namespace"'


def build() -> Dashboard:
    """The GPU fleet dashboard."""
    board = (
        base(UID, "inferwatch / GPU fleet", "NVML metrics from the inferwatch GPU exporter.", None)
        .with_row(Row("Fleet"))
        .with_panel(single("GPUs up", (f"sum(inferwatch_gpu_up{{{SEL}}})", "up")))
        .with_panel(
            single(
                "GPUs down",
                (f"count(inferwatch_gpu_up{{{SEL}}} == 0) or vector(0)", "down"),
                description="GPUs the exporter could not read on its last pass.",
            )
        )
        .with_panel(
            single(
                "Mean utilisation",
                (f"avg(inferwatch_gpu_utilization_ratio{{{SEL}}})", "util"),
                unit="percentunit",
            )
        )
        .with_panel(
            single(
                "Snapshot age",
                (f"max(inferwatch_gpu_snapshot_age_seconds{{{SEL}}})", "age"),
                unit="s",
                description="How old the served NVML snapshot is (background sampling).",
            )
        )
        .with_row(Row("Load"))
        .with_panel(
            graph(
                "GPU utilisation",
                [(f"inferwatch_gpu_utilization_ratio{{{SEL}}}", "gpu {{gpu}} {{pod}}")],
                unit="percentunit",
                maximum=1,
            )
        )
        .with_panel(
            graph(
                "Memory used / total",
                [
                    (
                        f"inferwatch_gpu_memory_used_bytes{{{SEL}}}"
                        f" / inferwatch_gpu_memory_total_bytes{{{SEL}}}",
                        "gpu {{gpu}} {{pod}}",
                    )
                ],
                unit="percentunit",
                maximum=1,
            )
        )
        .with_panel(
            graph(
                "Power draw vs limit",
                [
                    (f"inferwatch_gpu_power_watts{{{SEL}}}", "gpu {{gpu}} draw"),
                    (f"inferwatch_gpu_power_limit_watts{{{SEL}}}", "gpu {{gpu}} limit"),
                ],
                unit="watt",
            )
        )
        .with_panel(
            graph(
                "Temperature",
                [
                    (f"inferwatch_gpu_temperature_celsius{{{SEL}}}", "gpu {{gpu}}"),
                    (f"inferwatch_gpu_memory_temperature_celsius{{{SEL}}}", "gpu {{gpu}} memory"),
                ],
                unit="celsius",
            )
        )
        .with_row(Row("Clocks and throttling"))
        .with_panel(
            graph(
                "SM and memory clocks",
                [
                    (f"inferwatch_gpu_sm_clock_hertz{{{SEL}}}", "gpu {{gpu}} SM"),
                    (f"inferwatch_gpu_memory_clock_hertz{{{SEL}}}", "gpu {{gpu}} memory"),
                ],
                unit="hertz",
            )
        )
        .with_panel(
            graph(
                "Clock event reasons active",
                [(f"sum by (reason) (inferwatch_gpu_clock_event_active{{{SEL}}})", "{{reason}}")],
                description="GPUs held back by each throttle / clock-event reason.",
            )
        )
        .with_panel(
            graph(
                "Energy use",
                [
                    (
                        f"rate(inferwatch_gpu_energy_joules_total{{{SEL}}}[$__rate_interval])",
                        "gpu {{gpu}}",
                    )
                ],
                unit="watt",
                description="Average power from the energy counter (robust to missed scrapes).",
            )
        )
        .with_panel(
            graph(
                "PCIe throughput",
                [
                    (f"inferwatch_gpu_pcie_transmit_bytes_per_second{{{SEL}}}", "gpu {{gpu}} tx"),
                    (f"inferwatch_gpu_pcie_receive_bytes_per_second{{{SEL}}}", "gpu {{gpu}} rx"),
                ],
                unit="Bps",
            )
        )
        .with_row(Row("Errors"))
        .with_panel(
            graph(
                "Xid errors by code",
                [
                    (
                        f"sum by (gpu, xid) (inferwatch_gpu_xid_errors_total{{{SEL}}})",
                        "gpu {{gpu}} xid {{xid}}",
                    )
                ],
                description="Xids counted since the exporter started, per GPU and code; a step is a new error. (A code's first Xid starts its series at 1, which increase() would not show.)",
            )
        )
        .with_panel(
            graph(
                "ECC errors and PCIe replays",
                [
                    (
                        f"sum by (gpu, error_type) (inferwatch_gpu_ecc_errors_total{{{SEL}}})",
                        "gpu {{gpu}} ECC {{error_type}}",
                    ),
                    (f"inferwatch_gpu_pcie_replay_total{{{SEL}}}", "gpu {{gpu}} PCIe replays"),
                ],
            )
        )
        .with_row(Row("Per pod"))
        .with_panel(
            graph(
                "GPU memory by pod",
                [
                    (
                        f"sum by (namespace, pod) (inferwatch_gpu_memory_used_bytes{{{SEL}}})",
                        "{{namespace}}/{{pod}}",
                    )
                ],
                unit="bytes",
            )
        )
        .with_panel(
            graph(
                "Exporter read groups",
                [
                    (
                        f"min by (collector) (inferwatch_gpu_scrape_collector_success{{{SEL}}})",
                        "{{collector}} ok",
                    ),
                    (
                        f"max by (collector) (inferwatch_gpu_scrape_collector_duration_seconds{{{SEL}}})",
                        "{{collector}} s",
                    ),
                ],
                description="1 when each NVML read group succeeded on the last pass, and its duration.",
            )
        )
    )
    return add_cost_and_waste(add_nvlink(add_profiling(board)))
