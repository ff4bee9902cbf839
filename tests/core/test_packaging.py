import importlib.util
import tomllib
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "name",
    [
        "contracts",
        "collector",
        "exporters",
        "drift",
        "dashboards",
        "alerts",
        "core",
        "demo",
        "testing",
    ],
)
def test_parts_do_not_claim_top_level_names(name: str) -> None:
    assert importlib.util.find_spec(name) is None


@pytest.mark.parametrize(
    "part",
    ["contracts", "collector", "exporters", "drift", "dashboards", "alerts", "demo", "testing"],
)
def test_parts_import_under_the_inferwatch_namespace(part: str) -> None:
    assert importlib.util.find_spec(f"inferwatch.{part}") is not None


def test_every_shipped_folder_is_a_listed_package() -> None:
    """setuptools warns (~40 lines each) about a shipped folder missing from `packages`,
    data only or Python without ``__init__.py`` (Alembic's revision folders) alike."""
    root = Path(__file__).resolve().parents[2]
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    for package, folder in config["package-dir"].items():
        for sub in (root / folder).iterdir():
            shipped = sub.is_dir() and any(f.is_file() for f in sub.iterdir())
            if shipped and not sub.name.startswith((".", "_")):
                assert f"{package}.{sub.name}" in listed, sub
