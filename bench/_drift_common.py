"""What the drift benchmarks share: seeded synthetic tables, memory probes, result files."""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results"
RESULTS_INDEX = Path(__file__).parent / "RESULTS.md"

NUMERIC_COLUMNS = 14
CATEGORIES = {"c_3": 3, "c_5": 5, "c_10": 10, "c_20": 20, "c_50": 50, "c_200": 200}


def synthetic_table(
    rows: int, seed: int, *, shift: float = 0.0, missing_rate: float = 0.01
) -> pd.DataFrame:
    """22 columns: 14 numeric (normal, skewed, counts, uniform), 6 categorical, 2 boolean.

    ``shift`` moves the first two numeric columns by that many standard deviations.
    """
    rng = np.random.default_rng(seed)
    data: dict[str, np.ndarray] = {}
    for i in range(NUMERIC_COLUMNS):
        shape = i % 4
        if shape == 0:
            values = rng.normal(0.0, 1.0, rows)
        elif shape == 1:
            values = rng.lognormal(0.0, 0.5, rows)
        elif shape == 2:
            values = rng.poisson(4.0, rows).astype(float)
        else:
            values = rng.uniform(0.0, 1.0, rows)
        if i < 2:
            values = values + shift * float(np.std(values))
        if missing_rate:
            values[rng.random(rows) < missing_rate] = np.nan
        data[f"n_{i}"] = values
    for name, size in CATEGORIES.items():
        weights = 1.0 / np.arange(1, size + 1)
        data[name] = rng.choice(
            np.array([f"v{j}" for j in range(size)]), rows, p=weights / weights.sum()
        )
    data["b_0"] = rng.random(rows) < 0.3
    data["b_1"] = rng.random(rows) < 0.05
    return pd.DataFrame(data)


def memory_kib(field: str) -> int:
    """A ``VmRSS``/``VmHWM`` line of ``/proc/self/status`` in KiB (0 where there is none)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def reset_peak() -> bool:
    """Reset the process's peak RSS (Linux ``clear_refs`` 5); False where not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def machine() -> str:
    """One line about where the numbers come from."""
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (
        f"{platform.machine()}, {os.cpu_count()} cores shared with other work (load average "
        f"{load} when written), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_results(name: str, markdown: str) -> Path:
    """Write ``bench/results/<name>.md`` and replace this benchmark's section of RESULTS.md."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.md"
    path.write_text(markdown.rstrip() + "\n", encoding="utf-8")
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    section = f"{begin}\n{markdown.rstrip()}\n{end}"
    index = RESULTS_INDEX.read_text(encoding="utf-8") if RESULTS_INDEX.exists() else ""
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(index):
        index = pattern.sub(lambda _: section, index)
    else:
        index = (index.rstrip() + "\n\n" if index.strip() else "# Benchmark results\n\n") + section
    RESULTS_INDEX.write_text(index.rstrip() + "\n", encoding="utf-8")
    return path
