"""Check the GPU exporter against a real NVIDIA GPU and ``nvidia-smi``, once.

Run on a machine with a GPU (python3 with nvidia-ml-py, prometheus-client and
pydantic installed; inferwatch installed or not)::

    python3 scripts/gpu_check.py [REPORT.md]

It runs the exporter's real pynvml client once (a full pass, then a scrape of
the Prometheus collector in both naming modes), reads ``nvidia-smi --query-gpu`` right
after, and prints a side-by-side table plus the scrape latency. The report goes
to REPORT.md, else ``$OUT/gpu_check.md``, else ``./gpu_check.md``; the raw
exposition and snapshot go beside it. Exit code 0 when NVML worked.
``GPU_CHECK_SIMULATE=N`` runs it on N simulated GPUs (a dry run of the script).

GPM (profiling) check: over ``GPU_CHECK_GPM_SECONDS`` (default 10) it runs the
sampler once a second while ``nvidia-smi dmon`` runs beside it (with
``--gpm-metrics`` where this nvidia-smi has it, else ``-s u``), and tabulates the
window's mean GPM figures (SM active, graphics engine, tensor, DRAM) next to
dmon's columns. Start a load first: a matmul loop keeps the tensor pipes busy, a
device-to-device copy loop keeps DRAM busy.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SMI_FIELDS = (
    "index,uuid,name,driver_version,utilization.gpu,utilization.memory,memory.used,"
    "memory.total,memory.free,temperature.gpu,power.draw,power.limit,clocks.sm,clocks.mem,"
    "pcie.link.gen.current"
)
MIB = 1024 * 1024
# smi column -> (exporter reading, scale from base unit to smi unit, tolerance, relative?)
NUMERIC: tuple[tuple[str, str, float, float, bool], ...] = (
    ("utilization.gpu", "util_gpu", 100.0, 15.0, False),
    ("utilization.memory", "util_memory_copy", 100.0, 15.0, False),
    ("memory.used", "memory_used", 1 / MIB, 0.02, True),
    ("memory.total", "memory_total", 1 / MIB, 0.001, True),
    ("memory.free", "memory_free", 1 / MIB, 0.02, True),
    ("temperature.gpu", "temperature", 1.0, 3.0, False),
    ("power.draw", "power", 1.0, 0.15, True),
    ("power.limit", "power_limit", 1.0, 0.01, True),
    ("clocks.sm", "sm_clock", 1e-6, 0.1, True),
    ("clocks.mem", "memory_clock", 1e-6, 0.01, True),
)


def import_inferwatch() -> None:
    """Import inferwatch installed, else from this source tree through a link tree."""
    try:
        importlib.import_module("inferwatch.exporters.gpu.exporter")
        return
    except ImportError:
        pass
    tree = Path(tempfile.mkdtemp(prefix="inferwatch-gpu-check-"))
    package = tree / "inferwatch"
    package.mkdir()
    for source in (ROOT / "core").iterdir():
        (package / source.name).symlink_to(source)
    (package / "exporters").symlink_to(ROOT / "exporters")
    (package / "testing").symlink_to(ROOT / "testing")  # the simulated driver (dry run)
    sys.path.insert(0, str(tree))
    for name in [m for m in sys.modules if m == "inferwatch" or m.startswith("inferwatch.")]:
        del sys.modules[name]
    importlib.import_module("inferwatch.exporters.gpu.exporter")


def nvidia_smi() -> tuple[list[dict[str, str]], str]:
    """Rows of ``nvidia-smi --query-gpu``, and an error text when it could not run."""
    binary = shutil.which("nvidia-smi")
    if binary is None:
        return [], "nvidia-smi not found"
    result = subprocess.run(
        [binary, f"--query-gpu={SMI_FIELDS}", "--format=csv,noheader,nounits"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode:
        return [], f"nvidia-smi failed ({result.returncode}): {result.stderr.strip()}"
    names = SMI_FIELDS.split(",")
    rows = [
        dict(zip(names, (cell.strip() for cell in row), strict=False))
        for row in csv.reader(io.StringIO(result.stdout))
        if row
    ]
    return rows, ""


def compare(gpu: dict[str, Any], smi: dict[str, str], driver: str | None) -> list[list[str]]:
    """Table rows ``field | nvidia-smi | exporter | verdict`` for one GPU."""
    rows = [
        ["uuid", smi.get("uuid", ""), gpu["uuid"], _same(smi.get("uuid"), gpu["uuid"])],
        ["name", smi.get("name", ""), gpu["name"], _same(smi.get("name"), gpu["name"])],
        [
            "driver_version",
            smi.get("driver_version", ""),
            driver or "",
            _same(smi.get("driver_version"), driver),
        ],
    ]
    values = gpu["values"]
    for column, reading, scale, tolerance, relative in NUMERIC:
        raw = smi.get(column, "")
        ours = values.get(reading)
        shown = "n/a" if ours is None else f"{ours * scale:.1f}"
        try:
            theirs = float(raw)
        except ValueError:
            rows.append([column, raw, shown, "smi n/a"])
            continue
        if ours is None:
            rows.append([column, raw, shown, "MISSING"])
            continue
        delta = abs(ours * scale - theirs)
        limit = tolerance * max(abs(theirs), 1.0) if relative else tolerance
        rows.append([column, raw, shown, "ok" if delta <= limit else f"DIFF {delta:.1f}"])
    rows.append(
        ["pcie.link.gen.current", smi.get("pcie.link.gen.current", ""), "-", "not exported"]
    )
    pcie = [values.get("pcie_tx"), values.get("pcie_rx")]
    rows.append(
        [
            "pcie tx/rx (B/s)",
            "-",
            " / ".join("n/a" if v is None else f"{v:.0f}" for v in pcie),
            "exporter only",
        ]
    )
    return rows


def _same(a: str | None, b: str | None) -> str:
    return "ok" if (a or "").strip() == (b or "").strip() else "DIFF"


def scrape_latency(registry: Any, count: int = 50) -> dict[str, float]:
    """Median, p95 and max seconds of ``generate_latest`` over ``count`` scrapes."""
    from prometheus_client import generate_latest

    times = []
    for _ in range(count):
        start = time.perf_counter()
        generate_latest(registry)
        times.append(time.perf_counter() - start)
    times.sort()
    return {
        "median": statistics.median(times),
        "p95": times[int(0.95 * (len(times) - 1))],
        "max": times[-1],
    }


def run_mode(naming: str, simulate: int, out_dir: Path) -> dict[str, Any]:
    """One exporter in ``naming`` mode: a full pass, a fast pass, nvidia-smi, scrapes."""
    from prometheus_client import CollectorRegistry, generate_latest

    from inferwatch.exporters.gpu.exporter import snapshot_to_dict, start_in_process
    from inferwatch.exporters.gpu.settings import GpuSettings

    registry = CollectorRegistry()
    start = time.perf_counter()
    settings = GpuSettings.model_validate({"naming": naming, "simulate": simulate})
    handle = start_in_process(registry, settings, background=False)
    first = time.perf_counter() - start
    try:
        time.sleep(1.0)
        cpu0, start = time.process_time(), time.perf_counter()
        snapshot = handle.sampler.sample_once()  # a fast pass (the slow one ran first)
        fast, fast_cpu = time.perf_counter() - start, time.process_time() - cpu0
        smi = nvidia_smi()  # right after the pass, so both see the same moment
        latency = scrape_latency(registry)
        text = generate_latest(registry).decode()
    finally:
        handle.stop()
    (out_dir / f"gpu_metrics_{naming}.prom").write_text(text)
    return {
        "snapshot": snapshot_to_dict(snapshot),
        "first_pass_s": first,
        "fast_pass_s": fast,
        "fast_pass_cpu_s": fast_cpu,
        "latency": latency,
        "smi": smi,
        "series": sum(1 for x in text.splitlines() if x and not x.startswith("#")),
    }


# GPM readings compared, and the nvidia-smi dmon --gpm-metrics ids that report the same
GPM_READINGS = (
    ("gr_engine_active", 1),
    ("sm_active", 2),
    ("sm_occupancy", 3),
    ("tensor_any", 5),
    ("dram_active", 10),
)


def dmon(seconds: int) -> tuple[subprocess.Popen[str] | None, str]:
    """Start ``nvidia-smi dmon`` for ``seconds`` samples (GPM metrics where it can)."""
    binary = shutil.which("nvidia-smi")
    if binary is None:
        return None, "nvidia-smi not found"
    ids = ",".join(str(i) for _, i in GPM_READINGS)
    probe = subprocess.run(
        [binary, "dmon", "--help"], capture_output=True, text=True, check=False, timeout=30
    )
    args = ["--gpm-metrics", ids] if "gpm-metrics" in probe.stdout else ["-s", "u"]
    command = [binary, "dmon", *args, "-c", str(seconds), "-d", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return process, " ".join(command[1:])


def parse_dmon(text: str) -> dict[str, dict[str, float]]:
    """Mean of each dmon column per GPU index, from its '#'-headed table."""
    columns: list[str] = []
    sums: dict[str, dict[str, list[float]]] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            if not columns:
                columns = line.lstrip("#").split()
            continue
        cells = line.split()
        if not columns or len(cells) != len(columns):
            continue
        row = sums.setdefault(cells[0], {})
        for name, cell in zip(columns[1:], cells[1:], strict=True):
            try:
                value = float(cell)
            except ValueError:
                continue  # '-' where a metric is not available
            row.setdefault(name, []).append(value)
    return {gpu: {k: statistics.mean(v) for k, v in row.items()} for gpu, row in sums.items()}


def gpm_window(simulate: int, seconds: int) -> dict[str, Any]:
    """Mean GPM readings per GPU over ``seconds`` one-second passes, and dmon's view."""
    from inferwatch.exporters.gpu.exporter import start_in_process
    from inferwatch.exporters.gpu.settings import GpuSettings

    settings = GpuSettings(simulate=simulate, interval_seconds=1, slow_interval_seconds=15)
    handle = start_in_process(None, settings, background=False)
    process, command = dmon(seconds)
    sums: dict[int, dict[str, list[float]]] = {}
    states: dict[int, str] = {}
    try:
        for _ in range(seconds):
            time.sleep(1.0)
            for gpu in handle.sampler.sample_once().gpus:
                states[gpu.info.index] = gpu.gpm.value if gpu.gpm else "unknown"
                row = sums.setdefault(gpu.info.index, {})
                for reading, value in gpu.values.items():
                    if reading.value in dict(GPM_READINGS):
                        row.setdefault(reading.value, []).append(value * 100)
    finally:
        handle.stop()
    dmon_text, dmon_error = "", ""
    if process is not None:
        out, err = process.communicate(timeout=seconds + 30)
        dmon_text, dmon_error = out, err.strip()
    means = {i: {k: statistics.mean(v) for k, v in row.items()} for i, row in sums.items()}
    return {
        "gpm_percent": means,
        "gpm_state": states,
        "dmon_command": command,
        "dmon": parse_dmon(dmon_text),
        "dmon_error": dmon_error,
    }


def render_gpm(window: dict[str, Any]) -> list[str]:
    """The GPM section of the report: means over the window, side by side with dmon."""
    lines = ["", "## GPM against nvidia-smi dmon", "", f"- dmon: `{window['dmon_command']}`"]
    if window["dmon_error"]:
        lines.append(f"- dmon said: {window['dmon_error']}")
    for index, state in sorted(window["gpm_state"].items()):
        ours = window["gpm_percent"].get(index, {})
        theirs = window["dmon"].get(str(index), {})
        lines += ["", f"### GPU {index}: GPM {state}", ""]
        lines += ["| GPM reading (window mean, %) | exporter | dmon columns |", "|---|---|---|"]
        for reading, metric_id in GPM_READINGS:
            value = ours.get(reading)
            lines.append(
                f"| {reading} (GPM metric {metric_id}) | "
                f"{'-' if value is None else f'{value:.1f}'} | "
                + ", ".join(f"{k}={v:.1f}" for k, v in sorted(theirs.items()))
                + " |"
            )
    lines.append(
        "- dmon's `sm`/`mem` (with `-s u`) are the coarse utilisation and memory-copy "
        "figures, not GPM's SM active and DRAM bandwidth; with `--gpm-metrics` its columns "
        "are the same GPM metrics by id."
    )
    return lines


def render(results: dict[str, Any]) -> str:
    """The markdown report."""
    data = results["inferwatch"]["snapshot"]
    smi_rows, smi_error = results["inferwatch"]["smi"]
    lines = [
        "# GPU exporter check against nvidia-smi",
        "",
        f"- exporter status: **{data['status']}** {data['message']}",
        f"- driver {data['driver_version']}, CUDA {data['cuda_version']}, "
        f"GPUs: {len(data['gpus'])}",
    ]
    if smi_error:
        lines.append(f"- nvidia-smi: {smi_error}")
    for naming, result in results.items():
        lat = result["latency"]
        lines.append(
            f"- `{naming}` naming: {result['series']} series; scrape median "
            f"{lat['median'] * 1e3:.3f} ms, p95 {lat['p95'] * 1e3:.3f} ms, max "
            f"{lat['max'] * 1e3:.3f} ms; first pass (nvmlInit + fast + slow) "
            f"{result['first_pass_s'] * 1e3:.1f} ms; "
            f"fast pass {result['fast_pass_s'] * 1e3:.1f} ms "
            f"({result['fast_pass_cpu_s'] * 1e3:.1f} ms CPU)"
        )
    groups = data["read_groups"]
    failed = [name for name, c in groups.items() if not c["success"]]
    lines.append(f"- read groups failing: {failed or 'none'}")
    timings = ", ".join(f"{name} {c['duration_seconds'] * 1e3:.3f}" for name, c in groups.items())
    lines.append(f"- read group durations over all GPUs, last pass (ms): {timings}")
    smi_by_uuid = {row.get("uuid", ""): row for row in smi_rows}
    for gpu in data["gpus"]:
        lines += ["", f"## GPU {gpu['index']} ({gpu['name']}, up={gpu['up']})", ""]
        lines += ["| field | nvidia-smi | inferwatch exporter | verdict |", "|---|---|---|---|"]
        for row in compare(gpu, smi_by_uuid.get(gpu["uuid"], {}), data["driver_version"]):
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
        lines.append(f"- unsupported on this GPU: {', '.join(gpu['unsupported']) or 'none'}")
        for group, error in gpu["errors"].items():
            lines.append(f"- error in `{group}`: {error}")
        lines.append(f"- processes: {len(gpu['processes'])}; MIG instances: {len(gpu['mig'])}")
    return "\n".join(lines) + "\n"


def main() -> int:
    """Run the check and write the report."""
    import_inferwatch()
    out = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path(os.environ.get("OUT", ".")) / "gpu_check.md"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    simulate = int(os.environ.get("GPU_CHECK_SIMULATE", "0"))  # a dry run without a GPU
    results = {naming: run_mode(naming, simulate, out.parent) for naming in ("inferwatch", "dcgm")}
    window = gpm_window(simulate, int(os.environ.get("GPU_CHECK_GPM_SECONDS", "10")))
    dump = {**results, "gpm_window": window}
    (out.parent / "gpu_snapshot.json").write_text(json.dumps(dump, indent=2, default=str))
    report = render(results) + "\n".join(render_gpm(window)) + "\n"
    out.write_text(report)
    sys.stdout.write(report + f"\nreport written to {out}\n")
    return 0 if results["inferwatch"]["snapshot"]["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
