"""The gpu-exporter part in a real service: /metrics, /readyz, the CLI, a real
Prometheus scraping simulated GPUs, and `inferwatch exporter serve` without a GPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from inferwatch.app import create_app
from inferwatch.cli import app as cli_app
from inferwatch.settings import load_settings
from inferwatch.stack import PrometheusProcess, ServedApp, free_port


def gpu_settings(tmp_path: Path, **gpu: Any) -> Any:
    return load_settings(data_dir=tmp_path / "data", exporters={"gpu": gpu})


def test_part_serves_simulated_gpus_on_metrics(tmp_path: Path) -> None:
    app = create_app(gpu_settings(tmp_path, simulate=2), ["gpu-exporter"])
    with TestClient(app) as client:
        ready = client.get("/readyz")
        text = client.get("/metrics").text
    assert ready.status_code == 200, ready.text
    assert text.count("inferwatch_gpu_up{") == 2
    assert 'inferwatch_gpu_exporter_status{status="ok"} 1.0' in text
    assert 'inferwatch_part_up{part="gpu-exporter"} 1.0' in text


def test_no_gpu_is_ready_unless_a_gpu_is_required(tmp_path: Path) -> None:
    # this machine has no NVIDIA driver; where one exists the real GPU answers instead
    relaxed = create_app(gpu_settings(tmp_path), ["gpu-exporter"])
    with TestClient(relaxed) as client:
        status = client.get("/readyz").status_code
        text = client.get("/metrics").text
    if 'status="ok"} 1.0' in text:
        pytest.skip("this machine has a working NVIDIA driver")
    assert status == 200
    strict = create_app(gpu_settings(tmp_path, require_gpu=True), ["gpu-exporter"])
    with TestClient(strict) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 503
    assert "no NVIDIA driver/GPU found" in answer.json()["reasons"]["gpu-exporter"]


def test_cli_snapshot_json_on_simulated_gpus() -> None:
    result = CliRunner().invoke(
        cli_app, ["exporter", "gpu", "snapshot", "--json", "--simulate", "3"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "ok"
    assert [g["index"] for g in data["gpus"]] == [0, 1, 2]
    assert 0 <= data["gpus"][0]["values"]["util_gpu"] <= 1


def test_cli_snapshot_metrics_in_dcgm_naming(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("exporters:\n  gpu:\n    naming: dcgm\n")
    result = CliRunner().invoke(
        cli_app,
        ["exporter", "gpu", "snapshot", "--metrics", "--simulate", "1", "--config", str(config)],
    )
    assert result.exit_code == 0, result.output
    assert "DCGM_FI_DEV_GPU_UTIL{" in result.stdout


def test_exporter_serve_without_gpu_says_so(tmp_path: Path) -> None:
    import ctypes.util

    if ctypes.util.find_library("nvidia-ml"):
        pytest.skip("this machine has libnvidia-ml")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("INFERWATCH_")},
        "INFERWATCH_SERVER__PORT": str(port),
        "INFERWATCH_DATA_DIR": str(tmp_path / "data"),
    }
    command = [sys.executable, "-c", "from inferwatch.cli import main; main()", "exporter", "serve"]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        import httpx

        deadline, ready = time.monotonic() + 30, None
        while time.monotonic() < deadline and ready is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
            except httpx.TransportError:
                time.sleep(0.2)
        assert ready is not None and ready.status_code == 200
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'inferwatch_gpu_exporter_status{status="no_driver"} 1.0' in metrics
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)
    assert "no NVIDIA driver/GPU found" in stderr


@pytest.mark.stack
def test_prometheus_scrapes_eight_simulated_gpus(
    tmp_path: Path,
    serve: Callable[[Any], ServedApp],
    prometheus_factory: Callable[..., PrometheusProcess],
) -> None:
    settings = gpu_settings(tmp_path, simulate=8, interval_seconds=0.5, slow_interval_seconds=1)
    service = serve(create_app(settings, ["gpu-exporter"]))
    prometheus = prometheus_factory(scrape_targets=[f"127.0.0.1:{service.port}"])
    up = prometheus.wait_for("count(inferwatch_gpu_up == 1) == 8")
    assert up
    energy = prometheus.wait_for("count(increase(inferwatch_gpu_energy_joules_total[5s]) > 0) == 8")
    assert energy


def test_every_gpu_setting_has_an_env_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERWATCH_EXPORTERS__GPU__SIMULATE", "3")
    monkeypatch.setenv("INFERWATCH_EXPORTERS__GPU__NAMING", "dcgm")
    settings = load_settings()
    assert settings.exporters.gpu.simulate == 3
    assert settings.exporters.gpu.naming == "dcgm"


def test_slow_interval_shorter_than_fast_is_refused() -> None:
    from inferwatch.errors import ConfigError

    with pytest.raises(ConfigError, match="slow_interval_seconds"):
        load_settings(exporters={"gpu": {"interval_seconds": 10, "slow_interval_seconds": 5}})
