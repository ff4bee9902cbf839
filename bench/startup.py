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


def best_of(argv: Sequence[str], repeats: int) -> float:
    """The fastest of ``repeats`` runs of ``argv`` as a fresh process, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr!r}")
        best = min(best, elapsed)
    return best


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    floors = {
        "python -c pass": best_of([sys.executable, "-c", "pass"], args.repeats),
        "python -c 'import typer'": best_of([sys.executable, "-c", "import typer"], args.repeats),
    }
    rows: list[list[object]] = []
    over = 0
    started = time.perf_counter()
    for path in command_paths():
        seconds = best_of([*inferwatch_command(), *path, "--help"], args.repeats)
        budget = ROOT_BUDGET_S if not path else VERB_BUDGET_S
        over += seconds > budget
        label = " ".join(("inferwatch", *path, "--help"))
        ok = "yes" if seconds <= budget else "**no**"
        rows.append(
            [
                f"`{label}`",
                f"{seconds:.3f}",
                f"{seconds / floors['python -c pass']:.1f}x",
                budget,
                ok,
            ]
        )
        print(f"{label}: {seconds:.3f} s", flush=True)
    verbs = rows[1:]
    worst = max(verbs, key=lambda r: float(str(r[1])))
    text = "\n".join(
        [
            "## CLI start-up (bench/startup.py)",
            "",
            f"Machine: {machine()}; {time.perf_counter() - started:.0f} s.",
            "",
            "Each command is a fresh process, best of "
            f"{args.repeats}, wall clock including the interpreter's own start. Floors in the "
            "same run: "
            + ", ".join(f"`{k}` {v:.3f} s" for k, v in floors.items())
            + f". Budgets (#16): `inferwatch --help` {ROOT_BUDGET_S} s, any verb's `--help` "
            f"{VERB_BUDGET_S} s. `inferwatch --help` took {float(str(rows[0][1])):.3f} s; the "
            f"slowest of {len(verbs)} group and verb help pages was {worst[0]} at {worst[1]} s; "
            f"{over} over budget.",
            "",
            markdown_table(["command", "best s", "vs python -c pass", "budget s", "within"], rows),
        ]
    )
    print(f"wrote {write_results('startup', text)}")


if __name__ == "__main__":
    main()
