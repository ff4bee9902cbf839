"""What a model pod does with the lean client, run in the fresh venv of check_lean_client.sh.

``pip install inferwatch`` (no extra) beside pandas 3 must give ``instrument()``, the
``PredictionRecorder`` and the GPU exporter sidecar, and must not install the services'
dependencies. Run as ``python check_lean_client.py BASELINE_JSON PANDAS_VERSION`` with the
lean venv's interpreter, outside the source tree (PANDAS_VERSION: what was installed before
inferwatch, which must still be there). ``tests/core/test_lean_imports.py`` reuses
``ENTRY_POINTS`` and ``PENDING`` against the dev venv, where the server dependencies are
installed and so would show if an entry point imported one of
``inferwatch.extras.SERVER_MODULES``.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from inferwatch.extras import INSTALL_SERVER, SERVER_MODULES

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

SERVER_DISTRIBUTIONS = (
    "evidently",
    "scipy",
    "pyarrow",
    "fastapi",
    "fastapi-offline",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "psycopg-binary",
    "kubernetes",
    "grafana-client",
    "grafana-foundation-sdk",
    "scikit-learn",
    "threadpoolctl",
)
"""Installed by the ``server`` extra only: none may be in the lean venv."""

ENTRY_POINTS: dict[str, str] = {
    "instrument": "from inferwatch.exporters.instrumentation import instrument",
    "recorder": (
        "from inferwatch.exporters.recorder import PredictionRecorder; "
        "from inferwatch.exporters.recorder.baseline import load_baseline"
    ),
    "gpu exporter": "from inferwatch.exporters.gpu.exporter import start_in_process",
    "exporter serve": (
        "import inferwatch.cli, inferwatch.exporters.cli, inferwatch.exporters.gpu.server; "
        "from inferwatch.settings import load_settings; load_settings()"
    ),
    "config check": "from inferwatch.parts import PART_BUILDERS, enabled_parts",
}
"""What model pods import, by name: each must import none of ``SERVER_MODULES``."""

PENDING: dict[str, frozenset[str]] = {}
"""Server modules an entry point still imports, until the change named in ``PENDING_WHY``.

When an entry point stops importing them, this check (and the strict xfail that
tests/core/test_lean_imports.py derives from it) fails until its line here is removed.
"""

PENDING_WHY: dict[str, str] = {}


def server_modules_imported(snippet: str, python: str = sys.executable) -> set[str]:
    """The ``SERVER_MODULES`` that running ``snippet`` in a fresh interpreter imports."""
    code = (
        f"import sys\n{snippet}\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    )
    done = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    if done.returncode:
        raise RuntimeError(f"{snippet!r} failed:\n{done.stderr}")
    return set(done.stdout.split()) & SERVER_MODULES


def check_entry_points() -> list[str]:
    """One line per entry point saying what it imported; problems start with FAIL."""
    lines = []
    for name, snippet in ENTRY_POINTS.items():
        found = server_modules_imported(snippet)
        pending = PENDING.get(name, frozenset())
        unexpected = found - pending
        # pandas imports pyarrow where it is installed: only an installed one can go stale
        stale = {m for m in pending - found if importlib.util.find_spec(m) is not None}
        if unexpected:
            lines.append(f"FAIL {name}: imports server modules {sorted(unexpected)}")
        elif stale:
            lines.append(
                f"FAIL {name}: no longer imports {sorted(stale)}; remove its PENDING entry "
                "in scripts/check_lean_client.py (the test's xfail goes with it)"
            )
        elif found:
            lines.append(f"ok   {name}: imports {sorted(found)}, pending: {PENDING_WHY[name]}")
        else:
            lines.append(f"ok   {name}: imports no server module")
    return lines


def check_absent() -> list[str]:
    """FAIL lines for every server distribution the lean install brought in."""
    present = []
    for name in SERVER_DISTRIBUTIONS:
        try:
            present.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return [f"FAIL installed by the lean client: {', '.join(present)}"] if present else []


async def _drive_asgi(app: Callable[..., Any], paths: list[str]) -> list[int]:
    import httpx

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://model") as client:
        return [(await client.post(path, json={"x": 1})).status_code for path in paths]


def check_instrumentation() -> None:
    """instrument() a plain ASGI app (no framework) and read its series from /metrics."""
    from prometheus_client import REGISTRY, generate_latest

    from inferwatch.exporters.instrumentation import instrument

    async def model_app(
        scope: Message, receive: Callable[[], Awaitable[Message]], send: Send
    ) -> None:
        status = 200 if scope["path"] == "/predict" else 404
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b'{"score": 0.5}'})

    instr = instrument(None, model="lean", model_version="1")  # settings from the environment
    app = instr.middleware(model_app)
    statuses = asyncio.run(_drive_asgi(app, ["/predict", "/predict", "/nope"]))
    assert statuses == [200, 200, 404], statuses
    with instr.inference(batch_size=2) as span:
        span.tokens(output=3)
    text = generate_latest(REGISTRY).decode()
    instr.shutdown()
    for series in (
        "http_server_request_duration_seconds_count",
        "inferwatch_inference_duration_seconds_count",
        'model="lean"',
    ):
        assert series in text, f"{series} missing from /metrics:\n{text}"


def check_recorder(baseline_file: Path) -> None:
    """Count a batch (dict of columns and a pandas 3 frame) against a baseline file."""
    import pandas as pd
    from prometheus_client import CollectorRegistry, generate_latest

    from inferwatch.exporters.recorder import PredictionRecorder
    from inferwatch.exporters.recorder.baseline import load_baseline

    registry = CollectorRegistry()
    recorder = PredictionRecorder(load_baseline(file=baseline_file), registry=registry)
    recorder.record_batch({"age": [21, 35.5, None, 70], "plan": ["a", "b", "zz", None]})
    recorder.record_batch(pd.DataFrame({"age": [40.0, 41.0], "plan": ["a", "a"]}))
    recorder.record({"age": 33, "plan": "b"})
    snapshot = recorder.snapshot()
    recorder.close()
    assert snapshot.records == 7, snapshot
    (age,) = snapshot.numeric
    (plan,) = snapshot.categorical
    missing = dict(snapshot.missing)
    assert sum(age.counts) + missing["age"] == 7, snapshot
    assert sum(plan.counts) + missing["plan"] == 7, snapshot
    assert plan.counts[-1] == 1, plan  # "zz" is not in the vocabulary: "other"
    assert "inferwatch_" in generate_latest(registry).decode()


def check_gpu_sidecar() -> None:
    """``inferwatch exporter serve`` on simulated GPUs answers /readyz and /metrics."""
    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFERWATCH_")}
    env.update(INFERWATCH_EXPORTERS__GPU__SIMULATE="2", INFERWATCH_DATA_DIR=str(Path.cwd()))
    inferwatch = Path(sys.executable).with_name("inferwatch")
    process = subprocess.Popen(
        [str(inferwatch), "exporter", "serve", "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url, deadline, ready = f"http://127.0.0.1:{port}", time.monotonic() + 60, None
        while ready is None and time.monotonic() < deadline and process.poll() is None:
            try:
                ready = httpx.get(f"{url}/readyz", timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
        assert ready is not None and ready.status_code == 200, ready
        text = httpx.get(f"{url}/metrics", timeout=5).text
        assert text.count("inferwatch_gpu_up{") == 2, text
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr


def check_config_check() -> None:
    """``inferwatch config check`` validates a sidecar's settings on the lean install."""
    inferwatch = Path(sys.executable).with_name("inferwatch")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFERWATCH_")}
    done = subprocess.run(
        [str(inferwatch), "config", "check", "--json"],
        env={**env, "INFERWATCH_EXPORTERS__GPU__SIMULATE": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["valid"] is True, done.stdout
    bad = subprocess.run(
        [str(inferwatch), "config", "check"],
        env={**env, "INFERWATCH_EXPORTERS__GPU__SIMULATE": "-1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2 and "INFERWATCH_EXPORTERS__GPU__SIMULATE" in bad.stderr, bad


def check_server_verb_says_what_to_install() -> None:
    """``inferwatch up`` on the lean install: exit 2 and one line naming the extra."""
    inferwatch = Path(sys.executable).with_name("inferwatch")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFERWATCH_")}
    done = subprocess.run(
        [str(inferwatch), "up", "--port", "0"],
        env={**env, "INFERWATCH_DATA_DIR": str(Path.cwd())},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert len(lines) == 1 and INSTALL_SERVER in lines[0], done.stderr


def main() -> int:
    """Run every check; print one line each; exit 1 when any failed."""
    baseline_file, before = Path(sys.argv[1]), sys.argv[2]
    after = importlib.metadata.version("pandas")
    lines = check_absent()
    lines.append(
        f"{'ok  ' if after == before and int(after.split('.')[0]) >= 3 else 'FAIL'} pandas "
        f"{before} installed first, {after} after installing inferwatch beside it"
    )
    for name, check in (
        ("instrument() on a plain ASGI app", check_instrumentation),
        ("recorder batch against a baseline file", lambda: check_recorder(baseline_file)),
        ("GPU exporter sidecar (exporter serve)", check_gpu_sidecar),
        ("config check", check_config_check),
        ("a service's verb names the server extra", check_server_verb_says_what_to_install),
    ):
        try:
            check()
            lines.append(f"ok   {name}")
        except Exception as exc:  # noqa: BLE001 - a failed check is reported beside the others
            lines.append(f"FAIL {name}: {type(exc).__name__}: {exc}")
    lines += check_entry_points()
    failed = [line for line in lines if line.startswith("FAIL")]
    summary = {"lean_client": "failed" if failed else "ok", "failures": len(failed)}
    sys.stdout.write("\n".join([*lines, json.dumps(summary)]) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
