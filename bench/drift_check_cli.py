"""`inferwatch drift check` on two CSV files vs an evidently script, as whole processes.

What a user waits for: from typing the command to its exit, start-up, reading the CSV
files and evaluating included. Both tools get the same pair of files (``synthetic_table``:
22 columns, N rows each, the live file with two shifted columns, written once to a
temporary folder):

- ``inferwatch``: ``inferwatch drift check REFERENCE LIVE --json`` (the console script);
- ``evidently``: a script that reads both files with ``pandas.read_csv`` and runs
  ``Report([DataDriftPreset()]).run(current, reference)``, then prints its JSON.

Each command runs ``--repeats`` times (3 by default) and the best wall time is kept; the
ratio is evidently's best over ours.

Usage: ``python -m bench.drift_check_cli [--rows 100000] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._drift_common import machine, markdown_table, write_results
from bench._drift_common import synthetic_table as table

EVIDENTLY_SCRIPT = """
import sys
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset

reference, current = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2])
print(Report([DataDriftPreset()]).run(current, reference).json()[:200])
"""


def timed(command: list[str]) -> tuple[float, int]:
    """Wall seconds and exit code of one child process."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stderr[-500:]!r}")
    return elapsed, done.returncode


def best_of(command: list[str], repeats: int) -> tuple[float, int]:
    runs = [timed(command) for _ in range(repeats)]
    return min(r[0] for r in runs), runs[-1][1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(sys.argv[1:] if __name__ == "__main__" else [])
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="inferwatch-bench-") as folder:
        reference, live = Path(folder) / "reference.csv", Path(folder) / "live.csv"
        table(args.rows, 1).to_csv(reference, index=False)
        table(args.rows, 2, shift=0.2).to_csv(live, index=False)
        script = Path(folder) / "evidently_check.py"
        script.write_text(EVIDENTLY_SCRIPT, encoding="utf-8")
        ours = best_of(
            [str(bin_dir / "inferwatch"), "drift", "check", str(reference), str(live), "--json"],
            args.repeats,
        )
        theirs = best_of([sys.executable, str(script), str(reference), str(live)], args.repeats)
    rows = [
        ["inferwatch drift check --json", f"{ours[0]:.2f}", ours[1]],
        ["evidently DataDriftPreset script", f"{theirs[0]:.2f}", theirs[1]],
    ]
    markdown = (
        f"## `drift check` as a whole process (bench/drift_check_cli.py)\n\n"
        f"Two CSV files of {args.rows:,} rows x 22 columns (two columns shifted by 0.2 sd); "
        f"wall time from start to exit, best of {args.repeats}. {machine()}.\n\n"
        + markdown_table(["command", "best wall s", "exit"], rows)
        + f"\n\ninferwatch is **{theirs[0] / ours[0]:.1f}x** faster than the evidently script.\n"
    )
    print(markdown)
    write_results("drift_check_cli", markdown)


if __name__ == "__main__":
    main()
