"""Running parts side by side: --host/--port on every serve verb, a port per part, clashes."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from inferwatch.cli import app
from inferwatch.cli_support import with_part_port
from inferwatch.registry import DEFAULT_PORTS
from inferwatch.settings import load_settings

SERVE_VERBS = ["collector", "drift", "rules", "actions", "exporter"]


@pytest.mark.parametrize("group", SERVE_VERBS)
def test_every_serve_verb_takes_host_and_port(group: str) -> None:
    result = CliRunner().invoke(app, [group, "serve", "--help"])
    assert result.exit_code == 0
    assert "--host" in result.stdout and "--port" in result.stdout


def test_each_part_has_its_own_default_port_and_an_explicit_one_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert len(set(DEFAULT_PORTS.values()) | {8686}) == len(DEFAULT_PORTS) + 1
    settings = load_settings()
    for part, port in DEFAULT_PORTS.items():
        assert with_part_port(settings, [part]).server.port == port
    assert with_part_port(settings, ["collector", "drift"]).server.port == 8686  # `up`
    assert with_part_port(load_settings(server={"port": 9001}), ["drift"]).server.port == 9001
    monkeypatch.setenv("INFERWATCH_SERVER__PORT", "9002")
    assert with_part_port(load_settings(), ["drift"]).server.port == 9002


def test_a_taken_port_exits_2_with_one_line_naming_it(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "from inferwatch.cli import main; main()",
                "collector",
                "serve",
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={"XDG_DATA_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"error: port {port} on 127.0.0.1 is already in use; choose another with --port or "
        "server.port (INFERWATCH_SERVER__PORT)"
    ]


def test_serve_verbs_are_every_part_that_serves() -> None:
    top = typer.main.get_command(app)
    serving = [
        name
        for name in top.list_commands(None)  # type: ignore[attr-defined]
        if "serve" in (getattr(top.get_command(None, name), "commands", None) or {})  # type: ignore[attr-defined]
    ]
    assert sorted(serving) == sorted(SERVE_VERBS)
