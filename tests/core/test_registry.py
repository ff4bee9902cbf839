"""Core is the bottom layer: it names the parts, the demo and the test doubles only by
import path in the registry, and imports none of them (``inferwatch --help`` stays light,
and a part can be removed without touching core)."""

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

from inferwatch.registry import CLI_GROUPS, PART_BUILDERS, STORE_READERS, import_target

CORE = Path(__file__).resolve().parents[2] / "core"
OUTSIDE_CORE = ("collector", "exporters", "drift", "alerts", "dashboards", "demo", "testing")
"""Every package that installs beside core under ``inferwatch.``."""
NAMED_BY_PATH = {"registry.py", "migrate.py"}
"""The registry names targets to import on use; migrate finds the parts' revision
folders with ``find_spec``, which imports nothing."""


def _outside(module: str) -> bool:
    parts = module.split(".")
    return len(parts) > 1 and parts[0] == "inferwatch" and parts[1] in OUTSIDE_CORE


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> Iterator[tuple[int, str]]:
    """Modules imported anywhere under ``node`` (functions too), except type-only imports."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for orelse in child.orelse:
                yield from _imports(orelse)
            continue
        if isinstance(child, ast.Import):
            yield from ((child.lineno, alias.name) for alias in child.names)
        elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
            yield child.lineno, child.module
            if child.module == "inferwatch":  # from inferwatch import drift
                yield from ((child.lineno, f"inferwatch.{a.name}") for a in child.names)
        yield from _imports(child)


def _core_files() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


def test_the_scan_sees_every_kind_of_import() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "import inferwatch.drift.baseline\n"
        "from inferwatch import demo\n"
        "if TYPE_CHECKING:\n    from inferwatch.alerts import settings\n"
        "def later() -> None:\n    from inferwatch.testing.nvml import FakeNvmlLib\n"
    )
    found = [m for _, m in _imports(ast.parse(source)) if _outside(m)]
    assert found == ["inferwatch.drift.baseline", "inferwatch.demo", "inferwatch.testing.nvml"]


@pytest.mark.parametrize("path", _core_files(), ids=lambda p: str(p.relative_to(CORE)))
def test_no_core_module_imports_a_part_the_demo_or_the_test_doubles(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = [f"{path.name}:{line} {module}" for line, module in _imports(tree) if _outside(module)]
    assert found == [], "core imports what it may only name in inferwatch.registry"


def test_only_the_registry_names_them_by_path() -> None:
    named = []
    for path in _core_files():
        if path.name in NAMED_BY_PATH:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                target = node.value.split(":")[0]
                if " " not in target and _outside(target):
                    named.append(f"{path.name}:{node.lineno} {node.value}")
    assert named == []


def test_importing_all_of_core_loads_no_part_demo_or_test_double() -> None:
    script = (
        "import importlib, json, pkgutil, sys\n"
        "import inferwatch\n"
        "for m in pkgutil.iter_modules(inferwatch.__path__):\n"
        "    importlib.import_module(f'inferwatch.{m.name}')\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "inferwatch.app" in loaded and "inferwatch.cli" in loaded  # it did import core
    assert [m for m in loaded if _outside(m)] == []


def test_every_part_builder_resolves() -> None:
    for name, target in PART_BUILDERS.items():
        builder = import_target(target)
        assert callable(builder), name
        assert builder.__module__.startswith("inferwatch."), name


def test_cli_targets_are_a_typer_group_or_a_verb_with_the_registered_help() -> None:
    for name, entry in CLI_GROUPS.items():
        target = import_target(entry.target)
        if isinstance(target, typer.Typer):
            assert target.info.help == entry.help, name
        else:  # one verb: its help line is its docstring's first line
            assert callable(target), name
            assert (target.__doc__ or "").splitlines()[0] == entry.help, name


def test_every_store_reader_is_keyed_by_a_handoff_and_builds_from_a_storage() -> None:
    from inferwatch.handoffs import Handoff
    from inferwatch.storage import open_storage

    storage = open_storage("sqlite:///:memory:")
    storage.migrate()
    try:
        for key_target, reader_target in STORE_READERS.items():
            assert isinstance(import_target(key_target), Handoff), key_target
            reader = import_target(reader_target)(storage)
            assert type(reader).__module__.startswith("inferwatch."), reader_target
    finally:
        storage.close()
