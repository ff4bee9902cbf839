"""Every number the README's "Measured" table quotes comes from a file in bench/results/."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NUMBER = re.compile(r"(?<![\w.])(\d+(?:,\d{3})*(?:\.\d+)?)\s*(k\b|\u00d7|%)?")


def measured_cells() -> list[tuple[str, str]]:
    """(row, cell) for the measured columns (all but the first) of the Measured table."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Measured\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    cells = []
    for line in rows[2:]:  # after the header and the |---| line
        what, *measured = [c.strip() for c in line.strip("|").split("|")]
        cells += [(what, cell) for cell in measured]
    return cells


def result_numbers() -> list[float]:
    text = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "bench/results").glob("*.md"))
    return [float(m.group(1).replace(",", "")) for m in NUMBER.finditer(text)]


def found(token: str, suffix: str | None, results: list[float]) -> bool:
    """True when some result rounds to ``token`` at the README's precision."""
    decimals = len(token.split(".")[1]) if "." in token else 0
    quoted = float(token.replace(",", ""))
    scale = 1000 if suffix == "k" else 1
    half_step = 0.5 * 10 ** (-decimals) * scale + 1e-9
    candidates = [r for r in results] + ([r * 100 for r in results] if suffix == "%" else [])
    return any(abs(r - quoted * scale) <= half_step for r in candidates)


CELLS = measured_cells()


def test_the_table_is_there() -> None:
    assert len(CELLS) >= 10


@pytest.mark.parametrize(("what", "cell"), CELLS, ids=[f"{w}: {c}" for w, c in CELLS])
def test_each_quoted_number_is_in_a_results_file(what: str, cell: str) -> None:
    results = result_numbers()
    missing = [
        m.group(0) for m in NUMBER.finditer(cell) if not found(m.group(1), m.group(2), results)
    ]
    assert missing == [], f"{what}: {missing} not in bench/results/*.md"


def test_the_check_can_fail() -> None:
    results = [0.103, 35585.0, 0.855, 95.0]
    assert found("0.103", None, results) and found("35.6", "k", results)
    assert found("85.5", "%", results) and found("95", "\u00d7", results)
    assert not found("0.084", None, results) and not found("250", "k", results)
