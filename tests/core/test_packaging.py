import importlib.util

import pytest


@pytest.mark.parametrize(
    "name", ["collector", "exporters", "drift", "dashboards", "alerts", "core"]
)
def test_parts_do_not_claim_top_level_names(name: str) -> None:
    assert importlib.util.find_spec(name) is None


@pytest.mark.parametrize("part", ["collector", "exporters", "drift", "dashboards", "alerts"])
def test_parts_import_under_the_inferwatch_namespace(part: str) -> None:
    assert importlib.util.find_spec(f"inferwatch.{part}") is not None
