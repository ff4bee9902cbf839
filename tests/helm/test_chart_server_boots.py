"""The server of mode single, started with what the chart renders, runs the parts it is told.

The rendered container's args and environment (secret references replaced by stand-ins,
bind and paths moved to loopback and a temporary directory) start a real
``inferwatch up`` process; its ``/readyz`` names the parts it runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from inferwatch.stack import free_port

Manifest = dict[str, Any]


def _ready(port: int, process: subprocess.Popen[str]) -> httpx.Response:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"inferwatch did not answer on {port} (exit {process.poll()})")


@pytest.mark.parametrize(
    ("values", "parts"),
    [
        ({}, ["collector", "drift", "rules", "actions"]),
        ({"rules": {"enabled": False}, "collector": {"enabled": False}}, ["drift", "actions"]),
    ],
)
def test_the_rendered_server_runs_the_enabled_parts(
    render: Callable[..., list[Manifest]],
    tmp_path: Path,
    values: dict[str, Any],
    parts: list[str],
) -> None:
    manifests = render(values, api_versions=("monitoring.coreos.com/v1",))
    (deployment,) = [m for m in manifests if m["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    (config_map,) = [m for m in manifests if m["metadata"]["name"] == "rel-inferwatch-config"]
    config = tmp_path / "config.yaml"
    config.write_text(config_map["data"]["config.yaml"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFERWATCH_")}
    for item in container["env"]:
        env[item["name"]] = str(item["value"]) if "value" in item else "a-token-from-the-secret"
    port = free_port()
    env.update(
        INFERWATCH_CONFIG=str(config),
        INFERWATCH_DATA_DIR=str(tmp_path / "data"),
        INFERWATCH_SERVER__HOST="127.0.0.1",
        INFERWATCH_SERVER__PORT=str(port),
    )
    command = [sys.executable, "-c", "from inferwatch.cli import main; main()", *container["args"]]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        ready = _ready(port, process)
        assert ready.status_code == 200, ready.text
        assert ready.json()["parts"] == parts  # and never the GPU exporter
        assert (tmp_path / "data" / "inferwatch.db").exists()
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=20)
    assert process.returncode in (0, -15), stderr[-2000:]
