"""Docstring examples are code: every module's examples must run."""

import doctest
import importlib
import pkgutil

import pytest

import inferwatch


def _modules() -> list[str]:
    names = [f"inferwatch.{m.name}" for m in pkgutil.iter_modules(inferwatch.__path__)]
    for part in (
        "contracts",
        "collector",
        "exporters",
        "drift",
        "dashboards",
        "alerts",
        "demo",
        "testing",
    ):
        package = importlib.import_module(f"inferwatch.{part}")
        names += [f"inferwatch.{part}.{m.name}" for m in pkgutil.iter_modules(package.__path__)]
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
