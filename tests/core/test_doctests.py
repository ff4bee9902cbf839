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
        prefix = f"inferwatch.{part}."
        names += [  # sub-packages (alerts.rules, exporters.gpu, ...) and their modules too
            m.name
            for m in pkgutil.walk_packages(package.__path__, prefix)
            if ".migrations" not in m.name
        ]
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
