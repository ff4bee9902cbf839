"""The parts import only the contract package and core, as docs/architecture.md draws.

Read from the source (every import statement, inside functions too; those under
``if TYPE_CHECKING:`` only inform type checkers and are skipped), so an arrow drawn
nowhere fails here before it becomes a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES: tuple[str, ...] = ("core", "contracts", "collector", "exporters", "drift")
PACKAGES += ("dashboards", "alerts", "demo", "testing")
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "contracts": {"core"},  # the typed hand-off keys (inferwatch.handoffs)
    "collector": {"core", "contracts"},
    "drift": {"core", "contracts"},
    "alerts": {"core", "contracts"},
    "dashboards": {"core", "contracts"},
    "exporters": {"core", "contracts", "testing"},  # the fake driver, for --simulate only
    "testing": {"core", "contracts", "exporters"},  # fakes speak the exporter's NVML codes
    "demo": set(PACKAGES),  # the whole chain on one machine sits above every part
}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[str]:
    found: list[str] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            found += [m for child in node.orelse for m in _imports(child)]
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        found += _imports(node)
    return found


def _package_of(module: str) -> str | None:
    if not module.startswith("inferwatch."):
        return "core" if module == "inferwatch" else None
    head = module.split(".")[1]
    return head if head in PACKAGES else "core"


def arrows() -> dict[tuple[str, str], list[str]]:
    """(from package, to package) -> the files and modules behind that arrow."""
    found: dict[tuple[str, str], list[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for module in _imports(ast.parse(path.read_text(encoding="utf-8"))):
                target = _package_of(module)
                if target is not None and target != package:
                    where = f"{path.relative_to(ROOT)}: {module}"
                    found.setdefault((package, target), []).append(where)
    return found


def test_every_arrow_between_packages_is_an_allowed_one() -> None:
    drawn = arrows()
    assert ("collector", "contracts") in drawn and ("drift", "contracts") in drawn
    stray = {f"{a} -> {b}": files for (a, b), files in drawn.items() if b not in ALLOWED[a]}
    assert stray == {}


def test_the_scan_sees_function_level_imports_and_skips_type_checking_ones() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from inferwatch.drift.baseline import Baseline\n"
        "def f():\n    from inferwatch.alerts.rules import model\n"
    )
    assert _imports(ast.parse(source)) == ["typing", "inferwatch.alerts.rules"]
