"""Start real Prometheus and Alertmanager binaries on free loopback ports.

Used by the test fixtures and by ``inferwatch demo`` when the binaries are
installed (Debian packages ``prometheus`` and ``prometheus-alertmanager``). Each
process gets a temporary directory for its config and storage, waits until its
``/-/ready`` answers, and is stopped (then killed) on ``stop()``.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from inferwatch.errors import InferwatchError

PROMETHEUS_BINARIES = ("prometheus",)
ALERTMANAGER_BINARIES = ("prometheus-alertmanager", "alertmanager")


class StackError(InferwatchError):
    """A binary is missing or did not become ready."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_binary(names: tuple[str, ...]) -> str:
    """The first of ``names`` on PATH, or a ``StackError`` saying how to install it."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise StackError(
        f"none of {', '.join(names)} is on PATH; run scripts/setup.sh "
        "(installs the Debian packages prometheus and prometheus-alertmanager)"
    )


@dataclass
class _Process:
    binary_names: tuple[str, ...]
    port: int = field(default_factory=free_port)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="inferwatch-")))
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _args(self, binary: str) -> list[str]:
        raise NotImplementedError

    def _write_config(self, config: dict[str, Any]) -> Path:
        path = self.workdir / "config.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def start(self, timeout: float = 30.0) -> None:
        """Start the process and wait for ``/-/ready``."""
        binary = find_binary(self.binary_names)
        log = (self.workdir / "process.log").open("wb")
        self.proc = subprocess.Popen(
            self._args(binary), stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StackError(f"{binary} exited at start:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise StackError(f"{binary} not ready after {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Terminate, then kill if it lingers; safe to call twice."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self, timeout: float = 30.0) -> None:
        """Stop and start again on the same port and storage."""
        self.stop()
        self.start(timeout)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the process printed."""
        path = self.workdir / "process.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def cleanup(self) -> None:
        """Stop and remove the working directory."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


@dataclass
class PrometheusProcess(_Process):
    """A real Prometheus scraping the given targets and loading the given rule files."""

    binary_names: tuple[str, ...] = PROMETHEUS_BINARIES
    scrape_targets: list[str] = field(default_factory=list)
    scrape_interval: str = "1s"
    rule_files: list[Path] = field(default_factory=list)
    alertmanager_urls: list[str] = field(default_factory=list)
    evaluation_interval: str = "1s"
    target_labels: dict[str, str] = field(default_factory=dict)
    """Labels on every scraped series, as Kubernetes discovery adds ``namespace``/``pod``."""

    def config(self) -> dict[str, Any]:
        """The prometheus.yml this process runs with."""
        config: dict[str, Any] = {
            "global": {
                "scrape_interval": self.scrape_interval,
                "evaluation_interval": self.evaluation_interval,
            },
            "scrape_configs": [
                {
                    "job_name": "inferwatch",
                    "static_configs": [
                        {"targets": self.scrape_targets, "labels": dict(self.target_labels)}
                    ],
                }
            ],
        }
        if self.rule_files:
            config["rule_files"] = [str(p) for p in self.rule_files]
        if self.alertmanager_urls:
            hosts = [u.removeprefix("http://") for u in self.alertmanager_urls]
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": hosts}]}]}
        return config

    def _args(self, binary: str) -> list[str]:
        config = self._write_config(self.config())
        return [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-lifecycle",
            "--web.enable-admin-api",
        ]

    def query(self, promql: str, at: float | None = None) -> list[dict[str, Any]]:
        """An instant query's result vector."""
        params: dict[str, str] = {"query": promql}
        if at is not None:
            params["time"] = str(at)
        body = httpx.get(f"{self.url}/api/v1/query", params=params, timeout=10).json()
        if body.get("status") != "success":
            raise StackError(f"query {promql!r} failed: {body}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def wait_for(self, promql: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Poll ``promql`` until it returns at least one series."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.query(promql)
            if result:
                return result
            time.sleep(0.25)
        raise StackError(f"{promql!r} returned nothing within {timeout}s")


@dataclass
class AlertmanagerProcess(_Process):
    """A real Alertmanager with the given (or a do-nothing) configuration."""

    binary_names: tuple[str, ...] = ALERTMANAGER_BINARIES
    alertmanager_config: dict[str, Any] | None = None
    cluster_port: int | None = None
    peers: list[str] = field(default_factory=list)

    def _args(self, binary: str) -> list[str]:
        config = self._write_config(
            self.alertmanager_config
            or {"route": {"receiver": "null"}, "receivers": [{"name": "null"}]}
        )
        args = [
            binary,
            f"--config.file={config}",
            f"--storage.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]
        if self.cluster_port is None:
            args.append("--cluster.listen-address=")
        else:
            args.append(f"--cluster.listen-address=127.0.0.1:{self.cluster_port}")
            args.extend(f"--cluster.peer={peer}" for peer in self.peers)
        return args


class ServedApp:
    """An ASGI app served by uvicorn in a background thread on a free loopback port.

    For tests and the demo: real HTTP, so that Prometheus can scrape it and
    Alertmanager can post to it.
    """

    def __init__(self, app: Any, port: int | None = None) -> None:
        import uvicorn

        self.port = port or free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self._thread: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ServedApp:
        """Start serving and wait until the server accepts requests."""
        import threading

        self._thread = threading.Thread(target=self.server.run, daemon=True, name="served-app")
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive():
                raise StackError(f"app on port {self.port} failed to start")
            if time.monotonic() > deadline:
                raise StackError(f"app on port {self.port} not started after {timeout}s")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit (running the app's shutdown) and wait; idempotent."""
        if self._thread is not None:
            self.server.should_exit = True
            self._thread.join(timeout=15)
            self._thread = None

    def __enter__(self) -> ServedApp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
