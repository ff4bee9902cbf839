"""The /metrics the GPU exporter serves: golden files in both naming modes, linted
by the real ``promtool check metrics``, and the contract's metric names.

Update the golden files with ``INFERWATCH_UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from inferwatch.exporters.gpu._nvml import PynvmlClient
from inferwatch.exporters.gpu.exporter import start_in_process
from inferwatch.exporters.gpu.settings import GpuSettings
from inferwatch.testing.nvml import (
    GIB,
    FakeGpu,
    FakeMig,
    FakeNvLink,
    FakeNvmlLib,
    private_pynvml,
)

GOLDEN = Path(__file__).parent / "golden"
# read at import: the autouse fixture clears INFERWATCH_* variables before each test
UPDATE_GOLDEN = os.environ.get("INFERWATCH_UPDATE_GOLDEN") == "1"
CONTRACTS = Path(__file__).resolve().parents[2] / "docs" / "contracts.md"
POD_ENV = {
    "POD_NAME": "llm-0",
    "POD_NAMESPACE": "serving",
    "CONTAINER_NAME": "vllm",
    "NODE_NAME": "gpu-node-1",
}
# Non-deterministic series: their values are zeroed before comparing.
_VOLATILE = re.compile(
    r"^(inferwatch_gpu_(?:scrape_collector_duration|snapshot_age)_seconds\S*) .*$", re.M
)


def fixed_gpus() -> list[FakeGpu]:
    gpu0 = FakeGpu(
        index=0,
        util_gpu=87,
        util_memory=43,
        memory_used=61 * GIB,
        temperature=71,
        memory_temperature=78,
        power_mw=612_500,
        energy_mj=9_876_543_210,
        clock_event_reasons=0x4,
        processes=[(4242, "python3", 60 * GIB)],
    )
    gpu0.fields.update({3: 12, 5: 40, 94: 3, 142: 1})
    gpu1 = FakeGpu(
        index=1,
        util_gpu=0,
        sm_clock_mhz=345,
        clock_event_reasons=0x1,
        mig=[
            FakeMig(
                "MIG-4a2f0c1e-0000-5000-8000-000000000001",
                1,
                0,
                40 * GIB,
                5 * GIB,
                gpm={2: 12.5, 3: 8.0, 5: 6.25, 10: 20.0},
            )
        ],
        faults={"nvmlDeviceGetEncoderUtilization": 3, "nvmlDeviceGetDecoderUtilization": 3},
    )
    gpu0.gpm.update({2: 87.5, 5: 62.5, 7: 60.0, 10: 44.0, 60: 1024.0, 61: 512.0})
    gpu0.nvlinks = [FakeNvLink(), FakeNvLink(active=False, errors={0: 3, 1: 1, 2: 7, 3: 2})]
    for metric in (20, 21, 60, 61):  # a PCIe-only MIG parent: no NVLink, PCIe via GPM
        gpu1.gpm.pop(metric)
    gpu2 = FakeGpu(index=2, name="NVIDIA A100-SXM4-80GB", gpm_supported=False)
    return [gpu0, gpu1, gpu2]


class StepClock:
    """The fake driver's GPM clock: each sample 5 s after the last."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 5.0
        return self.now


def exposition(naming: str) -> str:
    lib = FakeNvmlLib(fixed_gpus(), clock=StepClock())
    registry = CollectorRegistry()
    handle = start_in_process(
        registry,
        GpuSettings(naming=naming),  # type: ignore[arg-type]
        client=PynvmlClient(private_pynvml(lib)),
        environ=POD_ENV,
        clock=lambda: 500.0,
        background=False,
    )
    try:
        handle.sampler.sample_once()  # the second GPM sample: metrics over the interval
        handle.sampler.record_xid(0, 79)
        handle.sampler.record_xid(0, 79)
        handle.sampler.record_xid(1, 48)
        text = generate_latest(registry).decode()
    finally:
        handle.stop()
    return _VOLATILE.sub(r"\1 0.0", text)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE_GOLDEN:
        path.write_text(text)
    assert path.exists(), f"{path} missing; run with INFERWATCH_UPDATE_GOLDEN=1"
    assert text == path.read_text()


def promtool_problems(text: str) -> list[str]:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not on PATH")
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    return [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]


@pytest.mark.parametrize("naming", ["inferwatch", "dcgm"])
def test_metrics_match_the_golden_file(naming: str) -> None:
    check_golden(f"gpu_{naming}.prom", exposition(naming))


def test_inferwatch_golden_is_lint_clean() -> None:
    assert promtool_problems((GOLDEN / "gpu_inferwatch.prom").read_text()) == []


def test_dcgm_golden_only_breaks_lint_where_dcgm_exporter_does() -> None:
    """dcgm-exporter's own names and labels (camelCase, no units) are the point of the mode."""
    problems = promtool_problems((GOLDEN / "gpu_dcgm.prom").read_text())
    unexpected = [
        p
        for p in problems
        if not p.startswith("DCGM_FI_")
        or not any(reason in p for reason in ("camelCase", "should not include type"))
    ]
    assert unexpected == []


def test_every_contract_metric_is_exposed() -> None:
    section = CONTRACTS.read_text().split("### GPU exporter", 1)[1].split("###", 1)[0]
    names = set(re.findall(r"`(inferwatch_gpu_[a-z_]+)", section))
    assert len(names) > 20
    text = exposition("inferwatch")
    exposed = set(re.findall(r"^# TYPE (\S+)", text, re.M))
    assert names - exposed == set()


def test_values_and_labels_in_inferwatch_mode() -> None:
    text = exposition("inferwatch")
    labels = (
        'gpu="0",namespace="serving",pod="llm-0",uuid="GPU-00000000-fake-4000-8000-000000000000"'
    )
    assert f'inferwatch_gpu_utilization_ratio{{container="vllm",{labels}}} 0.87' in text
    assert f'inferwatch_gpu_energy_joules_total{{container="vllm",{labels}}} 9.87654321e+06' in text
    assert 'inferwatch_gpu_xid_errors_total{container="vllm",' in text
    assert re.search(r'inferwatch_gpu_xid_errors_total\{[^}]*gpu="0"[^}]*xid="79"\} 2\.0', text)
    assert re.search(
        r'clock_event_active\{[^}]*gpu="0"[^}]*reason="sw_power_cap"[^}]*\} 1\.0', text
    )
    assert re.search(r'memory_used_bytes\{[^}]*gpu_instance="1"[^}]*uuid="MIG-', text)
    assert "encoder_utilization_ratio{" in text
    assert not re.search(r'encoder_utilization_ratio\{[^}]*gpu="1"', text)  # unsupported


def test_dcgm_mode_units_and_labels() -> None:
    text = exposition("dcgm")
    line = next(
        x for x in text.splitlines() if x.startswith("DCGM_FI_DEV_FB_USED{") and 'gpu="0"' in x
    )
    for label in (
        'Hostname="gpu-node-1"',
        'device="nvidia0"',
        'modelName="NVIDIA H100 80GB HBM3"',
        'UUID="GPU-',
        'pod="llm-0"',
        'namespace="serving"',
        'container="vllm"',
    ):
        assert label in line
    assert line.endswith(f" {61 * 1024}.0")  # MiB
    assert re.search(r'DCGM_FI_DEV_GPU_UTIL\{[^}]*gpu="0"[^}]*\} 87\.0', text)
    assert re.search(r'DCGM_FI_DEV_SM_CLOCK\{[^}]*gpu="1"[^}]*\} 345\.0', text)
    assert re.search(
        r'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION\{[^}]*gpu="0"[^}]*\} 9\.87654321e\+09', text
    )
    assert re.search(r'DCGM_FI_DEV_XID_ERRORS\{[^}]*err_code="48"[^}]*gpu="1"[^}]*\} 48\.0', text)
    assert "inferwatch_gpu_utilization_ratio" not in text
    assert "inferwatch_gpu_up{" in text  # health series stay


def test_no_driver_serves_health_series_only() -> None:
    lib = FakeNvmlLib([], init_error=9)
    registry = CollectorRegistry()
    handle = start_in_process(
        registry, GpuSettings(), client=PynvmlClient(private_pynvml(lib)), background=False
    )
    try:
        text = generate_latest(registry).decode()
        assert handle.ready_reason(require_gpu=False) is None
        reason = handle.ready_reason(require_gpu=True)
    finally:
        handle.stop()
    assert 'inferwatch_gpu_exporter_status{status="no_driver"} 1.0' in text
    assert 'inferwatch_gpu_scrape_collector_success{collector="nvml"} 0.0' in text
    assert "inferwatch_gpu_up{" not in text
    assert reason is not None and "no NVIDIA driver/GPU found" in reason
