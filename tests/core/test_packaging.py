import importlib.util
import tomllib
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "name", ["contracts", "collector", "exporters", "drift", "dashboards", "alerts", "core"]
)
def test_parts_do_not_claim_top_level_names(name: str) -> None:
    assert importlib.util.find_spec(name) is None


@pytest.mark.parametrize(
    "part", ["contracts", "collector", "exporters", "drift", "dashboards", "alerts"]
)
def test_parts_import_under_the_inferwatch_namespace(part: str) -> None:
    assert importlib.util.find_spec(f"inferwatch.{part}") is not None


def test_every_shipped_folder_is_a_listed_package() -> None:
    """setuptools warns (~40 lines each) about a shipped folder missing from `packages`."""
    root = Path(__file__).resolve().parents[2]
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    for package, folder in config["package-dir"].items():
        for sub in (root / folder).iterdir():
            data_only = sub.is_dir() and not any(sub.glob("*.py")) and any(sub.iterdir())
            if data_only and not sub.name.startswith((".", "_")):
                assert f"{package}.{sub.name}" in listed, sub
