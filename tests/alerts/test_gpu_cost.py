"""GPU prices rendered into recording rules: the committed fixture is current, bad prices
are refused by name, and Prometheus's own tool accepts what is rendered."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from inferwatch.alerts.gpu_cost import cost_rule_file, price_rules, render_price_rules
from inferwatch.alerts.rules.model import RuleFileError

PRICES = {"NVIDIA H100 80GB HBM3": 4.0, "NVIDIA L4": 0.8}
FIXTURE = Path(__file__).parent / "promtool_rules" / "gpu_prices.yaml"


def test_the_unit_tests_price_file_is_what_the_renderer_makes() -> None:
    body = "\n".join(line for line in FIXTURE.read_text().splitlines() if not line.startswith("#"))
    assert body + "\n" == render_price_rules(PRICES)


def test_one_constant_series_per_gpu_model() -> None:
    rules = price_rules({"NVIDIA L4": 0.8, "NVIDIA H100 80GB HBM3": 4})["groups"][0]["rules"]
    assert rules == [
        {
            "record": "inferwatch:gpu_price_per_hour",
            "expr": "vector(4)",
            "labels": {"name": "NVIDIA H100 80GB HBM3"},
        },
        {
            "record": "inferwatch:gpu_price_per_hour",
            "expr": "vector(0.8)",
            "labels": {"name": "NVIDIA L4"},
        },
    ]


@pytest.mark.parametrize(
    ("prices", "message"),
    [
        pytest.param({"NVIDIA L4": -1.0}, "'NVIDIA L4': -1.0 must be finite", id="negative"),
        pytest.param({"NVIDIA L4": float("nan")}, "'NVIDIA L4': nan must be finite", id="nan"),
        pytest.param({"NVIDIA L4": "cheap"}, "'NVIDIA L4': 'cheap' is not a number", id="text"),
        pytest.param({"NVIDIA L4": True}, "'NVIDIA L4': True is not a number", id="bool"),
        pytest.param({" ": 1.0}, "GPU model name is empty", id="no-name"),
    ],
)
def test_bad_prices_are_refused_by_model(prices: dict[str, object], message: str) -> None:
    with pytest.raises(RuleFileError, match=message):
        price_rules(prices)  # type: ignore[arg-type]


@pytest.mark.stack
def test_promtool_accepts_the_rendered_prices_with_the_cost_rules(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is not on PATH; run scripts/setup.sh"
    prices = tmp_path / "prices.yaml"
    prices.write_text(render_price_rules({"NVIDIA A100-SXM4-80GB": 1.9, 'quote"d': 1}))
    result = subprocess.run(
        [promtool, "check", "rules", str(cost_rule_file()), str(prices)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 2 rules found" in result.stdout
