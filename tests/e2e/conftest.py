"""What the end-to-end tests share: the processes they start and a poll with a deadline."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from inferwatch.stack import free_port


def poll(check: Callable[[], Any], timeout: float, what: str, *, must: bool = True) -> Any:
    """``check()``'s first truthy value, polled with a deadline; after it AssertionError
    (``must``) or None (the checks below say what was missing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    if must:
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
    return None


class Proc:
    """One process of the fleet; started at once, waited for separately (starts overlap)."""

    def __init__(
        self, tmp: Path, name: str, args: list[str], ready_path: str, port: int | None = None
    ) -> None:
        self.name = name
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"{name}.log"
        self._ready_path = ready_path
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [part.replace("{port}", str(self.port)) for part in args],
                stdout=log,
                stderr=log,
            )

    @classmethod
    def part(cls, tmp: Path, part: str, name: str, config: dict[str, Any]) -> Proc:
        """``inferwatch <part> serve`` with ``config`` as its YAML file."""
        path = tmp / f"{name}.yaml"
        port = free_port()
        path.write_text(yaml.safe_dump({**config, "server": {"port": port}}))
        cli = Path(sys.executable).parent / "inferwatch"
        return cls(tmp, name, [str(cli), part, "serve", "--config", str(path)], "/readyz", port)

    def wait_ready(self, timeout: float = 90.0) -> Proc:
        """Block until the process answers 200 on its readiness path."""

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited {self.proc.returncode}:\n{self.tail()}")
            try:
                return httpx.get(f"{self.url}{self._ready_path}", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        try:
            poll(ready, timeout, f"{self.name} ready")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; its log ends:\n{self.tail()}") from None
        return self

    def tail(self) -> str:
        """The end of the process's log."""
        return self.log.read_text()[-3000:] if self.log.exists() else ""

    def kill(self) -> None:
        """``kill -9``: no shutdown, no last write."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self) -> None:
        """SIGTERM, without waiting."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
