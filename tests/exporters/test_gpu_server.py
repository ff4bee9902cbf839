"""`inferwatch exporter serve` without a web framework: the routes, their answers and
tokens as every inferwatch service gives them, over real HTTP on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from inferwatch.cli_support import bind
from inferwatch.exporters.gpu.server import ExporterApp, make_server, serve
from inferwatch.settings import Settings, load_settings
from inferwatch.stack import free_port


def settings(tmp_path: Path, server: dict[str, Any] | None = None, **gpu: Any) -> Settings:
    return load_settings(data_dir=tmp_path / "data", server=server or {}, exporters={"gpu": gpu})


def has_driver() -> bool:
    import ctypes.util

    return ctypes.util.find_library("nvidia-ml") is not None


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Any]:
    """Start ``serve`` in a thread on a free port; yields a function taking settings."""
    started: list[tuple[threading.Thread, threading.Event]] = []

    def start(config: Settings) -> str:
        sock = bind("127.0.0.1", 0)
        stop = threading.Event()
        thread = threading.Thread(target=serve, args=(config, sock), kwargs={"stop": stop})
        thread.start()
        started.append((thread, stop))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:  # the socket listens at once; answers start once the exporter started
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    return url
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("the exporter did not answer /healthz")

    yield start
    for thread, stop in started:
        stop.set()
        thread.join(timeout=20)
        assert not thread.is_alive()


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (s.labels, s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    ]


def test_serves_simulated_gpus_probes_and_its_own_series(running: Any, tmp_path: Path) -> None:
    url = running(settings(tmp_path, simulate=2))
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{url}/readyz")
    assert (ready.status_code, ready.json()) == (
        200,
        {"status": "ready", "parts": ["gpu-exporter"]},
    )
    text = httpx.get(f"{url}/metrics").text
    assert sorted(labels["gpu"] for labels, _ in samples(text, "inferwatch_gpu_up")) == ["0", "1"]
    assert samples(text, "inferwatch_part_up") == [({"part": "gpu-exporter"}, 1.0)]
    assert [v for _, v in samples(text, "inferwatch_build_info")] == [1.0]
    counts = {
        (labels["route"], labels["status"]): value
        for labels, value in samples(text, "inferwatch_http_request_duration_seconds_count")
    }
    assert counts[("/readyz", "200")] == 1
    assert counts[("/healthz", "200")] >= 1


def test_openmetrics_and_name_filter_come_from_prometheus_client(
    running: Any, tmp_path: Path
) -> None:
    url = running(settings(tmp_path, simulate=1))
    answer = httpx.get(
        f"{url}/metrics",
        params={"name[]": "inferwatch_part_up"},
        headers={"Accept": "application/openmetrics-text; version=1.0.0"},
    )
    assert answer.headers["content-type"].startswith("application/openmetrics-text")
    assert answer.text.endswith("# EOF\n")
    assert 'inferwatch_part_up{part="gpu-exporter"} 1.0' in answer.text
    assert "inferwatch_build_info" not in answer.text


def test_unknown_path_is_404_and_a_write_is_405_without_reading_a_body(
    running: Any, tmp_path: Path
) -> None:
    url = running(settings(tmp_path, simulate=1))
    missing = httpx.get(f"{url}/nope/12345")
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
    posted = httpx.post(f"{url}/metrics", content=b"x" * 100_000)
    assert posted.status_code == 405
    assert posted.headers["allow"] == "GET"
    text = httpx.get(f"{url}/metrics").text
    routes = {
        labels["route"]
        for labels, _ in samples(text, "inferwatch_http_request_duration_seconds_count")
    }
    assert "unmatched" in routes
    assert "/nope/12345" not in routes  # a scan of random paths cannot grow the series count


def test_tokens_guard_what_is_not_an_open_path(running: Any, tmp_path: Path) -> None:
    server = {"api_token": "writer", "read_token": "reader", "open_paths": ["/healthz"]}
    url = running(settings(tmp_path, server, simulate=1))
    refused = httpx.get(f"{url}/metrics")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert refused.json() == {"detail": "missing or wrong bearer token"}
    wrong = httpx.get(f"{url}/readyz", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    for token in ("reader", "writer"):
        answer = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, token
    assert httpx.get(f"{url}/healthz").status_code == 200


def test_probes_and_scrapes_stay_open_by_default_with_a_token(running: Any, tmp_path: Path) -> None:
    url = running(settings(tmp_path, {"api_token": "writer"}, simulate=1))
    for path in ("/metrics", "/healthz", "/readyz"):
        assert httpx.get(f"{url}{path}").status_code == 200, path


def test_not_ready_before_start_and_after_stop(tmp_path: Path) -> None:
    app = ExporterApp(settings(tmp_path, simulate=1))
    server = make_server(app, bind("127.0.0.1", 0))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        before = httpx.get(f"{url}/readyz")
        app.start()
        during = httpx.get(f"{url}/readyz")
        app.stop()
        app.stop()  # idempotent
        after = httpx.get(f"{url}/readyz")
        text = httpx.get(f"{url}/metrics").text
    finally:
        server.shutdown()
        server.server_close()
    assert (before.status_code, before.json()["reasons"]) == (
        503,
        {"service": "starting or stopping"},
    )
    assert during.status_code == 200
    assert after.status_code == 503
    assert samples(text, "inferwatch_part_up") == [({"part": "gpu-exporter"}, 0.0)]
    assert not samples(text, "inferwatch_gpu_up")  # the collector left the registry


def test_no_gpu_is_not_ready_when_one_is_required(running: Any, tmp_path: Path) -> None:
    if has_driver():
        pytest.skip("this machine has libnvidia-ml")
    url = running(settings(tmp_path, require_gpu=True))
    answer = httpx.get(f"{url}/readyz")
    assert answer.status_code == 503
    assert "no NVIDIA driver/GPU found" in answer.json()["reasons"]["gpu-exporter"]
    text = httpx.get(f"{url}/metrics").text
    assert ({"status": "no_driver"}, 1.0) in samples(text, "inferwatch_gpu_exporter_status")


def test_exporter_serve_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("INFERWATCH_")},
        "INFERWATCH_DATA_DIR": str(tmp_path / "data"),
        "INFERWATCH_EXPORTERS__GPU__SIMULATE": "2",
        "INFERWATCH_LOG_FORMAT": "text",
    }
    command = [
        sys.executable,
        "-c",
        "from inferwatch.cli import main; main()",
        "exporter",
        "serve",
        "--port",
        str(port),
    ]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline, ready = time.monotonic() + 30, None
        while time.monotonic() < deadline and ready is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
            except httpx.TransportError:
                time.sleep(0.2)
        assert ready is not None and ready.status_code == 200
        assert "inferwatch_gpu_up{" in httpx.get(f"http://127.0.0.1:{port}/metrics").text
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    assert "service started" in stderr
    assert "service stopping" in stderr
    assert "uvicorn" not in stderr


def test_a_silent_connection_is_closed(
    running: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inferwatch.exporters.gpu import server as gpu_server

    monkeypatch.setattr(gpu_server._QuietHandler, "timeout", 0.3)
    url = running(settings(tmp_path, simulate=1))
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as silent:
        began = time.monotonic()
        assert silent.recv(1024) == b""  # closed by the server, nothing sent
        assert time.monotonic() - began < 5
    assert httpx.get(f"{url}/healthz").status_code == 200
