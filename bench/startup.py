"""Start-up time of the ``inferwatch`` command, as whole processes.

What a user waits for before anything happens: ``inferwatch --help`` and every
group's and verb's ``--help``, each run as a fresh process, best of N (the machine is
shared, so the minimum is the cost and the rest is noise). The floor is the
interpreter itself (``python -c pass``) and the CLI library alone (``import typer``),
in the same run. Budgets from issue #16: ``inferwatch --help`` 0.3 s, any verb's
``--help`` 0.4 s.

Usage: ``python -m bench.startup [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench._drift_common import machine, markdown_table, write_results

ROOT_BUDGET_S = 0.3
VERB_BUDGET_S = 0.4


def inferwatch_command() -> list[str]:
    """The installed console script next to this interpreter."""
    script = Path(sys.executable).with_name("inferwatch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "inferwatch.cli"]


def command_paths() -> Iterator[tuple[str, ...]]:
    """Every group and verb of the CLI, depth first, as argument paths."""
    import typer

    from inferwatch.cli import app

    def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        yield path
        if hasattr(command, "list_commands"):
            for name in command.list_commands(None):
                yield from walk(command.get_command(None, name), (*path, name))

    yield from walk(typer.main.get_command(app), ())


def best_of(argv: Sequence[str], repeats: int) -> tuple[float, float]:
    """The fastest wall time and the least CPU time (user + system) of ``repeats`` runs.

    Wall time is what a person waits; CPU time is what the command costs, and moves
    less when other work shares the machine.
    """
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, check=False)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr!r}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
    return best_wall, best_cpu


def main() -> None:
    """Time every help page and write bench/results/startup.md and its RESULTS.md section."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(sys.argv[1:] if __name__ == "__main__" else [])
    floors = {
        "python -c pass": best_of([sys.executable, "-c", "pass"], args.repeats),
        "python -c 'import typer'": best_of([sys.executable, "-c", "import typer"], args.repeats),
    }
    floor_wall = floors["python -c pass"][0]
    rows: list[list[object]] = []
    over = 0
    started = time.perf_counter()
    for path in command_paths():
        wall, cpu = best_of([*inferwatch_command(), *path, "--help"], args.repeats)
        budget = ROOT_BUDGET_S if not path else VERB_BUDGET_S
        over += wall > budget
        label = " ".join(("inferwatch", *path, "--help"))
        ok = "yes" if wall <= budget else "**no**"
        rows.append(
            [f"`{label}`", f"{wall:.3f}", f"{cpu:.3f}", f"{wall / floor_wall:.1f}x", budget, ok]
        )
        print(f"{label}: {wall:.3f} s wall, {cpu:.3f} s CPU", flush=True)
    verbs = rows[1:]
    worst = max(verbs, key=lambda r: float(str(r[1])))
    worst_cpu = max(float(str(r[2])) for r in verbs)
    text = "\n".join(
        [
            "## CLI start-up (bench/startup.py)",
            "",
            f"Machine: {machine()}; {time.perf_counter() - started:.0f} s.",
            "",
            f"Each command is a fresh process, best of {args.repeats}: wall clock including "
            "the interpreter's own start, and CPU time (user + system, less moved by other "
            "work on the machine). Floors in the same run: "
            + ", ".join(f"`{k}` {w:.3f} s wall, {c:.3f} s CPU" for k, (w, c) in floors.items())
            + f". Budgets (#16, by wall clock): `inferwatch --help` {ROOT_BUDGET_S} s, any "
            f"verb's `--help` {VERB_BUDGET_S} s.",
            "",
            f"`inferwatch --help`: {rows[0][1]} s wall, {rows[0][2]} s CPU. Slowest of "
            f"{len(verbs)} group and verb help pages: {worst[0]} at {worst[1]} s wall; most "
            f"CPU of any: {worst_cpu:.3f} s. Over budget by wall clock: {over}.",
            "",
            markdown_table(
                ["command", "wall s", "CPU s", "wall vs python -c pass", "budget s", "within"],
                rows,
            ),
        ]
    )
    print(f"wrote {write_results('startup', text)}")


if __name__ == "__main__":
    main()
