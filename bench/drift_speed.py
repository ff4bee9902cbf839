"""Time and peak memory of a drift evaluation: inferwatch vs evidently 0.7 DataDriftPreset.

Same data for both (``synthetic_table``: 22 columns, reference and live windows of N rows
each, the live one with two shifted columns). Each (tool, N) runs in its own child
process, so that one run's memory does not leak into the next. Memory is the child's
peak resident set (``VmHWM``) after resetting it (Linux ``clear_refs``) once the data is
loaded: the extra memory the evaluation needed, over the data it was given.

- ``inferwatch sample``: ``infer_baseline`` on the reference (done once per model in
  production, timed separately) then ``evaluate_sample`` on the live window.
- ``inferwatch counts``: the histogram path; the live window is first binned as the
  exporter does (timed separately as ``binning``), then ``evaluate_counts``.
- ``evidently``: ``Report([DataDriftPreset()]).run(current, reference)``.

Usage: ``python -m bench.drift_speed [--sizes 10000,100000,1000000]``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import os
import subprocess
import sys
import time
from typing import Any

from bench._drift_common import machine, markdown_table, memory_kib, reset_peak, write_results
from bench._drift_common import synthetic_table as table

MMAP_THRESHOLD = 128 * 1024
"""Children allocate blocks of this size or more with mmap (glibc), so freed data leaves
the RSS and a later evaluation's arrays show in its peak instead of reusing freed heap."""
REPEATS = 3
"""inferwatch runs are repeated and the best time kept; evidently runs once (it is slow)."""


def settle() -> None:
    """Collect garbage and hand freed heap back to the OS before reading the RSS."""
    gc.collect()
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _run_inferwatch_sample(rows: int) -> dict[str, Any]:
    from inferwatch.drift.baseline import infer_baseline
    from inferwatch.drift.evaluate import evaluate_sample

    reference, live = table(rows, 1), table(rows, 2, shift=0.2)
    evaluate_sample(infer_baseline("warm-up", table(500, 3)), table(500, 4))
    settle()
    before = memory_kib("VmRSS")
    reset_peak()
    baseline_s = evaluate_s = float("inf")
    detected = False
    for _ in range(REPEATS):
        start = time.perf_counter()
        baseline = infer_baseline("bench", reference)
        middle = time.perf_counter()
        detected = evaluate_sample(baseline, live).drift_detected
        end = time.perf_counter()
        baseline_s, evaluate_s = min(baseline_s, middle - start), min(evaluate_s, end - middle)
    return {
        "baseline_s": baseline_s,
        "evaluate_s": evaluate_s,
        "peak_extra_kib": memory_kib("VmHWM") - before,
        "peak_total_kib": memory_kib("VmHWM"),
        "drift_detected": detected,
    }


def _run_inferwatch_counts(rows: int) -> dict[str, Any]:
    from inferwatch.contracts.results import BinnedCounts
    from inferwatch.drift.baseline import infer_baseline
    from inferwatch.drift.evaluate import evaluate_counts

    reference, live = table(rows, 1), table(rows, 2, shift=0.2)
    baseline = infer_baseline("bench", reference)
    evaluate_counts(baseline, {})
    start = time.perf_counter()
    counts = {s.name: BinnedCounts.of(*s.count(live[s.name])) for s in baseline.features}
    binning_s = time.perf_counter() - start
    settle()
    before = memory_kib("VmRSS")
    reset_peak()
    evaluate_s = float("inf")
    detected = False
    for _ in range(REPEATS):
        start = time.perf_counter()
        detected = evaluate_counts(baseline, counts).drift_detected
        evaluate_s = min(evaluate_s, time.perf_counter() - start)
    return {
        "binning_s": binning_s,
        "evaluate_s": evaluate_s,
        "peak_extra_kib": memory_kib("VmHWM") - before,
        "peak_total_kib": memory_kib("VmHWM"),
        "drift_detected": detected,
    }


def _run_evidently(rows: int) -> dict[str, Any]:
    from evidently import Report
    from evidently.presets import DataDriftPreset

    reference, live = table(rows, 1), table(rows, 2, shift=0.2)
    # Warm-up on 500 rows, so that evidently's lazy imports are not counted.
    Report([DataDriftPreset()]).run(current_data=table(500, 4), reference_data=table(500, 3))
    settle()
    before = memory_kib("VmRSS")
    reset_peak()
    start = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(current_data=live, reference_data=reference)
    result = snapshot.dict()
    evaluate_s = time.perf_counter() - start
    drifted = result["metrics"][0]["value"]["count"]
    return {
        "evaluate_s": evaluate_s,
        "peak_extra_kib": memory_kib("VmHWM") - before,
        "peak_total_kib": memory_kib("VmHWM"),
        "drifted_columns": drifted,
    }


RUNNERS = {
    "inferwatch_sample": _run_inferwatch_sample,
    "inferwatch_counts": _run_inferwatch_counts,
    "evidently": _run_evidently,
}


def _child(tool: str, rows: int, timeout: float) -> dict[str, Any] | None:
    """Run one (tool, rows) in a fresh interpreter; ``None`` if it ran past ``timeout``."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.drift_speed", "--child", tool, str(rows)],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            env={**os.environ, "MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD)},
        )
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        raise RuntimeError(f"{tool} at {rows} rows failed:\n{done.stderr[-2000:]}")
    data: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return data


def _mib(kib: float) -> str:
    return f"{kib / 1024:.0f}"


HEADER = [
    "rows x 22 cols",
    "evidently s",
    "ours sample s",
    "speed-up",
    "ours baseline s",
    "speed-up incl. baseline",
    "ours counts ms",
    "counts speed-up",
    "binning s",
    "evidently peak MiB",
    "ours sample peak MiB",
    "memory ratio",
    "ours counts peak MiB",
    "process peak MiB: evidently / ours sample",
]


def _row(
    rows: int,
    ours: dict[str, Any],
    counts: dict[str, Any],
    peer: dict[str, Any] | None,
    timeout: float,
) -> list[object]:
    """One table row; where evidently ran out of time, its columns say so."""
    if peer is None:
        peer_s, peer_kib = f"> {timeout:.0f} (stopped)", None
        speed = speed_all = speed_counts = memory = "-"
    else:
        peer_s, peer_kib = f"{peer['evaluate_s']:.2f}", peer["peak_extra_kib"]
        speed = f"{peer['evaluate_s'] / ours['evaluate_s']:.0f}x"
        speed_all = f"{peer['evaluate_s'] / (ours['evaluate_s'] + ours['baseline_s']):.0f}x"
        speed_counts = f"{peer['evaluate_s'] / counts['evaluate_s']:.0f}x"
        memory = f"{peer_kib / max(ours['peak_extra_kib'], 1):.0f}x"
    return [
        f"{rows:,}",
        peer_s,
        f"{ours['evaluate_s']:.3f}",
        speed,
        f"{ours['baseline_s']:.3f}",
        speed_all,
        f"{counts['evaluate_s'] * 1000:.2f}",
        speed_counts,
        f"{counts['binning_s']:.3f}",
        "-" if peer_kib is None else _mib(peer_kib),
        _mib(ours["peak_extra_kib"]),
        memory,
        _mib(counts["peak_extra_kib"]),
        f"{'-' if peer is None else _mib(peer['peak_total_kib'])} / {_mib(ours['peak_total_kib'])}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run")
    parser.add_argument("--child", nargs=2, metavar=("TOOL", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        tool, rows = args.child[0], int(args.child[1])
        print(json.dumps(RUNNERS[tool](rows)))
        return
    rows_list = [int(s) for s in args.sizes.split(",")]
    measured: list[list[object]] = []
    for rows in rows_list:
        ours = _child("inferwatch_sample", rows, args.timeout)
        counts = _child("inferwatch_counts", rows, args.timeout)
        if ours is None or counts is None:
            raise RuntimeError(f"inferwatch ran past {args.timeout} s at {rows} rows")
        peer = _child("evidently", rows, args.timeout)
        print(f"{rows}: ours {ours}, counts {counts}, evidently {peer}", flush=True)
        measured.append(_row(rows, ours, counts, peer, args.timeout))
        _write(measured)


def _write(measured: list[list[object]]) -> None:
    markdown = "\n".join(
        [
            "## Drift evaluation speed and memory (bench/drift_speed.py)",
            "",
            f"Machine: {machine()}. evidently 0.7.23 `Report([DataDriftPreset()])` vs",
            "inferwatch `evaluate_sample` (sample path) and `evaluate_counts` (histogram path),",
            "same synthetic data (22 columns: 14 numeric with 1% missing, 6 categorical up to",
            "200 values, 2 boolean; reference and live N rows each). Each run is a fresh child",
            "process, warmed up on 500 rows first (lazy imports not counted); time is wall",
            "clock (inferwatch best of 3, evidently one run); memory is",
            "the child's peak RSS (`VmHWM`, reset via `/proc/self/clear_refs` once the data is",
            "loaded, garbage collected and `malloc_trim`med; blocks >= 128 KiB are mmapped so",
            "that freed ones leave the RSS) minus its RSS at that point: the extra memory",
            "the evaluation needed;",
            "the last column is the whole process's peak (interpreter, libraries, data).",
            "`ours baseline s` is `infer_baseline` on the reference (once per model, not per",
            "window); `binning s` is counting the live window into the baseline's bins (the",
            "exporter's work on the histogram path, spread over the pods in production).",
            "",
            markdown_table(HEADER, measured),
        ]
    )
    write_results("drift_speed", markdown)
    print(markdown)


if __name__ == "__main__":
    main()
